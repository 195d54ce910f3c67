"""The registry API (/v2/) with real clients: skopeo, podman, buildah and umoci from Debian, oras
from PyPI; plus the protocol's error cases with plain HTTP requests."""

import hashlib
import json
import os
import time
import uuid
from pathlib import Path

import pytest

from containers import run, unique

def test_version_check_and_auth(registry):
    assert registry.get("/v2/").status == 401
    assert "Basic" in registry.get("/v2/").headers["WWW-Authenticate"]
    ok = registry.get("/v2/", auth=True)
    assert ok.status == 200 and ok.json() == {} and ok.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    bad = registry.server.request("GET", "/v2/", auth=("admin", "wrong"))
    assert bad.status == 401 and bad.json()["errors"][0]["code"] == "UNAUTHORIZED"
    # Pushing needs credentials.
    anon = registry.get(f"/v2/{unique('anon')}/blobs/uploads/", method="POST")
    assert anon.status == 401 and anon.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_push_and_pull_oci_and_docker_schema2(registry, images, tmp_path):
    name = unique("test/hello")
    registry.push(images.layout, f"{name}:v1")
    info = registry.inspect(f"{name}:v1")  # anonymous pull of a public repository
    assert info["Digest"] == images.digest and info["RepoTags"] == ["v1"]
    run("skopeo", "copy", "-q", "--src-tls-verify=false", registry.ref(f"{name}:v1"), f"oci:{tmp_path / 'out'}:v1")
    pulled = json.loads((tmp_path / "out" / "index.json").read_text())["manifests"][0]["digest"]
    assert pulled == images.digest
    # Every blob is served with the bytes of its digest.
    manifest = json.loads(registry.raw(f"{name}:v1"))
    assert hashlib.sha256(registry.raw(f"{name}:v1").encode()).hexdigest() == images.digest.split(":")[1]
    for d in [manifest["config"]] + manifest["layers"]:
        blob = registry.blob(name, d["digest"])
        assert blob.status == 200 and "sha256:" + hashlib.sha256(blob.body).hexdigest() == d["digest"]
        assert len(blob.body) == d["size"]
        if not blob.redirected:
            assert blob.headers["Docker-Content-Digest"] == d["digest"]
        part = registry.blob(name, d["digest"], headers={"Range": "bytes=1-3"})
        assert part.status == 206 and part.body == blob.body[1:4]
        past = registry.blob(name, d["digest"], headers={"Range": f"bytes={d['size'] + 10}-"})
        assert past.status == 416

    docker = unique("test/hello-docker")
    registry.push(images.layout, f"{docker}:v1", "--format", "v2s2")
    assert json.loads(registry.raw(f"{docker}:v1"))["mediaType"] == \
        "application/vnd.docker.distribution.manifest.v2+json"
    head = registry.get(f"/v2/{docker}/manifests/v1", method="HEAD",
                        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    assert head.status == 200 and head.body == b"" and head.headers["Docker-Content-Digest"].startswith("sha256:")
    # A client that accepts only OCI types does not get the Docker manifest (as in Pulp).
    only_oci = registry.get(f"/v2/{docker}/manifests/v1", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert only_oci.status == 404 and only_oci.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"


def test_multi_arch_index_round_trip(registry, images, tmp_path):
    name = unique("test/multi")
    run("buildah", *images.containers, "manifest", "push", "-q", "--all", "--tls-verify=false",
        "--creds", registry.creds, "localhost/hello-list:v1", registry.ref(f"{name}:v1"))
    index = json.loads(registry.raw(f"{name}:v1"))
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json" and len(index["manifests"]) == 2
    assert registry.inspect(f"{name}:v1", "--override-arch", "arm64")["Architecture"] == "arm64"
    run("skopeo", "copy", "-q", "--all", "--src-tls-verify=false", registry.ref(f"{name}:v1"), f"oci:{tmp_path / 'all'}:v1")
    copied = json.loads((tmp_path / "all" / "index.json").read_text())["manifests"][0]["digest"]
    assert copied == "sha256:" + hashlib.sha256(registry.raw(f"{name}:v1").encode()).hexdigest()
    # The same index as a Docker manifest list.
    docker = unique("test/multi-docker")
    run("buildah", *images.containers, "manifest", "push", "-q", "--all", "--format", "v2s2", "--tls-verify=false",
        "--creds", registry.creds, "localhost/hello-list:v1", registry.ref(f"{docker}:v1"))
    assert json.loads(registry.raw(f"{docker}:v1"))["mediaType"] == \
        "application/vnd.docker.distribution.manifest.list.v2+json"


def test_podman_push_and_pull(registry, images):
    name = unique("test/podman")
    run("podman", *images.containers, "push", "-q", "--tls-verify=false", "--creds", registry.creds,
        "localhost/hello:amd64", f"{registry.host}/{name}:latest")
    pulled = run("podman", *images.containers, "pull", "-q", "--tls-verify=false", f"{registry.host}/{name}:latest")
    local = run("podman", *images.containers, "image", "inspect", "--format", "{{.Id}}", "localhost/hello:amd64")
    assert pulled.stdout.strip() == local.stdout.strip()


def test_oras_chunked_upload(registry, tmp_path):
    import oras.client

    name = unique("test/oras")
    data = os.urandom(20000)
    (tmp_path / "artifact.bin").write_bytes(data)
    client = oras.client.OrasClient(hostname=registry.host, insecure=True, auth_backend="basic")
    client.login(username=registry.server.username, password=registry.server.password,
                 hostname=registry.host, tls_verify=False)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        resp = client.push(files=["artifact.bin:application/octet-stream"], target=f"{registry.host}/{name}:v1",
                           do_chunked=True, chunk_size=4096)
        assert resp.status_code == 201, resp.text
        out = tmp_path / "pulled"
        files = client.pull(target=f"{registry.host}/{name}:v1", outdir=str(out))
    finally:
        os.chdir(cwd)
    assert [Path(f).read_bytes() for f in files] == [data]


def test_tags_and_catalog_paging(registry, images):
    name = unique("test/paged")
    for tag in ("c", "a", "b"):
        registry.push(images.layout, f"{name}:{tag}")
    full = registry.get(f"/v2/{name}/tags/list")
    assert full.json() == {"name": name, "tags": ["a", "b", "c"]}
    first = registry.get(f"/v2/{name}/tags/list?n=2")
    assert first.json()["tags"] == ["a", "b"]
    assert first.headers["Link"] == f'</v2/{name}/tags/list?n=2&last=b>; rel="next"'
    second = registry.get(f"/v2/{name}/tags/list?n=2&last=b")
    assert second.json()["tags"] == ["c"] and "Link" not in second.headers
    catalog = registry.get("/v2/_catalog").json()["repositories"]
    assert name in catalog and catalog == sorted(catalog)
    page = registry.get("/v2/_catalog?n=1")
    assert len(page.json()["repositories"]) == 1 and 'rel="next"' in page.headers["Link"]
    # Moving a tag: the tag now names the new manifest, in a new repository version.
    registry.push(images.layout, f"{name}:a", "--format", "v2s2")
    assert json.loads(registry.raw(f"{name}:a"))["mediaType"].startswith("application/vnd.docker")
    assert registry.get(f"/v2/{name}/tags/list").json()["tags"] == ["a", "b", "c"]


def blob_upload(registry, name, data, chunks=None):
    """Uploads with a session: one PATCH, or Content-Range chunks; returns the upload URL."""
    start = registry.get(f"/v2/{name}/blobs/uploads/", method="POST", auth=True)
    assert start.status == 202 and start.headers["Range"] == "0-0", start
    location = start.headers["Location"]
    offset = 0
    for chunk in chunks or [data]:
        headers = {"Content-Type": "application/octet-stream"}
        if chunks:
            headers["Content-Range"] = f"{offset}-{offset + len(chunk) - 1}"
        resp = registry.get(location, method="PATCH", body=chunk, headers=headers, auth=True)
        assert resp.status == 202, resp
        offset += len(chunk)
        assert resp.headers["Range"] == f"0-{offset - 1}"
        location = resp.headers["Location"]
    return location


def test_blob_upload_protocol(registry, images):
    name = unique("test/proto")
    data = os.urandom(3000)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()

    # Monolithic POST with ?digest=.
    mono = registry.get(f"/v2/{name}/blobs/uploads/?digest={digest}", method="POST", body=data, auth=True,
                        headers={"Content-Type": "application/octet-stream"})
    assert mono.status == 201 and mono.headers["Location"] == f"/v2/{name}/blobs/{digest}"
    assert registry.blob(name, digest).body == data

    # Chunks with Content-Range, the last one in the PUT; an out-of-order chunk gets 416.
    other = os.urandom(5000)
    other_digest = "sha256:" + hashlib.sha256(other).hexdigest()
    location = blob_upload(registry, name, other, chunks=[other[:2000], other[2000:4000]])
    skipped = registry.get(location, method="PATCH", body=b"x", auth=True, headers={"Content-Range": "4500-4500"})
    assert skipped.status == 416
    status = registry.get(location, auth=True)
    assert status.status == 204 and status.headers["Range"] == "0-3999"
    done = registry.get(f"{location}?digest={other_digest}", method="PUT", body=other[4000:], auth=True,
                        headers={"Content-Type": "application/octet-stream"})
    assert done.status == 201 and done.headers["Docker-Content-Digest"] == other_digest
    assert registry.blob(name, other_digest).body == other

    # A streamed upload whose digest does not match stores no blob.
    wrong = os.urandom(100)
    location = blob_upload(registry, name, wrong)
    bad = registry.get(f"{location}?digest={digest.replace(digest[-4:], '0000')}", method="PUT", auth=True)
    assert bad.status == 400 and bad.json()["errors"][0]["code"] == "DIGEST_INVALID"
    wrong_digest = "sha256:" + hashlib.sha256(wrong).hexdigest()
    assert registry.get(f"/v2/{name}/blobs/{wrong_digest}").status == 404

    # After a streamed PATCH the PUT may not carry more bytes.
    location = blob_upload(registry, name, b"streamed")
    more = registry.get(f"{location}?digest={digest}", method="PUT", body=b"more", auth=True,
                        headers={"Content-Type": "application/octet-stream"})
    assert more.status == 400 and more.json()["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"

    # Cancel, then the upload is gone.
    location = blob_upload(registry, name, b"abc")
    assert registry.get(location, method="DELETE", auth=True).status == 204
    gone = registry.get(location, auth=True)
    assert gone.status == 404 and gone.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"

    # Cross-repository mount of a blob another repository holds.
    target = unique("test/mounted")
    mounted = registry.get(f"/v2/{target}/blobs/uploads/?mount={digest}&from={name}", method="POST", auth=True)
    assert mounted.status == 201 and mounted.headers["Docker-Content-Digest"] == digest
    assert registry.blob(target, digest).body == data
    # A mount of an unknown blob falls back to an upload session.
    fallback = registry.get(f"/v2/{target}/blobs/uploads/?mount=sha256:{'1' * 64}&from={name}", method="POST", auth=True)
    assert fallback.status == 202


def test_bad_input_gets_the_spec_errors(registry, images):
    name = unique("test/bad")
    registry.push(images.layout, f"{name}:v1")

    def code(resp):
        return resp.status, resp.json()["errors"][0]["code"]

    assert code(registry.get(f"/v2/{name}/blobs/sha256:xyz")) == (400, "DIGEST_INVALID")
    assert code(registry.get(f"/v2/{name}/manifests/sha256:xyz")) == (400, "DIGEST_INVALID")
    assert code(registry.get(f"/v2/{name}/blobs/sha256:{'0' * 64}")) == (404, "BLOB_UNKNOWN")
    assert code(registry.get(f"/v2/{name}/manifests/nope")) == (404, "MANIFEST_UNKNOWN")
    assert code(registry.get(f"/v2/{unique('missing')}/tags/list")) == (404, "NAME_UNKNOWN")
    assert code(registry.get("/v2/Bad_Name/tags/list")) == (400, "NAME_INVALID")
    assert code(registry.get(f"/v2/{name}/manifests/-bad-tag")) == (400, "TAG_INVALID")

    def put_manifest(ref, body, media_type="application/vnd.oci.image.manifest.v1+json"):
        return registry.get(f"/v2/{name}/manifests/{ref}", method="PUT", body=body, auth=True,
                            headers={"Content-Type": media_type})

    missing = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f"sha256:{'2' * 64}", "size": 2},
        "layers": []}).encode()
    assert code(put_manifest("broken", missing)) == (400, "MANIFEST_BLOB_UNKNOWN")
    assert code(put_manifest("broken", b"{not json")) == (400, "MANIFEST_INVALID")
    schema1 = json.dumps({"schemaVersion": 1, "name": name, "tag": "old", "fsLayers": []}).encode()
    assert code(put_manifest("old", schema1, "application/vnd.docker.distribution.manifest.v1+prettyjws")) == \
        (400, "MANIFEST_INVALID")
    good = registry.raw(f"{name}:v1").encode()
    assert code(put_manifest(f"sha256:{'3' * 64}", good)) == (400, "DIGEST_INVALID")
    assert registry.get(f"/v2/{name}/tags/list").json()["tags"] == ["v1"]  # nothing was tagged
    # A descriptor whose size is not its blob's: clients would trust the lie.
    liar = json.loads(good)
    liar["layers"][0]["size"] += 999999
    assert code(put_manifest("liar", json.dumps(liar).encode())) == (400, "MANIFEST_INVALID")
    assert registry.get(f"/v2/{name}/manifests/liar").status == 404
    # Pushing the same bytes by digest is accepted and changes no tag.
    digest = "sha256:" + hashlib.sha256(good).hexdigest()
    resp = put_manifest(digest, good)
    assert resp.status == 201 and resp.headers["Docker-Content-Digest"] == digest


def test_referrers_and_deletes(registry, images):
    name = unique("test/del")
    registry.push(images.layout, f"{name}:v1")
    registry.push(images.layout, f"{name}:v2")
    raw = registry.raw(f"{name}:v1").encode()
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    config_digest = json.loads(raw)["config"]["digest"]

    # An OCI 1.1 artifact whose subject is the image.
    empty = b"{}"
    empty_digest = "sha256:" + hashlib.sha256(empty).hexdigest()
    up = registry.get(f"/v2/{name}/blobs/uploads/?digest={empty_digest}", method="POST", body=empty, auth=True,
                      headers={"Content-Type": "application/octet-stream"})
    assert up.status == 201
    empty_desc = {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest, "size": 2}
    sbom = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.sbom", "config": empty_desc, "layers": [empty_desc],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": len(raw)},
        "annotations": {"org.example.kind": "sbom"}}).encode()
    sbom_digest = "sha256:" + hashlib.sha256(sbom).hexdigest()
    put = registry.get(f"/v2/{name}/manifests/{sbom_digest}", method="PUT", body=sbom, auth=True,
                       headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert put.status == 201 and put.headers["OCI-Subject"] == digest
    refs = registry.get(f"/v2/{name}/referrers/{digest}")
    assert refs.status == 200 and refs.headers["Content-Type"] == "application/vnd.oci.image.index.v1+json"
    assert refs.json()["manifests"] == [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sbom_digest, "size": len(sbom),
        "artifactType": "application/vnd.example.sbom", "annotations": {"org.example.kind": "sbom"}}]
    other = registry.get(f"/v2/{name}/referrers/{digest}?artifactType=application/x-other")
    assert other.json()["manifests"] == [] and other.headers["OCI-Filters-Applied"] == "artifactType"
    assert registry.get(f"/v2/{name}/referrers/{empty_digest}").json()["manifests"] == []

    # Manifests are deleted by digest, with the tags that name them; by tag is refused.
    by_tag = registry.get(f"/v2/{name}/manifests/v1", method="DELETE", auth=True)
    assert by_tag.status == 400 and by_tag.json()["errors"][0]["code"] == "UNSUPPORTED"
    assert registry.get(f"/v2/{name}/manifests/{digest}", method="DELETE").status == 401
    assert registry.get(f"/v2/{name}/manifests/{digest}", method="DELETE", auth=True).status == 202
    gone = registry.get(f"/v2/{name}/manifests/{digest}", headers={"Accept": "*/*"})
    assert gone.status == 404 and gone.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert registry.get(f"/v2/{name}/tags/list").json()["tags"] == []
    again = registry.get(f"/v2/{name}/manifests/{digest}", method="DELETE", auth=True)
    assert again.status == 404

    # Blobs leave the repository too.
    assert registry.blob(name, config_digest).status == 200
    assert registry.get(f"/v2/{name}/blobs/{config_digest}", method="DELETE", auth=True).status == 202
    assert registry.blob(name, config_digest).status == 404
    unknown = registry.get(f"/v2/{name}/blobs/sha256:{'4' * 64}", method="DELETE", auth=True)
    assert unknown.status == 404 and unknown.json()["errors"][0]["code"] == "BLOB_UNKNOWN"


def test_orphan_cleanup_keeps_what_is_still_used(registry):
    """Pushed content is pending until tagged; orphan cleanup keeps it. Once deleted, a manifest and
    the blobs it names are removed together (the manifest first: it refers to the blobs)."""
    server = registry.server
    name = unique("test/orphans")

    def upload(data):
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        resp = registry.get(f"/v2/{name}/blobs/uploads/?digest={d}", method="POST", body=data, auth=True,
                            headers={"Content-Type": "application/octet-stream"})
        assert resp.status == 201
        return {"digest": d, "size": len(data)}

    config = upload(json.dumps({"architecture": "amd64", "os": "linux", "nonce": uuid.uuid4().hex}).encode())
    layer = upload(os.urandom(3000))
    kept = upload(os.urandom(1000))
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
        "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar+gzip")]}).encode()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    put = registry.get(f"/v2/{name}/manifests/{digest}", method="PUT", body=manifest, auth=True,
                       headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert put.status == 201

    def artifacts(d):
        return server.request("GET", f"artifacts/?sha256={d['digest'].split(':')[1]}").json()["count"]

    def cleanup():
        task = server.wait_task(server.request("POST", "orphans/cleanup/", {"orphan_protection_time": 0}).json()["task"])
        assert task["state"] == "completed", task["error"]

    cleanup()
    assert [artifacts(d) for d in (config, layer, kept)] == [1, 1, 1]
    assert registry.get(f"/v2/{name}/manifests/{digest}", headers={"Accept": "*/*"}).body == manifest

    assert registry.get(f"/v2/{name}/manifests/{digest}", method="DELETE", auth=True).status == 202
    for d in (config, layer):
        assert registry.get(f"/v2/{name}/blobs/{d['digest']}", method="DELETE", auth=True).status == 202
    cleanup()
    assert [artifacts(d) for d in (config, layer, kept)] == [0, 0, 1]
    assert registry.get(f"/v2/{name}/manifests/{digest}", headers={"Accept": "*/*"}).status == 404
    assert registry.blob(name, kept["digest"]).status == 200


def test_sha512_digests_and_truncated_uploads(registry):
    import socket

    name = unique("test/sha512")
    data = os.urandom(4000)
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    mono = registry.get(f"/v2/{name}/blobs/uploads/?digest={digest}", method="POST", body=data, auth=True,
                        headers={"Content-Type": "application/octet-stream"})
    assert mono.status == 201 and mono.headers["Docker-Content-Digest"] == digest
    assert registry.blob(name, digest).body == data
    wrong = registry.get(f"/v2/{name}/blobs/uploads/?digest=sha512:{'0' * 128}", method="POST", body=data,
                         auth=True, headers={"Content-Type": "application/octet-stream"})
    assert wrong.status == 400 and wrong.json()["errors"][0]["code"] == "DIGEST_INVALID"

    # A manifest pushed by a sha512 digest is stored and served under it.
    config = json.dumps({"architecture": "amd64", "os": "linux", "n": uuid.uuid4().hex}).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    assert registry.get(f"/v2/{name}/blobs/uploads/?digest={config_digest}", method="POST", body=config, auth=True,
                        headers={"Content-Type": "application/octet-stream"}).status == 201
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": len(data)}],
    }).encode()
    m_digest = "sha512:" + hashlib.sha512(manifest).hexdigest()
    put = registry.get(f"/v2/{name}/manifests/{m_digest}", method="PUT", body=manifest, auth=True,
                       headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert put.status == 201 and put.headers["Docker-Content-Digest"] == m_digest
    got = registry.get(f"/v2/{name}/manifests/{m_digest}", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert got.status == 200 and got.body == manifest

    # A PATCH whose connection drops half way stores nothing: the upload is still empty after it.
    start = registry.get(f"/v2/{name}/blobs/uploads/", method="POST", auth=True)
    location = start.headers["Location"]
    host, port = registry.host.split(":")
    with socket.create_connection((host, int(port))) as s:
        auth = registry.server.auth_header()["Authorization"]
        s.sendall(f"PATCH {location} HTTP/1.1\r\nHost: {registry.host}\r\nAuthorization: {auth}\r\n"
                  f"Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n".encode() + b"x" * 5000)
    time.sleep(0.5)
    status = registry.get(location, auth=True)
    assert status.status == 204 and status.headers["Range"] == "0-0", status
    assert server_artifacts(registry, b"x" * 5000) == 0


def server_artifacts(registry, data):
    return registry.server.request("GET", f"artifacts/?sha256={hashlib.sha256(data).hexdigest()}").json()["count"]


def test_parallel_first_pushes_of_one_name(registry):
    """Clients upload layers in parallel; the first push of a name must not race with itself."""
    from concurrent.futures import ThreadPoolExecutor

    name = unique("test/parallel")
    blobs = [os.urandom(2000) for _ in range(12)]

    def push(data):
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        return registry.get(f"/v2/{name}/blobs/uploads/?digest={d}", method="POST", body=data, auth=True,
                            headers={"Content-Type": "application/octet-stream"}).status

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(push, blobs))
    assert statuses == [201] * 12
    assert registry.get("/v2/_catalog").json()["repositories"].count(name) == 1
    for data in blobs:
        assert registry.blob(name, "sha256:" + hashlib.sha256(data).hexdigest()).body == data
