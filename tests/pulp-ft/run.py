#!/usr/bin/env python3
"""Pulp's own functional test suites against Depot, with a list of the failures we expect.

Pulp ships its functional tests in the pulpcore wheel on PyPI (pulp_file's suite and pulpcore's
API suite). They drive a server only over HTTP, through the pulpcore-client bindings, so they
measure how far Depot is from Pulp's REST contract. This script installs them (a virtualenv of
their own), starts local-runner on a fresh data dir, runs the suites, and compares what failed
with expected-failures.txt next to it:

- a test that fails and is not listed fails the run (a regression, or a new failure to fix);
- a listed test that passes fails the run too, so that the list only ever shrinks: take it out.

    python3 tests/pulp-ft/run.py [--bin target/debug/local-runner] [--suite file|core|all]
                                 [--domains] [--list-failures] [-- pytest args]

--list-failures prints the failures of this run in the list's format (to start or review it).
--domains runs them against a server with domains on (PULP_DOMAIN_ENABLED), as Pulp's CI runs
its domain suites: with bindings generated for such a server (domain-bindings.sh, in a root of
their own) and the failures listed in expected-failures-domains.txt.
Results (JUnit XML) and the server's log go to $DEPOT_PULP_FT_ROOT (default /var/tmp/depot-pulp-ft).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PULP = "3.123.1"
# The suites' own needs, pinned where the suites pin them.
PACKAGES = [f"pulpcore=={PULP}", f"pulpcore-client=={PULP}", f"pulp-file-client=={PULP}", "pytest",
            "pytest-timeout", "pytest-xdist", "python-gnupg", "proxy.py~=2.4.10", "trustme~=1.2.1", "beautifulsoup4"]
SUITES = {
    "file": ("pulp_file/tests/functional", [
        # these fetch from the internet (fixtures.pulpproject.org, github.com)
        "pulp_file/tests/functional/api/test_sync.py::test_sync_file_protocol_handler",
        "pulp_file/tests/functional/api/test_git_sync.py",
    ]),
    "core": ("pulpcore/tests/functional/api", [
        # downloads signing keys from the internet
        "pulpcore/tests/functional/api/test_signing_service.py",
    ]),
}


def install(root):
    venv = root / "venv"
    stamp = venv / ".packages"
    ready = (venv / "bin" / "pytest").exists() and stamp.exists() \
        and stamp.read_text() == json.dumps(PACKAGES)
    if not ready:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                        *PACKAGES], check=True)
        stamp.write_text(json.dumps(PACKAGES))
    src = root / f"src-{PULP}"
    if not (src / "pulp_file").is_dir():
        wheels = root / "wheel"
        subprocess.run([str(venv / "bin" / "pip"), "download", "-q", "--no-deps", "-d", str(wheels),
                        f"pulpcore=={PULP}"], check=True)
        wheel = next(wheels.glob(f"pulpcore-{PULP}-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            z.extractall(src)
    return venv, src


def domain_bindings(root):
    """Pulp's bindings for a server with domains on, generated once into this root's venv."""
    stamp = root / "venv" / ".domain-bindings"
    if stamp.exists():
        return
    key = root / "db.key"
    if not key.exists():
        key.write_bytes(__import__("base64").b64encode(os.urandom(32)))
    subprocess.run(["bash", str(HERE / "domain-bindings.sh")], check=True,
                   env=dict(os.environ, PFT_ROOT=str(root)))
    stamp.write_text("")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Short, as Pulp's CI sets it, so that its tests can wait it out.
RETENTION = 3


def start_server(binary, root, name, domains):
    data = Path(tempfile.mkdtemp(prefix="depot-pulp-ft-"))
    port = free_port()
    allowed = json.dumps(["/tmp", "/var/tmp"])
    env = dict(os.environ, DEPOT_DATA_DIR=str(data), DEPOT_LISTEN=f"127.0.0.1:{port}",
               PULP_ADMIN_PASSWORD="password", PULP_CONTENT_ORIGIN=f"http://127.0.0.1:{port}",
               PULP_ALLOWED_EXPORT_PATHS=allowed, PULP_ALLOWED_IMPORT_PATHS=allowed,
               PULP_DISTRIBUTED_PUBLICATION_RETENTION_PERIOD=str(RETENTION),
               PULP_TASK_DIAGNOSTICS='["memory"]', PULP_DOMAIN_ENABLED=str(domains).lower(),
               DEPOT_FUNCTIONS_DIR=str(Path(binary).parent), NO_COLOR="1")
    env.pop("DEPOT_DATABASE_URL", None)
    log = open(root / f"server-{name}.log", "wb")
    process = subprocess.Popen([binary], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=data)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/pulp/api/v3/status/", timeout=2)
            return process, url, data
        except OSError:
            if process.poll() is not None:
                sys.exit(f"local-runner exited at start; see {root / f'server-{name}.log'}")
            time.sleep(0.1)
    process.kill()
    sys.exit("local-runner did not answer within 30 s")


def write_settings(root, url, media, domains):
    host, port = url.split("://")[1].split(":")
    settings = root / "settings.py"
    key = root / "db.key"
    if not key.exists():
        key.write_bytes(__import__("base64").b64encode(os.urandom(32)))
    # What the fixtures read to find the server under test.
    settings.write_text("\n".join([
        'SECRET_KEY = "functional-tests-only"',
        f'CONTENT_ORIGIN = "{url}"',
        'CONTENT_PATH_PREFIX = "/pulp/content/"',
        'API_ROOT = "/pulp/"',
        f"DOMAIN_ENABLED = {domains}",
        f'MEDIA_ROOT = "{media}"',
        f'STATIC_ROOT = "{root}/work/static"',
        f'WORKING_DIRECTORY = "{root}/work/tmp"',
        f'FILE_UPLOAD_TEMP_DIR = "{root}/work/tmp"',
        'ALLOWED_EXPORT_PATHS = ["/tmp", "/var/tmp"]',
        'ALLOWED_IMPORT_PATHS = ["/tmp", "/var/tmp"]',
        f'DB_ENCRYPTION_KEY = "{key}"',
        f"DISTRIBUTED_PUBLICATION_RETENTION_PERIOD = {RETENTION}",
        'TASK_DIAGNOSTICS = ["memory"]',
    ]) + "\n")
    (root / "work" / "tmp").mkdir(parents=True, exist_ok=True)
    return settings, host, port


def outcomes(xml_path):
    """test id -> passed, failed, error or skipped."""
    out = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        module = case.get("classname", "")
        parts = module.split(".")
        # classname is the module path, with a test class appended when there is one.
        path = "/".join(p for p in parts if not p[:1].isupper()) + ".py"
        klass = "::".join(p for p in parts if p[:1].isupper())
        test_id = f"{path}::{klass + '::' if klass else ''}{case.get('name')}"
        state = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                state = {"failure": "failed"}.get(child.tag, child.tag)
        out[test_id] = state
    return out


def expected_failures(domains):
    listed = set()
    name = "expected-failures-domains.txt" if domains else "expected-failures.txt"
    for line in (HERE / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            listed.add(line)
    return listed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=str(REPO / "target" / "debug" / "local-runner"))
    parser.add_argument("--suite", choices=["file", "core", "all"], default="all")
    parser.add_argument("--domains", action="store_true")
    parser.add_argument("--list-failures", action="store_true")
    parser.add_argument("--workers", type=int, default=4, help="for the tests marked parallel")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    default_root = "/var/tmp/depot-pulp-ft" + ("-domains" if args.domains else "")
    root = Path(os.environ.get("DEPOT_PULP_FT_ROOT", default_root))
    root.mkdir(parents=True, exist_ok=True)
    venv, src = install(root)
    if args.domains:
        domain_bindings(root)
    suites = ["file", "core"] if args.suite == "all" else [args.suite]
    results = {}
    for suite in suites:
        # A fresh server per suite: each suite counts what it made, as on a fresh Pulp.
        process, url, data = start_server(args.bin, root, suite, args.domains)
        try:
            settings, host, port = write_settings(root, url, data / "media", args.domains)
            env = dict(os.environ, PATH=f"{venv}/bin:{os.environ['PATH']}", PYTHONPATH=str(src),
                       PULP_SETTINGS=str(settings), DJANGO_SETTINGS_MODULE="pulpcore.app.settings",
                       API_PROTOCOL="http", API_HOST=host, API_PORT=port,
                       ADMIN_USERNAME="admin", ADMIN_PASSWORD="password")
            tests, deselected = SUITES[suite]
            started = time.monotonic()
            # As Pulp's CI runs them: the tests marked parallel on several workers (most of a
            # test's time is waiting for tasks), then the others one by one.
            for part, extra in (("parallel", ["-m", "parallel", "-n", str(args.workers)]),
                                ("serial", ["-m", "not parallel"])):
                xml = root / f"{suite}-{part}.xml"
                command = [str(venv / "bin" / "pytest"), "-p", "no:cacheprovider", "--timeout=120",
                           "-q", "-rfE", f"--junitxml={xml}", *extra,
                           *[f"--deselect={d}" for d in deselected], *args.pytest_args, tests]
                subprocess.run(command, cwd=src, env=env)
                results.update(outcomes(xml))
            print(f"== Pulp's {suite} suite took {time.monotonic() - started:.0f} s")
        finally:
            process.terminate()
            process.wait(timeout=30)
            shutil.rmtree(data, ignore_errors=True)
    failed = sorted(t for t, s in results.items() if s in ("failed", "error"))
    counts = {s: sum(1 for v in results.values() if v == s) for s in ("passed", "failed", "error", "skipped")}
    print(f"== Pulp's suites: {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['error']} errors, {counts['skipped']} skipped")
    if args.list_failures:
        print("\n".join(failed))
        return 0
    listed = expected_failures(args.domains)
    ran = set(results)
    unexpected = [t for t in failed if t not in listed]
    now_pass = sorted(t for t in listed if results.get(t) == "passed")
    for t in unexpected:
        print(f"UNEXPECTED FAILURE: {t}")
    for t in now_pass:
        print(f"NOW PASSES (take it out of expected-failures.txt): {t}")
    if args.suite == "all" and not args.pytest_args:
        for t in sorted(listed - ran):
            print(f"NOT RUN (take it out of expected-failures.txt): {t}")
    return 1 if unexpected or now_pass else 0


if __name__ == "__main__":
    sys.exit(main())
