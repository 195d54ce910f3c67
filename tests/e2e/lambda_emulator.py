"""A small emulator of the AWS Lambda runtime API, for running Depot's function binaries the way
Lambda runs them.

Each `LambdaFunction` starts one function binary with `AWS_LAMBDA_RUNTIME_API` pointing at its own
runtime API endpoint (as in a Lambda execution environment), and `invoke(event)` hands it one
event through `GET /2018-06-01/runtime/invocation/next`, then collects what the function posts
back: a buffered response, a streamed one (`Lambda-Runtime-Function-Response-Mode: streaming`,
chunked) or an error. One invocation runs at a time, as in one execution environment.

The event builders make the payloads AWS sends: API Gateway HTTP API (v2) and Function URL
requests, REST API (v1) requests, SQS batches, S3 notifications and scheduled events.
"""

import base64
import http.server
import json
import os
import queue
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import sam_template

RUNTIME_PREFIX = "/2018-06-01/runtime"
STREAM_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
ACCOUNT = "123456789012"
BUFFERED_LIMIT = 6291556  # bytes of a buffered (not streamed) invocation response
REGION = "us-east-1"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Invocation:
    def __init__(self, event, deadline_ms):
        self.id = str(uuid.uuid4())
        self.event = event
        self.deadline_ms = deadline_ms
        self.done = threading.Event()
        self.kind = None  # "response", "stream" or "error"
        self.headers = {}
        self.body = b""
        self.chunk_times = []  # arrival time of each chunk of a streamed response
        self.trailers = {}


class InvocationResult:
    def __init__(self, inv, started):
        self.kind = inv.kind
        self.body = inv.body
        self.headers = inv.headers
        self.chunk_times = inv.chunk_times
        self.trailers = inv.trailers
        self.finished = time.monotonic()
        self.seconds = self.finished - started

    def json(self):
        return json.loads(self.body)

    def http(self):
        """The HTTP response a Function URL or API Gateway would give for this result:
        (status, headers, body bytes)."""
        if self.kind in ("error", "timeout"):
            return 502, {}, self.body
        if self.kind == "stream":
            prelude, _, body = self.body.partition(b"\0" * 8)
            meta = json.loads(prelude)
            return meta.get("statusCode", 200), meta.get("headers", {}), body
        payload = self.json()
        body = payload.get("body") or ""
        data = base64.b64decode(body) if payload.get("isBase64Encoded") else body.encode()
        headers = dict(payload.get("headers") or {})
        for name, values in (payload.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values)
        return payload.get("statusCode", 200), headers, data


class _RuntimeApi(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, function):
        self.function = function
        super().__init__(("127.0.0.1", _free_port()), _RuntimeHandler)

    def handle_error(self, request, client_address):
        pass  # a function stopped while it waited for its next event


class _RuntimeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, status, body=b"{}", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _read_chunked(self, inv):
        while True:
            size_line = self.rfile.readline().strip()
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            inv.body += self.rfile.read(size)
            inv.chunk_times.append(time.monotonic())
            self.rfile.readline()
        # trailers, up to the empty line
        while True:
            line = self.rfile.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode().partition(":")
            inv.trailers[name.strip()] = value.strip()

    def do_GET(self):
        fn = self.server.function
        if self.path != f"{RUNTIME_PREFIX}/invocation/next":
            return self._reply(404)
        inv = fn.pending.get()
        if inv is None:  # shutting down
            return self._reply(500)
        fn.active[inv.id] = inv
        body = json.dumps(inv.event).encode()
        self._reply(200, body, {
            "Lambda-Runtime-Aws-Request-Id": inv.id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn":
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn.name}",
            "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0",
        })

    def do_POST(self):
        fn = self.server.function
        parts = self.path[len(RUNTIME_PREFIX):].strip("/").split("/")
        if parts == ["init", "error"]:
            fn.init_error = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            return self._reply(202)
        if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
            return self._reply(404)
        inv = fn.active.pop(parts[1], None)
        if inv is None:
            return self._reply(400, b'{"errorMessage":"unknown request id"}')
        inv.headers = {k.lower(): v for k, v in self.headers.items()}
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._read_chunked(inv)
        else:
            inv.body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if parts[2] == "error":
            inv.kind = "error"
        elif self.headers.get("Lambda-Runtime-Function-Response-Mode", "").lower() == "streaming":
            inv.kind = "stream"
        elif len(inv.body) > BUFFERED_LIMIT:
            # What Lambda does with a buffered response over its limit.
            inv.kind = "error"
            inv.body = json.dumps({
                "errorMessage": f"Response payload size ({len(inv.body)} bytes) exceeded maximum "
                                f"allowed payload size ({BUFFERED_LIMIT} bytes).",
                "errorType": "Function.ResponseSizeTooLarge"}).encode()
        else:
            inv.kind = "response"
        self._reply(202)
        inv.done.set()


class LambdaFunction:
    """One function binary in one emulated execution environment."""

    def __init__(self, binary, name, env, log_path, timeout_seconds=900, memory_mb=512):
        self.name = name
        self.timeout_seconds = timeout_seconds
        self.pending = queue.Queue()
        self.active = {}
        self.init_error = None
        self.api = _RuntimeApi(self)
        threading.Thread(target=self.api.serve_forever, daemon=True).start()
        full_env = dict(os.environ)
        full_env.update(env)
        full_env.update(
            AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{self.api.server_address[1]}",
            AWS_LAMBDA_FUNCTION_NAME=name,
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(memory_mb),
            AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
            AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{name}",
            AWS_LAMBDA_LOG_STREAM_NAME=f"2026/11/27/[$LATEST]{uuid.uuid4().hex}",
            AWS_REGION=full_env.get("AWS_REGION", REGION),
            NO_COLOR="1",
        )
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "ab")
        self.started = time.monotonic()
        self.process = subprocess.Popen([str(binary)], env=full_env, stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def invoke(self, event, timeout=60):
        started = time.monotonic()
        deadline_ms = int((time.time() + self.timeout_seconds) * 1000)
        inv = Invocation(event, deadline_ms)
        self.pending.put(inv)
        end = started + timeout
        while not inv.done.wait(0.05):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: "
                                   f"{self.log_text()[-3000:]}")
            if time.time() * 1000 > deadline_ms:
                # What Lambda does at the function's timeout: the environment is stopped.
                self.process.kill()
                self.process.wait()
                inv.kind = "timeout"
                inv.body = json.dumps({"errorMessage": f"Task timed out after {self.timeout_seconds} seconds",
                                       "errorType": "Sandbox.Timedout"}).encode()
                return InvocationResult(inv, started)
            if time.monotonic() > end:
                raise TimeoutError(f"{self.name} did not answer within {timeout} s: "
                                   f"{self.log_text()[-3000:]}")
        return InvocationResult(inv, started)

    def log_text(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.pending.put(None)
        self.api.shutdown()
        self.api.server_close()
        self.log.close()


# --------------------------------------------------------------------------------------
# Event payloads, shaped as AWS sends them
# --------------------------------------------------------------------------------------


def _now_fields():
    now = time.gmtime()
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", now), int(time.time() * 1000)


def _split(path):
    path, _, query = path.partition("?")
    return path, query


def http_v2_event(method, path, headers=None, body=b"", stage="$default", domain="api.example.com"):
    """An API Gateway HTTP API (payload 2.0) request; with stage "$default", also exactly what a
    Function URL sends."""
    raw_path, query = _split(path)
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    headers.setdefault("host", domain)
    if body:
        headers.setdefault("content-length", str(len(body)))
    when, epoch = _now_fields()
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path if stage == "$default" else f"/{stage}{raw_path}",
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "a1b2c3d4e5",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent", "test")},
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": stage,
            "time": when,
            "timeEpoch": epoch,
        },
        "isBase64Encoded": bool(body),
    }
    if query:
        params = {}
        for pair in query.split("&"):
            k, _, v = pair.partition("=")
            params[k] = f"{params[k]},{v}" if k in params else v
        event["queryStringParameters"] = params
    if body:
        event["body"] = base64.b64encode(body).decode()
    return event


def rest_v1_event(method, path, headers=None, body=b"", stage="prod"):
    """An API Gateway REST API proxy request (payload 1.0) on a named stage."""
    raw_path, query = _split(path)
    headers = dict(headers or {})
    params = None
    if query:
        params = dict(pair.partition("=")[::2] for pair in query.split("&"))
    return {
        "resource": "/{proxy+}",
        "path": raw_path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": params,
        "multiValueQueryStringParameters": {k: [v] for k, v in params.items()} if params else None,
        "pathParameters": {"proxy": raw_path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "resourceId": "abc123",
            "stage": stage,
            "requestId": uuid.uuid4().hex,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "test"},
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "apiId": "a1b2c3d4e5",
            "path": f"/{stage}{raw_path}",
        },
        "body": base64.b64encode(body).decode() if body else None,
        "isBase64Encoded": bool(body),
    }


def alb_event(method, path, headers=None, body=b""):
    """An Application Load Balancer request to a Lambda target group."""
    raw_path, query = _split(path)
    return {
        "requestContext": {"elb": {"targetGroupArn":
                                   f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/depot/6d0ecf831eec9f09"}},
        "httpMethod": method,
        "path": raw_path,
        "queryStringParameters": dict(pair.partition("=")[::2] for pair in query.split("&")) if query else {},
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "body": base64.b64encode(body).decode() if body else "",
        "isBase64Encoded": bool(body),
    }


def sqs_event(bodies, queue_name="depot-tasks"):
    """An SQS batch as the event source mapping delivers it: one record per body."""
    records = []
    for body in bodies:
        records.append({
            "messageId": str(uuid.uuid4()),
            "receiptHandle": base64.b64encode(os.urandom(24)).decode(),
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": str(int(time.time() * 1000)),
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
            },
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}",
            "awsRegion": REGION,
        })
    return {"Records": records}


def scheduled_event(rule="depot-sweeper"):
    """What an EventBridge schedule rule sends."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


# --------------------------------------------------------------------------------------
# A whole deployment: every function of the SAM template, the HTTP API and Function URL in
# front of them, the SQS event source mappings and the schedule
# --------------------------------------------------------------------------------------


class _Front(http.server.ThreadingHTTPServer):
    """An HTTP front (the HTTP API, or a Function URL) turning requests into events."""

    daemon_threads = True

    def __init__(self, route):
        self.route = route  # path -> LambdaFunction or None
        super().__init__(("127.0.0.1", _free_port()), _FrontHandler)
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request, client_address):
        pass


class _FrontHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fn = self.server.route(self.path)
        if fn is None:
            status, headers, data = 404, {"content-type": "application/json"}, b'{"message":"Not Found"}'
        else:
            headers_in = {}
            for k, v in self.headers.items():
                k = k.lower()
                headers_in[k] = f"{headers_in[k]},{v}" if k in headers_in else v
            event = http_v2_event(self.command, self.path, headers=headers_in, body=body,
                                  domain=self.headers.get("Host", "127.0.0.1"))
            result = fn.invoke(event, timeout=fn.timeout_seconds + 5)
            status, headers, data = result.http()
        if self.command == "HEAD":
            data = b""
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        if self.command != "HEAD" or "content-length" not in {k.lower() for k in headers}:
            self.send_header("Content-Length", str(len(data)))
        else:
            self.send_header("Content-Length", next(v for k, v in headers.items() if k.lower() == "content-length"))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class Deployment:
    """Every function of `functions` (sam_template.Function list), each in its own emulated
    execution environment, with the triggers the template gives them."""

    def __init__(self, template_functions, bin_dir, env, log_dir, sqs, queue_urls, schedule_seconds=2):
        self.sqs = sqs
        self.queue_urls = queue_urls  # queue logical id -> URL
        self.stopping = threading.Event()
        self.functions = {}
        self.url_function = None
        # The fronts first: the content app's Function URL is PULP_CONTENT_ORIGIN (the template's
        # ContentOrigin parameter).
        self.api = _Front(self._route)
        self.content = _Front(lambda path: self.url_function)
        env = {"PULP_CONTENT_ORIGIN": self.content.base_url, **env}
        for fn in template_functions:
            own = {k: v for k, v in fn.env.items() if isinstance(v, str)}
            lf = LambdaFunction(Path(bin_dir) / fn.binary, fn.binary, {**env, **own},
                                Path(log_dir) / f"lambda-{fn.binary}.log",
                                timeout_seconds=fn.props.get("Timeout", 30))
            lf.template = fn
            self.functions[fn.logical_id] = lf
            if "FunctionUrlConfig" in fn.props:
                self.url_function = lf
        self.threads = []
        for lf in self.functions.values():
            for queue, props in lf.template.queues():
                t = threading.Thread(target=self._poll, args=(lf, queue_urls[queue], props), daemon=True)
                t.start()
                self.threads.append(t)
            if any(e["Type"] == "Schedule" for e in lf.template.events.values()):
                t = threading.Thread(target=self._tick, args=(lf, schedule_seconds), daemon=True)
                t.start()
                self.threads.append(t)

    def _route(self, path):
        fn = sam_template.route([lf.template for lf in self.functions.values()], path)
        return next(lf for lf in self.functions.values() if lf.template is fn) if fn else None

    def function(self, binary):
        return next(lf for lf in self.functions.values() if lf.name == binary)

    def _poll(self, lf, url, props):
        """The SQS event source mapping: batches to the function, failures left on the queue."""
        while not self.stopping.is_set():
            try:
                out = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(props.get("BatchSize", 10), 10),
                                               WaitTimeSeconds=1, AttributeNames=["All"])
            except Exception:
                if self.stopping.is_set():
                    return
                time.sleep(0.5)
                continue
            messages = out.get("Messages", [])
            if not messages:
                continue
            event = sqs_event([m["Body"] for m in messages])
            for record, m in zip(event["Records"], messages):
                record["messageId"] = m["MessageId"]
                record["receiptHandle"] = m["ReceiptHandle"]
                record["attributes"].update(m.get("Attributes", {}))
            try:
                result = lf.invoke(event, timeout=lf.timeout_seconds + 5)
            except Exception:
                continue  # as when the invocation times out: the messages come back
            failed = set()
            if result.kind == "response":
                failed = {f["itemIdentifier"] for f in result.json().get("batchItemFailures", [])}
            else:
                failed = {m["MessageId"] for m in messages}
            for m in messages:
                if m["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def _tick(self, lf, seconds):
        while not self.stopping.wait(seconds):
            try:
                lf.invoke(scheduled_event(), timeout=60)
            except Exception:
                pass

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=5)
        for lf in self.functions.values():
            lf.stop()
        for front in (self.api, self.content):
            front.shutdown()
            front.server_close()
