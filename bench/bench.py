#!/usr/bin/env python3
"""Depot's benchmark: the workloads of the core issue, measured against a running local-runner.

    .venv/bin/python bench/bench.py            # build the release runner, run every workload on both
                                               # backend sets, print one table per set
    .venv/bin/python bench/bench.py --smoke    # tiny sizes, one repetition (keeps the harness from rotting)
    .venv/bin/python bench/bench.py --sets local --db postgres   # only the embedded set, on PostgreSQL

Depot beside Pulp, nginx, docker-registry and pypiserver is bench/compare.py; this one follows
Depot's own backend sets, its pull-through cache and its function binaries.

Backend sets:
  local        the embedded default: SQLite (or --db postgres), files in the data dir, in-process queue
  production   PostgreSQL (127.0.0.1:5432, user postgres, trust auth) + S3 + SQS, both served by a
               moto_server the benchmark starts (pip install 'moto[server]' boto3; tests/run.sh's
               .venv has them). The content app answers with redirects to presigned S3 URLs there,
               so its figure is the rate of those redirects.

Workloads (each repeated, reported as median, min and max):
  upload   200 files of 4 KiB uploaded as file content into one repository, until every task completed
  sync     1,000 files of 16 KiB from a PULP_MANIFEST: immediate, and on_demand followed by fetching all
  content  requests per second for one 16 KiB file from the content app (wrk, 32 connections), and
           side by side, the same file behind a header content guard
  api      requests per second for a repository list of 100 (wrk, 32 connections, Basic auth), as
           the admin and, side by side, as a user with a model-wide viewer role and as one who
           owns each of the 100 by an object role (the cost of authorisation)
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
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import functions  # noqa: E402  (bench/functions.py: the function binaries' cold start and size)
import workloads as w  # noqa: E402
from servers import psql, Depot, DockerRegistry, Moto, Nginx, PypiServer, multipart  # noqa: E402


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
    (workdir / "upstream").mkdir()
    upstream = Nginx(root=workdir / "upstream")
    results = {"db": db, "smoke": smoke, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "cores": os.cpu_count()}
    try:
        results["idle_rss_mib"] = depot.rss_kib("VmRSS") / 1024
        results["upload_s"] = summary([w.upload(depot, n_upload, 4096) for _ in range(reps)])
        results["sync_immediate_s"] = summary(
            [w.sync_fresh_tree(depot, upstream, workdir, n_sync, 16384, "immediate")[0] for _ in range(reps)])
        od = [w.sync_fresh_tree(depot, upstream, workdir, n_sync, 16384, "on_demand") for _ in range(reps)]
        results["sync_on_demand_s"] = summary([s for s, _ in od])
        results["on_demand_fetch_all_s"] = summary([f for _, f in od])

        # One 16 KiB file behind a distribution, and 100 repositories for the list.
        repo = w.new_repo(depot)
        body, ctype = multipart({"relative_path": "one.bin", "repository": repo["pulp_href"]},
                                {"file": ("one.bin", os.urandom(16384))})
        depot.wait(depot.ok("POST", w.FILES, body, ctype)["task"])
        base_path = w.publish_and_distribute(depot, repo["pulp_href"])
        while int(depot.ok("GET", "/pulp/api/v3/repositories/file/file/?limit=1")["count"]) < 100:
            w.new_repo(depot)
        # The same file behind a header content guard, side by side with the open one.
        guard = depot.ok("POST", "/pulp/api/v3/contentguards/core/header/",
                         {"name": w.unique("guard"), "header_name": "x-token", "header_value": "bench"})
        guarded = w.unique("guarded")
        publication = depot.ok("GET", f"/pulp/api/v3/publications/file/file/?repository={repo['pulp_href']}")
        depot.wait(depot.ok("POST", "/pulp/api/v3/distributions/file/file/",
                            {"name": guarded, "base_path": guarded, "content_guard": guard["pulp_href"],
                             "publication": publication["results"][0]["pulp_href"]})["task"])
        content, content_guarded = [], []
        for _ in range(reps):
            content.append(w.wrk(f"{depot.base}/pulp/content/{base_path}/one.bin", wrk_secs))
            content_guarded.append(w.wrk(f"{depot.base}/pulp/content/{guarded}/one.bin", wrk_secs,
                                         ["x-token: YmVuY2g="]))
        # The list as the admin (a superuser: no role is read) and, side by side in each round,
        # as users whose roles decide what they see: the cost of authorisation.
        repos = depot.ok("GET", "/pulp/api/v3/repositories/file/file/?limit=1000")["results"]
        role_auth = w.role_users(depot, [r["pulp_href"] for r in repos])
        if depot.db_name:
            # Fresh tables have no statistics until autovacuum's next round; a running server's
            # have them. Without, PostgreSQL plans the scoped list as a loop over every role.
            psql("ANALYZE", depot.db_name)
        list_url = f"{depot.base}/pulp/api/v3/repositories/file/file/?limit=100"
        api, api_viewer, api_owner = [], [], []
        for _ in range(reps):
            api.append(w.wrk(list_url, wrk_secs, [f"Authorization: {depot.auth}"]))
            api_viewer.append(w.wrk(list_url, wrk_secs, [role_auth["viewer"]]))
            api_owner.append(w.wrk(list_url, wrk_secs, [role_auth["owner"]]))
        results["content_rps"] = summary([c["rps"] for c in content])
        results["content_p99_ms"] = summary([c["p99_ms"] for c in content])
        results["content_guarded_rps"] = summary([c["rps"] for c in content_guarded])
        results["api_list_rps"] = summary([a["rps"] for a in api])
        results["api_list_p99_ms"] = summary([a["p99_ms"] for a in api])
        results["api_list_viewer_rps"] = summary([a["rps"] for a in api_viewer])
        results["api_list_owner_rps"] = summary([a["rps"] for a in api_owner])
        n_layers, layer_size = (2, 1024 * 1024) if smoke else (5, 10 * 1024 * 1024)
        reg = bench_registry(depot, workdir, reps, n_layers, layer_size)
        results["registry"] = {name: {k: summary(v) for k, v in r.items()} for name, r in reg.items()}
        results["registry_image"] = f"{n_layers} layers of {layer_size // (1024 * 1024)} MiB"
        n_pkgs, pkg_size = (3, 1024) if smoke else (20, 64 * 1024)
        pypi = bench_pypi(depot, workdir, reps, n_pkgs, pkg_size)
        results["pypi"] = {name: {k: summary(v) for k, v in r.items()} for name, r in pypi.items()}
        results["pypi_packages"] = f"{n_pkgs} wheels of {pkg_size // 1024} KiB"
        results["peak_rss_mib"] = depot.rss_kib("VmHWM") / 1024
    finally:
        depot.stop()
        upstream.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    served = "302 to presigned S3 URL" if extra_env.get("DEPOT_STORAGE_URL") else "bytes served"
    rows = [
        (f"upload {n_upload} x 4 KiB into one repository (s)", results["upload_s"]),
        (f"sync {n_sync} x 16 KiB, immediate (s)", results["sync_immediate_s"]),
        (f"sync {n_sync} x 16 KiB, on_demand (s)", results["sync_on_demand_s"]),
        (f"fetch all {n_sync} on_demand files, 8 clients (s)", results["on_demand_fetch_all_s"]),
        (f"content app, 16 KiB file, {served} (req/s)", results["content_rps"]),
        ("content app, 16 KiB file, p99 (ms)", results["content_p99_ms"]),
        ("  the same behind a header content guard (req/s)", results["content_guarded_rps"]),
        ("repository list of 100 (req/s)", results["api_list_rps"]),
        ("repository list of 100, p99 (ms)", results["api_list_p99_ms"]),
        ("  the same, by a model-wide viewer role (req/s)", results["api_list_viewer_rps"]),
        ("  the same, by 100 object owner roles (req/s)", results["api_list_owner_rps"]),
    ]
    return results, rows


def print_table(title, results, rows):
    print(f"\n{title}\n")
    print(f"| {'workload':<58} | {'median':>10} | {'min':>10} | {'max':>10} |")
    print(f"|{'-' * 60}|{'-' * 12}|{'-' * 12}|{'-' * 12}|")
    for name, s in rows:
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


def bench_registry(depot, workdir, reps, layers, layer_size):
    """skopeo times against Depot and Debian's docker-registry side by side:
    {target: {"push": [s], "pull": [s], "pull-through first": [s], "pull-through second": [s]}}.
    The pull-through pulls go through a cache of a third registry (Depot: a pull-through
    distribution; docker-registry: its proxy mode); the second pull of an image is served by the
    cache (Depot still checks the tag upstream, as pulp_container does)."""
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
                src = w.make_image_layout(workdir / f"img-{name}-{rep}", layers, layer_size)
                ref = f"docker://{host}/bench/img{rep}:v1"
                out[name]["push"].append(w.skopeo_copy(src, ref, *push_creds))
                out[name]["pull"].append(w.skopeo_copy(ref, f"oci:{workdir / f'pulled-{name}-{rep}'}:v1"))
                # Pull-through: a fresh image upstream, pulled twice through the cache.
                up_ref = f"docker://127.0.0.1:{upstream.port}/bench/{name.lower()}{rep}:v1"
                w.skopeo_copy(w.make_image_layout(workdir / f"up-{name}-{rep}", layers, layer_size), up_ref)
                cached = f"docker://{cache_hosts[name]}/{cache_prefix}bench/{name.lower()}{rep}:v1"
                for which in ("first", "second"):
                    dest = f"oci:{workdir / f'cached-{name}-{rep}-{which}'}:v1"
                    out[name][f"pull-through {which}"].append(w.skopeo_copy(cached, dest, *pull_creds))
    finally:
        for r in (upstream, plain, proxy):
            r.stop()
    return out



def bench_pypi(depot, workdir, reps, count, size):
    """pip and uv install times from Depot's index and from pypiserver serving the same wheels:
    {target: {"pip install --no-deps (1 package)": [s], "uv pip install (N packages)": [s]}}."""
    packages = workdir / "pypi-packages"
    packages.mkdir()
    names = [f"bench-pkg{i}" for i in range(count)]
    wheels = [w.make_wheel(packages, n, "1.0", os.urandom(size)) for n in names]
    targets = {"Depot": w.python_index(depot, wheels, names)}
    server = PypiServer(packages)
    targets["pypiserver"] = server.simple
    one, many = "pip install --no-deps (1 package)", f"uv pip install ({count} packages)"
    out = {name: {one: [], many: []} for name in targets}
    try:
        for rep in range(reps):
            for name, index in targets.items():
                out[name][one].append(w.pip_install(index, names, workdir / f"pip-{name}-{rep}"))
                out[name][many].append(w.uv_install(index, names, workdir / f"uv-{name}-{rep}"))
    finally:
        server.stop()
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
