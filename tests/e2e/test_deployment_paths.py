"""A deployment that moves the API and the content app, as the service in seed 000 does
(`PULP_API_ROOT=/api/pulp/`, `PULP_CONTENT_PATH_PREFIX=/api/pulp-content/`), behind a proxy
that says the client's host and scheme: pulp-cli, told the root, works unchanged; hrefs,
links, redirects and listings name the public paths; the default paths are not served."""

import shutil
import sys
from pathlib import Path

import pytest

from conftest import START_TIMEOUT, PulpCli, _wait_until_ready, content_request, http_request

API_ROOT = "/api/pulp/"
CONTENT = "/api/pulp-content/"


@pytest.fixture
def moved(runner_factory):
    server = runner_factory.start(
        wait=False,
        PULP_API_ROOT=API_ROOT,
        PULP_CONTENT_PATH_PREFIX=CONTENT,
        PULP_USE_X_FORWARDED_HOST="true",
        # As the service writes it: a Python list literal.
        PULP_SECURE_PROXY_SSL_HEADER="['HTTP_X_FORWARDED_PROTO', 'https']",
        # One of Pulp's settings Depot has no use for: named at start, not silently ignored.
        PULP_CACHE_ENABLED="true",
    )
    server.api_url = server.base_url + API_ROOT + "api/v3/"
    server.content_url = server.base_url + CONTENT
    _wait_until_ready(server, START_TIMEOUT)
    return server


def cli(server, tmp_path):
    executable = Path(sys.executable).parent / "pulp"
    if not executable.exists():
        executable = Path(shutil.which("pulp"))
    c = PulpCli(executable, server, tmp_path / "cli-home")
    base = c.command

    def command(*args):
        full = base(*args)
        # pulp-cli's own option for a moved API.
        return full[:1] + ["--api-root", API_ROOT] + full[1:]

    c.command = command
    return c


def test_api_and_content_under_moved_paths(moved, tmp_path):
    pulp = cli(moved, tmp_path)
    repo = pulp("file", "repository", "create", "--name", "moved", "--autopublish")
    assert repo["pulp_href"].startswith(API_ROOT + "api/v3/repositories/file/file/"), repo
    payload = tmp_path / "hello.txt"
    payload.write_bytes(b"hello from a moved root\n")
    pulp("file", "content", "upload", "--file", str(payload), "--relative-path", "hello.txt",
         "--repository", "moved")
    dist = pulp("file", "distribution", "create", "--name", "moved", "--base-path", "moved",
                "--repository", "moved")
    assert dist["base_url"].endswith(CONTENT + "moved/"), dist

    # The content app answers under its prefix, and its listings and redirects name it.
    got = content_request("GET", moved.base_url + CONTENT + "moved/hello.txt")
    assert got.status == 200 and got.body == payload.read_bytes(), got
    listing = http_request("GET", moved.base_url + CONTENT + "moved/")
    assert f"Index of {CONTENT}moved/" in listing.body.decode(), listing
    bare = http_request("GET", moved.base_url + CONTENT + "moved")
    assert (bare.status, bare.headers["Location"]) == (301, CONTENT + "moved/"), bare

    # The default paths are not served.
    for path in ["/pulp/api/v3/status/", "/pulp/content/moved/hello.txt"]:
        assert http_request("GET", moved.base_url + path).status == 404, path

    # Pages link to the client's host and scheme, as the proxy told them.
    page = moved.request("GET", "tasks/?limit=1", headers={
        "X-Forwarded-Host": "pulp.example.com", "X-Forwarded-Proto": "https"})
    assert page.status == 200, page
    next_link = page.json()["next"]
    assert next_link.startswith(f"https://pulp.example.com{API_ROOT}api/v3/tasks/?"), next_link

    warning = [line for line in moved.log_text().splitlines() if "does not support" in line]
    assert len(warning) == 1 and "PULP_CACHE_ENABLED" in warning[0], warning

    # The API document's paths are where clients reach them.
    doc = moved.request("GET", "docs/api.json").json()
    assert f"{API_ROOT}api/v3/repositories/file/file/" in doc["paths"]
    assert not any(p.startswith("/pulp/api/") for p in doc["paths"])
