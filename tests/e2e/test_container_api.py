"""Pulp's REST resources for containers, driven by the real pulp-cli (`pulp container ...`) and
checked through the registry with skopeo: push repositories and their actions, container
repositories synced from Debian's docker-registry (tag filters, mirror, moved tags, manifest
lists, on_demand layers), distributions, and the content lists."""

import json
import time

from containers import run, unique


def tags_of(registry, name):
    resp = registry.get(f"/v2/{name}/tags/list")
    assert resp.status == 200, resp.text
    return sorted(resp.json()["tags"])


def test_push_repository_with_the_cli(pulp, registry, images, depot_server):
    name = unique("cli/pushed")
    registry.push(images.layout, f"{name}:v1")
    digest = registry.inspect(f"{name}:v1")["Digest"]

    repos = pulp("container", "repository", "--type", "push", "list", "--limit", "1000")
    repo = next(r for r in repos if r["name"] == name)
    assert repo["pulp_href"].startswith("/pulp/api/v3/repositories/container/container-push/")
    assert repo["latest_version_href"] == f"{repo['pulp_href']}versions/1/"
    # A push repository is not a sync repository.
    assert all(r["name"] != name for r in pulp("container", "repository", "list", "--limit", "1000"))

    dist = pulp("container", "distribution", "show", "--name", name)
    assert dist["base_path"] == name and dist["repository"] == repo["pulp_href"]
    assert dist["registry_path"].endswith(f"/{name}") and dist["private"] is False

    # A private distribution needs credentials to pull, and anonymous callers do not see it.
    pulp("container", "distribution", "update", "--name", name, "--private")
    assert pulp("container", "distribution", "show", "--name", name)["private"] is True
    anon = registry.get(f"/v2/{name}/manifests/v1")
    assert anon.status == 401 and anon.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert name not in registry.get("/v2/_catalog?n=10000").json()["repositories"]
    assert name in registry.get("/v2/_catalog?n=10000", auth=True).json()["repositories"]
    assert registry.inspect(f"{name}:v1", creds=True)["Digest"] == digest
    pulp("container", "distribution", "update", "--name", name, "--public")
    assert registry.get(f"/v2/{name}/tags/list").status == 200

    # Tag and untag through the API; the registry sees each new version at once.
    pulp("container", "repository", "--type", "push", "tag", "--name", name, "--tag", "v2", "--digest", digest)
    assert tags_of(registry, name) == ["v1", "v2"]
    assert registry.inspect(f"{name}:v2")["Digest"] == digest
    pulp("container", "repository", "--type", "push", "untag", "--name", name, "--tag", "v1")
    assert tags_of(registry, name) == ["v2"]
    versions = pulp("container", "repository", "--type", "push", "version", "list", "--repository", name)
    assert [v["number"] for v in versions] == [3, 2, 1, 0]
    assert versions[0]["content_summary"]["present"]["container.tag"]["count"] == 1

    # Content lists of the latest version.
    latest = pulp("container", "repository", "--type", "push", "show", "--name", name)["latest_version_href"]
    tags = depot_server.request("GET", f"/pulp/api/v3/content/container/tags/?repository_version={latest}").json()
    assert [t["name"] for t in tags["results"]] == ["v2"]
    manifest = depot_server.request("GET", tags["results"][0]["tagged_manifest"]).json()
    assert manifest["digest"] == digest and len(manifest["blobs"]) == 2

    # Bad input is a 400 with the field named, and nothing changes.
    bad = depot_server.request("POST", f"{repo['pulp_href']}tag/", json_body={"tag": "-bad", "digest": digest})
    assert bad.status == 400 and "tag" in bad.json()
    missing = depot_server.request("POST", f"{repo['pulp_href']}tag/",
                                   json_body={"tag": "x", "digest": "sha256:" + "0" * 64})
    assert missing.status == 400
    assert depot_server.request("POST", f"{repo['pulp_href']}untag/", json_body={"tag": "nope"}).status == 400
    assert depot_server.request("POST", "/pulp/api/v3/repositories/container/container-push/",
                                json_body={"name": "x"}).status == 405

    # remove_image takes the manifest, its tags and the blobs nothing else needs.
    pulp("container", "repository", "--type", "push", "remove-image", "--name", name, "--digest", digest)
    assert tags_of(registry, name) == []
    assert registry.get(f"/v2/{name}/manifests/{digest}").status == 404
    latest = pulp("container", "repository", "--type", "push", "show", "--name", name)["latest_version_href"]
    blobs = depot_server.request("GET", f"/pulp/api/v3/content/container/blobs/?repository_version={latest}").json()
    assert blobs["count"] == 0

    # Deleting the distribution deletes the push repository with it, as in Pulp.
    pulp("container", "distribution", "destroy", "--name", name)
    assert registry.get(f"/v2/{name}/tags/list").status == 404
    assert depot_server.request("GET", repo["pulp_href"]).status == 404


def test_sync_from_an_upstream_registry(pulp, registry, images, upstream_registry, depot_server):
    up = upstream_registry
    upstream_name = unique("lib/app")
    v1 = images.layer_image("s1", "one\n")
    v2 = images.layer_image("s2", "two\n")
    up.push(v1, f"{upstream_name}:v1")
    up.push(v2, f"{upstream_name}:v2")
    up.push(v1, f"{upstream_name}:v2-rc")
    run("buildah", *images.containers, "manifest", "push", "-q", "--all", "--tls-verify=false",
        "localhost/hello-list:v1", f"docker://{up.host}/{upstream_name}:list")
    name = unique("mirror")
    remote = pulp("container", "remote", "create", "--name", name, "--url", up.url,
                  "--upstream-name", upstream_name, "--include-tags", '["v*", "list"]',
                  "--exclude-tags", '["*-rc"]')
    assert remote["includes"] == ["v*", "list"] and remote["excludes"] == ["*-rc"]
    assert remote["policy"] == "immediate" and remote["upstream_name"] == upstream_name
    pulp("container", "repository", "create", "--name", name, "--remote", name)
    pulp("container", "repository", "sync", "--name", name)
    repo = pulp("container", "repository", "show", "--name", name)
    assert repo["latest_version_href"].endswith("/versions/1/")
    base_path = f"synced/{name}"
    pulp("container", "distribution", "create", "--name", name, "--base-path", base_path, "--repository", name)

    assert tags_of(registry, base_path) == ["list", "v1", "v2"]
    for tag in ("v1", "v2", "list"):
        assert registry.get(f"/v2/{base_path}/manifests/{tag}", method="HEAD",
                            headers={"Accept": "application/vnd.oci.image.index.v1+json, "
                                     "application/vnd.oci.image.manifest.v1+json, "
                                     "application/vnd.docker.distribution.manifest.v2+json, "
                                     "application/vnd.docker.distribution.manifest.list.v2+json"}
                            ).headers["Docker-Content-Digest"] == up.digest(upstream_name, tag)
    # The manifest list came with both its images: a full copy is byte-identical.
    run("skopeo", "copy", "-q", "--all", "--src-tls-verify=false", registry.ref(f"{base_path}:list"),
        f"dir:{images.dir / 'synced-list'}")
    run("skopeo", "copy", "-q", "--all", "--src-tls-verify=false", f"docker://{up.host}/{upstream_name}:list",
        f"dir:{images.dir / 'upstream-list'}")
    for f in (images.dir / "upstream-list").iterdir():
        assert (images.dir / "synced-list" / f.name).read_bytes() == f.read_bytes(), f.name

    # Upstream moves v2 and loses v1. A plain sync picks up the move and keeps v1 ...
    old_v2 = up.digest(upstream_name, "v2")
    up.push(images.layer_image("s3", "three\n"), f"{upstream_name}:v2")
    up.delete(upstream_name, "v1")
    assert up.digest(upstream_name, "v2") != old_v2
    pulp("container", "repository", "sync", "--name", name)
    assert tags_of(registry, base_path) == ["list", "v1", "v2"]
    assert registry.inspect(f"{base_path}:v2", "--tls-verify=false")["Digest"] == up.digest(upstream_name, "v2")
    # ... and a mirror sync (REST: pulp-cli does not send `mirror`) drops it.
    sync = depot_server.request("POST", f"{repo['pulp_href']}sync/", json_body={"mirror": True})
    task = depot_server.wait_task(sync.json()["task"])
    assert task["state"] == "completed", task
    assert [r for r in task["created_resources"] if "/versions/" in r]
    assert tags_of(registry, base_path) == ["list", "v2"]
    codes = {p["code"]: p for p in task["progress_reports"]}
    assert codes["sync.processing.manifest"]["done"] == 2

    # A sync without a remote, or with a remote of the wrong type, is refused up front.
    bare = pulp("container", "repository", "create", "--name", unique("bare"))
    no_remote = depot_server.request("POST", f"{bare['pulp_href']}sync/", json_body={})
    assert no_remote.status == 400 and "remote" in no_remote.json()


def test_on_demand_sync_fetches_layers_on_first_pull(pulp, registry, images, upstream_registry, depot_server):
    up = upstream_registry
    upstream_name = unique("lib/lazy")
    src = images.layer_image("lazy", "fetched later\n" * 1000)
    up.push(src, f"{upstream_name}:v1")
    name = unique("lazy")
    pulp("container", "remote", "create", "--name", name, "--url", up.url, "--upstream-name", upstream_name,
         "--policy", "on_demand")
    pulp("container", "repository", "create", "--name", name, "--remote", name)
    pulp("container", "repository", "sync", "--name", name)
    pulp("container", "distribution", "create", "--name", name, "--base-path", name, "--repository", name)
    latest = pulp("container", "repository", "show", "--name", name)["latest_version_href"]

    def blobs():
        page = depot_server.request("GET", f"/pulp/api/v3/content/container/blobs/?repository_version={latest}")
        return {b["digest"]: b["artifact"] for b in page.json()["results"]}

    manifest = json.loads(registry.raw(f"{name}:v1"))
    layer = manifest["layers"][0]["digest"]
    config = manifest["config"]["digest"]
    assert blobs()[layer] is None and blobs()[config] is not None  # configs always come at sync
    # The first pull streams the layer from upstream and saves it; the bytes match the digest.
    run("skopeo", "copy", "-q", "--src-tls-verify=false", registry.ref(f"{name}:v1"), f"dir:{images.dir / name}")
    assert (images.dir / name / layer.split(":")[1]).exists()
    deadline = time.time() + 30
    while blobs()[layer] is None and time.time() < deadline:
        time.sleep(0.2)
    assert blobs()[layer] is not None


def create_pull_through(depot_server, url, base_path, **remote_fields):
    name = unique("pt")
    remote = depot_server.request("POST", "/pulp/api/v3/remotes/container/pull-through/",
                                  json_body={"name": name, "url": url, **remote_fields})
    assert remote.status == 201, remote.text
    assert remote.json()["policy"] == "on_demand"
    created = depot_server.request("POST", "/pulp/api/v3/distributions/container/pull-through/",
                                   json_body={"name": name, "base_path": base_path,
                                              "remote": remote.json()["pulp_href"]})
    assert created.status == 202, created.text
    task = depot_server.wait_task(created.json()["task"])
    assert task["state"] == "completed", task
    return depot_server.request("GET", task["created_resources"][0]).json()


def wait_for(check, timeout=30):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value or time.time() > deadline:
            return value
        time.sleep(0.2)


def test_pull_through_cache(registry, images, upstream_registry, depot_server, tmp_path):
    from containers import CountingProxy
    up = upstream_registry
    proxy = CountingProxy(up.url)
    base = unique("cache")
    dist = create_pull_through(depot_server, proxy.url, base, includes=["lib/*"])
    assert dist["base_path"] == base and dist["remote"].startswith("/pulp/api/v3/remotes/container/pull-through/")
    upstream_name = unique("lib/pt")
    up.push(images.layer_image("pt1", f"first {upstream_name}\n" * 500), f"{upstream_name}:v1")
    name = f"{base}/{upstream_name}"
    pull_creds = ["--src-creds", registry.creds, "--src-tls-verify=false"]

    # Only authenticated callers fill the cache; names the remote filters out are unknown.
    anon = registry.get(f"/v2/{name}/manifests/v1")
    assert anon.status == 404 and anon.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    excluded = registry.get(f"/v2/{base}/other/x/manifests/v1", auth=True)
    assert excluded.status == 404 and excluded.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    missing = registry.get(f"/v2/{name}/manifests/nope", auth=True)
    assert missing.status == 404 and missing.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"

    # First pull: upstream's bytes and digests, stored in the background.
    run("skopeo", "copy", "-q", *pull_creds, registry.ref(f"{name}:v1"), f"dir:{tmp_path / 'first'}")
    first_digest = registry.inspect(f"{name}:v1", creds=True)["Digest"]
    assert first_digest == up.digest(upstream_name, "v1")
    cached = depot_server.request("GET", f"/pulp/api/v3/distributions/container/container/?name={name}").json()
    assert cached["count"] == 1 and cached["results"][0]["base_path"] == name
    repo_href = cached["results"][0]["repository"]

    def stored_tags():
        repo = depot_server.request("GET", repo_href).json()
        page = depot_server.request(
            "GET", f"/pulp/api/v3/content/container/tags/?repository_version={repo['latest_version_href']}").json()
        return {t["name"]: depot_server.request("GET", t["tagged_manifest"]).json()["digest"] for t in page["results"]}

    assert wait_for(lambda: stored_tags().get("v1") == first_digest), stored_tags()
    manifest = json.loads((tmp_path / "first" / "manifest.json").read_text())
    layer = manifest["layers"][0]["digest"]

    def layer_saved(digest):
        page = depot_server.request("GET", f"/pulp/api/v3/content/container/blobs/?digest={digest}").json()
        return page["count"] == 1 and page["results"][0]["artifact"] is not None

    assert wait_for(lambda: layer_saved(layer))

    # Second pull with the upstream stopped: served from the cache, byte for byte.
    up.stop()
    try:
        blob_gets = proxy.count("GET", "/blobs/")
        run("skopeo", "copy", "-q", *pull_creds, registry.ref(f"{name}:v1"), f"dir:{tmp_path / 'second'}")
        for f in (tmp_path / "first").iterdir():
            assert (tmp_path / "second" / f.name).read_bytes() == f.read_bytes(), f.name
        assert proxy.count("GET", "/blobs/") == blob_gets  # nothing but the tag check went upstream
        # A digest the cache does not have, with the upstream down, is a gateway error.
        down = registry.get(f"/v2/{name}/manifests/sha256:{'1' * 64}", auth=True)
        assert down.status == 502
    finally:
        up.start()

    # Upstream moves the tag: the next pull gets the new image, and the cache follows.
    up.push(images.layer_image("pt2", f"second {upstream_name}\n" * 500), f"{upstream_name}:v1")
    moved = up.digest(upstream_name, "v1")
    assert moved != first_digest
    assert registry.inspect(f"{name}:v1", creds=True)["Digest"] == moved
    assert wait_for(lambda: stored_tags().get("v1") == moved), stored_tags()
    # A digest fetch is local first: the old image is still there by digest while cached.
    by_digest = registry.get(f"/v2/{name}/manifests/{first_digest}", auth=True,
                             headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert by_digest.status == 200
    # Pushing into a cache is refused.
    assert registry.get(f"/v2/{name}/blobs/uploads/", method="POST", auth=True).status == 403
    proxy.stop()


def test_concurrent_pulls_of_a_missing_blob_download_it_once(registry, images, upstream_registry, depot_server):
    import concurrent.futures
    import hashlib
    from containers import CountingProxy
    up = upstream_registry
    proxy = CountingProxy(up.url, blob_delay=0.3)
    base = unique("cache")
    create_pull_through(depot_server, proxy.url, base)
    upstream_name = unique("lib/once")
    up.push(images.layer_image("once", upstream_name * 20000), f"{upstream_name}:v1")
    name = f"{base}/{upstream_name}"
    manifest = registry.get(f"/v2/{name}/manifests/v1", auth=True,
                            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert manifest.status == 200, manifest.text
    layer = manifest.json()["layers"][0]["digest"]

    def fetch(_):
        resp = registry.blob(name, layer)
        assert resp.status == 200, resp
        return resp.body

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        bodies = list(pool.map(fetch, range(4)))
    for body in bodies:
        assert "sha256:" + hashlib.sha256(body).hexdigest() == layer
    assert proxy.count("GET", f"/blobs/{layer}") == 1
    proxy.stop()


def test_copy_content_and_namespaces_with_the_cli(pulp, registry, images, upstream_registry, depot_server):
    up = upstream_registry
    upstream_name = unique("lib/copy")
    up.push(images.layer_image("c1", f"copy one {upstream_name}\n"), f"{upstream_name}:one")
    up.push(images.layer_image("c2", f"copy two {upstream_name}\n"), f"{upstream_name}:two")
    run("buildah", *images.containers, "manifest", "push", "-q", "--all", "--tls-verify=false",
        "localhost/hello-list:v1", f"docker://{up.host}/{upstream_name}:list")
    ns = unique("ns")
    src, dst, dst2 = unique("src"), unique("dst"), unique("dst2")
    pulp("container", "remote", "create", "--name", src, "--url", up.url, "--upstream-name", upstream_name)
    pulp("container", "repository", "create", "--name", src, "--remote", src)
    pulp("container", "repository", "sync", "--name", src)
    pulp("container", "repository", "create", "--name", dst)
    pulp("container", "repository", "create", "--name", dst2)

    # copy-tag: only the named tag, with its manifest and blobs.
    pulp("container", "repository", "copy-tag", "--name", dst, "--source", src, "--tag", "one")
    tags = pulp("container", "repository", "content", "list", "--repository", dst)
    assert [t["name"] for t in tags] == ["one"]
    blobs = pulp("container", "repository", "content", "--type", "blob", "list", "--repository", dst)
    assert len(blobs) == 2  # config and layer
    # copy-manifest by media type: the index with the images it lists, no tags.
    pulp("container", "repository", "copy-manifest", "--name", dst2, "--source", src,
         "--media-type", "application/vnd.oci.image.index.v1+json")
    manifests = pulp("container", "repository", "content", "--type", "manifest", "list", "--repository", dst2)
    assert sorted(m["media_type"] for m in manifests) == [
        "application/vnd.oci.image.index.v1+json"] + ["application/vnd.oci.image.manifest.v1+json"] * 2
    assert pulp("container", "repository", "content", "list", "--repository", dst2) == []
    # Removing the index takes the images it lists and all their blobs along.
    index = next(m for m in manifests if m["media_type"] == "application/vnd.oci.image.index.v1+json")
    pulp("container", "repository", "content", "--type", "manifest", "remove", "--repository", dst2,
         "--href", index["pulp_href"])
    assert pulp("container", "repository", "content", "--type", "manifest", "list", "--repository", dst2) == []
    assert pulp("container", "repository", "content", "--type", "blob", "list", "--repository", dst2) == []
    # content remove (recursive) and add by href.
    one = next(t for t in pulp("container", "content", "list", "--repository-version",
                              pulp("container", "repository", "show", "--name", src)["latest_version_href"])
               if t["name"] == "one")
    pulp("container", "repository", "content", "remove", "--repository", dst, "--href", one["pulp_href"])
    assert pulp("container", "repository", "content", "list", "--repository", dst) == []
    assert pulp("container", "repository", "content", "--type", "blob", "list", "--repository", dst) == []
    pulp("container", "repository", "content", "add", "--repository", dst, "--href", one["pulp_href"])
    assert [t["name"] for t in pulp("container", "repository", "content", "list", "--repository", dst)] == ["one"]

    # Namespaces: made by the first distribution in them, listed, deleted with their distributions.
    pulp("container", "distribution", "create", "--name", dst, "--base-path", f"{ns}/{dst}", "--repository", dst)
    dist = pulp("container", "distribution", "show", "--name", dst)
    namespace = pulp("container", "namespace", "show", "--name", ns)
    assert dist["namespace"] == namespace["pulp_href"]
    assert tags_of(registry, f"{ns}/{dst}") == ["one"]
    made = pulp("container", "namespace", "create", "--name", unique("made"))
    assert made["pulp_href"].startswith("/pulp/api/v3/pulp_container/namespaces/")
    assert depot_server.request("POST", "/pulp/api/v3/pulp_container/namespaces/",
                                json_body={"name": made["name"]}).status == 400
    assert depot_server.request("POST", "/pulp/api/v3/pulp_container/namespaces/",
                                json_body={"name": "Bad/Name"}).status == 400
    pulp("container", "namespace", "destroy", "--name", ns)
    assert pulp("container", "distribution", "list", "--name", dst) == []
    assert registry.get(f"/v2/{ns}/{dst}/tags/list").status == 404
    # The repository itself stays (it is no push repository).
    assert pulp("container", "repository", "show", "--name", dst)["name"] == dst


def test_container_bad_input(depot_server, pulp):
    api = "/pulp/api/v3/"

    def post(path, body):
        return depot_server.request("POST", api + path, json_body=body)

    # A container remote needs an upstream name; filters are lists of strings.
    r = post("remotes/container/container/", {"name": unique("r"), "url": "http://127.0.0.1:9"})
    assert r.status == 400 and "upstream_name" in r.json()
    r = post("remotes/container/container/", {"name": unique("r"), "url": "http://127.0.0.1:9",
                                               "upstream_name": "x", "includes": "v*"})
    assert r.status == 400 and "includes" in r.json()
    # Base paths of container distributions are registry names.
    r = post("distributions/container/container/", {"name": unique("d"), "base_path": "Upper/Case"})
    assert r.status == 400 and "base_path" in r.json()
    # A file repository cannot be served by the registry.
    file_repo = pulp("file", "repository", "create", "--name", unique("file"))
    r = post("distributions/container/container/", {"name": unique("d"), "base_path": unique("d"),
                                                     "repository": file_repo["pulp_href"]})
    assert r.status == 400 and "repository" in r.json()
    # A pull-through distribution needs a pull-through remote.
    r = post("distributions/container/pull-through/", {"name": unique("d"), "base_path": unique("d")})
    assert r.status == 400 and "remote" in r.json()
    container_remote = post("remotes/container/container/", {"name": unique("r"), "url": "http://127.0.0.1:9",
                                                               "upstream_name": "x"}).json()
    r = post("distributions/container/pull-through/", {"name": unique("d"), "base_path": unique("d"),
                                                        "remote": container_remote["pulp_href"]})
    assert r.status == 400 and "remote" in r.json()
    # Repository actions check what they are given before anything is dispatched.
    repo = post("repositories/container/container/", {"name": unique("c")}).json()
    href = repo["pulp_href"].removeprefix(api)
    r = post(href + "copy_tags/", {"source_repository": repo["pulp_href"],
                                   "source_repository_version": repo["latest_version_href"]})
    assert r.status == 400
    r = post(href + "copy_manifests/", {"source_repository": repo["pulp_href"], "media_types": ["text/plain"]})
    assert r.status == 400 and "media_types" in r.json()
    r = post(href + "sync/", {"remote": container_remote["pulp_href"], "signed_only": True})
    assert r.status == 400 and "signed_only" in r.json()
    r = post(href + "add/", {"content_units": [file_repo["latest_version_href"]]})
    assert r.status == 400 and "content_units" in r.json()
    r = post(href + "sync/", {"remote": "/pulp/api/v3/remotes/file/file/00000000-0000-0000-0000-000000000000/"})
    assert r.status == 400 and "remote" in r.json()
    # Nothing was made by the refused requests.
    assert depot_server.request("GET", repo["pulp_href"]).json()["latest_version_href"].endswith("/versions/0/")
