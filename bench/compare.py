#!/usr/bin/env python3
"""Depot side by side with real Pulp 3 and with the programs that set the physical limits, on
this machine, in one run.

    .venv/bin/python bench/compare.py               # everything, 3 repetitions (about 30 minutes)
    .venv/bin/python bench/compare.py --production  # also Depot on PostgreSQL + S3 + SQS (moto)
    .venv/bin/python bench/compare.py --smoke       # tiny sizes, one repetition (CI runs this)

It installs what it compares against when missing (Debian: nginx-light, docker-registry, skopeo,
wrk; PyPI: pypiserver, uv, twine into this Python's environment; Pulp into its own virtualenv,
see pulp.py), starts every server on 127.0.0.1 (Depot on free ports, never Pulp's 24816/24817),
runs each workload on each server, alternating their order from one repetition to the next,
and stops them all. It prints one table per workload with Depot's factor against each peer,
and writes the raw figures (bench/results/compare[-smoke].json) and a chart of the factors
(bench/results/compare[-smoke].svg); a full run with Pulp also copies both to bench/figures/,
which the README shows.

The factor is how many times better Depot does: peer time / Depot time for durations, Depot
rate / peer rate for rates, peer memory / Depot memory for memory. Above 1, Depot is ahead.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import chart  # noqa: E402
import workloads as w  # noqa: E402
from servers import Depot, DockerRegistry, Moto, Nginx, PypiServer, memory_mib, tool  # noqa: E402

DEBIAN = {"nginx": "nginx-light", "docker-registry": "docker-registry", "skopeo": "skopeo", "wrk": "wrk",
          "curl": "curl"}
PYPI = {"pypi-server": "pypiserver==2.4.2", "uv": "uv==0.13.9", "twine": "twine==7.0.0"}  # as tests/e2e/requirements.txt

SIZES = {
    # workload sizes: (full run, smoke run)
    "upload": (200, 5),
    "sync": (1000, 20),
    "small": (16 * 1024, 16 * 1024),
    "large": (256 * 1024 * 1024, 4 * 1024 * 1024),
    "wrk_seconds": (10, 2),
    "repos": (100, 5),
    "layers": ((5, 10 * 1024 * 1024), (2, 1024 * 1024)),
    "packages": ((20, 64 * 1024), (3, 1024)),
    "scale": ((1000, 10000, 100000), (50, 200)),
}


def size(name, smoke):
    full, small = SIZES[name]
    return small if smoke else full


# ---------------------------------------------------------------------------- results

class Results:
    """Rows of figures: one per (workload, metric), each with every server's runs."""

    def __init__(self):
        self.rows = {}

    def add(self, workload, metric, unit, better, server, value, targets=()):
        row = self.rows.setdefault((workload, metric), {"workload": workload, "metric": metric, "unit": unit,
                                                        "better": better, "runs": {}, "targets": dict(targets)})
        row["runs"].setdefault(server, []).append(value)

    def as_list(self, depots):
        out = []
        for row in self.rows.values():
            stats = {s: {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v}
                     for s, v in row["runs"].items()}
            factors = {}
            for depot in depots:
                for peer in stats:
                    if peer in depots or depot not in stats:
                        continue
                    d, p = stats[depot]["median"], stats[peer]["median"]
                    if d > 0 and p > 0:
                        factors.setdefault(depot, {})[peer] = p / d if row["better"] == "lower" else d / p
            out.append(dict(row, stats=stats, factors=factors))
        return out


def alternate(servers, rep):
    """The servers in turn, every other repetition backwards, so that neither always goes first."""
    return list(servers) if rep % 2 == 0 else list(reversed(servers))


# ---------------------------------------------------------------------------- the peers

def install_peers(skip_pulp):
    missing = [pkg for cmd, pkg in DEBIAN.items() if not (shutil.which(cmd) or Path(f"/usr/sbin/{cmd}").exists())]
    if missing:
        print(f"installing from Debian: {' '.join(missing)}", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        subprocess.run(sudo + ["apt-get", "-o", "DPkg::Lock::Timeout=600", "update", "-q"], check=True, env=env)
        subprocess.run(sudo + ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q",
                               "--no-install-recommends", *missing], check=True, env=env)
    missing = [pkg for cmd, pkg in PYPI.items() if not tool(cmd)]
    if missing:
        print(f"installing from PyPI: {' '.join(missing)}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)
    if not skip_pulp:
        import pulp
        pulp.install()
        pulp.prepare_template()


def versions(pulp_server):
    def first_line(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return None

    v = {
        "nginx": first_line(["nginx", "-v"]),
        "docker-registry": first_line(["docker-registry", "--version"]),
        "skopeo": first_line(["skopeo", "--version"]),
        "wrk": first_line(["wrk", "--version"]),
        "pypiserver": first_line([tool("pypi-server"), "--version"]),
        "uv": first_line([tool("uv"), "--version"]),
        "pip": first_line([tool("pip"), "--version"]),
        "postgresql": first_line(["psql", "-h", "127.0.0.1", "-U", "postgres", "-XtAc", "SHOW server_version"]),
        "rustc": first_line(["rustc", "--version"]),
    }
    if pulp_server:
        v.update({f"pulp: {k}": val for k, val in pulp_server.versions().items()})
    return v


def machine():
    mem = Path("/proc/meminfo").read_text().split()[1]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cores": os.cpu_count(), "memory_gib": round(int(mem) / 1024 / 1024, 1), "cpu": cpu,
            "kernel": platform.release(), "date": time.strftime("%Y-%m-%d %H:%M %Z")}


# ---------------------------------------------------------------------------- workloads

def run_upload(res, servers, reps, smoke):
    count = size("upload", smoke)
    for rep in range(reps):
        for s in alternate(servers, rep):
            res.add("upload", f"upload {count} files of 4 KiB into one repository, all tasks done", "s", "lower",
                    s.name, w.upload(s, count, 4096), {"Pulp": 10})


def run_sync(res, servers, reps, smoke, upstream, workdir):
    count = size("sync", smoke)
    for rep in range(reps):
        for s in alternate(servers, rep):
            seconds, _ = w.sync_fresh_tree(s, upstream, workdir, count, 16384, "immediate")
            res.add("sync", f"sync {count} files of 16 KiB, immediate", "s", "lower", s.name, seconds, {"Pulp": 10})
            seconds, fetch = w.sync_fresh_tree(s, upstream, workdir, count, 16384, "on_demand")
            res.add("sync", f"sync {count} files of 16 KiB, on_demand", "s", "lower", s.name, seconds, {"Pulp": 10})
            res.add("sync", f"then download all {count} through the content app (8 clients)", "s", "lower",
                    s.name, fetch, {"Pulp": 10})


def run_content(res, servers, reps, smoke, upstream, workdir):
    """One small and one large file, synced (immediate) into each server and served by nginx
    from disk as the limit."""
    small, large, seconds = size("small", smoke), size("large", smoke), size("wrk_seconds", smoke)
    tree = workdir / "upstream" / "content"
    tree.mkdir(parents=True)
    lines = []
    for name, n in (("small.bin", small), ("large.bin", large)):
        data = os.urandom(n)
        (tree / name).write_bytes(data)
        lines.append(f"{name},{hashlib.sha256(data).hexdigest()},{n}\n")
        del data
    (tree / "PULP_MANIFEST").write_text("".join(lines))
    upstream.refresh_permissions()
    urls = {upstream.name: f"{upstream.base_url}/content"}
    for s in servers:
        _, repo, _ = w.sync(s, f"{upstream.base_url}/content/PULP_MANIFEST", "immediate", 2)
        urls[s.name] = f"{s.content_base}/pulp/content/{w.publish_and_distribute(s, repo)}"
    names = [s.name for s in servers] + [upstream.name]
    small_metric = f"one {small // 1024} KiB file, wrk 32 connections"
    for rep in range(reps):
        for name in alternate(names, rep):
            r = w.wrk(f"{urls[name]}/small.bin", seconds)
            for s in servers:
                w.settle(s)
            res.add("content", small_metric + " (req/s)", "req/s", "higher", name, r["rps"],
                    {"Pulp": 10, "nginx": 0.7})
            res.add("content", small_metric + ", p50 latency", "ms", "lower", name, r["p50_ms"])
            res.add("content", small_metric + ", p99 latency", "ms", "lower", name, r["p99_ms"])
            for _ in range(3):
                res.add("content", f"one {large // (1024 * 1024)} MiB file, one stream (MiB/s)", "MiB/s", "higher",
                        name, w.throughput(f"{urls[name]}/large.bin", large), {"nginx": 0.9})


def run_api(res, servers, reps, smoke):
    repos, seconds = size("repos", smoke), size("wrk_seconds", smoke)
    for s in servers:
        have = int(s.ok("GET", "/pulp/api/v3/repositories/file/file/?limit=1")["count"])
        for _ in range(max(0, repos - have)):
            w.new_repo(s)
    list_path = f"/pulp/api/v3/repositories/file/file/?limit={repos}"
    for rep in range(reps):
        for s in alternate(servers, rep):
            r = w.wrk(s.api_base + "/pulp/api/v3/status/", seconds)
            w.settle(s)
            res.add("api", "GET status/ (req/s)", "req/s", "higher", s.name, r["rps"], {"Pulp": 10})
            list_rps = f"repository list of {repos} (req/s)"
            r = w.wrk(s.api_base + list_path, seconds, [f"Authorization: {s.auth}"])
            w.settle(s)
            res.add("api", list_rps, "req/s", "higher", s.name, r["rps"], {"Pulp": 10, "Pulp (session cookie)": 10})
            res.add("api", f"repository list of {repos}, p99 latency", "ms", "lower", s.name, r["p99_ms"])
            if getattr(s, "cookie", None):
                # Pulp's cheaper way in: a session cookie skips the password hash of Basic auth.
                r = w.wrk(s.api_base + list_path, seconds, [f"Cookie: {s.cookie}"])
                w.settle(s)
                res.add("api", list_rps, "req/s", "higher", f"{s.name} (session cookie)", r["rps"])
                res.add("api", f"repository list of {repos}, p99 latency", "ms", "lower",
                        f"{s.name} (session cookie)", r["p99_ms"])


def run_containers(res, servers, reps, smoke, workdir):
    layers, layer_size = size("layers", smoke)
    registry = DockerRegistry(workdir)
    targets = [(s.name, s.registry, s.creds) for s in servers] + [(registry.name, registry.registry, None)]
    label = f"{layers} layers of {layer_size // (1024 * 1024)} MiB"
    try:
        for rep in range(reps):
            for name, host, creds in alternate(targets, rep):
                push, pull = w.push_pull(host, creds, workdir, layers, layer_size)
                res.add("containers", f"skopeo push, {label}", "s", "lower", name, push,
                        {"Pulp": 10, "docker-registry": 1})
                res.add("containers", f"skopeo pull, {label}", "s", "lower", name, pull,
                        {"Pulp": 10, "docker-registry": 1})
    finally:
        registry.stop()


def run_python(res, servers, reps, smoke, workdir):
    count, pkg_size = size("packages", smoke)
    packages = workdir / "wheels"
    packages.mkdir()
    names = [f"bench-pkg{i}" for i in range(count)]
    wheels = [w.make_wheel(packages, n, "1.0", os.urandom(pkg_size)) for n in names]
    indexes = {s.name: w.python_index(s, wheels, names) for s in servers}
    pypiserver = PypiServer(packages)
    indexes[pypiserver.name] = pypiserver.simple
    try:
        for rep in range(reps):
            for name in alternate(list(indexes), rep):
                run = workdir / w.unique("py")
                res.add("python", "pip install --no-deps of 1 package", "s", "lower", name,
                        w.pip_install(indexes[name], names, run / "pip"), {"pypiserver": 1, "Pulp": 1})
                res.add("python", f"uv pip install of {count} packages", "s", "lower", name,
                        w.uv_install(indexes[name], names, run / "uv"), {"pypiserver": 1, "Pulp": 1})
                shutil.rmtree(run)
    finally:
        pypiserver.stop()


def run_scale(res, servers, smoke, upstream, workdir, sampler, pulp_max):
    """on_demand syncs of manifests of growing size, the peak memory while syncing, and the time
    of the first and the last page of the content list."""
    for count in size("scale", smoke):
        tree = workdir / "upstream" / f"scale{count}"
        w.make_manifest_only(tree, count)
        upstream.refresh_permissions()
        for s in servers:
            if s.name == "Pulp" and count > pulp_max:
                continue
            sampler.reset()
            seconds, _, version = w.sync(s, f"{upstream.base_url}/{tree.name}/PULP_MANIFEST", "on_demand", count)
            peak_rss, _ = sampler.peaks()[s.name]
            res.add("scale", f"{count:>7,} units: on_demand sync", "s", "lower", s.name, seconds)
            res.add("scale", f"{count:>7,} units: peak memory while syncing (RSS)", "MiB", "lower", s.name, peak_rss)
            res.add("scale", f"{count:>7,} units: first page of 100", "ms", "lower", s.name,
                    w.list_page(s, version, 0) * 1000)
            res.add("scale", f"{count:>7,} units: last page of 100", "ms", "lower", s.name,
                    w.list_page(s, version, count - 100 if count > 100 else 0) * 1000)


# ---------------------------------------------------------------------------- output

def fmt(value, unit):
    if unit in ("s",):
        return f"{value:.3g} s" if value < 100 else f"{value:.0f} s"
    if unit == "ms":
        return f"{value:.3g} ms" if value < 1000 else f"{value:,.0f} ms"
    if unit in ("req/s", "MiB/s", "MiB"):
        return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"
    return f"{value:.3g} {unit}"


def print_tables(rows, depots):
    by_workload = {}
    for row in rows:
        by_workload.setdefault(row["workload"], []).append(row)
    for workload, wrows in by_workload.items():
        servers = []
        for row in wrows:
            servers += [s for s in row["stats"] if s not in servers]
        peers = [s for s in servers if s not in depots]
        print(f"\n{workload} (median, min-max; factor = how many times better Depot does)\n")
        head = ["metric", *servers, *(f"{d} vs {p}" for d in depots for p in peers)]
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" for _ in head) + "|")
        for row in wrows:
            cells = [row["metric"]]
            for s in servers:
                st = row["stats"].get(s)
                cells.append(f"{fmt(st['median'], row['unit'])} ({fmt(st['min'], row['unit'])}-"
                             f"{fmt(st['max'], row['unit'])})" if st and len(st["runs"]) > 1
                             else fmt(st["median"], row["unit"]) if st else "")
            for d in depots:
                for p in peers:
                    f = row["factors"].get(d, {}).get(p)
                    target = row["targets"].get(p)
                    mark = "" if target is None or f is None else (" (target ≥ %g: %s)" % (target, "met" if f >= target else "MISSED"))
                    cells.append(f"{f:.2f}x{mark}" if f is not None else "")
            print("| " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes and one repetition")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--production", action="store_true",
                    help="also run Depot on PostgreSQL + S3 + SQS (moto_server)")
    ap.add_argument("--no-pulp", action="store_true", help="leave Pulp out (the other peers still run)")
    ap.add_argument("--pulp-scale-max", type=int, default=10000,
                    help="largest scale step Pulp runs (its 100,000-unit sync takes about ten minutes)")
    ap.add_argument("--workloads", default="upload,sync,content,api,containers,python,scale")
    ap.add_argument("--bin", help="local-runner binary (default: build the release one)")
    args = ap.parse_args()
    reps = 1 if args.smoke else args.reps
    chosen = [x.strip() for x in args.workloads.split(",") if x.strip()]

    install_peers(args.no_pulp)
    if args.bin:
        binary = Path(args.bin).resolve()
    else:
        subprocess.run(["cargo", "build", "--release", "-p", "local-runner"], cwd=ROOT, check=True)
        binary = ROOT / "target" / "release" / "local-runner"

    workdir = Path(tempfile.mkdtemp(prefix="depot-compare-"))
    started = []
    res = Results()
    try:
        servers = [Depot(binary, "sqlite")]
        started.append(servers[0])
        moto = None
        if args.production:
            moto = Moto()
            started.append(moto)
            servers.append(Depot(binary, "postgres", moto.env(), name="Depot (PG+S3+SQS)"))
            started.append(servers[-1])
        pulp_server = None
        if not args.no_pulp:
            import pulp
            pulp_server = pulp.Pulp()
            started.append(pulp_server)
            servers.append(pulp_server)
        depots = [s.name for s in servers if s.name.startswith("Depot")]
        (workdir / "upstream").mkdir()
        upstream = Nginx(root=workdir / "upstream")
        started.append(upstream)

        time.sleep(2)  # let every service settle before the idle reading
        memory = {s.name: memory_mib(s.pids()) for s in servers}
        for s in servers:
            res.add("memory", "resident memory at idle, PSS (all processes)", "MiB", "lower", s.name,
                    memory[s.name][1], {"Pulp": 10})
            res.add("memory", "resident memory at idle, RSS (all processes)", "MiB", "lower", s.name,
                    memory[s.name][0])
        sampler = w.MemorySampler(servers)
        print(f"servers up: {', '.join(s.name for s in servers)}; workloads: {', '.join(chosen)}", flush=True)
        steps = {
            "upload": lambda: run_upload(res, servers, reps, args.smoke),
            "sync": lambda: run_sync(res, servers, reps, args.smoke, upstream, workdir),
            "content": lambda: run_content(res, servers, reps, args.smoke, upstream, workdir),
            "api": lambda: run_api(res, servers, reps, args.smoke),
            "containers": lambda: run_containers(res, servers, reps, args.smoke, workdir),
            "python": lambda: run_python(res, servers, reps, args.smoke, workdir),
        }
        for name in chosen:
            if name in steps:
                started_at = time.perf_counter()
                steps[name]()
                print(f"  {name}: {time.perf_counter() - started_at:.0f} s", flush=True)
        peaks = sampler.peaks()
        for s in servers:
            res.add("memory", "peak resident memory over the workloads, PSS", "MiB", "lower", s.name,
                    peaks[s.name][1], {"Pulp": 10})
        if "scale" in chosen:
            started_at = time.perf_counter()
            run_scale(res, servers, args.smoke, upstream, workdir, sampler, args.pulp_scale_max)
            print(f"  scale: {time.perf_counter() - started_at:.0f} s", flush=True)
        sampler.stop()
        info = {"machine": machine(), "versions": versions(pulp_server), "smoke": args.smoke, "repetitions": reps}
    finally:
        for s in reversed(started):
            s.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    rows = res.as_list(depots)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stem = "compare-smoke" if args.smoke else "compare"
    (out_dir / f"{stem}.json").write_text(json.dumps(dict(info, rows=rows), indent=2))
    (out_dir / f"{stem}.svg").write_text(chart.svg(rows, depots, info))
    if not args.smoke and not args.no_pulp:
        # The README shows the latest full comparison: keep it beside the harness, in git.
        figures = ROOT / "bench" / "figures"
        figures.mkdir(exist_ok=True)
        for suffix in ("json", "svg"):
            shutil.copyfile(out_dir / f"{stem}.{suffix}", figures / f"compare.{suffix}")
    m = info["machine"]
    print(f"\nDepot vs its peers, {m['date']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}; "
          f"{reps} repetition(s)")
    print("versions: " + "; ".join(f"{k} {v}" for k, v in info["versions"].items() if v))
    print_tables(rows, depots)
    print(f"\nraw figures: {out_dir / (stem + '.json')}; chart: {out_dir / (stem + '.svg')}")


if __name__ == "__main__":
    sys.exit(main())
