"""Sync rules (mirror, optimize, bad manifests, digest mismatches, unreachable remotes), the
content app's HTTP behaviour (Range, HEAD, listings, redirects, streamed policy) and upload
validation."""

import hashlib
import os
import time
import uuid


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sync(server, repo, remote, **body):
    resp = server.request("POST", repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"], **body})
    assert resp.status == 202, resp
    return server.wait_task(resp.json()["task"])


def make(server, kind, **body):
    resp = server.request("POST", f"{kind}/file/file/", body)
    assert resp.status in (201, 202), resp
    if resp.status == 202:
        task = server.wait_task(resp.json()["task"])
        assert task["state"] == "completed", task
        return server.request("GET", task["created_resources"][0]).json()
    return resp.json()


def publish(server, repo):
    resp = server.request("POST", "publications/file/file/", {"repository": repo["pulp_href"]})
    assert resp.status == 202, resp
    assert server.wait_task(resp.json()["task"])["state"] == "completed"


def present_paths(server, version_href):
    resp = server.request("GET", f"content/file/files/?repository_version={version_href}&limit=1000")
    return sorted(c["relative_path"] for c in resp.json()["results"])


def test_mirror_optimize_and_bad_manifests(depot_server, file_server, make_file_tree, helpers):
    root = file_server.root / unique("mirror")
    files = make_file_tree(root, 6)
    remote = make(depot_server, "remotes", name=unique("m"), url=file_server.url(f"{root.name}/PULP_MANIFEST"))
    repo = make(depot_server, "repositories", name=unique("m"))
    task = sync(depot_server, repo, remote)
    assert task["state"] == "completed", task["error"]
    v1 = task["created_resources"][0]
    assert present_paths(depot_server, v1) == sorted(files)

    # Nothing changed: the optimized sync is skipped and makes no version.
    task = sync(depot_server, repo, remote)
    assert task["state"] == "completed" and task["created_resources"] == []
    assert any(r["code"] == "sync.was_skipped" for r in task["progress_reports"])

    # Upstream drops a file: additive sync keeps it, mirror sync removes it.
    lines = (root / "PULP_MANIFEST").read_text().splitlines(keepends=True)
    dropped = lines[0].split(",")[0]
    (root / "PULP_MANIFEST").write_text("".join(lines[1:]))
    task = sync(depot_server, repo, remote)
    assert task["state"] == "completed" and task["created_resources"] == []
    task = sync(depot_server, repo, remote, mirror=True)
    assert task["state"] == "completed", task["error"]
    assert present_paths(depot_server, task["created_resources"][0]) == sorted(set(files) - {dropped})
    # ... and publishes the upstream manifest as it was fetched.
    publication = next(h for h in task["created_resources"] if "/publications/" in h)
    base = unique("mirror")
    make(depot_server, "distributions", name=base, base_path=base, publication=publication)
    served = helpers.get_bytes(f"{depot_server.content_url}{base}/PULP_MANIFEST")
    assert served == (root / "PULP_MANIFEST").read_bytes()

    # A malformed manifest fails the task with a clear description and creates nothing.
    (root / "PULP_MANIFEST").write_text("only-a-path\n")
    latest = depot_server.request("GET", repo["pulp_href"]).json()["latest_version_href"]
    task = sync(depot_server, repo, remote)
    assert task["state"] == "failed"
    assert "Malformed PULP_MANIFEST line 1" in task["error"]["description"]
    assert depot_server.request("GET", repo["pulp_href"]).json()["latest_version_href"] == latest


def test_digest_mismatch_and_unreachable_remote_fail_cleanly(depot_server, file_server):
    root = file_server.root / unique("liar")
    root.mkdir()
    (root / "a.bin").write_bytes(b"real bytes")
    (root / "PULP_MANIFEST").write_text(f"a.bin,{hashlib.sha256(b'other bytes').hexdigest()},10\n")
    remote = make(depot_server, "remotes", name=unique("l"), url=file_server.url(f"{root.name}/PULP_MANIFEST"))
    repo = make(depot_server, "repositories", name=unique("l"))
    task = sync(depot_server, repo, remote)
    assert task["state"] == "failed"
    assert "does not match" in task["error"]["description"]
    assert depot_server.request("GET", f"artifacts/?sha256={hashlib.sha256(b'real bytes').hexdigest()}").json()["count"] == 0
    assert depot_server.request("GET", repo["pulp_href"]).json()["latest_version_href"].endswith("/versions/0/")

    dead = make(depot_server, "remotes", name=unique("d"), url="http://127.0.0.1:9/PULP_MANIFEST", max_retries=0)
    task = sync(depot_server, repo, dead)
    assert task["state"] == "failed"
    assert "Could not fetch http://127.0.0.1:9/PULP_MANIFEST" in task["error"]["description"]


def test_content_app_http_behaviour(depot_server, file_server, make_file_tree, helpers):
    root = file_server.root / unique("serve")
    files = make_file_tree(root, 4, min_size=2000, max_size=3000)
    remote = make(depot_server, "remotes", name=unique("s"), url=file_server.url(f"{root.name}/PULP_MANIFEST"))
    repo = make(depot_server, "repositories", name=unique("s"), autopublish=True)
    assert sync(depot_server, repo, remote)["state"] == "completed"
    base = unique("serve")
    make(depot_server, "distributions", name=base, base_path=f"nested/{base}", repository=repo["pulp_href"])
    url = f"{depot_server.content_url}nested/{base}/"
    path, info = next(iter(sorted(files.items())))

    # With object storage the content app redirects and the storage answers the same way.
    full = helpers.content("GET", url + path)
    assert full.status == 200 and full.body == info["data"]
    assert full.headers["Accept-Ranges"] == "bytes"
    part = helpers.content("GET", url + path, headers={"Range": "bytes=10-19"})
    assert part.status == 206 and part.body == info["data"][10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{info['size']}"
    tail = helpers.content("GET", url + path, headers={"Range": "bytes=-5"})
    assert tail.status == 206 and tail.body == info["data"][-5:]
    bad = helpers.content("GET", url + path, headers={"Range": f"bytes={info['size']}-"})
    assert bad.status == 416
    if not bad.redirected:  # moto's 416 has no Content-Range
        assert bad.headers["Content-Range"] == f"bytes */{info['size']}"
    head = helpers.content("HEAD", url + path)
    assert head.status == 200 and head.body == b"" and int(head.headers["Content-Length"]) == info["size"]

    listing = helpers.request("GET", url)
    assert listing.status == 200 and listing.headers["Content-Type"].startswith("text/html")
    assert b"sub/" in listing.body and b"file-0.bin" in listing.body
    assert helpers.request("GET", url[:-1]).status == 301
    parent = helpers.request("GET", f"{depot_server.content_url}nested/")
    assert parent.status == 200 and base.encode() in parent.body
    assert helpers.request("GET", url + "missing.bin").status == 404
    assert helpers.request("GET", f"{depot_server.content_url}{unique('nope')}/x").status == 404


def test_content_app_serves_each_change_at_once(depot_server, file_server, make_file_tree, helpers):
    """The content app remembers what a path resolved to (serving_cache.rs); every change that
    moves a path to other bytes must show on the next request."""
    old_root, new_root = file_server.root / unique("before"), file_server.root / unique("after")
    old, new = make_file_tree(old_root, 2), make_file_tree(new_root, 2)
    path = sorted(old)[0]
    assert path in new and old[path]["data"] != new[path]["data"]
    remote = make(depot_server, "remotes", name=unique("c"), url=file_server.url(f"{old_root.name}/PULP_MANIFEST"))
    repo = make(depot_server, "repositories", name=unique("c"))
    assert sync(depot_server, repo, remote)["state"] == "completed"
    base = unique("cache")
    dist = make(depot_server, "distributions", name=base, base_path=base, repository=repo["pulp_href"])
    url = f"{depot_server.content_url}{base}/{path}"
    # A file distribution serves its repository's latest version through a publication of it.
    assert helpers.content("GET", url).status == 404
    publish(depot_server, repo)
    for _ in range(3):
        assert helpers.content("GET", url).body == old[path]["data"]

    # A new repository version (the distribution serves the latest).
    resp = depot_server.request("PATCH", remote["pulp_href"], {"url": file_server.url(f"{new_root.name}/PULP_MANIFEST")})
    assert resp.status in (200, 202), resp
    if resp.status == 202:
        assert depot_server.wait_task(resp.json()["task"])["state"] == "completed"
    assert sync(depot_server, repo, remote, mirror=True)["state"] == "completed"
    publish(depot_server, repo)
    assert helpers.content("GET", url).body == new[path]["data"]

    # The distribution moved to the first version, then away, then deleted.
    resp = depot_server.request("PATCH", dist["pulp_href"], {"repository": None,
                                                             "repository_version": repo["versions_href"] + "1/"})
    assert resp.status == 202 and depot_server.wait_task(resp.json()["task"])["state"] == "completed"
    assert helpers.content("GET", url).body == old[path]["data"]
    other = make(depot_server, "repositories", name=unique("c"))
    resp = depot_server.request("PATCH", dist["pulp_href"], {"repository": other["pulp_href"], "repository_version": None})
    assert resp.status == 202 and depot_server.wait_task(resp.json()["task"])["state"] == "completed"
    assert helpers.content("GET", url).status == 404
    resp = depot_server.request("DELETE", dist["pulp_href"])
    assert resp.status == 202 and depot_server.wait_task(resp.json()["task"])["state"] == "completed"
    assert helpers.content("GET", url).status == 404


def test_streamed_policy_serves_without_saving(depot_server, file_server, make_file_tree, helpers):
    root = file_server.root / unique("streamed")
    files = make_file_tree(root, 2)
    remote = make(depot_server, "remotes", name=unique("st"), url=file_server.url(f"{root.name}/PULP_MANIFEST"), policy="streamed")
    repo = make(depot_server, "repositories", name=unique("st"), autopublish=True)
    assert sync(depot_server, repo, remote)["state"] == "completed"
    base = unique("st")
    make(depot_server, "distributions", name=base, base_path=base, repository=repo["pulp_href"])
    for path, info in files.items():
        assert helpers.get_bytes(f"{depot_server.content_url}{base}/{path}") == info["data"]
        time.sleep(0.2)
        assert depot_server.request("GET", f"artifacts/?sha256={info['sha256']}").json()["count"] == 0


def test_upload_validation(depot_server, helpers):
    data = os.urandom(100)
    body, ctype = helpers.multipart({"sha256": "0" * 64}, {"file": ("f", data)})
    resp = depot_server.request("POST", "artifacts/", body=body, headers={"Content-Type": ctype})
    assert resp.status == 400 and "sha256" in resp.json(), resp
    assert depot_server.request("GET", f"artifacts/?sha256={helpers.sha256(data)}").json()["count"] == 0

    upload = depot_server.request("POST", "uploads/", {"size": 10}).json()
    chunk, ctype = helpers.multipart({}, {"file": ("file", b"12345")})
    for bad_range in ("bytes 8-12/10", "bytes 0-5/10", "bytes 0-4/11", "nonsense"):
        resp = depot_server.request("PUT", upload["pulp_href"], body=chunk,
                                    headers={"Content-Type": ctype, "Content-Range": bad_range})
        assert resp.status == 400, (bad_range, resp)
    resp = depot_server.request("PUT", upload["pulp_href"], body=chunk,
                                headers={"Content-Type": ctype, "Content-Range": "bytes 0-4/10"})
    assert resp.status == 200, resp
    # Committing an incomplete upload fails the task; the upload stays for the client to finish.
    resp = depot_server.request("POST", upload["pulp_href"] + "commit/", {"sha256": "a" * 64})
    task = depot_server.wait_task(resp.json()["task"])
    assert task["state"] == "failed" and "incomplete" in task["error"]["description"]
    detail = depot_server.request("GET", upload["pulp_href"]).json()
    assert detail["chunks"] == [{"offset": 0, "size": 5}]


def test_retain_repo_versions(depot_server, helpers):
    repo = make(depot_server, "repositories", name=unique("keep"), retain_repo_versions=2)
    for i in range(4):
        body, ctype = helpers.multipart({"relative_path": f"k{i}.txt", "repository": repo["pulp_href"]},
                                        {"file": ("f", os.urandom(20))})
        resp = depot_server.request("POST", "content/file/files/", body=body, headers={"Content-Type": ctype})
        assert depot_server.wait_task(resp.json()["task"])["state"] == "completed"
    versions = depot_server.request("GET", repo["versions_href"]).json()["results"]
    assert [v["number"] for v in versions] == [4, 3]
    assert versions[0]["content_summary"]["present"]["file.file"]["count"] == 4


def test_content_from_file_url(pulp, depot_server, file_server, helpers):
    data = os.urandom(3000)
    name = unique("url") + ".bin"
    (file_server.root / name).write_bytes(data)
    repo = unique("url")
    pulp("file", "repository", "create", "--name", repo)
    unit = pulp("file", "content", "create", "--relative-path", f"dl/{name}",
                "--file-url", file_server.url(name), "--repository", repo)
    assert unit["sha256"] == helpers.sha256(data) and unit["relative_path"] == f"dl/{name}"
    assert pulp("file", "repository", "show", "--name", repo)["latest_version_href"].endswith("/versions/1/")

    resp = depot_server.request("POST", "content/file/files/", body=b"relative_path=x&file_url=ftp%3A%2F%2Fx",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 400 and "file_url" in resp.json(), resp
    resp = depot_server.request("POST", "content/file/files/", body=b"relative_path=y&file_url=http%3A%2F%2F127.0.0.1%3A9%2Fy",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    task = depot_server.wait_task(resp.json()["task"])
    assert task["state"] == "failed" and "Could not fetch" in task["error"]["description"]
