"""Reading infra/template.yaml: its CloudFormation short tags, its functions, their routes and
queues. Shared by the template's tests and the emulated deployment."""

import re
from pathlib import Path

import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"
TAGS = ["Ref", "GetAtt", "Sub", "If", "Not", "Equals", "Join", "Select", "Split", "And", "Or",
        "FindInMap", "Base64", "Cidr", "ImportValue", "GetAZs"]


class _Loader(yaml.SafeLoader):
    pass


def _intrinsic(tag):
    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {"Ref" if tag == "Ref" else "Fn::" + tag: value}
    return construct


for _tag in TAGS:
    _Loader.add_constructor("!" + _tag, _intrinsic(_tag))


def load(path=TEMPLATE):
    with open(path) as f:
        return yaml.load(f, Loader=_Loader)


class Function:
    def __init__(self, logical_id, resource):
        props = resource["Properties"]
        self.logical_id = logical_id
        self.binary = Path(props["CodeUri"]).name  # the handler crate, and its binary
        self.props = props
        self.events = props.get("Events", {})
        self.env = props.get("Environment", {}).get("Variables", {})

    def routes(self):
        """(path, method) of each HttpApi event."""
        return [(e["Properties"]["Path"], e["Properties"].get("Method", "ANY"))
                for e in self.events.values() if e["Type"] == "HttpApi"]

    def queues(self):
        """(queue logical id, event properties) of each SQS event."""
        return [(e["Properties"]["Queue"]["Fn::GetAtt"][0], e["Properties"])
                for e in self.events.values() if e["Type"] == "SQS"]


def functions(doc):
    return [Function(k, r) for k, r in doc["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]


QUEUE_PREFIX = "DEPOT_QUEUE_URL_"


def function_queues(doc):
    """{function: queue logical id} of the DEPOT_QUEUE_URL_<FUNCTION> variables every function gets."""
    variables = doc["Globals"]["Function"]["Environment"]["Variables"]
    return {k[len(QUEUE_PREFIX):].lower().replace("_", "-"): v["Ref"]
            for k, v in variables.items() if k.startswith(QUEUE_PREFIX)}


def queue_variable(function):
    """`task-sync` -> DEPOT_QUEUE_URL_TASK_SYNC."""
    return QUEUE_PREFIX + function.upper().replace("-", "_")


def route_matches(route, path):
    """Whether an HTTP API route (`/a/b`, `/a/{param}/b`, or greedy `/a/{proxy+}`) takes
    `path`: a `{param}` is one segment, `{proxy+}` the rest (at least one character)."""
    path = path.split("?")[0]
    pattern = ""
    for piece in re.split(r"(\{[^}]+\})", route.rstrip("/")):
        if piece == "{proxy+}":
            pattern += ".+"
        elif piece.startswith("{"):
            pattern += "[^/]+"
        else:
            pattern += re.escape(piece)
    if route.endswith("{proxy+}"):
        return re.fullmatch(pattern, path) is not None
    return re.fullmatch(pattern + "/?", path) is not None


def function_for(doc, path):
    """The function whose HttpApi route takes `path`."""
    return route(functions(doc), path)


def route(candidates, path):
    """The function of `candidates` whose HttpApi route takes `path`; like API Gateway, the most
    specific route wins."""
    best = None
    for fn in candidates:
        for r, _ in fn.routes():
            if route_matches(r, path):
                specificity = len(re.sub(r"\{[^}]+\}", "", r))
                if best is None or specificity > best[0]:
                    best = (specificity, fn)
    return best[1] if best else None
