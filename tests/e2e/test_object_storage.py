"""S3 storage (DEPOT_STORAGE_URL=s3://...) against moto_server, whatever DEPOT_TEST_BACKEND says:
multipart uploads, presigned redirects or streaming, orphan cleanup of objects, faults half way
through a write, and start-up errors."""

import http.client
import http.server
import os
import threading
import time
import urllib.parse
import uuid

import pytest

from conftest import backend_kind


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def upload(server, helpers, relative_path, data):
    body, ctype = helpers.multipart({"relative_path": relative_path}, {"file": ("f", data)})
    return server.request("POST", "content/file/files/upload/", body=body, headers={"Content-Type": ctype})


def distribute(server, content_href):
    # Autopublished: a file distribution serves a repository through its publications.
    repo = server.request("POST", "repositories/file/file/", {"name": unique("s3"), "autopublish": True}).json()
    task = server.wait_task(server.request("POST", repo["pulp_href"] + "modify/",
                                           {"add_content_units": [content_href]}).json()["task"])
    assert task["state"] == "completed", task
    base = unique("s3")
    task = server.wait_task(server.request("POST", "distributions/file/file/", {
        "name": base, "base_path": base, "repository": repo["pulp_href"]}).json()["task"])
    assert task["state"] == "completed", task
    return f"{server.content_url}{base}/"


def artifact_key(sha256):
    return f"depot/artifact/{sha256[:2]}/{sha256[2:]}"


def no_uploads_in_progress(aws, bucket, timeout=10):
    deadline = time.monotonic() + timeout
    while aws.s3.list_multipart_uploads(Bucket=bucket).get("Uploads"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_large_files_go_up_in_parts_and_come_back_by_redirect_or_stream(runner_factory, aws, helpers):
    bucket = aws.new_bucket()
    server = runner_factory.start(PULP_ORPHAN_PROTECTION_TIME=0, **aws.storage_env(bucket))
    data = os.urandom(20 * 1024 * 1024 + 123)  # three 8 MiB parts, the last one short
    sha = helpers.sha256(data)
    resp = upload(server, helpers, "big/file.bin", data)
    assert resp.status == 201, resp
    content = resp.json()
    # The same bytes again (as another file) reuse the object.
    assert upload(server, helpers, "big/again.bin", data).status == 201
    objects = aws.objects(bucket)
    assert objects == {artifact_key(sha): len(data)}, objects  # no temporary object left behind
    assert no_uploads_in_progress(aws, bucket)

    url = distribute(server, content["pulp_href"]) + "big/file.bin"
    redirect = helpers.request("GET", url)
    assert redirect.status == 302, redirect
    location = redirect.headers["Location"]
    assert location.startswith(f"{aws.endpoint}/{bucket}/{artifact_key(sha)}?"), location
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert "X-Amz-Signature" in query and query["X-Amz-Expires"] == ["3600"]
    assert query["response-content-disposition"] == ["attachment;filename=file.bin"]
    fetched = helpers.content("GET", url)
    assert fetched.redirected and fetched.status == 200 and helpers.sha256(fetched.body) == sha
    part = helpers.content("GET", url, headers={"Range": "bytes=9000000-9000009"})
    assert part.status == 206 and part.body == data[9000000:9000010]

    # With redirects off the content app streams from the bucket itself, Range included.
    runner_factory.stop(server)
    server = runner_factory.start(PULP_REDIRECT_TO_OBJECT_STORAGE="false", **aws.storage_env(bucket))
    direct = helpers.request("GET", url)
    assert direct.status == 200 and helpers.sha256(direct.body) == sha
    part = helpers.request("GET", url, headers={"Range": "bytes=-7"})
    assert part.status == 206 and part.body == data[-7:]
    assert part.headers["Content-Range"] == f"bytes {len(data) - 7}-{len(data) - 1}/{len(data)}"

    # Orphan cleanup deletes the object of an artifact nothing uses, and only that one.
    lonely = os.urandom(1000)
    assert upload(server, helpers, "lonely.bin", lonely).status == 201
    before = aws.objects(bucket)
    assert artifact_key(helpers.sha256(lonely)) in before
    task = server.wait_task(server.request("POST", "orphans/cleanup/", {"orphan_protection_time": 0}).json()["task"])
    assert task["state"] == "completed", task
    # What stays: the file and the PULP_MANIFEST its publication wrote.
    del before[artifact_key(helpers.sha256(lonely))]
    assert aws.objects(bucket) == before and artifact_key(sha) in before and len(before) == 2


class FaultyProxy:
    """Forwards requests to S3, but while `fail_parts` / `fail_puts` is set answers 500 to
    part uploads / plain object PUTs (after reading their bodies): a write failing half way."""

    def __init__(self, target):
        self.fail_parts = False
        self.fail_puts = False
        self.failed = 0
        proxy = self
        host, port = urllib.parse.urlsplit(target).netloc.split(":")

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                is_part = "partNumber" in query and "uploadId" in query
                is_put = self.command == "PUT" and not is_part and "x-amz-copy-source" not in self.headers
                if (proxy.fail_parts and is_part and query["partNumber"] == ["2"]) or (proxy.fail_puts and is_put):
                    proxy.failed += 1
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_write_that_fails_half_way_leaves_nothing_behind(runner_factory, aws, helpers):
    bucket = aws.new_bucket()
    proxy = FaultyProxy(aws.endpoint)
    try:
        server = runner_factory.start(**aws.storage_env(bucket, endpoint=proxy.endpoint))
        big = os.urandom(17 * 1024 * 1024)
        small = os.urandom(5000)

        proxy.fail_parts = True
        resp = upload(server, helpers, "big.bin", big)
        assert resp.status == 500 and resp.json() == {"detail": "Internal server error."}, resp
        proxy.fail_puts = True
        resp = upload(server, helpers, "small.bin", small)
        assert resp.status == 500, resp
        assert proxy.failed >= 2

        for data in (big, small):
            sha = helpers.sha256(data)
            assert server.request("GET", f"artifacts/?sha256={sha}").json()["count"] == 0
            assert server.request("GET", f"content/file/files/?sha256={sha}").json()["count"] == 0
        assert no_uploads_in_progress(aws, bucket), "the failed multipart upload was not aborted"
        assert aws.objects(bucket) == {}, "a failed write left objects behind"
        assert server.process.poll() is None

        # Once S3 is healthy again the same uploads succeed.
        proxy.fail_parts = proxy.fail_puts = False
        for name, data in (("big.bin", big), ("small.bin", small)):
            resp = upload(server, helpers, name, data)
            assert resp.status == 201, resp
        assert aws.objects(bucket) == {artifact_key(helpers.sha256(big)): len(big),
                                       artifact_key(helpers.sha256(small)): len(small)}
    finally:
        proxy.stop()


def test_storage_problems_are_clear_startup_errors(runner_factory, aws):
    cases = [
        ({"DEPOT_STORAGE_URL": "s3://no-such-bucket-" + uuid.uuid4().hex[:6],
          "PULP_STORAGES__default__OPTIONS__endpoint_url": aws.endpoint}, "no-such-bucket"),
        ({"DEPOT_STORAGE_URL": "s3://anything", "PULP_STORAGES__default__OPTIONS__endpoint_url": "http://127.0.0.1:9"},
         "127.0.0.1:9"),
        ({"DEPOT_STORAGE_URL": "ftp://example/x"}, "ftp://example/x"),
        ({"DEPOT_STORAGE_URL": "s3://Bad Bucket/x"}, "not a valid bucket name"),
    ]
    for env, detail in cases:
        server = runner_factory.start(wait=False, **env)
        assert server.process.wait(timeout=120) != 0
        log = server.log_text()
        assert "DEPOT_STORAGE_URL" in log and detail in log, log
        assert "panicked" not in log


@pytest.mark.skipif(backend_kind() != "local", reason="with a shared queue (the aws round) other "
                    "processes may be staging objects; orphan cleanup sweeps them there")
def test_objects_staged_by_a_killed_runner_are_swept_at_start(runner_factory, aws):
    bucket = aws.new_bucket()
    # What a runner killed during a large upload leaves: an object under the staging prefix.
    aws.s3.put_object(Bucket=bucket, Key="depot/tmp/left-by-a-killed-runner", Body=b"partial")
    aws.s3.put_object(Bucket=bucket, Key="depot/artifact/ab/" + "c" * 62, Body=b"kept")
    server = runner_factory.start(**aws.storage_env(bucket))
    assert aws.objects(bucket) == {"depot/artifact/ab/" + "c" * 62: 4}
    assert "removed 1 staged files left by an earlier run" in server.log_text()
