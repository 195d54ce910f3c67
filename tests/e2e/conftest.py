"""Fixtures for the Depot end-to-end tests.

The tests drive a real `local-runner` process with the real `pulp` CLI and the
real pulpcore/pulp_file Python bindings.

Environment:
  DEPOT_BIN            path of the local-runner binary
                       (default: <repo>/target/debug/local-runner)
  DEPOT_TEST_DB        "sqlite" (default) or "postgres"
  DEPOT_TEST_BACKEND   "local" (default: storage in the data dir, in-process queue) or "aws"
                       (S3 storage and an SQS queue on a moto_server started for the session)
  DEPOT_TEST_PG_HOST   PostgreSQL host for DEPOT_TEST_DB=postgres (default 127.0.0.1)
  DEPOT_TEST_PG_PORT   PostgreSQL port (default 5432)
  DEPOT_TEST_PG_USER   PostgreSQL superuser, trust auth (default postgres)
  DEPOT_TEST_KEEP      set to 1 to keep the data dir and database after the run
                       (the data dir, with server.log, is always kept after a failure)

Nothing is built here: run `cargo build -p local-runner` first (tests/run.sh does).
"""

import base64
import copy
import functools
import hashlib
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60  # seconds to wait for /status/ after starting the runner
STOP_TIMEOUT = 15  # seconds to wait after SIGINT before SIGKILL
CLI_TIMEOUT = 300  # seconds for one `pulp` invocation
LOG_EXCERPT_CHARS = 12000  # how much of the server log to attach to a failed test

# moto_server takes any credentials, but the AWS SDKs (boto3 here, aws-sdk-rust in the runners,
# which inherit this environment) want some, and must not look for an EC2 instance role.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


# --------------------------------------------------------------------------------------
# Plain HTTP helper (urllib only; never follows redirects)
# --------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # make urllib hand the 3xx response back to us


_OPENER = urllib.request.build_opener(_NoRedirect)


class Response:
    def __init__(self, method, url, status, headers, body):
        self.method = method
        self.url = url
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def content_type(self):
        return self.headers.get("Content-Type")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        text = self.body[:2000].decode("utf-8", "replace")
        return f"<{self.method} {self.url} -> {self.status} {self.content_type!r} {text!r}>"


# Secrets at rest: every server of a run reads one key file, made here as Pulp's installer makes
# it (processes that share a queue must share the key; a lone server could make its own).
DB_ENCRYPTION_KEY = Path(tempfile.mkdtemp(prefix="depot-key-")) / "database_fields.symmetric.key"
DB_ENCRYPTION_KEY.write_bytes(base64.urlsafe_b64encode(os.urandom(32)) + b"\n")
os.environ.setdefault("PULP_DB_ENCRYPTION_KEY", str(DB_ENCRYPTION_KEY))


def http_request(method, url, body=None, headers=None, timeout=60):
    """Send one request and return a Response whatever the status code."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return Response(method, url, resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        return Response(method, url, err.code, err.headers, err.read())


def content_request(method, url, headers=None, timeout=60):
    """A content-app request that follows a redirect to object storage (as pip, curl -L and
    container clients do). The answer's `redirected` tells whether the bytes came from there."""
    resp = http_request(method, url, headers=headers, timeout=timeout)
    resp.redirected = False
    if resp.status in (302, 307) and resp.headers.get("Location", "").startswith("http"):
        resp = http_request(method, resp.headers["Location"], headers=headers, timeout=timeout)
        resp.redirected = True
    return resp


def http_get_bytes(url, timeout=60):
    """GET a URL (following a redirect to object storage) and return the body; fail the test on
    any non-200 answer."""
    resp = content_request("GET", url, timeout=timeout)
    assert resp.status == 200, f"expected 200: {resp!r}"
    return resp.body


def encode_multipart(fields, files):
    """fields: {name: str}; files: {name: (filename, bytes)} -> (body, content_type)."""
    boundary = "depot-e2e-" + secrets.token_hex(8)
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + str(value).encode()
            + b"\r\n"
        )
    for name, (filename, data) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def terminate(process, timeout=10):
    """SIGTERM, then SIGKILL if it has not ended after `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------
# S3 and SQS: a moto_server (real wire protocols on 127.0.0.1)
# --------------------------------------------------------------------------------------


class Aws:
    """A moto_server for the session: fresh buckets and queues on demand."""

    def __init__(self):
        import boto3

        exe = Path(sys.executable).parent / "moto_server"  # the version tests/e2e/requirements.txt pins
        if not exe.exists():
            exe = shutil.which("moto_server") or "moto_server"
        port = free_port()
        self.process = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.endpoint = f"http://127.0.0.1:{port}"
        self.sqs = boto3.client("sqs", endpoint_url=self.endpoint, region_name="us-east-1")
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")
        deadline = time.monotonic() + 30
        while True:
            try:
                self.sqs.list_queues()
                break
            except Exception:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise
                time.sleep(0.2)

    def new_queue(self):
        name = "depot-" + uuid.uuid4().hex[:8]
        return self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]

    def new_bucket(self):
        name = "depot-" + uuid.uuid4().hex[:8]
        self.s3.create_bucket(Bucket=name)
        return name

    def objects(self, bucket, prefix=""):
        """{key: size} of every object in the bucket under prefix."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}

    def storage_env(self, bucket, endpoint=None):
        """The settings that put a runner's storage in `bucket`, under the prefix `depot`."""
        return {
            "DEPOT_STORAGE_URL": f"s3://{bucket}/depot",
            "PULP_STORAGES__default__OPTIONS__endpoint_url": endpoint or self.endpoint,
        }

    def stop(self):
        terminate(self.process)


@pytest.fixture(scope="session")
def aws():
    server = Aws()
    yield server
    server.stop()


def backend_kind():
    kind = os.environ.get("DEPOT_TEST_BACKEND", "local")
    if kind not in ("local", "aws"):
        pytest.fail(f"DEPOT_TEST_BACKEND must be local or aws, not {kind!r}", pytrace=False)
    return kind


def first_round():
    """True in the round on SQLite with local storage: tests that do not depend on the backend set
    (the deployment template, client compatibility details) run only there; the in-process Rust
    tests cover both database engines."""
    return os.environ.get("DEPOT_TEST_DB", "sqlite") == "sqlite" and backend_kind() == "local"


first_round_only = pytest.mark.skipif(not first_round(),
                                      reason="backend-independent: runs in the SQLite + local round only")


def backend_env(request):
    """Settings for one system (one or more runners sharing them) on the chosen backend."""
    if backend_kind() == "local":
        return {}
    aws = request.getfixturevalue("aws")
    return {**aws.storage_env(aws.new_bucket()), "DEPOT_QUEUE_URL": aws.new_queue()}


# --------------------------------------------------------------------------------------
# The Depot server
# --------------------------------------------------------------------------------------


class DepotServer:
    """A running local-runner. Tests use base_url, username, password and request()."""

    def __init__(self, base_url, username, password, data_dir, log_path, database_url):
        self.base_url = base_url  # e.g. http://127.0.0.1:41234 (no trailing slash)
        self.api_url = base_url + "/pulp/api/v3/"
        self.content_url = base_url + "/pulp/content/"
        self.username = username
        self.password = password
        self.data_dir = data_dir
        self.log_path = log_path
        self.database_url = database_url  # None means the runner's sqlite default
        self.process = None

    def url(self, path_or_href):
        """Absolute URL for an href ("/pulp/...") or a path relative to the API root."""
        if path_or_href.startswith("http://") or path_or_href.startswith("https://"):
            return path_or_href
        if path_or_href.startswith("/"):
            return self.base_url + path_or_href
        return self.api_url + path_or_href

    def auth_header(self, username=None, password=None):
        user = self.username if username is None else username
        pw = self.password if password is None else password
        token = base64.b64encode(f"{user}:{pw}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def request(self, method, path, json_body=None, body=None, headers=None, auth=True):
        """HTTP request against the API. auth: True (admin), None (anonymous) or (user, pw)."""
        all_headers = {"Accept": "application/json"}
        if auth is True:
            all_headers.update(self.auth_header())
        elif auth:
            all_headers.update(self.auth_header(*auth))
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        return http_request(method, self.url(path), body=body, headers=all_headers)

    def wait_task(self, href, timeout=60, states=("completed", "failed", "canceled")):
        """Poll a task until it reaches one of `states`; return it."""
        deadline = time.monotonic() + timeout
        task = None
        while time.monotonic() < deadline:
            resp = self.request("GET", href)
            assert resp.status == 200, resp
            task = resp.json()
            if task["state"] in states:
                return task
            time.sleep(0.1)
        raise AssertionError(f"task {href} did not reach {states} in {timeout}s: {task}")

    def log_size(self):
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_text(self, start=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(start)
                return f.read().decode("utf-8", "replace")
        except OSError as err:
            return f"(cannot read {self.log_path}: {err})"


_server = None  # the session's DepotServer, for the reporting hooks below


def _pg_command(sql):
    host = os.environ.get("DEPOT_TEST_PG_HOST", "127.0.0.1")
    port = os.environ.get("DEPOT_TEST_PG_PORT", "5432")
    user = os.environ.get("DEPOT_TEST_PG_USER", "postgres")
    cmd = ["psql", "-h", host, "-p", port, "-U", user, "-d", "postgres",
           "-v", "ON_ERROR_STOP=1", "-X", "-q", "-c", sql]
    result = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()}")
    return f"postgres://{user}@{host}:{port}"


def _start_runner(binary, env, log_path):
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(
            [str(binary)], env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, cwd=env["DEPOT_DATA_DIR"],
        )
    finally:
        log.close()  # the child keeps its own copy of the descriptor


def _wait_until_ready(server, timeout):
    status_url = server.api_url + "status/"
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            raise RuntimeError(
                f"local-runner exited with code {code} before it was ready; "
                f"log {server.log_path}:\n{server.log_text()[-LOG_EXCERPT_CHARS:]}"
            )
        try:
            resp = http_request("GET", status_url, timeout=2)
            if resp.status == 200:
                return
            last = repr(resp)
        except OSError as err:
            last = str(err)
        time.sleep(0.1)
    raise RuntimeError(
        f"{status_url} not ready after {timeout}s (last: {last}); "
        f"log {server.log_path}:\n{server.log_text()[-LOG_EXCERPT_CHARS:]}"
    )


def _stop_runner(process):
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="session")
def depot_server(request):
    """Start local-runner on a free port with a fresh data dir and database."""
    global _server
    binary = Path(os.environ.get("DEPOT_BIN") or REPO_ROOT / "target" / "debug" / "local-runner")
    if not binary.is_file():
        pytest.fail(f"{binary} does not exist; build it with `cargo build -p local-runner` "
                    "or point DEPOT_BIN at it", pytrace=False)

    db_kind = os.environ.get("DEPOT_TEST_DB", "sqlite")
    if db_kind not in ("sqlite", "postgres"):
        pytest.fail(f"DEPOT_TEST_DB must be sqlite or postgres, not {db_kind!r}", pytrace=False)

    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="depot-e2e-"))
    log_path = data_dir / "server.log"
    password = "pw-" + secrets.token_hex(8)

    env = dict(os.environ)
    env.pop("DEPOT_DATABASE_URL", None)  # never inherit a developer's database
    # Exports and imports (pulp-cli's exporter/importer) go through one folder of the data dir.
    exchange = data_dir / "exchange"
    exchange.mkdir()
    env.update(
        DEPOT_LISTEN=f"127.0.0.1:{port}",
        DEPOT_DATA_DIR=str(data_dir),
        PULP_ADMIN_PASSWORD=password,
        PULP_CONTENT_ORIGIN=f"http://127.0.0.1:{port}",
        PULP_ALLOWED_EXPORT_PATHS=json.dumps([str(exchange)]),
        PULP_ALLOWED_IMPORT_PATHS=json.dumps([str(exchange)]),
    )
    env.setdefault("RUST_LOG", "info")
    env.setdefault("RUST_BACKTRACE", "1")
    env.setdefault("NO_COLOR", "1")  # plain text in server.log
    env.update(backend_env(request))

    db_name = None
    server = DepotServer(f"http://127.0.0.1:{port}", "admin", password, data_dir, log_path, None)
    try:
        if db_kind == "postgres":
            db_name = f"depot_e2e_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            base = _pg_command(f'CREATE DATABASE "{db_name}"')
            server.database_url = env["DEPOT_DATABASE_URL"] = f"{base}/{db_name}"
        _server = server
        print(f"\n[depot] {binary} on 127.0.0.1:{port}, "
              f"db={server.database_url or 'sqlite (default)'}, "
              f"storage={env.get('DEPOT_STORAGE_URL', 'data dir')}, "
              f"queue={env.get('DEPOT_QUEUE_URL', 'in-process')}, log={log_path}")
        server.process = _start_runner(binary, env, log_path)
        _wait_until_ready(server, START_TIMEOUT)
        yield server
    finally:
        if server.process is not None:
            code = _stop_runner(server.process)
            if code not in (0, -signal.SIGINT, 130):
                print(f"\n[depot] local-runner exited with code {code}; log: {log_path}")
        keep_all = os.environ.get("DEPOT_TEST_KEEP") == "1"
        if db_name and not keep_all:
            try:
                _pg_command(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            except RuntimeError as err:
                print(f"\n[depot] could not drop database {db_name}: {err}")
        if keep_all or request.session.testsfailed:
            print(f"\n[depot] kept data dir {data_dir} (server log: {log_path})"
                  + (f", database {db_name}" if db_name and keep_all else ""))
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
        _server = None


# Attach the part of the server log written during a failed test to its report.

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.depot_log_offset = _server.log_size() if _server else 0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if not report.failed:
        return report
    logs = []
    if _server is not None:
        logs.append((_server, getattr(item, "depot_log_offset", 0)))
    factory = getattr(item, "funcargs", {}).get("runner_factory")
    if factory is not None:
        logs.extend((s, 0) for s in factory.servers)
    for server, offset in logs:
        text = server.log_text(offset)
        if len(text) > LOG_EXCERPT_CHARS:
            text = "[...]\n" + text[-LOG_EXCERPT_CHARS:]
        report.sections.append(
            (f"depot server log ({server.log_path})", text or "(nothing logged during this test)")
        )
    return report


# --------------------------------------------------------------------------------------
# The pulp CLI
# --------------------------------------------------------------------------------------


class PulpCliError(AssertionError):
    pass


class PulpCli:
    """Runs the real `pulp` command against the test server with --format json."""

    def __init__(self, executable, server, home):
        self.executable = executable
        self.server = server
        self.username, self.password = server.username, server.password
        self.last = None  # CompletedProcess of the last run
        self.env = dict(os.environ)
        self.env.update(
            XDG_CACHE_HOME=str(home / "cache"),
            XDG_CONFIG_HOME=str(home / "config"),
            HOME=str(home),
        )

    def command(self, *args):
        return [
            str(self.executable),
            "--base-url", self.server.base_url,
            "--username", self.username,
            "--password", self.password,
            "--format", "json",
            *[str(a) for a in args],
        ]

    def as_user(self, username, password):
        """The same command, signed in as another user."""
        other = copy.copy(self)
        other.username, other.password = username, password
        return other

    def run(self, *args):
        """Run and return the CompletedProcess, whatever the exit code."""
        self.last = subprocess.run(self.command(*args), env=self.env, capture_output=True,
                                   text=True, stdin=subprocess.DEVNULL, timeout=CLI_TIMEOUT)
        return self.last

    def started_tasks(self):
        """Task hrefs the last command reported as "Started background task <href>"."""
        prefix = "Started background task "
        return [line[len(prefix):].strip() for line in self.last.stderr.splitlines()
                if line.startswith(prefix)]

    def __call__(self, *args):
        """Run, fail on a non-zero exit, return the parsed JSON output (or the raw text)."""
        result = self.run(*args)
        if result.returncode != 0:
            stderr = result.stderr.splitlines()
            if len(stderr) > 30:  # a traceback: its end says what went wrong
                stderr = ["[...]"] + stderr[-30:]
            raise PulpCliError(
                f"`pulp {' '.join(map(str, args))}` exited with {result.returncode}\n"
                f"--- stdout ---\n{result.stdout}\n--- stderr ---\n" + "\n".join(stderr)
            )
        text = result.stdout.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return result.stdout


@pytest.fixture(scope="session")
def pulp(depot_server, tmp_path_factory):
    executable = Path(sys.executable).parent / "pulp"
    if not executable.exists():
        found = shutil.which("pulp")
        if not found:
            pytest.fail(f"no `pulp` next to {sys.executable} nor on PATH; "
                        "pip install -r tests/e2e/requirements.txt", pytrace=False)
        executable = Path(found)
    return PulpCli(executable, depot_server, tmp_path_factory.mktemp("pulp-cli-home"))


# --------------------------------------------------------------------------------------
# A static HTTP server for sync tests, and a file-tree generator
# --------------------------------------------------------------------------------------


class LocalHttpServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) running `handler`."""

    def __init__(self, handler):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class FileServer(LocalHttpServer):
    """Serves `root` on 127.0.0.1; records every requested path in `requests`."""

    def __init__(self, root):
        self.root = root
        self.requests = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                with recorder._lock:
                    recorder.requests.append(self.path)
                super().do_GET()

            def do_HEAD(self):
                with recorder._lock:
                    recorder.requests.append(self.path)
                super().do_HEAD()

            def log_message(self, format, *args):
                pass

        super().__init__(functools.partial(Handler, directory=str(root)))

    def url(self, relative):
        return f"{self.base_url}/{relative}"

    def requested(self, prefix=""):
        """Paths requested so far that start with "/" + prefix."""
        with self._lock:
            return [p for p in self.requests if p.startswith("/" + prefix)]


@pytest.fixture(scope="session")
def file_server(tmp_path_factory):
    server = FileServer(tmp_path_factory.mktemp("served"))
    yield server
    server.stop()


def write_file_tree(directory, count, min_size=100, max_size=4000):
    """Write `count` random files (some in a subdirectory) plus PULP_MANIFEST.

    Returns {relative_path: {"sha256": ..., "size": ..., "data": bytes}}.
    """
    directory = Path(directory)
    files = {}
    for i in range(count):
        relative_path = f"file-{i}.bin" if i % 2 == 0 else f"sub/dir/file-{i}.bin"
        data = os.urandom(min_size + secrets.randbelow(max_size - min_size + 1))
        path = directory / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[relative_path] = {"sha256": sha256_bytes(data), "size": len(data), "data": data}
    lines = [f"{rp},{f['sha256']},{f['size']}\n" for rp, f in sorted(files.items())]
    (directory / "PULP_MANIFEST").write_text("".join(lines))
    return files


@pytest.fixture(scope="session")
def make_file_tree():
    return write_file_tree


def parse_manifest(text):
    """PULP_MANIFEST text -> {relative_path: (sha256, size)}."""
    entries = {}
    for line in text.splitlines():
        if line.strip():
            relative_path, digest, size = line.strip().split(",")
            entries[relative_path] = (digest, int(size))
    return entries


def slow_handler(files, delay):
    """A handler serving `files` from memory, `delay` seconds per request."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(delay)
            data = files.get(self.path.lstrip("/"))
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="session")
def helpers():
    """Small functions the test modules share (test modules should not import conftest)."""

    class Helpers:
        request = staticmethod(http_request)
        get_bytes = staticmethod(http_get_bytes)
        content = staticmethod(content_request)
        multipart = staticmethod(encode_multipart)
        sha256 = staticmethod(sha256_bytes)
        parse_manifest = staticmethod(parse_manifest)
        http_server = LocalHttpServer
        slow_handler = staticmethod(slow_handler)

    return Helpers


# --------------------------------------------------------------------------------------
# Extra runners, for tests that stop, kill and restart a server
# --------------------------------------------------------------------------------------


class RunnerFactory:
    """Starts local-runner processes sharing one data dir and database, so that a test can stop
    or kill one and start the next on the same state."""

    def __init__(self, binary, db_kind, root, base_env=None):
        self.binary = binary
        self.base_env = base_env or {}  # the backend's settings, shared by every runner
        self.data_dir = Path(tempfile.mkdtemp(prefix="depot-restart-", dir=root))
        self.log_dir = self.data_dir  # a test may keep the logs elsewhere (off a small disk)
        self.password = "pw-" + secrets.token_hex(8)
        self.port = free_port()
        self.db_name = None
        self.database_url = None
        if db_kind == "postgres":
            self.db_name = f"depot_restart_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            base = _pg_command(f'CREATE DATABASE "{self.db_name}"')
            self.database_url = f"{base}/{self.db_name}"
        self.servers = []

    def start(self, wait=True, port=None, **extra_env):
        env = dict(os.environ)
        env.pop("DEPOT_DATABASE_URL", None)
        port = port or self.port
        env.update(
            DEPOT_LISTEN=f"127.0.0.1:{port}",
            DEPOT_DATA_DIR=str(self.data_dir),
            PULP_ADMIN_PASSWORD=self.password,
            RUST_LOG="info",
            NO_COLOR="1",
        )
        if self.database_url:
            env["DEPOT_DATABASE_URL"] = self.database_url
        env.update(self.base_env)
        env.update({k: str(v) for k, v in extra_env.items()})
        log_path = self.log_dir / f"server-{len(self.servers)}.log"
        server = DepotServer(f"http://127.0.0.1:{port}", "admin", self.password,
                             self.data_dir, log_path, self.database_url)
        server.process = _start_runner(self.binary, env, log_path)
        self.servers.append(server)
        if wait:
            _wait_until_ready(server, START_TIMEOUT)
        return server

    def stop(self, server):
        return _stop_runner(server.process)

    def kill(self, server):
        server.process.kill()
        return server.process.wait(timeout=STOP_TIMEOUT)

    def close(self):
        for s in self.servers:
            if s.process.poll() is None:
                _stop_runner(s.process)
        if self.db_name:
            _pg_command(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture
def runner_factory(tmp_path, request):
    binary = Path(os.environ.get("DEPOT_BIN") or REPO_ROOT / "target" / "debug" / "local-runner")
    factory = RunnerFactory(binary, os.environ.get("DEPOT_TEST_DB", "sqlite"), tmp_path,
                            backend_env(request))
    yield factory
    factory.close()


# --------------------------------------------------------------------------------------
# An upstream that never finishes sending files (for killing and cancelling running syncs)
# --------------------------------------------------------------------------------------


class StallingServer(LocalHttpServer):
    """Serves a manifest at once, then never finishes sending the files."""

    def __init__(self):
        self.release = threading.Event()
        release = self.release
        manifest = "".join(f"f{i}.bin,{'a' * 64},1024\n" for i in range(3)).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.endswith("PULP_MANIFEST"):
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(manifest)))
                    self.end_headers()
                    self.wfile.write(manifest)
                    return
                self.send_response(200)
                self.send_header("Content-Length", "1024")
                self.end_headers()
                self.wfile.write(b"x" * 10)
                self.wfile.flush()
                release.wait(60)

            def log_message(self, *args):
                pass

        super().__init__(Handler)
        self.url = f"{self.base_url}/PULP_MANIFEST"

    def stop(self):
        self.release.set()
        super().stop()


@pytest.fixture
def stalling_upstream():
    s = StallingServer()
    yield s
    s.stop()


# ---------------------------------------------------------------------------------------------
# Containers: the Debian tools, test images, Depot's registry and an upstream registry.

@pytest.fixture(scope="module")
def tools():
    from containers import TOOLS
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"missing container tools: {missing} (.ci/run installs them)")
        pytest.skip(f"missing container tools: {missing}")


@pytest.fixture(scope="module")
def images(tools, tmp_path_factory):
    from containers import make_images
    return make_images(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def registry(depot_server, helpers):
    from containers import Registry
    return Registry(depot_server, helpers)


@pytest.fixture(scope="module")
def upstream_registry(tools, tmp_path_factory):
    from containers import DockerRegistry
    upstream = DockerRegistry(tmp_path_factory.mktemp("upstream"), free_port())
    yield upstream
    upstream.stop()


# ---------------------------------------------------------------------------------------------
# clamd (Debian's clamav-daemon) with a tiny signature database made here: no freshclam

# The EICAR test file, in two pieces so that this source file is not itself a match.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class Clamd:
    def __init__(self, root):
        self.root = root
        db = root / "db"
        db.mkdir(parents=True)
        # A body signature (clamd reports it as Eicar-Test-Signature.UNOFFICIAL).
        (db / "test.ndb").write_text(f"Eicar-Test-Signature:0:*:{EICAR.hex()}\n")
        self.port = free_port()
        conf = root / "clamd.conf"
        conf.write_text("\n".join([
            "Foreground yes", f"DatabaseDirectory {db}", f"TCPSocket {self.port}", "TCPAddr 127.0.0.1",
            f"LogFile {root / 'clamd.log'}", f"PidFile {root / 'clamd.pid'}", "TemporaryDirectory /tmp",
            "StreamMaxLength 100M", "MaxFileSize 100M", "MaxScanSize 400M", "Bytecode no", "",
        ]))
        self.process = subprocess.Popen(["/usr/sbin/clamd", f"--config-file={conf}"], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (root / "clamd.log").read_text() if (root / "clamd.log").exists() else ""
                raise RuntimeError(f"clamd did not start: {log[-2000:]}")
            time.sleep(0.1)

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"zPING\0")
                return s.recv(16).startswith(b"PONG")
        except OSError:
            return False

    def env(self):
        return {"PULP_CLAMAV_HOST": "127.0.0.1", "PULP_CLAMAV_PORT": str(self.port)}

    def stop(self):
        terminate(self.process)


@pytest.fixture(scope="session")
def clamd(tmp_path_factory):
    if not os.path.exists("/usr/sbin/clamd"):
        if os.environ.get("CI"):
            pytest.fail("clamd is missing (.ci/run installs clamav-daemon)")
        pytest.skip("clamd is missing (apt-get install clamav-daemon)")
    server = Clamd(tmp_path_factory.mktemp("clamd"))
    yield server
    server.stop()
