#!/usr/bin/env python3
"""Depot's benchmark: the workloads of the core issue, measured against a running local-runner.

    .venv/bin/python bench/bench.py            # build the release runner, run every workload on both
                                               # backend sets, print one table per set
    .venv/bin/python bench/bench.py --smoke    # tiny sizes, one repetition (keeps the harness from rotting)
    .venv/bin/python bench/bench.py --sets local --db postgres   # only the embedded set, on PostgreSQL

Backend sets:
  local        the embedded default: SQLite (or --db postgres), files in the data dir, in-process queue
  production   PostgreSQL (127.0.0.1:5432, user postgres, trust auth) + S3 + SQS, both served by a
               moto_server the benchmark starts (pip install 'moto[server]' boto3; tests/run.sh's
               .venv has them). The content app answers with redirects to presigned S3 URLs there,
               so its figure is the rate of those redirects.

Workloads (each repeated, reported as median, min and max):
  upload   200 files of 4 KiB uploaded as file content into one repository, until every task completed
  sync     1,000 files of 16 KiB from a PULP_MANIFEST: immediate, and on_demand followed by fetching all
  content  requests per second for one 16 KiB file from the content app (wrk, 32 connections)
  api      requests per second for a repository list of 100 (wrk, 32 connections, Basic auth)
  memory   resident memory of the runner at idle and its peak over the run
  registry push and pull (skopeo) of an image with 5 layers of 10 MiB, and a first and second pull
           of a fresh image through a pull-through cache of a third registry; Depot and Debian's
           docker-registry (in its proxy mode for the cache) side by side, when skopeo and
           docker-registry are installed
  pypi     `pip install --no-deps` of one package and `uv pip install` of 20 packages (fresh target,
           no cache) from Depot's index and from PyPI's pypiserver serving the same wheels

This is a benchmark, not a test: it asserts only that each operation succeeded. Raw figures are
written as JSON to bench/results/.
"""

import argparse
import base64
import functools
import hashlib
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import functions  # noqa: E402  (bench/functions.py: the function binaries' cold start and size)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """A moto_server on 127.0.0.1 serving S3 and SQS."""

    def __init__(self):
        import boto3

        for k, v in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                     ("AWS_EC2_METADATA_DISABLED", "true")):
            os.environ.setdefault(k, v)
        exe = Path(sys.executable).parent / "moto_server"
        exe = str(exe) if exe.exists() else shutil.which("moto_server")
        if not exe:
            raise SystemExit("the production set needs moto_server: pip install 'moto[server]' boto3")
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")
        self.sqs = boto3.client("sqs", endpoint_url=self.endpoint, region_name="us-east-1")
        deadline = time.time() + 30
        while True:
            try:
                self.sqs.list_queues()
                break
            except Exception:
                if time.time() > deadline:
                    self.stop()
                    raise
                time.sleep(0.2)

    def env(self):
        name = "bench-" + uuid.uuid4().hex[:8]
        self.s3.create_bucket(Bucket=name)
        queue = self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        return {"DEPOT_STORAGE_URL": f"s3://{name}/depot",
                "PULP_STORAGES__default__OPTIONS__endpoint_url": self.endpoint,
                "DEPOT_QUEUE_URL": queue}

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Depot:
    def __init__(self, binary, db, extra_env=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.password = "bench-" + secrets.token_hex(6)
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
        self.auth = "Basic " + base64.b64encode(f"admin:{self.password}".encode()).decode()
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if self.request("GET", "/pulp/api/v3/status/")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("local-runner did not start; see " + str(self.data_dir / "server.log"))

    def request(self, method, path, body=None, ctype="application/json"):
        headers = {"Authorization": self.auth, "Accept": "application/json"}
        if body is not None and ctype == "application/json":
            body = json.dumps(body).encode()
        if body is not None:
            headers["Content-Type"] = ctype
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                data = r.read()
                return r.status, (json.loads(data) if data and r.headers.get("Content-Type") == "application/json" else data)
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def ok(self, method, path, body=None, ctype="application/json", want=(200, 201, 202)):
        status, data = self.request(method, path, body, ctype)
        if status not in want:
            raise SystemExit(f"{method} {path} -> {status}: {data!r}")
        return data

    def wait(self, task_href):
        while True:
            t = self.ok("GET", task_href)
            if t["state"] == "completed":
                return t
            if t["state"] in ("failed", "canceled"):
                raise SystemExit(f"task {task_href} {t['state']}: {t['error']}")
            time.sleep(0.05)

    def rss_kib(self, field):
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        if self.db_name:
            psql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        shutil.rmtree(self.data_dir, ignore_errors=True)


def psql(sql):
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-X", "-q", "-c", sql],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)


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


class Upstream:
    """Serves a directory on 127.0.0.1: nginx when installed (so that the upstream is not what
    is measured), else Python's http.server."""

    def __init__(self, root):
        self.root = Path(root)
        # nginx's workers run unprivileged: the files must be world-readable.
        # (The tree lives in a directory of the benchmark's own; nothing above it is touched.)
        for path in [self.root.parent, self.root, *self.root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        self.nginx = None
        self.httpd = None
        port = free_port()
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if nginx:
            conf_dir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
            (conf_dir / "nginx.conf").write_text(
                f"daemon off; worker_processes 1; pid {conf_dir}/nginx.pid; error_log {conf_dir}/error.log;\n"
                f"events {{ worker_connections 1024; }}\n"
                f"http {{ access_log off; sendfile on; server {{ listen 127.0.0.1:{port}; root {self.root}; }} }}\n"
            )
            self.nginx = subprocess.Popen([nginx, "-c", str(conf_dir / "nginx.conf"), "-p", str(conf_dir)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(100):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    time.sleep(0.05)
        else:
            handler = functools.partial(QuietHandler, directory=str(root))
            self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
            self.httpd.daemon_threads = True
            threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{port}"

    def stop(self):
        if self.nginx:
            self.nginx.terminate()
            self.nginx.wait(timeout=10)
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


def make_tree(root, count, size):
    lines = []
    for i in range(count):
        data = os.urandom(size)
        rel = f"d{i % 10}/f{i}.bin"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        lines.append(f"{rel},{hashlib.sha256(data).hexdigest()},{size}\n")
    (root / "PULP_MANIFEST").write_text("".join(lines))


def new_repo(depot):
    return depot.ok("POST", "/pulp/api/v3/repositories/file/file/", {"name": "bench-" + uuid.uuid4().hex[:10]})


def bench_upload(depot, count, size):
    repo = new_repo(depot)

    def one(i):
        body, ctype = multipart({"relative_path": f"u/{i}.bin", "repository": repo["pulp_href"]},
                                {"file": (f"{i}.bin", os.urandom(size))})
        return depot.ok("POST", "/pulp/api/v3/content/file/files/", body, ctype)["task"]

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        tasks = list(pool.map(one, range(count)))
    for t in tasks:
        depot.wait(t)
    elapsed = time.perf_counter() - start
    latest = depot.ok("GET", repo["pulp_href"])["latest_version_href"]
    present = depot.ok("GET", latest)["content_summary"]["present"]["file.file"]["count"]
    if present != count:
        raise SystemExit(f"upload: expected {count} units in the repository, found {present}")
    return elapsed


def bench_sync(depot, workdir, count, size, policy):
    tree = workdir / uuid.uuid4().hex[:8]
    tree.mkdir()
    make_tree(tree, count, size)
    upstream = Upstream(tree)
    try:
        url = f"{upstream.base_url}/PULP_MANIFEST"
        remote = depot.ok("POST", "/pulp/api/v3/remotes/file/file/",
                          {"name": "bench-" + uuid.uuid4().hex[:10], "url": url, "policy": policy})
        repo = new_repo(depot)
        start = time.perf_counter()
        task = depot.ok("POST", repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"]})["task"]
        depot.wait(task)
        sync_time = time.perf_counter() - start
        fetch_time = None
        if policy == "on_demand":
            base_path = "bench-" + uuid.uuid4().hex[:10]
            t = depot.ok("POST", "/pulp/api/v3/distributions/file/file/",
                         {"name": base_path, "base_path": base_path, "repository": repo["pulp_href"]})["task"]
            depot.wait(t)
            paths = [line.split(",")[0] for line in (tree / "PULP_MANIFEST").read_text().splitlines()]

            def get(p):
                with urllib.request.urlopen(f"{depot.base}/pulp/content/{base_path}/{p}", timeout=60) as r:
                    if len(r.read()) != size:
                        raise SystemExit(f"on_demand fetch of {p}: wrong size")

            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(get, paths))
            fetch_time = time.perf_counter() - start
        return sync_time, fetch_time
    finally:
        upstream.stop()


def wrk(url, seconds, auth=None):
    """Requests per second and p50/p99 latency (ms) from wrk, 2 threads, 32 connections."""
    if not shutil.which("wrk"):
        return None
    cmd = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency"]
    if auth:
        cmd += ["-H", f"Authorization: {auth}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"wrk {url}: {non2xx.group(1)} failed responses")
    return rps, pct(50), pct(99)


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def run_set(binary, db, extra_env, smoke, reps):
    """Every workload against one runner; returns (results, table rows)."""
    n_upload, n_sync, wrk_secs = (10, 20, 1) if smoke else (200, 1000, 10)
    depot = Depot(binary, db, extra_env)
    workdir = Path(tempfile.mkdtemp(prefix="depot-bench-files-"))
    results = {"db": db, "smoke": smoke, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "cores": os.cpu_count()}
    try:
        results["idle_rss_mib"] = depot.rss_kib("VmRSS") / 1024
        results["upload_s"] = summary([bench_upload(depot, n_upload, 4096) for _ in range(reps)])
        results["sync_immediate_s"] = summary([bench_sync(depot, workdir, n_sync, 16384, "immediate")[0] for _ in range(reps)])
        od = [bench_sync(depot, workdir, n_sync, 16384, "on_demand") for _ in range(reps)]
        results["sync_on_demand_s"] = summary([s for s, _ in od])
        results["on_demand_fetch_all_s"] = summary([f for _, f in od])

        # One 16 KiB file behind a distribution, and 100 repositories for the list.
        repo = new_repo(depot)
        body, ctype = multipart({"relative_path": "one.bin", "repository": repo["pulp_href"]},
                                {"file": ("one.bin", os.urandom(16384))})
        depot.wait(depot.ok("POST", "/pulp/api/v3/content/file/files/", body, ctype)["task"])
        depot.wait(depot.ok("POST", "/pulp/api/v3/distributions/file/file/",
                            {"name": "bench-one", "base_path": "bench-one", "repository": repo["pulp_href"]})["task"])
        while int(depot.ok("GET", "/pulp/api/v3/repositories/file/file/?limit=1")["count"]) < 100:
            new_repo(depot)
        content = [wrk(f"{depot.base}/pulp/content/bench-one/one.bin", wrk_secs) for _ in range(reps)]
        api = [wrk(f"{depot.base}/pulp/api/v3/repositories/file/file/?limit=100", wrk_secs, depot.auth) for _ in range(reps)]
        results["content_rps"] = summary([c[0] for c in content if c])
        results["content_p99_ms"] = summary([c[2] for c in content if c])
        results["api_list_rps"] = summary([a[0] for a in api if a])
        results["api_list_p99_ms"] = summary([a[2] for a in api if a])
        n_layers, layer_size = (2, 1024 * 1024) if smoke else (5, 10 * 1024 * 1024)
        reg = bench_registry(depot, workdir, reps, n_layers, layer_size)
        if reg:
            results["registry"] = {name: {k: summary(v) for k, v in r.items()} for name, r in reg.items()}
            results["registry_image"] = f"{n_layers} layers of {layer_size // (1024 * 1024)} MiB"
        n_pkgs, pkg_size = (3, 1024) if smoke else (20, 64 * 1024)
        pypi = bench_pypi(depot, workdir, reps, n_pkgs, pkg_size)
        if pypi:
            results["pypi"] = {name: {k: summary(v) for k, v in r.items()} for name, r in pypi.items()}
            results["pypi_packages"] = f"{n_pkgs} wheels of {pkg_size // 1024} KiB"
        results["peak_rss_mib"] = depot.rss_kib("VmHWM") / 1024
    finally:
        depot.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    served = "302 to presigned S3 URL" if extra_env.get("DEPOT_STORAGE_URL") else "bytes served"
    rows = [
        (f"upload {n_upload} x 4 KiB into one repository (s)", results["upload_s"]),
        (f"sync {n_sync} x 16 KiB, immediate (s)", results["sync_immediate_s"]),
        (f"sync {n_sync} x 16 KiB, on_demand (s)", results["sync_on_demand_s"]),
        (f"fetch all {n_sync} on_demand files, 8 clients (s)", results["on_demand_fetch_all_s"]),
        (f"content app, 16 KiB file, {served} (req/s)", results["content_rps"]),
        ("content app, 16 KiB file, p99 (ms)", results["content_p99_ms"]),
        ("repository list of 100 (req/s)", results["api_list_rps"]),
        ("repository list of 100, p99 (ms)", results["api_list_p99_ms"]),
    ]
    return results, rows


def print_table(title, results, rows):
    print(f"\n{title}\n")
    print(f"| {'workload':<58} | {'median':>10} | {'min':>10} | {'max':>10} |")
    print(f"|{'-' * 60}|{'-' * 12}|{'-' * 12}|{'-' * 12}|")
    for name, s in rows:
        if s is None:
            print(f"| {name:<58} | {'(no wrk)':>10} | {'':>10} | {'':>10} |")
        else:
            print(f"| {name:<58} | {s['median']:>10.2f} | {s['min']:>10.2f} | {s['max']:>10.2f} |")
    print(f"| {'resident memory at idle (MiB)':<58} | {results['idle_rss_mib']:>10.1f} | {'':>10} | {'':>10} |")
    print(f"| {'peak resident memory (MiB)':<58} | {results['peak_rss_mib']:>10.1f} | {'':>10} | {'':>10} |")
    reg = results.get("registry")
    if reg:
        print(f"\nregistry, skopeo copy of an image with {results['registry_image']} (s, median of runs)\n")
        columns = ["push", "pull", "pull-through first", "pull-through second"]
        print(f"| {'registry':<16} | " + " | ".join(f"{c:>19}" for c in columns) + " |")
        print(f"|{'-' * 18}|" + "|".join("-" * 21 for _ in columns) + "|")
        for name, r in reg.items():
            print(f"| {name:<16} | " + " | ".join(f"{r[c]['median']:>19.2f}" for c in columns) + " |")
    pypi = results.get("pypi")
    if pypi:
        print(f"\npackage index, {results['pypi_packages']}, fresh targets, no caches (s, median of runs)\n")
        columns = list(next(iter(pypi.values())).keys())
        print(f"| {'index':<16} | " + " | ".join(f"{c:>34}" for c in columns) + " |")
        print(f"|{'-' * 18}|" + "|".join("-" * 36 for _ in columns) + "|")
        for name, r in pypi.items():
            print(f"| {name:<16} | " + " | ".join(f"{r[c]['median']:>34.2f}" for c in columns) + " |")


def make_image_layout(root, layers, layer_size):
    """An OCI image layout with `layers` random layers (fresh bytes, so nothing is deduplicated)."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data):
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    layer_descs = [dict(blob(os.urandom(layer_size)), mediaType="application/vnd.oci.image.layer.v1.tar+gzip")
                   for _ in range(layers)]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d in layer_descs]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": dict(blob(config), mediaType="application/vnd.oci.image.config.v1+json"),
                           "layers": layer_descs}).encode()
    m = dict(blob(manifest), mediaType="application/vnd.oci.image.manifest.v1+json",
             annotations={"org.opencontainers.image.ref.name": "v1"})
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [m]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return f"oci:{root}:v1"


class DockerRegistry:
    """Debian's docker-registry (CNCF distribution) on a free port, storing in a temp dir; with
    `proxy`, a pull-through cache of that registry."""

    def __init__(self, workdir, proxy=None, name="docker-registry"):
        self.port = free_port()
        self.dir = workdir / name
        self.dir.mkdir()
        config = self.dir / "config.yml"
        proxy_conf = f"proxy:\n  remoteurl: {proxy}\n" if proxy else ""
        config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                          f"    rootdirectory: {self.dir / 'data'}\nhttp:\n  addr: 127.0.0.1:{self.port}\n"
                          + proxy_conf)
        self.proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v2/", timeout=2).read()
                return
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("docker-registry did not start")
                time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def skopeo_copy(src, dest, *extra):
    """Seconds one `skopeo copy` takes."""
    start = time.perf_counter()
    subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false", *extra, src, dest],
                   check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_registry(depot, workdir, reps, layers, layer_size):
    """skopeo times against Depot and Debian's docker-registry side by side:
    {target: {"push": [s], "pull": [s], "pull-through first": [s], "pull-through second": [s]}}.
    The pull-through pulls go through a cache of a third registry (Depot: a pull-through
    distribution; docker-registry: its proxy mode); the second pull of an image is served by the
    cache (Depot still checks the tag upstream, as pulp_container does)."""
    if not (shutil.which("skopeo") and shutil.which("docker-registry")):
        return None
    upstream = DockerRegistry(workdir, name="upstream")
    plain = DockerRegistry(workdir)
    proxy = DockerRegistry(workdir, proxy=f"http://127.0.0.1:{upstream.port}", name="docker-registry-proxy")
    creds = f"admin:{depot.password}"
    remote = depot.ok("POST", "/pulp/api/v3/remotes/container/pull-through/",
                      {"name": "bench-pt", "url": f"http://127.0.0.1:{upstream.port}"})
    depot.wait(depot.ok("POST", "/pulp/api/v3/distributions/container/pull-through/",
                        {"name": "bench-pt", "base_path": "cache", "remote": remote["pulp_href"]})["task"])
    targets = {
        "Depot": (f"127.0.0.1:{depot.port}", ["--dest-creds", creds], ["--src-creds", creds], "cache/"),
        "docker-registry": (f"127.0.0.1:{plain.port}", [], [], ""),
    }
    cache_hosts = {"Depot": f"127.0.0.1:{depot.port}", "docker-registry": f"127.0.0.1:{proxy.port}"}
    out = {name: {"push": [], "pull": [], "pull-through first": [], "pull-through second": []} for name in targets}
    try:
        for rep in range(reps):
            for name, (host, push_creds, pull_creds, cache_prefix) in targets.items():
                src = make_image_layout(workdir / f"img-{name}-{rep}", layers, layer_size)
                ref = f"docker://{host}/bench/img{rep}:v1"
                out[name]["push"].append(skopeo_copy(src, ref, *push_creds))
                out[name]["pull"].append(skopeo_copy(ref, f"oci:{workdir / f'pulled-{name}-{rep}'}:v1"))
                # Pull-through: a fresh image upstream, pulled twice through the cache.
                up_ref = f"docker://127.0.0.1:{upstream.port}/bench/{name.lower()}{rep}:v1"
                skopeo_copy(make_image_layout(workdir / f"up-{name}-{rep}", layers, layer_size), up_ref)
                cached = f"docker://{cache_hosts[name]}/{cache_prefix}bench/{name.lower()}{rep}:v1"
                for which in ("first", "second"):
                    dest = f"oci:{workdir / f'cached-{name}-{rep}-{which}'}:v1"
                    out[name][f"pull-through {which}"].append(skopeo_copy(cached, dest, *pull_creds))
    finally:
        for r in (upstream, plain, proxy):
            r.stop()
    return out


def make_wheel(directory, name, version, payload):
    """A minimal pure-Python wheel (dist-info with METADATA, WHEEL, RECORD) with `payload` bytes."""
    import zipfile
    mod = name.replace("-", "_")
    info = f"{mod}-{version}.dist-info"
    files = {f"{mod}/__init__.py": b"# bench\n", f"{mod}/data.bin": payload,
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
             f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}"
              for p, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = directory / f"{mod}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for p, d in files.items():
            z.writestr(p, d)
    return path


def bench_pypi(depot, workdir, reps, count, size):
    """pip and uv install times from Depot's index and from pypiserver serving the same wheels:
    {target: {"pip install --no-deps (1 package)": [s], "uv pip install (N packages)": [s]}}."""
    tools = Path(sys.executable).parent
    pip, uv, pypiserver = tools / "pip", tools / "uv", tools / "pypi-server"
    if not (uv.exists() and pypiserver.exists()):
        return None
    packages = workdir / "pypi-packages"
    packages.mkdir()
    names = [f"bench-pkg{i}" for i in range(count)]
    wheels = [make_wheel(packages, n, "1.0", os.urandom(size)) for n in names]
    repo = depot.ok("POST", "/pulp/api/v3/repositories/python/python/", {"name": "bench-pypi"})
    depot.wait(depot.ok("POST", "/pulp/api/v3/distributions/python/pypi/",
                        {"name": "bench-pypi", "base_path": "bench-pypi", "repository": repo["pulp_href"]})["task"])
    for w in wheels:
        data = w.read_bytes()
        body, ctype = multipart({":action": "file_upload", "protocol_version": "1",
                                 "sha256_digest": hashlib.sha256(data).hexdigest()}, {"content": (w.name, data)})
        depot.ok("POST", "/pypi/bench-pypi/legacy/", body, ctype)
    port = free_port()
    server = subprocess.Popen([str(pypiserver), "run", "-i", "127.0.0.1", "-p", str(port), "-a", ".", "-P", ".",
                               "--disable-fallback", "--hash-algo", "sha256", str(packages)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/simple/", timeout=2).read()
            break
        except OSError:
            if time.time() > deadline:
                raise SystemExit("pypiserver did not start")
            time.sleep(0.1)
    targets = {"Depot": f"{depot.base}/pypi/bench-pypi/simple/", "pypiserver": f"http://127.0.0.1:{port}/simple/"}
    one, many = "pip install --no-deps (1 package)", f"uv pip install ({count} packages)"
    out = {name: {one: [], many: []} for name in targets}
    env = dict(os.environ)
    env.pop("PIP_FIND_LINKS", None)
    try:
        for rep in range(reps):
            for name, index in targets.items():
                target = workdir / f"pip-{name}-{rep}"
                start = time.perf_counter()
                subprocess.run([str(pip), "install", "-q", "--no-deps", "--no-cache-dir", "--disable-pip-version-check",
                                "--index-url", index, "--target", str(target), names[0]],
                               check=True, stdin=subprocess.DEVNULL, env=env)
                out[name][one].append(time.perf_counter() - start)
                venv = workdir / f"uv-{name}-{rep}"
                subprocess.run([str(uv), "venv", "-q", str(venv)], check=True, stdin=subprocess.DEVNULL, env=env)
                start = time.perf_counter()
                subprocess.run([str(uv), "pip", "install", "-q", "--no-cache", "--index-url", index, *names],
                               check=True, stdin=subprocess.DEVNULL, env=dict(env, VIRTUAL_ENV=str(venv)))
                out[name][many].append(time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes and one repetition")
    ap.add_argument("--sets", default="local,production", help="backend sets to run, comma-separated")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="database of the local set")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--bin", help="local-runner binary (default: build the release one)")
    args = ap.parse_args()
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = set(sets) - {"local", "production"}
    if unknown:
        raise SystemExit(f"unknown backend set(s): {', '.join(sorted(unknown))}")

    if args.bin:
        binary = Path(args.bin).resolve()
    else:
        # The runner and every function binary (for the functions table).
        subprocess.run(["cargo", "build", "--release", "--workspace", "--bins"], cwd=ROOT, check=True)
        binary = ROOT / "target" / "release" / "local-runner"
    reps = 1 if args.smoke else args.reps

    tables = []
    for name in sets:
        if name == "local":
            results, rows = run_set(binary, args.db, {}, args.smoke, reps)
            title = f"local set: {args.db}, files in the data dir, in-process queue"
        else:
            moto = Moto()
            try:
                results, rows = run_set(binary, "postgres", moto.env(), args.smoke, reps)
            finally:
                moto.stop()
            title = "production set: PostgreSQL, S3 and SQS (moto_server)"
        results["set"] = name
        tables.append((title, results, rows))
        out_dir = ROOT / "bench" / "results"
        out_dir.mkdir(exist_ok=True)
        out = out_dir / f"bench-{name}{'-' + args.db if name == 'local' else ''}{'-smoke' if args.smoke else ''}.json"
        out.write_text(json.dumps(results, indent=2))

    with tempfile.TemporaryDirectory(prefix="depot-bench-functions-") as workdir:
        function_results = functions.run(binary.parent, 1 if args.smoke else max(reps, 5), workdir)
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / f"bench-functions{'-smoke' if args.smoke else ''}.json").write_text(
        json.dumps(function_results, indent=2))

    print(f"\nDepot benchmark ({'smoke, ' if args.smoke else ''}{reps} repetition(s), {os.cpu_count()} cores; "
          "raw figures in bench/results/)")
    for title, results, rows in tables:
        print_table(title, results, rows)
    functions.print_table(function_results, release="release" in binary.parts)


if __name__ == "__main__":
    sys.exit(main())
