"""Helpers for the container tests: running the Debian container tools, test images, a
client for Depot's registry, and Debian's docker-registry as an upstream registry."""

import json
import shutil
import subprocess
import time
import urllib.request
import uuid

TOOLS = ("skopeo", "podman", "buildah", "umoci", "docker-registry")


def run(*cmd, cwd=None, check=True):
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_images(work):
    """An OCI layout made with umoci, and two single-arch images plus a list made with buildah."""
    (work / "hello.txt").write_text("hello from an offline image\n")
    (work / "arm.txt").write_text("arm64 flavour\n")
    run("umoci", "init", "--layout", "layout", cwd=work)
    run("umoci", "new", "--image", "layout:v1", cwd=work)
    run("umoci", "unpack", "--rootless", "--image", "layout:v1", "bundle", cwd=work)
    shutil.copy(work / "hello.txt", work / "bundle" / "rootfs" / "hello.txt")
    run("umoci", "repack", "--image", "layout:v1", "bundle", cwd=work)
    run("umoci", "config", "--image", "layout:v1", "--config.cmd", "/hello.txt",
        "--architecture", "amd64", "--os", "linux", cwd=work)
    run("umoci", "gc", "--layout", "layout", cwd=work)
    index = json.loads((work / "layout" / "index.json").read_text())
    storage = ["--root", work / "cstore", "--runroot", work / "crun", "--storage-driver", "vfs"]
    for arch, src in (("amd64", "hello.txt"), ("arm64", "arm.txt")):
        c = run("buildah", *storage, "from", "scratch").stdout.strip()
        run("buildah", *storage, "add", c, work / src, "/hello.txt")
        run("buildah", *storage, "config", "--arch", arch, "--os", "linux", c)
        run("buildah", *storage, "commit", "-q", c, f"localhost/hello:{arch}")
    run("buildah", *storage, "manifest", "create", "localhost/hello-list:v1")
    run("buildah", *storage, "manifest", "add", "localhost/hello-list:v1", "localhost/hello:amd64")
    run("buildah", *storage, "manifest", "add", "--arch", "arm64", "localhost/hello-list:v1", "localhost/hello:arm64")

    class Images:
        dir = work
        layout = f"oci:{work / 'layout'}:v1"
        digest = index["manifests"][0]["digest"]
        containers = storage

        @staticmethod
        def layer_image(tag, text):
            """A new single-layer OCI image `layout:<tag>` whose file holds `text`."""
            bundle = work / f"bundle-{tag}"
            run("umoci", "new", "--image", f"layout:{tag}", cwd=work)
            run("umoci", "unpack", "--rootless", "--image", f"layout:{tag}", bundle, cwd=work)
            (bundle / "rootfs" / "file.txt").write_text(text)
            run("umoci", "repack", "--image", f"layout:{tag}", bundle, cwd=work)
            return f"oci:{work / 'layout'}:{tag}"

    return Images


class Registry:
    """Depot's /v2/ API, through skopeo and plain HTTP."""

    def __init__(self, server, helpers):
        self.server = server
        self.helpers = helpers
        self.host = server.base_url.split("://", 1)[1]
        self.creds = f"{server.username}:{server.password}"

    def ref(self, name):
        return f"docker://{self.host}/{name}"

    def push(self, src, name, *extra):
        run("skopeo", "copy", "-q", "--dest-tls-verify=false", "--dest-creds", self.creds, *extra, src, self.ref(name))

    def inspect(self, name, *extra, creds=False):
        auth = ["--creds", self.creds] if creds else []
        return json.loads(run("skopeo", *extra, "inspect", *auth, "--tls-verify=false", self.ref(name)).stdout)

    def raw(self, name):
        return run("skopeo", "inspect", "--raw", "--tls-verify=false", self.ref(name)).stdout

    def blob(self, name, digest, headers=None):
        """A blob's bytes, following a redirect to object storage."""
        return self.helpers.content("GET", self.server.url(f"/v2/{name}/blobs/{digest}"), headers=headers)

    def get(self, path, headers=None, auth=False, method="GET", body=None):
        return self.server.request(method, path, body=body, headers=headers, auth=True if auth else None)


class DockerRegistry:
    """Debian's docker-registry (CNCF distribution) on a free port, deletes enabled; it can be
    stopped and started again on the same port and data."""

    def __init__(self, workdir, port):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.host = f"127.0.0.1:{port}"
        self.dir = workdir
        self.config = workdir / "config.yml"
        self.config.write_text(
            f"version: 0.1\nlog:\n  level: error\nstorage:\n  delete:\n    enabled: true\n"
            f"  filesystem:\n    rootdirectory: {workdir / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\n")
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=2).read()
                return
            except OSError:
                if time.time() > deadline:
                    raise AssertionError("docker-registry did not start")
                time.sleep(0.1)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def push(self, src, name, *extra):
        run("skopeo", "copy", "-q", "--dest-tls-verify=false", *extra, src, f"docker://{self.host}/{name}")

    def digest(self, name, tag):
        """The digest the registry names for `name:tag`."""
        req = urllib.request.Request(f"{self.url}/v2/{name}/manifests/{tag}", method="HEAD", headers={
            "Accept": "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
                      "application/vnd.docker.distribution.manifest.v2+json, "
                      "application/vnd.docker.distribution.manifest.list.v2+json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.headers["Docker-Content-Digest"]

    def delete(self, name, tag):
        """Deletes the manifest `name:tag` points at (and so every tag on it)."""
        digest = self.digest(name, tag)
        req = urllib.request.Request(f"{self.url}/v2/{name}/manifests/{digest}", method="DELETE")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 202


class CountingProxy:
    """A plain HTTP proxy in front of an upstream registry that counts the requests it forwards
    (by method and path) and can slow blob bodies down, so that tests see what reached upstream.
    When the upstream is down it answers 502, as a gateway would."""

    def __init__(self, upstream_url, blob_delay=0.0):
        import http.client
        import http.server
        import threading
        from urllib.parse import urlsplit

        self.requests = []
        self.blob_delay = blob_delay
        target = urlsplit(upstream_url)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self):
                proxy.requests.append((self.command, self.path))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                try:
                    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                    conn.request(self.command, self.path, headers=headers)
                    resp = conn.getresponse()
                except OSError:
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding"):
                        self.send_header(k, v)
                body = resp.read()
                if "Content-Length" not in resp.headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                slow = "/blobs/" in self.path and proxy.blob_delay
                step = max(1, len(body) // 4) if slow else max(1, len(body))
                for i in range(0, len(body), step):
                    self.wfile.write(body[i:i + step])
                    self.wfile.flush()
                    if slow:
                        time.sleep(proxy.blob_delay)
                conn.close()

            do_GET = forward
            do_HEAD = forward

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def count(self, method, fragment):
        return sum(1 for m, p in self.requests if m == method and fragment in p)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
