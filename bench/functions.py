"""The function binaries' cold start and size, for bench.py.

Cold start: from spawning a function binary under an emulated Lambda runtime API (the one the
tests use, tests/e2e/lambda_emulator.py) to the end of its first response, with the event already
waiting, as when Lambda starts an execution environment for a request. The second invocation's
time is shown beside it (warm: the median of the next five). Sizes: the binary as built, stripped, and the zip Lambda gets.
"""

import base64
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARM = 5  # invocations after the first, in each environment
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from lambda_emulator import LambdaFunction, http_v2_event, scheduled_event, sqs_event  # noqa: E402

# A cheap first request for each HTTP function (any answer counts: the point is the first one).
HTTP_PATHS = {
    "api-status": "/pulp/api/v3/status/",
    "api-docs": "/pulp/api/v3/docs/api.json",
    "api-repositories": "/pulp/api/v3/repositories/file/file/",
    "api-remotes": "/pulp/api/v3/remotes/file/file/",
    "api-content": "/pulp/api/v3/content/file/files/",
    "api-artifacts": "/pulp/api/v3/artifacts/",
    "api-publications": "/pulp/api/v3/publications/file/file/",
    "api-distributions": "/pulp/api/v3/distributions/file/file/",
    "api-tasks": "/pulp/api/v3/tasks/",
    "api-orphans": "/pulp/api/v3/orphans/cleanup/",
    "api-namespaces": "/pulp/api/v3/pulp_container/namespaces/",
    "api-access": "/pulp/api/v3/users/",
    "pypi-api": "/pypi/none/simple/",
    "registry-api": "/v2/",
    "content-app": "/pulp/content/",
}


def function_names():
    return sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "Cargo.toml").exists())


def first_event(name, auth):
    if name in HTTP_PATHS:
        return http_v2_event("GET", HTTP_PATHS[name], headers={"Authorization": auth})
    if name == "sweeper":
        return scheduled_event()
    if name == "migrate":
        return {"action": "migrate"}
    # A task function: a message for a task that does not exist is taken and dropped.
    return sqs_event([json.dumps({"task_id": str(uuid.uuid4()), "correlation_id": ""})])


def sizes(binary):
    data = binary.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        stripped = Path(tmp) / "bootstrap"
        subprocess.run(["strip", "-o", str(stripped), str(binary)], check=True)
        bootstrap = stripped.read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bootstrap", bootstrap)
    mib = 1024 * 1024
    return len(data) / mib, len(bootstrap) / mib, len(buf.getvalue()) / mib


def measure(bin_dir, env, reps, log_dir):
    """{function: {"cold_ms": [...], "warm_ms": [...], "size_mib", "stripped_mib", "zip_mib"}}"""
    auth = "Basic " + base64.b64encode(f"admin:{env['PULP_ADMIN_PASSWORD']}".encode()).decode()
    results = {}
    for name in function_names():
        binary = bin_dir / name
        if not binary.is_file():
            raise SystemExit(f"{binary} is missing: build with `cargo build --workspace --bins`")
        results[name] = measure_one(binary, name, env, first_event(name, auth), reps, log_dir)
    # Behind a gateway that signs callers in (X-RH-IDENTITY), a cold start hashes no password.
    identity = base64.b64encode(json.dumps(
        {"identity": {"org_id": "1", "type": "User", "user": {"username": "admin"}}}).encode()).decode()
    name = "api-repositories"
    event = http_v2_event("GET", HTTP_PATHS[name], headers={"X-RH-IDENTITY": identity})
    gateway_env = {**env, "PULP_AUTHENTICATION_JSON_HEADER": "HTTP_X_RH_IDENTITY"}
    results[f"{name} (X-RH-IDENTITY)"] = measure_one(
        bin_dir / name, name, gateway_env, event, reps, log_dir, must_succeed=True)
    return results


def measure_one(binary, name, env, event, reps, log_dir, must_succeed=False):
    """One function's cold and warm times over `reps` fresh processes, and its sizes (with
    `must_succeed`, an HTTP answer of 400 or more fails the run: the figure must be of a
    request that signed in)."""
    cold, warm = [], []
    for i in range(reps):
        fn = LambdaFunction(binary, name, env, log_dir / f"{name}-{i}.log")
        try:
            results_ = [fn.invoke(event, timeout=60) for _ in range(1 + WARM)]
        finally:
            fn.stop()
        failed = [r for r in results_ if r.kind != "response" or (must_succeed and r.http()[0] >= 400)]
        if failed:
            raise SystemExit(f"{name} failed: {failed[0].body[:300]!r}")
        cold.append((results_[0].finished - fn.started) * 1000)
        # The invocations after the first; the first warm one may still open a second
        # database connection or fill a cache.
        warm.append(statistics.median(r.seconds for r in results_[1:]) * 1000)
    size, stripped, zipped = sizes(binary)
    return {"cold_ms": cold, "warm_ms": warm, "size_mib": size, "stripped_mib": stripped, "zip_mib": zipped}


def run(bin_dir, reps, workdir):
    """Migrates a fresh SQLite database, then measures every function binary on it."""
    data = Path(workdir) / "functions"
    data.mkdir(parents=True, exist_ok=True)
    env = {"DEPOT_DATA_DIR": str(data), "PULP_ADMIN_PASSWORD": "bench-" + uuid.uuid4().hex[:8],
           "RUST_LOG": "warn"}
    subprocess.run([str(bin_dir / "migrate")], env={**os.environ, **env}, check=True,
                   stdout=subprocess.DEVNULL)
    return measure(bin_dir, env, reps, data)


def print_table(results, release):
    print(f"\nfunction binaries ({'release' if release else 'debug'} build): cold start = spawn to the "
          "end of the first response under the Lambda runtime API emulator; warm = median of the next "
          f"{WARM} invocations\n")
    w = max(len(name) for name in results)
    print(f"| {'function':<{w}} | {'cold ms':>8} | {'min':>7} | {'max':>7} | {'warm ms':>8} | {'binary MiB':>10} "
          f"| {'stripped':>8} | {'zip MiB':>7} |")
    print(f"|{'-' * (w + 2)}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 10}|{'-' * 12}|{'-' * 10}|{'-' * 9}|")
    for name, r in results.items():
        print(f"| {name:<{w}} | {statistics.median(r['cold_ms']):>8.1f} | {min(r['cold_ms']):>7.1f} "
              f"| {max(r['cold_ms']):>7.1f} | {statistics.median(r['warm_ms']):>8.1f} | {r['size_mib']:>10.1f} "
              f"| {r['stripped_mib']:>8.1f} | {r['zip_mib']:>7.1f} |")
