"""Domains with the real clients, on a second server with PULP_DOMAIN_ENABLED=true: pulp-cli
with --domain, curl-style downloads from /pulp/content/<domain>/, twine and pip against
/pypi/<domain>/<base_path>/, skopeo against /v2/<domain>/<name>; the same names in two domains
stay two things, and nothing of one domain is reached through the other's paths."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

import containers
import pypkgs
from conftest import (REPO_ROOT, DepotServer, PulpCli, _start_runner, _stop_runner,
                      _wait_until_ready, first_round_only, free_port, http_request)

# The server of this module is its own (SQLite, local storage); the in-process Rust tests
# (local-runner/tests/domains.rs) cover domains on PostgreSQL.
pytestmark = first_round_only

VENV_BIN = Path(sys.executable).parent


def run(*cmd, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=full_env,
                            stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def domain_server():
    """A local-runner of its own with domains on (SQLite, local storage)."""
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="depot-domains-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DEPOT_", "AWS_", "PULP_"))}
    env.update(
        DEPOT_LISTEN=f"127.0.0.1:{port}",
        DEPOT_DATA_DIR=str(data_dir),
        PULP_ADMIN_PASSWORD="domains-pw",
        PULP_CONTENT_ORIGIN=f"http://127.0.0.1:{port}",
        PULP_DOMAIN_ENABLED="true",
        NO_COLOR="1",
    )
    binary = Path(os.environ.get("DEPOT_BIN") or REPO_ROOT / "target" / "debug" / "local-runner")
    server = DepotServer(f"http://127.0.0.1:{port}", "admin", "domains-pw", data_dir,
                         data_dir / "server.log", None)
    server.process = _start_runner(binary, env, server.log_path)
    try:
        _wait_until_ready(server, 60)
        yield server
    finally:
        _stop_runner(server.process)
        shutil.rmtree(data_dir, ignore_errors=True)


def test_two_domains_with_every_client(domain_server, tmp_path):
    server = domain_server
    (tmp_path / "cli").mkdir()
    pulp = PulpCli(VENV_BIN / "pulp", server, tmp_path / "cli")
    acme = f"acme-{uuid.uuid4().hex[:6]}"
    pulp("--domain", "default", "domain", "create", "--name", acme,
         "--storage-class", "pulpcore.app.models.storage.FileSystem",
         "--storage-settings", json.dumps({"location": ""}))

    # Files: the same names in both domains, each served under its own domain.
    for domain in ("default", acme):
        f = tmp_path / f"{domain}.txt"
        f.write_text(f"bytes of {domain}\n")
        pulp("--domain", domain, "file", "repository", "create", "--name", "site")
        pulp("--domain", domain, "file", "content", "upload", "--file", f,
             "--relative-path", "f.txt", "--repository", "site")
        pulp("--domain", domain, "file", "publication", "create", "--repository", "site")
        d = pulp("--domain", domain, "file", "distribution", "create", "--name", "site",
                 "--base-path", "site", "--repository", "site")
        assert d["base_url"] == f"{server.base_url}/pulp/content/{domain}/site/"
        assert d["pulp_href"].startswith(f"/pulp/{domain}/api/v3/")
    for domain in ("default", acme):
        got = http_request("GET", f"{server.base_url}/pulp/content/{domain}/site/f.txt")
        assert got.status == 200 and got.body == f"bytes of {domain}\n".encode()
    assert http_request("GET", f"{server.base_url}/pulp/content/site/f.txt").status == 404
    listed = pulp("--domain", acme, "file", "repository", "list")
    assert [r["name"] for r in listed] == ["site"]
    assert listed[0]["pulp_href"].startswith(f"/pulp/{acme}/api/v3/")

    # Python: twine uploads to the domain's index, pip installs from it.
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = pypkgs.wheel(dist, "domain-lib", "1.0.0")
    pulp("--domain", acme, "python", "repository", "create", "--name", "py")
    pulp("--domain", acme, "python", "distribution", "create", "--name", "py", "--base-path", "py",
         "--repository", "py")
    index = f"{server.base_url}/pypi/{acme}/py/"
    run(VENV_BIN / "twine", "upload", "--non-interactive", "--disable-progress-bar",
        "--repository-url", index + "legacy/", "-u", "admin", "-p", server.password, wheel)
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    run(VENV_BIN / "pip", "--python", venv / "bin" / "python", "install", "--no-cache-dir",
        "--index-url", index + "simple/", "domain-lib")
    out = run(venv / "bin" / "python", "-c", "import domain_lib; print(domain_lib.VERSION)")
    assert out.stdout.strip() == "1.0.0"
    assert http_request("GET", f"{server.base_url}/pypi/default/py/simple/").status == 404

    # Containers: skopeo pushes to and pulls from /v2/<domain>/<name>.
    if not all(shutil.which(t) for t in ("skopeo", "umoci")):
        pytest.skip("skopeo and umoci are needed for the registry part")
    work = tmp_path / "images"
    work.mkdir()
    images = containers.make_images(work)
    host = server.base_url.split("://", 1)[1]
    creds = f"admin:{server.password}"
    run("skopeo", "copy", "-q", "--dest-tls-verify=false", "--dest-creds", creds, images.layout,
        f"docker://{host}/{acme}/team/hello:v1")
    seen = json.loads(run("skopeo", "inspect", "--tls-verify=false", "--creds", creds,
                          f"docker://{host}/{acme}/team/hello:v1").stdout)
    assert seen["Digest"] == images.digest
    run("skopeo", "copy", "-q", "--src-tls-verify=false", "--src-creds", creds,
        f"docker://{host}/{acme}/team/hello:v1", f"oci:{tmp_path / 'out'}:v1")
    missing = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--creds", creds,
                              f"docker://{host}/default/team/hello:v1"],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert missing.returncode != 0
    dists = pulp("--domain", acme, "container", "distribution", "list")
    assert [d["base_path"] for d in dists] == ["team/hello"]


def test_replication_with_pulp_cli(domain_server, depot_server, pulp, tmp_path):
    """pulp-cli's upstream-pulp group on two servers: a domain of this module's server
    replicates the file distributions the session's server (domains off) has, over HTTP, as it
    would another Pulp's: remotes, repositories and distributions made, the bytes served."""
    upstream = depot_server
    tag = uuid.uuid4().hex[:6]
    f = tmp_path / "f.txt"
    f.write_bytes(os.urandom(2048))
    repo = f"replsrc-{tag}"
    pulp("file", "repository", "create", "--name", repo)
    pulp("file", "content", "upload", "--file", f, "--relative-path", "f.txt", "--repository", repo)
    pulp("file", "publication", "create", "--repository", repo)
    pulp("file", "distribution", "create", "--name", repo, "--base-path", repo,
         "--repository", repo)

    server = domain_server
    (tmp_path / "cli").mkdir()
    down = PulpCli(VENV_BIN / "pulp", server, tmp_path / "cli")
    mirror = f"mirror-{tag}"
    down("--domain", "default", "domain", "create", "--name", mirror,
         "--storage-class", "pulpcore.app.models.storage.FileSystem",
         "--storage-settings", json.dumps({"location": ""}))
    # The session's server holds other tests' distributions: this one alone is replicated.
    up = down("--domain", mirror, "upstream-pulp", "create", "--name", "up",
              "--base-url", upstream.base_url, "--api-root", "/pulp/",
              "--username", upstream.username, "--password", upstream.password,
              "--q-select", f"name={repo}")
    assert up["pulp_href"].startswith(f"/pulp/{mirror}/api/v3/upstream-pulps/"), up
    assert {"name": "password", "is_set": True} in up["hidden_fields"], up
    listed = down("--domain", mirror, "upstream-pulp", "list")
    assert [u["name"] for u in listed] == ["up"], listed
    down("--domain", mirror, "upstream-pulp", "update", "--upstream-pulp", "up",
         "--policy", "labeled")
    shown = down("--domain", mirror, "upstream-pulp", "show", "--upstream-pulp", "up")
    assert shown["policy"] == "labeled" and shown["q_select"] == f"name={repo}", shown

    down("--domain", mirror, "upstream-pulp", "replicate", "--upstream-pulp", "up")
    # The last thing a replication's last task does is record it.
    for _ in range(300):
        if down("--domain", mirror, "upstream-pulp", "show", "--upstream-pulp", "up")[
                "last_replication"]:
            break
        time.sleep(0.2)
    dists = down("--domain", mirror, "file", "distribution", "list")
    assert [d["base_path"] for d in dists] == [repo], dists
    assert dists[0]["pulp_labels"]["UpstreamPulp"] == up["prn"].rsplit(":", 1)[1], dists
    got = http_request("GET", f"{server.base_url}/pulp/content/{mirror}/{repo}/f.txt")
    assert got.status == 200 and got.body == f.read_bytes()
    remotes = down("--domain", mirror, "file", "remote", "list")
    assert [r["url"] for r in remotes] == [f"{upstream.base_url}/pulp/content/{repo}/PULP_MANIFEST"]
    down("--domain", mirror, "upstream-pulp", "destroy", "--upstream-pulp", "up")
    assert down("--domain", mirror, "upstream-pulp", "list") == []
