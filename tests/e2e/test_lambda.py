"""Depot's function binaries as Lambda runs them: each binary in its own process, fed the event
payloads AWS sends through an emulated Lambda runtime API (lambda_emulator.py).

The deployment shares one database and storage (this round's DEPOT_TEST_DB and backend) and
gives every task function its own SQS queue on moto, as infra/ does on AWS.
"""

import base64
import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

import sam_template
from conftest import REPO_ROOT, terminate
from lambda_emulator import LambdaFunction, alb_event, http_v2_event, rest_v1_event, scheduled_event, sqs_event


def functions_dir():
    configured = os.environ.get("DEPOT_FUNCTIONS_DIR")
    if configured:
        return Path(configured)
    runner = os.environ.get("DEPOT_BIN")
    return Path(runner).parent if runner else REPO_ROOT / "target" / "debug"


class Deployment:
    """Function binaries over one database, storage and set of queues."""

    def __init__(self, factory, aws):
        self.factory = factory
        self.aws = aws
        self.bin = functions_dir()
        # One queue per function that runs tasks, as the template makes them.
        self.queues = {f: aws.new_queue() for f in sam_template.function_queues(sam_template.load())}
        self.env = {
            "DEPOT_DATA_DIR": str(factory.data_dir),
            "PULP_ADMIN_PASSWORD": factory.password,
            "RUST_LOG": "info",
            **factory.base_env,
            **{sam_template.queue_variable(f): url for f, url in self.queues.items()},
        }
        if factory.database_url:
            self.env["DEPOT_DATABASE_URL"] = factory.database_url
        self.functions = []
        self.processes = []
        self.auth = "Basic " + base64.b64encode(f"admin:{factory.password}".encode()).decode()

    def binary(self, name):
        binary = self.bin / name
        if not binary.is_file():
            pytest.fail(f"{binary} does not exist; build the function binaries with "
                        "`cargo build --workspace --bins`", pytrace=False)
        return binary

    def start(self, name, timeout_seconds=900, **env):
        """The function in an emulated Lambda execution environment."""
        log = self.factory.data_dir / f"lambda-{name}-{len(self.functions)}.log"
        fn = LambdaFunction(self.binary(name), name, {**self.env, **{k: str(v) for k, v in env.items()}}, log,
                            timeout_seconds=timeout_seconds)
        self.functions.append(fn)
        return fn

    def process(self, name, **env):
        """The function as an ordinary process (the container host): no Lambda runtime API."""
        full = {**os.environ, **self.env, **{k: str(v) for k, v in env.items()}, "NO_COLOR": "1"}
        full.pop("AWS_LAMBDA_RUNTIME_API", None)
        with open(self.factory.data_dir / f"process-{name}-{len(self.processes)}.log", "ab") as log:
            p = subprocess.Popen([str(self.binary(name))], env=full, stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(p)
        return p

    def migrate(self):
        fn = self.start("migrate")
        result = fn.invoke({"action": "migrate"})
        assert result.kind == "response", result.body
        return result.json()

    def request(self, fn, method, path, body=None, auth=True, headers=None, builder=http_v2_event,
                **event_args):
        headers = dict(headers or {})
        data = b""
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            headers["Authorization"] = self.auth
        result = fn.invoke(builder(method, path, headers=headers, body=data, **event_args))
        return result.http()

    def messages(self, function, expected, timeout=10):
        """Takes `expected` messages off a function's queue, as the event source mapping would."""
        got = []
        url = self.queues[function]
        for _ in range(timeout):
            out = self.aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for m in out.get("Messages", []):
                got.append(m["Body"])
                self.aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            if len(got) >= expected:
                return got
        raise AssertionError(f"{len(got)} of {expected} messages arrived on {function}'s queue")

    def stop(self):
        for fn in self.functions:
            fn.stop()
        for p in self.processes:
            if p.poll() is None:
                terminate(p, timeout=30)


@pytest.fixture
def deployment(runner_factory, aws):
    d = Deployment(runner_factory, aws)
    yield d
    d.stop()


def test_the_migrate_function_prepares_the_database(deployment):
    assert deployment.migrate() == {"migrated": True, "admin_password": None}
    # Again: nothing to do, no error.
    assert deployment.migrate() == {"migrated": True, "admin_password": None}


def test_api_gateway_requests_reach_the_repositories_api(deployment):
    deployment.migrate()
    api = deployment.start("api-repositories")
    base = "/pulp/api/v3/repositories/file/file/"

    # HTTP API (payload 2.0), $default stage: what a Function URL sends too.
    status, headers, body = deployment.request(api, "POST", base, {"name": "lambda-repo"})
    assert status == 201, body
    repo = json.loads(body)
    assert repo["name"] == "lambda-repo"
    assert repo["pulp_href"].startswith(base)
    assert headers["content-type"] == "application/json"

    # A named stage is taken off the path, so the routes are the local runner's.
    status, _, body = deployment.request(api, "GET", base + "?name=lambda-repo", stage="prod")
    assert status == 200, body
    assert [r["pulp_href"] for r in json.loads(body)["results"]] == [repo["pulp_href"]]

    # REST API (payload 1.0) on stage "prod".
    status, _, body = deployment.request(api, "GET", repo["pulp_href"], builder=rest_v1_event)
    assert status == 200, body
    assert json.loads(body)["name"] == "lambda-repo"

    # An Application Load Balancer in front.
    status, _, body = deployment.request(api, "GET", base + "?name=lambda-repo", builder=alb_event)
    assert status == 200, body
    assert json.loads(body)["count"] == 1

    # Bad input gets Pulp's errors, not a Lambda failure.
    status, _, body = deployment.request(api, "POST", base, {"name": "x"}, auth=False)
    assert status == 401
    assert "detail" in json.loads(body)
    status, _, body = deployment.request(api, "POST", base, {"name": "lambda-repo"})
    assert status == 400
    assert "name" in json.loads(body)
    status, _, body = deployment.request(api, "GET", base + "not-a-uuid/")
    assert status == 404


def test_an_sqs_batch_reports_only_its_failed_record(deployment):
    deployment.migrate()
    api = deployment.start("api-repositories")
    tasks_api = deployment.start("api-tasks")
    worker = deployment.start("task-modify")

    hrefs = []
    for name in ("batch-a", "batch-b"):
        status, _, body = deployment.request(api, "POST", "/pulp/api/v3/repositories/file/file/",
                                             {"name": name})
        assert status == 201, body
        repo = json.loads(body)
        status, _, body = deployment.request(api, "POST", repo["pulp_href"] + "modify/",
                                             {"add_content_units": []})
        assert status == 202, body
        hrefs.append(json.loads(body)["task"])

    # The modify tasks went to task-modify's own queue, and nowhere else.
    bodies = deployment.messages("task-modify", 2)
    assert sorted(json.loads(b)["task_id"] for b in bodies) == sorted(h.rstrip("/").split("/")[-1]
                                                                      for h in hrefs)
    event = sqs_event(bodies + ["this is not a task message"], queue_name="task-modify")
    result = worker.invoke(event)
    assert result.kind == "response", result.body
    bad_id = event["Records"][2]["messageId"]
    assert result.json() == {"batchItemFailures": [{"itemIdentifier": bad_id}]}

    for href in hrefs:
        status, _, body = deployment.request(tasks_api, "GET", href)
        assert status == 200, body
        task = json.loads(body)
        assert task["state"] == "completed", task
        assert task["started_at"] and task["finished_at"]

    # The same batch again (SQS delivers at least once): nothing runs twice, nothing fails.
    again = worker.invoke(sqs_event(bodies, queue_name="task-modify"))
    assert again.json() == {"batchItemFailures": []}


def test_a_function_url_streams_a_file_larger_than_a_buffered_response(deployment, runner_factory,
                                                                         helpers):
    size = 12 * 1024 * 1024  # over Lambda's 6 MB buffered limit
    data = os.urandom(size)
    # Content set up through the local runner on the same database and storage.
    seed = runner_factory.start()
    body, ctype = helpers.multipart({"relative_path": "big.bin"}, {"file": ("f", data)})
    resp = seed.request("POST", "content/file/files/upload/", body=body, headers={"Content-Type": ctype})
    assert resp.status == 201, resp
    repo = seed.request("POST", "repositories/file/file/", {"name": "big", "autopublish": True}).json()
    task = seed.wait_task(seed.request("POST", repo["pulp_href"] + "modify/",
                                       {"add_content_units": [resp.json()["pulp_href"]]}).json()["task"])
    assert task["state"] == "completed", task
    task = seed.wait_task(seed.request("POST", "distributions/file/file/", {
        "name": "big", "base_path": "big", "repository": repo["pulp_href"]}).json()["task"])
    assert task["state"] == "completed", task
    runner_factory.stop(seed)

    content = deployment.start("content-app", DEPOT_LAMBDA_RESPONSE_STREAM="true",
                               PULP_REDIRECT_TO_OBJECT_STORAGE="false")
    result = content.invoke(http_v2_event("GET", "/pulp/content/big/big.bin"), timeout=120)
    assert result.kind == "stream", result.body[:500]
    assert result.headers.get("content-type") == "application/vnd.awslambda.http-integration-response"
    status, headers, body = result.http()
    assert status == 200
    assert len(body) == size
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest()
    assert len(result.chunk_times) > 1  # it arrived in pieces, not as one buffer


def test_a_task_function_runs_as_a_queue_poller_outside_lambda(deployment):
    """The container host: the same binary without AWS_LAMBDA_RUNTIME_API polls its own queue."""
    deployment.migrate()
    api = deployment.start("api-repositories")
    tasks_api = deployment.start("api-tasks")
    status, _, body = deployment.request(api, "POST", "/pulp/api/v3/repositories/file/file/", {"name": "polled"})
    assert status == 201, body
    status, _, body = deployment.request(api, "POST", json.loads(body)["pulp_href"] + "modify/",
                                         {"add_content_units": []})
    assert status == 202, body
    href = json.loads(body)["task"]

    poller = deployment.process("task-modify")
    task = wait_task(deployment, tasks_api, href)
    assert task["state"] == "completed", task
    terminate(poller, timeout=30)
    assert poller.returncode == 0  # SIGTERM: a clean stop


# --------------------------------------------------------------------------------------
# The whole file workflow with every handler in its own process, as deployed by the template
# --------------------------------------------------------------------------------------


def file_workflow(pulp, helpers, manifest_url, tag, tmp_path):
    """Mirror, publish, distribute, download, upload: what a pulp-cli user sees, without ids."""
    pulp("file", "remote", "create", "--name", f"{tag}-remote", "--url", manifest_url, "--policy", "immediate")
    pulp("file", "repository", "create", "--name", f"{tag}-repo")
    pulp("file", "repository", "sync", "--name", f"{tag}-repo", "--remote", f"{tag}-remote")
    v1 = pulp("file", "repository", "version", "show", "--repository", f"{tag}-repo", "--version", "1")
    publication = pulp("file", "publication", "create", "--repository", f"{tag}-repo")
    dist = pulp("file", "distribution", "create", "--name", f"{tag}-dist", "--base-path", f"{tag}-dist",
                "--publication", publication["pulp_href"])
    manifest = helpers.parse_manifest(helpers.get_bytes(dist["base_url"] + "PULP_MANIFEST").decode())
    downloaded = {rp: helpers.sha256(helpers.get_bytes(dist["base_url"] + rp)) for rp in manifest}

    extra = tmp_path / f"{tag}-extra.txt"
    extra.write_bytes(b"uploaded through the API\n" * 100)
    unit = pulp("file", "content", "upload", "--repository", f"{tag}-repo", "--file", extra,
                "--relative-path", "extra.txt")
    v2 = pulp("file", "repository", "version", "show", "--repository", f"{tag}-repo", "--version", "2")
    units = pulp("file", "content", "list", "--repository-version", v2["pulp_href"], "--limit", "100")
    pulp("file", "distribution", "update", "--name", f"{tag}-dist", "--repository", f"{tag}-repo")
    pulp("file", "publication", "create", "--repository", f"{tag}-repo")
    after = helpers.get_bytes(dist["base_url"] + "extra.txt")
    pulp("file", "distribution", "destroy", "--name", f"{tag}-dist")
    gone = helpers.request("GET", dist["base_url"] + "extra.txt").status
    def counts(summary):  # the hrefs in a summary hold ids
        return {k: {t: v["count"] for t, v in d.items()} for k, d in summary.items()}

    return {
        "v1": counts(v1["content_summary"]),
        "v2": counts(v2["content_summary"]),
        "manifest": manifest,
        "downloaded": downloaded,
        "uploaded": (unit["relative_path"], unit["sha256"]),
        "content": sorted((u["relative_path"], u["sha256"]) for u in units),
        "served_after_update": helpers.sha256(after),
        "after_destroy": gone,
        "base_url_path": dist["base_url"].split("/pulp/content/")[1],
    }


class _Endpoint:
    """What PulpCli needs of a server."""

    def __init__(self, base_url, password):
        self.base_url, self.username, self.password = base_url, "admin", password


def test_the_file_workflow_on_separate_functions_matches_the_local_runner(
        runner_factory, aws, pulp, depot_server, file_server, make_file_tree, helpers, tmp_path):
    from conftest import PulpCli
    from lambda_emulator import Deployment as LambdaDeployment

    files = make_file_tree(file_server.root / "lambda-flow", 8)
    manifest_url = file_server.url("lambda-flow/PULP_MANIFEST")

    # Every function of the template in its own process; queues on moto as the template makes them.
    doc = sam_template.load()
    queue_urls = {k: aws.new_queue() for k, r in doc["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}
    env = {
        "DEPOT_DATA_DIR": str(runner_factory.data_dir),
        "PULP_ADMIN_PASSWORD": runner_factory.password,
        "RUST_LOG": "info",
        "DEPOT_TASK_HEARTBEAT_TIMEOUT": "10",
        **runner_factory.base_env,
    }
    env.pop("DEPOT_QUEUE_URL", None)  # only the functions' own queues, as on Lambda
    if runner_factory.database_url:
        env["DEPOT_DATABASE_URL"] = runner_factory.database_url
    for function, queue in sam_template.function_queues(doc).items():
        env[sam_template.queue_variable(function)] = queue_urls[queue]
    deployed = LambdaDeployment(sam_template.functions(doc), functions_dir(), env, runner_factory.data_dir,
                                aws.sqs, queue_urls)
    try:
        result = deployed.function("migrate").invoke({"action": "migrate"})
        assert result.json()["migrated"] is True, result.body

        cli = PulpCli(pulp.executable, _Endpoint(deployed.api.base_url, runner_factory.password),
                      tmp_path / "cli-lambda")
        on_functions = file_workflow(cli, helpers, manifest_url, "fl", tmp_path)
    finally:
        deployed.stop()

    on_runner = file_workflow(pulp, helpers, manifest_url, "fl", tmp_path)
    assert on_functions == on_runner
    assert on_functions["manifest"] == {rp: (f["sha256"], f["size"]) for rp, f in files.items()}
    assert on_functions["downloaded"] == {rp: f["sha256"] for rp, f in files.items()}
    assert on_functions["after_destroy"] == 404
    assert on_functions["v2"]["added"] == {"file.file": 1}


def wait_task(deployment, tasks_api, href, states=("completed", "failed", "canceled"), timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = deployment.request(tasks_api, "GET", href)
        task = json.loads(body)
        if task["state"] in states or time.monotonic() > deadline:
            return task
        time.sleep(0.3)


def test_a_sync_longer_than_the_function_timeout_runs_on_the_container_host(deployment, helpers):
    """Lambda stops a task at the function's timeout: the sweeper fails it and nothing half-done
    shows. The same binary on the container host has no such limit."""
    files = {f"{i}.bin": os.urandom(500) for i in range(8)}
    files["PULP_MANIFEST"] = "".join(f"{p},{hashlib.sha256(d).hexdigest()},{len(d)}\n"
                                     for p, d in files.items()).encode()
    upstream = helpers.http_server(helpers.slow_handler(files, delay=0.5))  # about 4.5 s in all
    deployment.env["DEPOT_TASK_HEARTBEAT_TIMEOUT"] = "2"
    try:
        deployment.migrate()
        repos = deployment.start("api-repositories")
        remotes = deployment.start("api-remotes")
        tasks_api = deployment.start("api-tasks")
        status, _, body = deployment.request(repos, "POST", "/pulp/api/v3/repositories/file/file/", {"name": "long"})
        repo = json.loads(body)
        status, _, body = deployment.request(remotes, "POST", "/pulp/api/v3/remotes/file/file/", {
            "name": "long", "url": upstream.base_url + "/PULP_MANIFEST", "policy": "immediate",
            "download_concurrency": 1})
        assert status == 201, body
        remote = json.loads(body)

        def sync():
            status, _, body = deployment.request(repos, "POST", repo["pulp_href"] + "sync/",
                                                 {"remote": remote["pulp_href"]})
            assert status == 202, body
            return json.loads(body)["task"]

        # On Lambda, with a 2 s function timeout.
        first = sync()
        short = deployment.start("task-sync", timeout_seconds=2)
        result = short.invoke(sqs_event(deployment.messages("task-sync", 1), queue_name="task-sync"))
        assert result.kind == "timeout", result.body
        sweeper = deployment.start("sweeper")
        deadline = time.monotonic() + 30
        while wait_task(deployment, tasks_api, first, timeout=0)["state"] != "failed":
            assert time.monotonic() < deadline, "the sweeper did not fail the stopped task"
            sweeper.invoke(scheduled_event())
            time.sleep(0.5)
        task = wait_task(deployment, tasks_api, first, timeout=0)
        assert "stopped responding" in task["error"]["description"], task
        status, _, body = deployment.request(repos, "GET", repo["pulp_href"])
        assert json.loads(body)["latest_version_href"].endswith("/versions/0/")

        # On the container host: the same binary, polling the same queue.
        second = sync()
        deployment.process("task-sync")
        task = wait_task(deployment, tasks_api, second)
        assert task["state"] == "completed", task
        took = time.mktime(time.strptime(task["finished_at"][:19], "%Y-%m-%dT%H:%M:%S")) - \
            time.mktime(time.strptime(task["started_at"][:19], "%Y-%m-%dT%H:%M:%S"))
        assert took >= 3, task  # longer than the Lambda timeout above
        status, _, body = deployment.request(repos, "GET", repo["pulp_href"])
        assert json.loads(body)["latest_version_href"].endswith("/versions/1/")
    finally:
        upstream.stop()
