"""The servers the benchmarks start and talk to: Depot's local-runner, moto (S3 + SQS), nginx,
Debian's docker-registry and PyPI's pypiserver. Real Pulp is in pulp.py.

Every server that runs the Pulp API (Depot, Pulp) offers the same small client surface, so the
workloads in workloads.py run unchanged on either: `name`, `api_base`, `content_base`,
`registry` (host:port for skopeo), `creds` (user:password), `pypi_base`, `auth` (a Basic
header), `request`/`ok`/`wait`, and `pids()` (the roots of its process trees, for memory).
"""

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url, what, timeout=60, proc=None, headers=None):
    """Poll `url` until it answers at all (any HTTP status); fail if `proc` exits first."""
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise SystemExit(f"{what} exited with {proc.returncode} before answering")
            if time.time() > deadline:
                raise SystemExit(f"{what} did not answer {url} within {timeout} s")
            time.sleep(0.1)


def psql(sql, database="postgres"):
    """Runs `sql` as postgres on 127.0.0.1:5432; returns what it printed, unaligned."""
    return subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-X", "-q", "-tA",
                           "-c", sql], check=True, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL).stdout


def tool(name):
    """A program of this Python's environment (the .venv's), else from PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def stop_process(proc, sig=signal.SIGTERM, timeout=20):
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------------------- process memory

def process_tree(roots):
    """The pids of `roots` and all their descendants (read from /proc)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = text[text.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    seen, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.append(pid)
            todo.extend(children.get(pid, []))
    return seen


def memory_mib(roots):
    """(RSS, PSS) in MiB summed over the process trees of `roots`. PSS splits pages that forked
    processes share, so a preforking server is not counted once per worker."""
    rss = pss = 0
    for pid in process_tree(roots):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue  # exited meanwhile
        rss += int(re.search(r"^Rss:\s+(\d+) kB", rollup, re.M).group(1))
        pss += int(re.search(r"^Pss:\s+(\d+) kB", rollup, re.M).group(1))
    return rss / 1024, pss / 1024


# ---------------------------------------------------------------------------- HTTP helpers

def multipart(fields, files):
    boundary = "bench" + secrets.token_hex(8)
    out = []
    for k, v in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    for k, (name, data) in files.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
                   f'Content-Type: application/octet-stream\r\n\r\n'.encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


class PulpApiClient:
    """request/ok/wait over the Pulp REST API; subclasses say how a request authenticates."""

    poll_interval = 0.05

    def headers(self, method):
        return {"Authorization": self.auth}

    def request(self, method, path, body=None, ctype="application/json"):
        headers = dict(self.headers(method), Accept="application/json")
        if body is not None and ctype == "application/json":
            body = json.dumps(body).encode()
        if body is not None:
            headers["Content-Type"] = ctype
        url = path if path.startswith("http") else self.api_base + path
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                data = r.read()
                is_json = (r.headers.get("Content-Type") or "").startswith("application/json")
                return r.status, (json.loads(data) if data and is_json else data)
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def ok(self, method, path, body=None, ctype="application/json", want=(200, 201, 202)):
        status, data = self.request(method, path, body, ctype)
        if status not in want:
            raise SystemExit(f"{self.name}: {method} {path} -> {status}: {data!r}"[:2000])
        return data

    def wait(self, task_href, timeout=3600):
        deadline = time.time() + timeout
        while True:
            t = self.ok("GET", task_href)
            if t["state"] == "completed":
                return t
            if t["state"] in ("failed", "canceled", "skipped"):
                raise SystemExit(f"{self.name}: task {task_href} {t['state']}: {t.get('error')}")
            if time.time() > deadline:
                raise SystemExit(f"{self.name}: task {task_href} still {t['state']} after {timeout} s")
            time.sleep(self.poll_interval)


# ---------------------------------------------------------------------------- Depot

class Depot(PulpApiClient):
    """Depot's local-runner on a free port (never Pulp's 24816/24817), with its own data dir and,
    for db="postgres", its own database on 127.0.0.1:5432."""

    def __init__(self, binary, db, extra_env=None, name="Depot"):
        self.name = name
        self.port = free_port()
        self.base = self.api_base = self.content_base = self.pypi_base = f"http://127.0.0.1:{self.port}"
        self.registry = f"127.0.0.1:{self.port}"
        self.password = "bench-" + secrets.token_hex(6)
        self.creds = f"admin:{self.password}"
        self.auth = "Basic " + base64.b64encode(self.creds.encode()).decode()
        self.data_dir = Path(tempfile.mkdtemp(prefix="depot-bench-"))
        self.db_name = None
        env = dict(os.environ, DEPOT_LISTEN=f"127.0.0.1:{self.port}", DEPOT_DATA_DIR=str(self.data_dir),
                   PULP_ADMIN_PASSWORD=self.password, RUST_LOG="warn", NO_COLOR="1")
        env.pop("DEPOT_DATABASE_URL", None)
        env.update(extra_env or {})
        if db == "postgres":
            self.db_name = "depot_bench_" + uuid.uuid4().hex[:8]
            psql(f'CREATE DATABASE "{self.db_name}"')
            env["DEPOT_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{self.db_name}"
        self.log = open(self.data_dir / "server.log", "wb")
        self.proc = subprocess.Popen([str(binary)], env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.data_dir)
        wait_until_up(self.base + "/pulp/api/v3/status/", f"local-runner (log: {self.data_dir}/server.log)",
                      proc=self.proc)

    def pids(self):
        return [self.proc.pid]

    def rss_kib(self, field):
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))

    def stop(self):
        stop_process(self.proc, signal.SIGINT)
        self.log.close()
        if self.db_name:
            psql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        shutil.rmtree(self.data_dir, ignore_errors=True)


class Moto:
    """A moto_server on 127.0.0.1 serving S3 and SQS."""

    def __init__(self):
        import boto3

        for k, v in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                     ("AWS_EC2_METADATA_DISABLED", "true")):
            os.environ.setdefault(k, v)
        exe = tool("moto_server")
        if not exe:
            raise SystemExit("the production set needs moto_server: pip install 'moto[server]' boto3")
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")
        self.sqs = boto3.client("sqs", endpoint_url=self.endpoint, region_name="us-east-1")
        wait_until_up(self.endpoint + "/", "moto_server", proc=self.proc)

    def env(self):
        name = "bench-" + uuid.uuid4().hex[:8]
        self.s3.create_bucket(Bucket=name)
        queue = self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        return {"DEPOT_STORAGE_URL": f"s3://{name}/depot",
                "PULP_STORAGES__default__OPTIONS__endpoint_url": self.endpoint,
                "DEPOT_QUEUE_URL": queue}

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        stop_process(self.proc, timeout=10)


# ---------------------------------------------------------------------------- the peers

def nginx_binary():
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


class Nginx:
    """nginx on a free port: serving `root` from disk (sendfile), or proxying to `proxy_to`."""

    name = "nginx"

    def __init__(self, root=None, proxy_to=None, workers="auto"):
        exe = nginx_binary()
        if not exe:
            raise SystemExit("nginx is not installed (apt-get install nginx-light)")
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.conf_dir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
        if root is not None:
            # nginx's workers run unprivileged: the files must be world-readable (the tree is the
            # benchmark's own directory; nothing above it is touched).
            self.root = Path(root)
            self.refresh_permissions()
            location = f"root {self.root};"
        else:
            # As Pulp's installers deploy it: nginx in front, streaming both ways.
            location = (f"location / {{ proxy_pass {proxy_to}; proxy_set_header Host $http_host; "
                        "proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; "
                        "proxy_request_buffering off; proxy_read_timeout 600s; }")
        (self.conf_dir / "nginx.conf").write_text(
            f"daemon off; worker_processes {workers}; pid {self.conf_dir}/nginx.pid;\n"
            f"error_log {self.conf_dir}/error.log;\n"
            "events { worker_connections 1024; }\n"
            "http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;\n"
            f"  client_max_body_size 0; client_body_temp_path {self.conf_dir}/body;\n"
            f"  proxy_temp_path {self.conf_dir}/proxy;\n"
            f"  server {{ listen 127.0.0.1:{self.port}; {location} }} }}\n")
        self.proc = subprocess.Popen([exe, "-c", str(self.conf_dir / "nginx.conf"), "-p", str(self.conf_dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        wait_until_up(self.base_url + "/", "nginx", proc=self.proc)

    def refresh_permissions(self):
        for path in [self.root.parent, self.root, *self.root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        stop_process(self.proc, timeout=10)
        shutil.rmtree(self.conf_dir, ignore_errors=True)


class DockerRegistry:
    """Debian's docker-registry (CNCF distribution) on a free port, storing in `workdir`; with
    `proxy`, a pull-through cache of that registry."""

    def __init__(self, workdir, proxy=None, name="docker-registry"):
        self.name = name
        self.port = free_port()
        self.registry = f"127.0.0.1:{self.port}"
        self.dir = Path(workdir) / f"{name}-{uuid.uuid4().hex[:6]}"
        self.dir.mkdir()
        config = self.dir / "config.yml"
        proxy_conf = f"proxy:\n  remoteurl: {proxy}\n" if proxy else ""
        config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                          f"    rootdirectory: {self.dir / 'data'}\nhttp:\n  addr: 127.0.0.1:{self.port}\n"
                          + proxy_conf)
        self.proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        wait_until_up(f"http://127.0.0.1:{self.port}/v2/", name, proc=self.proc)

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        stop_process(self.proc, timeout=10)


class PypiServer:
    """PyPI's pypiserver on a free port, serving the wheels in `packages`."""

    name = "pypiserver"

    def __init__(self, packages):
        exe = tool("pypi-server")
        if not exe:
            raise SystemExit("pypiserver is not installed (pip install pypiserver)")
        self.port = free_port()
        self.simple = f"http://127.0.0.1:{self.port}/simple/"
        self.proc = subprocess.Popen([exe, "run", "-i", "127.0.0.1", "-p", str(self.port), "-a", ".", "-P", ".",
                                      "--disable-fallback", "--hash-algo", "sha256", str(packages)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        wait_until_up(self.simple, "pypiserver", proc=self.proc)

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        stop_process(self.proc, timeout=10)
