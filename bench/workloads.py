"""The benchmark's workloads, written once against the Pulp REST API (servers.py says what a
server offers), so that Depot and Pulp run exactly the same requests. Each returns what it
measured; it checks that the work was done (counts, sizes) and fails loudly otherwise."""

import base64
import gzip
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import threading
import time
import urllib.request
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor

from servers import memory_mib, multipart, tool

FILES = "/pulp/api/v3/content/file/files/"


def unique(prefix="bench"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_repo(server, kind="file/file"):
    return server.ok("POST", f"/pulp/api/v3/repositories/{kind}/", {"name": unique()})


def latest_count(server, repo_href, type_key="file.file"):
    latest = server.ok("GET", repo_href)["latest_version_href"]
    return server.ok("GET", latest)["content_summary"]["present"].get(type_key, {}).get("count", 0), latest


def role_users(server, repo_hrefs):
    """Two users who are not superusers, for the cost of authorisation: one holding the file
    repository viewer role model-wide, one holding the owner role on each of `repo_hrefs` (its
    lists are narrowed by those object roles). Returns their Authorization headers by name."""
    password = "bench-" + uuid.uuid4().hex
    headers = {}
    for name, grants in (("viewer", [("file.filerepository_viewer", None)]),
                         ("owner", [("file.filerepository_owner", h) for h in repo_hrefs])):
        username = unique(f"bench-{name}")
        made = server.ok("POST", "/pulp/api/v3/users/", {"username": username, "password": password})
        for role, obj in grants:
            server.ok("POST", f"{made['pulp_href']}roles/", {"role": role, "content_object": obj})
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        headers[name] = f"Authorization: Basic {token}"
    return headers


def publish_and_distribute(server, repo_href):
    """A publication of the repository's latest version, distributed at a new base path."""
    task = server.wait(server.ok("POST", "/pulp/api/v3/publications/file/file/", {"repository": repo_href})["task"])
    publication = next(h for h in task["created_resources"] if "/publications/" in h)
    base_path = unique()
    server.wait(server.ok("POST", "/pulp/api/v3/distributions/file/file/",
                          {"name": base_path, "base_path": base_path, "publication": publication})["task"])
    return base_path


# ---------------------------------------------------------------------------- fixtures

def make_tree(root, count, size):
    """`count` random files of `size` bytes and their PULP_MANIFEST; returns the relative paths."""
    root.mkdir(parents=True)
    lines, paths = [], []
    for i in range(count):
        data = os.urandom(size)
        rel = f"d{i % 10}/f{i}.bin"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        lines.append(f"{rel},{hashlib.sha256(data).hexdigest()},{size}\n")
        paths.append(rel)
    (root / "PULP_MANIFEST").write_text("".join(lines))
    return paths


def make_manifest_only(root, count, size=16384):
    """A PULP_MANIFEST of `count` entries whose files do not exist: an on_demand sync reads only
    the manifest, so the scale workload needs no 100,000 files on disk."""
    root.mkdir(parents=True)
    with open(root / "PULP_MANIFEST", "w") as f:
        for i in range(count):
            f.write(f"d{i % 100}/f{i}.bin,{os.urandom(32).hex()},{size}\n")


# ---------------------------------------------------------------------------- file content

def upload(server, count, size, clients=8):
    """Seconds from the first upload of `count` files into one repository until every task
    completed; each POST names the repository, so each makes a task and a version."""
    repo = new_repo(server)

    def one(i):
        body, ctype = multipart({"relative_path": f"u/{i}.bin", "repository": repo["pulp_href"]},
                                {"file": (f"{i}.bin", os.urandom(size))})
        return server.ok("POST", FILES, body, ctype)["task"]

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        tasks = list(pool.map(one, range(count)))
    for t in tasks:
        server.wait(t)
    elapsed = time.perf_counter() - start
    present, _ = latest_count(server, repo["pulp_href"])
    if present != count:
        raise SystemExit(f"{server.name}: upload: expected {count} units in the repository, found {present}")
    return elapsed


def sync(server, manifest_url, policy, expect):
    """Seconds from the sync request until its task completed; returns (seconds, repo_href,
    latest version href)."""
    remote = server.ok("POST", "/pulp/api/v3/remotes/file/file/",
                       {"name": unique(), "url": manifest_url, "policy": policy})
    repo = new_repo(server)
    start = time.perf_counter()
    server.wait(server.ok("POST", repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"]})["task"])
    elapsed = time.perf_counter() - start
    present, latest = latest_count(server, repo["pulp_href"])
    if present != expect:
        raise SystemExit(f"{server.name}: sync of {manifest_url}: expected {expect} units, found {present}")
    return elapsed, repo["pulp_href"], latest


def sync_fresh_tree(server, upstream, workdir, count, size, policy):
    """Syncs a new tree of `count` random files (served by `upstream` from workdir/upstream) and
    returns (sync seconds, seconds to then download every file of an on_demand sync, or None).
    The tree is new every time: Pulp (and Depot) reuse artifacts they already hold."""
    tree = workdir / "upstream" / unique("sync")
    paths = make_tree(tree, count, size)
    try:
        seconds, repo, _ = sync(server, f"{upstream.base_url}/{tree.name}/PULP_MANIFEST", policy, count)
        if policy != "on_demand":
            return seconds, None
        return seconds, fetch_all(server, publish_and_distribute(server, repo), paths, size)
    finally:
        shutil.rmtree(tree)


def fetch_all(server, base_path, paths, size, clients=8):
    """Seconds to GET every path of a distribution through the content app."""
    def get(p):
        with urllib.request.urlopen(f"{server.content_base}/pulp/content/{base_path}/{p}", timeout=600) as r:
            if len(r.read()) != size:
                raise SystemExit(f"{server.name}: fetch of {p}: wrong size")

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(get, paths))
    return time.perf_counter() - start


def list_page(server, version_href, offset, reps=10):
    """Median seconds of one content list page (100 units) of a repository version."""
    path = f"{FILES}?repository_version={version_href}&limit=100&offset={offset}"
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        page = server.ok("GET", path)
        times.append(time.perf_counter() - start)
        if not page["results"]:
            raise SystemExit(f"{server.name}: empty page at offset {offset}")
    return statistics.median(times)


# ---------------------------------------------------------------------------- HTTP load

def wrk(url, seconds, headers=(), connections=32):
    """{rps, p50_ms, p99_ms} from wrk (2 threads); fails on any error response or socket error."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "30s"]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    for problem in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: .*timeout (\d+)"):
        m = re.search(problem, out)
        if m and int(m.group(1)):
            raise SystemExit(f"wrk {url}: {m.group(0)}")
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50_ms": pct(50),
            "p99_ms": pct(99)}


def settle(server, timeout=120):
    """Wait until `server` answers a status request promptly: wrk stops its clock with requests
    still queued in the server (Pulp keeps hashing Basic passwords for seconds), and the next
    measurement must not inherit that backlog."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        start = time.perf_counter()
        server.ok("GET", "/pulp/api/v3/status/")
        if time.perf_counter() - start < 0.5:
            return
    raise SystemExit(f"{server.name} stayed busy for {timeout} s after a load test")


def throughput(url, size):
    """MiB/s of one download of `url` with curl (following redirects), bytes counted."""
    out = subprocess.run(["curl", "-sS", "-L", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", url],
                         capture_output=True, text=True, check=True).stdout.split()
    got, seconds = int(out[0]), float(out[1])
    if got != size:
        raise SystemExit(f"{url}: {got} bytes, expected {size}")
    return got / seconds / (1024 * 1024)


# ---------------------------------------------------------------------------- containers

def make_image_layout(root, layers, layer_size):
    """An OCI image layout with `layers` gzipped layers of random bytes (fresh, so nothing is
    deduplicated; gzipped for real, else skopeo compresses them on the way and digests change)."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data):
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    raw = [os.urandom(layer_size) for _ in range(layers)]
    layer_descs = [dict(blob(gzip.compress(r, compresslevel=1, mtime=0)),
                        mediaType="application/vnd.oci.image.layer.v1.tar+gzip") for r in raw]
    diff_ids = [f"sha256:{hashlib.sha256(r).hexdigest()}" for r in raw]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": dict(blob(config), mediaType="application/vnd.oci.image.config.v1+json"),
                           "layers": layer_descs}).encode()
    m = dict(blob(manifest), mediaType="application/vnd.oci.image.manifest.v1+json",
             annotations={"org.opencontainers.image.ref.name": "v1"})
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [m]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return f"oci:{root}:v1"


def skopeo_copy(src, dest, *extra):
    """Seconds one `skopeo copy` takes."""
    start = time.perf_counter()
    subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false", *extra, src, dest],
                   check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def push_pull(registry, creds, workdir, layers, layer_size):
    """(push seconds, pull seconds) of a fresh image to `registry` (host:port) and back. The push
    authenticates with `creds`; the pull is anonymous (the repositories are public), so Pulp, whose
    registry checks a Basic password with a PBKDF2 hash on every request, is not slowed by that."""
    tag = uuid.uuid4().hex[:8]
    src = make_image_layout(workdir / f"img-{tag}", layers, layer_size)
    ref = f"docker://{registry}/bench/img{tag}:v1"
    creds_to = ["--dest-creds", creds] if creds else []
    push = skopeo_copy(src, ref, *creds_to)
    pulled = workdir / f"pulled-{tag}"
    pull = skopeo_copy(ref, f"oci:{pulled}:v1")
    want = sorted(p.name for p in (workdir / f"img-{tag}" / "blobs" / "sha256").iterdir())
    got = sorted(p.name for p in (pulled / "blobs" / "sha256").iterdir())
    if want != got:
        raise SystemExit(f"{registry}: pulled blobs differ from the pushed ones: {want} vs {got}")
    shutil.rmtree(workdir / f"img-{tag}")
    shutil.rmtree(pulled)
    return push, pull


# ---------------------------------------------------------------------------- python

def make_wheel(directory, name, version, payload):
    """A minimal pure-Python wheel (dist-info with METADATA, WHEEL, RECORD) with `payload` bytes."""
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


def python_index(server, wheels, names):
    """A python repository with `wheels` uploaded by twine, distributed; returns its simple URL."""
    repo = server.ok("POST", "/pulp/api/v3/repositories/python/python/", {"name": unique()})
    base = unique()
    server.wait(server.ok("POST", "/pulp/api/v3/distributions/python/pypi/",
                          {"name": base, "base_path": base, "repository": repo["pulp_href"]})["task"])
    user, password = server.creds.split(":", 1)
    subprocess.run([tool("twine"), "upload", "--disable-progress-bar", "--non-interactive",
                    "--repository-url", f"{server.pypi_base}/pypi/{base}/legacy/", "-u", user, "-p", password,
                    *map(str, wheels)], check=True, stdin=subprocess.DEVNULL, capture_output=True)
    simple = f"{server.pypi_base}/pypi/{base}/simple/"
    deadline = time.time() + 300  # Pulp adds uploads to the repository in tasks
    while True:
        with urllib.request.urlopen(simple, timeout=60) as r:
            page = r.read().decode()
        if all(n in page for n in names):
            return simple
        if time.time() > deadline:
            raise SystemExit(f"{server.name}: the uploaded packages did not show up in {simple}")
        time.sleep(0.2)


def pip_install(index, names, target):
    """Seconds of `pip install --no-deps` of the first package into a fresh target, no cache."""
    start = time.perf_counter()
    subprocess.run([tool("pip"), "install", "-q", "--no-deps", "--no-cache-dir", "--disable-pip-version-check",
                    "--index-url", index, "--target", str(target), names[0]],
                   check=True, stdin=subprocess.DEVNULL, env=_clean_env())
    return time.perf_counter() - start


def uv_install(index, names, venv):
    """Seconds of `uv pip install` of every package into a fresh virtualenv, no cache."""
    uv = tool("uv")
    subprocess.run([uv, "venv", "-q", str(venv)], check=True, stdin=subprocess.DEVNULL, env=_clean_env())
    start = time.perf_counter()
    subprocess.run([uv, "pip", "install", "-q", "--no-cache", "--index-url", index, *names],
                   check=True, stdin=subprocess.DEVNULL, env=dict(_clean_env(), VIRTUAL_ENV=str(venv)))
    return time.perf_counter() - start


def _clean_env():
    env = dict(os.environ)
    for k in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "UV_INDEX_URL", "VIRTUAL_ENV"):
        env.pop(k, None)
    return env


# ---------------------------------------------------------------------------- memory

class MemorySampler:
    """Samples the resident memory of each server's process trees twice a second and keeps the
    peak (RSS and PSS, MiB) since the last reset."""

    def __init__(self, servers, interval=0.5):
        self.servers = servers
        self.interval = interval
        self.lock = threading.Lock()
        self.reset()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def reset(self):
        with self.lock:
            self.peak = {s.name: (0.0, 0.0) for s in self.servers}

    def sample(self):
        for s in self.servers:
            rss, pss = memory_mib(s.pids())
            with self.lock:
                old = self.peak[s.name]
                self.peak[s.name] = (max(old[0], rss), max(old[1], pss))

    def peaks(self):
        self.sample()
        with self.lock:
            return dict(self.peak)

    def _run(self):
        while not self.stopped.wait(self.interval):
            self.sample()

    def stop(self):
        self.stopped.set()
        self.thread.join()
