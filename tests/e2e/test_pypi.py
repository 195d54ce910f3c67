"""The Python package index under /pypi/<base_path>/ with the real clients: twine uploads,
pip and uv installs (JSON and HTML simple pages), pip download with hash checks, the PyPI JSON
API, PEP 658 metadata files; the `pulp python` commands of pulp-cli for the repositories and
distributions; and the errors twine shows for bad uploads."""

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import pypkgs
from conftest import encode_multipart

VENV_BIN = Path(sys.executable).parent
PIP_ACCEPT = ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
              "text/html; q=0.01")


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def run(*cmd, env=None, check=True, cwd=None):
    full_env = dict(os.environ)
    full_env.pop("PIP_FIND_LINKS", None)
    full_env.update(env or {})
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=full_env, cwd=cwd,
                            stdin=subprocess.DEVNULL, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


class Index:
    """A python repository with a distribution, made with pulp-cli."""

    def __init__(self, pulp, server, name=None):
        self.name = name or unique("py")
        self.server = server
        self.repo = pulp("python", "repository", "create", "--name", self.name)
        pulp("python", "distribution", "create", "--name", self.name, "--base-path", self.name,
             "--repository", self.name)
        self.distribution = pulp("python", "distribution", "show", "--name", self.name)
        self.url = f"{server.base_url}/pypi/{self.name}/"
        self.simple = self.url + "simple/"

    def twine(self, *files, check=True):
        result = run(VENV_BIN / "twine", "upload", "--non-interactive", "--disable-progress-bar",
                     "--repository-url", self.url + "legacy/", "-u", self.server.username,
                     "-p", self.server.password, *files, check=check, env={"NO_COLOR": "1"})
        # What twine printed, unwrapped (it folds long lines).
        result.said = " ".join((result.stdout + result.stderr).split())
        return result

    def get(self, path, accept=None):
        headers = {"Accept": accept} if accept else {}
        return self.server.request("GET", f"/pypi/{self.name}/{path}", headers=headers, auth=None)


def fresh_venv(tmp_path, name):
    venv = tmp_path / name
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    return venv


@pytest.fixture
def index(pulp, depot_server):
    return Index(pulp, depot_server)


def test_twine_upload_then_pip_and_uv_install(index, tmp_path, pulp, depot_server, helpers):
    dist = tmp_path / "dist"
    dist.mkdir()
    lib = pypkgs.wheel(dist, "Depot_Lib", "1.0.0", requires_python=">=3.8")
    lib_old = pypkgs.wheel(dist, "Depot_Lib", "0.9.0")
    app = pypkgs.wheel(dist, "depot-app", "2.0.0", requires=["depot-lib>=1.0"])
    app_sdist = pypkgs.sdist(dist, "depot-app", "2.0.0", requires=["depot-lib>=1.0"])
    index.twine(lib, lib_old, app, app_sdist)

    # The simple index, negotiated: pip's header gets PEP 691 JSON, a browser HTML.
    projects = index.get("simple/", PIP_ACCEPT)
    assert projects.headers["Content-Type"] == "application/vnd.pypi.simple.v1+json"
    assert sorted(p["name"] for p in projects.json()["projects"]) == ["Depot_Lib", "depot-app"]
    page = index.get("simple/depot-lib/", PIP_ACCEPT).json()
    assert page["name"] == "depot-lib" and page["versions"] == ["0.9.0", "1.0.0"]
    new = next(f for f in page["files"] if f["filename"] == lib.name)
    assert new["hashes"]["sha256"] == pypkgs.sha256(lib) and new["requires-python"] == ">=3.8"
    assert new["size"] == lib.stat().st_size
    # PEP 658: the wheel's METADATA next to it, with its hash in the page.
    meta = helpers.content("GET", new["url"] + ".metadata")
    assert meta.status == 200 and hashlib.sha256(meta.body).hexdigest() == new["core-metadata"]["sha256"]
    assert b"Name: Depot_Lib" in meta.body
    html = index.get("simple/depot-lib/", "text/html")
    assert html.headers["Content-Type"].startswith("text/html")
    assert f"#sha256={pypkgs.sha256(lib)}".encode() in html.body and b'data-requires-python="&gt;=3.8"' in html.body
    # Names are normalized (301 to the normal form); unknown projects are 404.
    odd = index.get("simple/Depot_Lib/")
    assert odd.status == 301 and odd.headers["Location"].endswith(f"/pypi/{index.name}/simple/depot-lib/")
    assert index.get("simple/nothing-here/").status == 404

    # The PyPI JSON API: the latest release's metadata and every release.
    info = index.get("pypi/depot-app/json").json()
    assert info["info"]["name"] == "depot-app" and info["info"]["version"] == "2.0.0"
    assert info["info"]["requires_dist"] == ["depot-lib>=1.0"]
    assert sorted(f["packagetype"] for f in info["urls"]) == ["bdist_wheel", "sdist"]
    assert sorted(index.get("pypi/depot-lib/json").json()["releases"]) == ["0.9.0", "1.0.0"]
    assert index.get("pypi/depot-lib/0.9.0/json").json()["info"]["version"] == "0.9.0"

    # pip (JSON pages) installs the app and its dependency from the index alone.
    venv = fresh_venv(tmp_path, "pip-venv")
    run(VENV_BIN / "pip", "--python", venv / "bin" / "python", "install", "--no-cache-dir",
        "--index-url", index.simple, "depot-app")
    out = run(venv / "bin" / "python", "-c", "import depot_app, depot_lib; print(depot_app.VERSION, depot_lib.VERSION)")
    assert out.stdout.split() == ["2.0.0", "1.0.0"]
    # uv too.
    uv_venv = tmp_path / "uv-venv"
    run(VENV_BIN / "uv", "venv", "-q", uv_venv)
    run(VENV_BIN / "uv", "pip", "install", "--no-cache", "--index-url", index.simple, "depot-app==2.0.0",
        env={"VIRTUAL_ENV": str(uv_venv)})
    out = run(uv_venv / "bin" / "python", "-c", "import depot_lib; print(depot_lib.VERSION)")
    assert out.stdout.strip() == "1.0.0"
    # pip reading the HTML page (a find-links page is fetched as HTML), pinned to the old version.
    html_venv = fresh_venv(tmp_path, "html-venv")
    run(VENV_BIN / "pip", "--python", html_venv / "bin" / "python", "install", "--no-cache-dir", "--no-index",
        "--find-links", index.simple + "depot-lib/", "depot-lib==0.9.0")
    out = run(html_venv / "bin" / "python", "-c", "import depot_lib; print(depot_lib.VERSION)")
    assert out.stdout.strip() == "0.9.0"

    # The sdist is served byte for byte under the hash its page gives.
    app_page = index.get("simple/depot-app/", PIP_ACCEPT).json()
    sd = next(f for f in app_page["files"] if f["filename"] == app_sdist.name)
    assert sd["hashes"]["sha256"] == pypkgs.sha256(app_sdist) and sd["core-metadata"] is False
    assert helpers.content("GET", sd["url"]).body == app_sdist.read_bytes()
    # pip download checks the hashes: the index's, and those of a --require-hashes file.
    down = tmp_path / "down"
    reqs = tmp_path / "reqs.txt"
    reqs.write_text(f"depot-lib==1.0.0 --hash=sha256:{pypkgs.sha256(lib)}\n")
    run(VENV_BIN / "pip", "download", "--no-cache-dir", "--no-deps", "--require-hashes", "--index-url",
        index.simple, "-d", down, "-r", reqs)
    assert (down / lib.name).read_bytes() == lib.read_bytes()

    # uv publish uploads the same way; uv reads an HTML page too (as find-links).
    extra = pypkgs.wheel(tmp_path, "depot-extra", "0.1")
    run(VENV_BIN / "uv", "publish", "--publish-url", index.url + "legacy/", "-u", depot_server.username,
        "-p", depot_server.password, extra)
    uv_html = tmp_path / "uv-html"
    run(VENV_BIN / "uv", "venv", "-q", uv_html)
    run(VENV_BIN / "uv", "pip", "install", "--no-cache", "--no-index", "--find-links", index.simple + "depot-extra/",
        "depot-extra", env={"VIRTUAL_ENV": str(uv_html)})
    out = run(uv_html / "bin" / "python", "-c", "import depot_extra; print(depot_extra.VERSION)")
    assert out.stdout.strip() == "0.1"

    # The repository got a version per upload; pulp-cli lists the packages.
    repo = pulp("python", "repository", "show", "--name", index.name)
    assert repo["latest_version_href"].endswith("/versions/5/")
    packages = pulp("python", "content", "list", "--repository-version", repo["latest_version_href"])
    assert sorted(p["filename"] for p in packages) == sorted(f.name for f in (lib, lib_old, app, app_sdist, extra))


def test_bad_uploads_are_refused_with_twines_message(index, tmp_path, depot_server):
    dist = tmp_path / "dist"
    dist.mkdir()
    good = pypkgs.wheel(dist, "okpkg", "1.0")
    index.twine(good)

    # The same file name again: 400, and twine shows why.
    again = index.twine(good, check=False)
    assert again.returncode != 0 and f"400 Bad Request from {index.url}legacy/ Package {good.name} already exists in index" in again.said
    # A wheel whose metadata names another project.
    other = tmp_path / "other"
    other.mkdir()
    liar = pypkgs.wheel(other, "liar", "1.0", meta_name="somebody-else")
    refused = index.twine(liar, check=False)
    assert refused.returncode != 0 and "400 Bad Request" in refused.said and "the package metadata says somebody-else 1.0" in refused.said

    def post(filename, data, sha=None, **fields):
        boundary = uuid.uuid4().hex
        parts = []
        fields = {":action": "file_upload", "protocol_version": "1",
                  "sha256_digest": sha or hashlib.sha256(data).hexdigest(), **fields}
        for k, v in fields.items():
            parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode())
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{filename}\"\r\n"
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return depot_server.request("POST", f"/pypi/{index.name}/legacy/", body=body,
                                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    data = pypkgs.wheel(other, "fresh", "1.0").read_bytes()
    wrong = post("fresh-1.0-py3-none-any.whl", data, sha="0" * 64)
    assert wrong.status == 400 and "sha256" in wrong.body.decode()
    # The name and version twine sends must be the file's.
    for claims in ({"name": "other", "version": "1.0"}, {"name": "fresh", "version": "2.0"}):
        lie = post("fresh-1.0-py3-none-any.whl", data, **claims)
        assert lie.status == 400 and "does not match the file" in lie.body.decode(), lie
    corrupt = post("broken-1.0-py3-none-any.whl", b"this is no zip file")
    assert corrupt.status == 400 and "not a valid wheel" in corrupt.body.decode()
    bad_name = post("bad name-1.0.tar.gz", b"x")
    assert bad_name.status == 400
    unsupported = post("fresh-1.0.exe", data)
    assert unsupported.status == 400
    anonymous = depot_server.request("POST", f"/pypi/{index.name}/legacy/", body=b"", auth=None)
    assert anonymous.status == 401
    # Nothing of the refused uploads is in the index.
    page = index.get("simple/", PIP_ACCEPT).json()
    assert [p["name"] for p in page["projects"]] == ["okpkg"]
    assert index.get("simple/fresh/").status == 404


def test_distribution_settings(pulp, depot_server, tmp_path):
    index = Index(pulp, depot_server)
    assert index.distribution["base_url"].endswith(f"/pypi/{index.name}/")
    assert index.distribution["allow_uploads"] is True
    pulp("python", "distribution", "update", "--name", index.name, "--block-uploads")
    f = pypkgs.wheel(tmp_path, "blocked", "1.0")
    refused = index.twine(f, check=False)
    assert refused.returncode != 0 and "403 Forbidden from" in refused.said and "Index is not allowing uploads" in refused.said


class PyPIServer:
    """PyPI's pypiserver on 127.0.0.1 serving the files of `packages` (sha256 links, no
    fallback to the real PyPI); it can be stopped."""

    def __init__(self, packages, port):
        from conftest import free_port  # noqa: F401  (the port comes from the caller)
        import time
        import urllib.request
        self.url = f"http://127.0.0.1:{port}/"
        self.proc = subprocess.Popen(
            [VENV_BIN / "pypi-server", "run", "-i", "127.0.0.1", "-p", str(port), "-a", ".", "-P", ".",
             "--disable-fallback", "--hash-algo", "sha256", str(packages)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "simple/", timeout=2).read()
                return
            except OSError:
                if time.time() > deadline:
                    raise AssertionError("pypiserver did not start")
                time.sleep(0.1)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def upstream_index(tmp_path):
    from conftest import free_port
    packages = tmp_path / "upstream"
    packages.mkdir()
    made = {
        "alpha": [pypkgs.wheel(packages, "alpha", v) for v in ("1.0", "1.1", "2.0", "2.1rc1")],
        "beta": [pypkgs.wheel(packages, "beta", "1.0", requires=["alpha"]), pypkgs.sdist(packages, "beta", "1.0")],
        "gamma": [pypkgs.wheel(packages, "gamma", "3.0")],
    }
    # A Windows-only wheel of alpha 1.1, which exclude_platforms drops.
    elsewhere = tmp_path / "win"
    elsewhere.mkdir()
    win = pypkgs.wheel(elsewhere, "alpha", "1.1").rename(packages / "alpha-1.1-cp312-cp312-win_amd64.whl")
    made["alpha-win"] = [win]
    server = PyPIServer(packages, free_port())
    server.made = made
    yield server
    server.stop()


def test_sync_from_an_index_with_filters_then_install_offline(pulp, depot_server, upstream_index, tmp_path):
    name = unique("mirror")
    remote = pulp("python", "remote", "create", "--name", name, "--url", upstream_index.url,
                  "--policy", "immediate", "--includes", '["alpha", "beta"]', "--excludes", '["alpha==2.0"]',
                  "--prereleases", "false", "--keep-latest-packages", "1",
                  "--exclude-platforms", '["windows"]')
    assert remote["includes"] == ["alpha", "beta"] and remote["keep_latest_packages"] == 1
    pulp("python", "repository", "create", "--name", name, "--remote", name)
    pulp("python", "repository", "sync", "--name", name)
    pulp("python", "distribution", "create", "--name", name, "--base-path", name, "--repository", name)
    index = f"{depot_server.base_url}/pypi/{name}/simple/"

    def files(project):
        resp = depot_server.request("GET", f"/pypi/{name}/simple/{project}/", headers={"Accept": PIP_ACCEPT},
                                    auth=None)
        return sorted(f["filename"] for f in resp.json()["files"]) if resp.status == 200 else resp.status

    # alpha: 2.0 excluded, 2.1rc1 a prerelease, the Windows wheel dropped, only the latest kept.
    assert files("alpha") == ["alpha-1.1-py3-none-any.whl"]
    assert files("beta") == ["beta-1.0-py3-none-any.whl", "beta-1.0.tar.gz"]
    assert files("gamma") == 404
    made = {p.name: p for group in upstream_index.made.values() for p in group}
    page = depot_server.request("GET", f"/pypi/{name}/simple/alpha/", headers={"Accept": PIP_ACCEPT}, auth=None)
    assert page.json()["files"][0]["hashes"]["sha256"] == pypkgs.sha256(made["alpha-1.1-py3-none-any.whl"])

    # With the upstream stopped, everything installs from Depot (beta needs alpha).
    upstream_index.stop()
    venv = fresh_venv(tmp_path, "offline")
    run(VENV_BIN / "pip", "--python", venv / "bin" / "python", "install", "--no-cache-dir", "--index-url", index, "beta")
    out = run(venv / "bin" / "python", "-c", "import alpha, beta; print(alpha.VERSION, beta.VERSION)")
    assert out.stdout.split() == ["1.1", "1.0"]
    # A sync that cannot reach the upstream fails and leaves the repository as it was.
    before = pulp("python", "repository", "show", "--name", name)["latest_version_href"]
    failed = pulp.run("python", "repository", "sync", "--name", name)
    assert failed.returncode != 0
    assert pulp("python", "repository", "show", "--name", name)["latest_version_href"] == before


def test_on_demand_sync_and_pull_through(pulp, depot_server, upstream_index, tmp_path, helpers):
    made = {p.name: p for group in upstream_index.made.values() for p in group}
    name = unique("lazy")
    pulp("python", "remote", "create", "--name", name, "--url", upstream_index.url, "--includes", '["gamma"]')
    assert pulp("python", "remote", "show", "--name", name)["policy"] == "on_demand"
    pulp("python", "repository", "create", "--name", name, "--remote", name)
    pulp("python", "repository", "sync", "--name", name)
    latest = pulp("python", "repository", "show", "--name", name)["latest_version_href"]
    package = pulp("python", "content", "list", "--repository-version", latest)[0]
    assert package["filename"] == "gamma-3.0-py3-none-any.whl" and package["artifact"] is None
    pulp("python", "distribution", "create", "--name", name, "--base-path", name, "--repository", name)
    venv = fresh_venv(tmp_path, "lazy")
    run(VENV_BIN / "pip", "--python", venv / "bin" / "python", "install", "--no-cache-dir",
        "--index-url", f"{depot_server.base_url}/pypi/{name}/simple/", "gamma")
    out = run(venv / "bin" / "python", "-c", "import gamma; print(gamma.VERSION)")
    assert out.stdout.strip() == "3.0"
    # The same file uploaded to another index completes the package with the metadata read from
    # it (the on-demand one only had what the upstream page said).
    assert package["metadata_sha256"] is None
    Index(pulp, depot_server).twine(made["gamma-3.0-py3-none-any.whl"])
    package = pulp("python", "content", "list", "--repository-version", latest)[0]
    assert package["artifact"] is not None and package["metadata_sha256"]
    assert package["summary"] == "A test package"

    # Pull-through: a distribution with a remote fetches a project on its first request.
    pt = unique("pt")
    pulp("python", "remote", "create", "--name", pt, "--url", upstream_index.url)
    pulp("python", "repository", "create", "--name", pt)
    pulp("python", "distribution", "create", "--name", pt, "--base-path", pt, "--repository", pt, "--remote", pt)
    page = depot_server.request("GET", f"/pypi/{pt}/simple/beta/", headers={"Accept": PIP_ACCEPT}, auth=None)
    assert page.status == 200, page
    files = {f["filename"]: f for f in page.json()["files"]}
    assert sorted(files) == ["beta-1.0-py3-none-any.whl", "beta-1.0.tar.gz"]
    wheel = helpers.content("GET", files["beta-1.0-py3-none-any.whl"]["url"])
    assert wheel.status == 200 and wheel.body == made["beta-1.0-py3-none-any.whl"].read_bytes()
    # It is now in the repository; unknown projects stay unknown.
    assert pulp("python", "repository", "show", "--name", pt)["latest_version_href"].endswith("/versions/1/")
    assert depot_server.request("GET", f"/pypi/{pt}/simple/nothing-like-it/", auth=None).status == 404


def test_cli_content_create_reads_the_metadata(pulp, depot_server, tmp_path):
    index = Index(pulp, depot_server)
    whl = pypkgs.wheel(tmp_path, "cli-made", "0.3", requires=["idna"], requires_python=">=3.9")
    pulp("python", "content", "create", "--relative-path", whl.name, "--file", whl, "--repository", index.name)
    package = pulp("python", "content", "list", "--name", "cli-made")[0]
    assert package["filename"] == whl.name and package["version"] == "0.3"
    assert package["requires_dist"] == ["idna"] and package["requires_python"] == ">=3.9"
    assert package["sha256"] == pypkgs.sha256(whl) and package["metadata_sha256"]
    page = index.get("simple/cli-made/", PIP_ACCEPT).json()
    assert [f["filename"] for f in page["files"]] == [whl.name]
    # A file whose name is no distribution file name is refused before anything is stored.
    bad = tmp_path / "notes.txt"
    bad.write_text("x")
    refused = pulp.run("python", "content", "create", "--relative-path", "notes.txt", "--file", bad)
    assert refused.returncode != 0 and "relative_path" in refused.stderr
    # A sha256 sent with the file must be the file's.
    other = pypkgs.wheel(tmp_path, "claimed", "0.1")
    body, ctype = encode_multipart({"relative_path": other.name, "sha256": "0" * 64},
                                   {"file": (other.name, other.read_bytes())})
    lie = depot_server.request("POST", "content/python/packages/", body=body, headers={"Content-Type": ctype})
    assert lie.status == 400 and lie.json()["sha256"] == ["The sha256 does not match the file's sha256."], lie
    body, ctype = encode_multipart({"relative_path": other.name, "sha256": pypkgs.sha256(other)},
                                   {"file": (other.name, other.read_bytes())})
    made = depot_server.request("POST", "content/python/packages/", body=body, headers={"Content-Type": ctype})
    assert made.status == 202 and depot_server.wait_task(made.json()["task"])["state"] == "completed"


def test_a_publication_fixes_the_version_an_index_serves(pulp, depot_server, tmp_path, helpers):
    index = Index(pulp, depot_server)
    first = pypkgs.wheel(tmp_path, "pinned", "1.0")
    index.twine(first)
    publication = pulp("python", "publication", "create", "--repository", index.name)
    assert publication["repository_version"].endswith("/versions/1/")
    assert publication["pulp_href"].startswith("/pulp/api/v3/publications/python/pypi/")
    fixed = unique("fixed")
    pulp("python", "distribution", "create", "--name", fixed, "--base-path", fixed,
         "--publication", publication["pulp_href"])
    index.twine(pypkgs.wheel(tmp_path, "pinned", "2.0"))

    def versions(base_path):
        resp = depot_server.request("GET", f"/pypi/{base_path}/simple/pinned/", headers={"Accept": PIP_ACCEPT},
                                    auth=None)
        return resp.json()["versions"]

    assert versions(index.name) == ["1.0", "2.0"]
    assert versions(fixed) == ["1.0"]  # the publication's version
    assert [p["pulp_href"] for p in pulp("python", "publication", "list")] == [publication["pulp_href"]]
    # The file of the published version is served; a file publication's href is refused here.
    page = depot_server.request("GET", f"/pypi/{fixed}/simple/pinned/", headers={"Accept": PIP_ACCEPT}, auth=None)
    assert page.json()["files"][0]["filename"] == first.name
    assert helpers.content("GET", page.json()["files"][0]["url"]).body == first.read_bytes()
    bad = depot_server.request("POST", "/pulp/api/v3/distributions/python/pypi/", json_body={
        "name": unique("x"), "base_path": unique("x"),
        "publication": "/pulp/api/v3/publications/file/file/00000000-0000-0000-0000-000000000000/"})
    assert bad.status == 400 and "publication" in bad.json()
