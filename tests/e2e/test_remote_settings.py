"""Remote settings that change how files are fetched: proxies (with credentials), read timeouts,
and TLS material that must be valid PEM."""

import base64
import http.server
import json
import os
import sqlite3
import subprocess
import time
import urllib.request
import uuid

import pytest
from cryptography.fernet import Fernet


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    """A forward proxy for plain HTTP that records the Proxy-Authorization it was sent."""

    seen = None  # set per test to a list

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("Proxy-Authorization")))
        with urllib.request.urlopen(self.path, timeout=10) as upstream:
            data = upstream.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def proxy(helpers):
    handler = type("RecordingProxy", (ProxyHandler,), {"seen": []})
    server = helpers.http_server(handler)
    server.url = server.base_url
    server.seen = handler.seen
    yield server
    server.stop()


def new_remote(server, **fields):
    body = {"name": "rs-" + uuid.uuid4().hex[:8], **fields}
    return server.request("POST", "remotes/file/file/", body)


def test_sync_goes_through_the_proxy_with_its_credentials(depot_server, file_server, make_file_tree, proxy):
    root = file_server.root / ("proxied-" + uuid.uuid4().hex[:6])
    files = make_file_tree(root, 4)
    url = file_server.url(f"{root.name}/PULP_MANIFEST")
    resp = new_remote(depot_server, url=url, proxy_url=proxy.url, proxy_username="pu", proxy_password="pp")
    assert resp.status == 201, resp
    remote = resp.json()
    assert {"name": "proxy_password", "is_set": True} in remote["hidden_fields"]
    assert "proxy_password" not in remote
    repo = depot_server.request("POST", "repositories/file/file/", {"name": "rs-" + uuid.uuid4().hex[:8]}).json()
    task = depot_server.request("POST", repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"]}).json()["task"]
    task = depot_server.wait_task(task)
    assert task["state"] == "completed", task["error"]
    fetched = {path for path, _ in proxy.seen}
    assert url in fetched
    assert len(fetched) == len(files) + 1
    expected = "Basic " + base64.b64encode(b"pu:pp").decode()
    assert {auth for _, auth in proxy.seen} == {expected}


def stored_settings(server, name, replace=None):
    """The settings row of the remote `name` as stored; with `replace`, first writes that."""
    if server.database_url:
        def sql(q):
            return subprocess.run(["psql", server.database_url, "-At", "-X", "-c", q],
                                  capture_output=True, text=True, check=True).stdout
        if replace is not None:
            sql(f"UPDATE remotes SET settings = '{json.dumps(replace)}' WHERE name = '{name}'")
        return json.loads(sql(f"SELECT settings FROM remotes WHERE name = '{name}'"))
    with sqlite3.connect(server.data_dir / "depot.db", timeout=30) as db:
        if replace is not None:
            db.execute("UPDATE remotes SET settings = ? WHERE name = ?", (json.dumps(replace), name))
        return json.loads(db.execute("SELECT settings FROM remotes WHERE name = ?", (name,)).fetchone()[0])


def test_credentials_are_stored_encrypted_as_pulp_stores_them(depot_server, file_server, make_file_tree, proxy):
    """Stored as Fernet tokens of PULP_DB_ENCRYPTION_KEY (Python's cryptography reads them), and
    a token Python made (a database moved from Pulp) is what the next sync sends."""
    fernet = Fernet(open(os.environ["PULP_DB_ENCRYPTION_KEY"], "rb").read().strip())
    root = file_server.root / ("sealed-" + uuid.uuid4().hex[:6])
    make_file_tree(root, 1)
    url = file_server.url(f"{root.name}/PULP_MANIFEST")
    resp = new_remote(depot_server, url=url, proxy_url=proxy.url, proxy_username="pu", proxy_password="pp",
                      username="alice", password="hunter2")
    assert resp.status == 201, resp
    remote = resp.json()
    stored = stored_settings(depot_server, remote["name"])
    assert "hunter2" not in json.dumps(stored) and "alice" not in json.dumps(stored)
    assert fernet.decrypt(stored["password"].encode()) == b"hunter2"
    assert fernet.decrypt(stored["proxy_password"].encode()) == b"pp"

    stored["proxy_password"] = fernet.encrypt(b"from-pulp").decode()
    stored_settings(depot_server, remote["name"], replace=stored)
    repo = depot_server.request("POST", "repositories/file/file/", {"name": "rs-" + uuid.uuid4().hex[:8]}).json()
    task = depot_server.request("POST", repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"]}).json()["task"]
    task = depot_server.wait_task(task)
    assert task["state"] == "completed", task["error"]
    expected = "Basic " + base64.b64encode(b"pu:from-pulp").decode()
    assert {auth for _, auth in proxy.seen} == {expected}


def test_read_timeout_fails_the_sync_with_a_clear_error(depot_server, helpers):
    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(3)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    slow = helpers.http_server(Slow)
    try:
        url = f"{slow.base_url}/PULP_MANIFEST"
        remote = new_remote(depot_server, url=url, sock_read_timeout=0.5, max_retries=0).json()
        repo = depot_server.request("POST", "repositories/file/file/", {"name": "rs-" + uuid.uuid4().hex[:8]}).json()
        started = time.monotonic()
        task = depot_server.request("POST", repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"]}).json()["task"]
        task = depot_server.wait_task(task)
        assert task["state"] == "failed"
        assert "Could not fetch" in task["error"]["description"]
        assert time.monotonic() - started < 3
    finally:
        slow.stop()


def test_tls_material_must_be_valid(depot_server):
    resp = new_remote(depot_server, url="https://127.0.0.1:9/PULP_MANIFEST", ca_cert="not a certificate")
    assert resp.status == 400 and "ca_cert" in resp.json(), resp
    resp = new_remote(depot_server, url="https://127.0.0.1:9/PULP_MANIFEST", client_cert="x")
    assert resp.status == 400, resp
    resp = new_remote(depot_server, url="https://127.0.0.1:9/PULP_MANIFEST", download_concurrency=0)
    assert resp.status == 400 and "download_concurrency" in resp.json(), resp
    resp = new_remote(depot_server, url="ftp://example/PULP_MANIFEST")
    assert resp.status == 400 and "url" in resp.json(), resp
    resp = new_remote(depot_server, url="https://127.0.0.1:9/PULP_MANIFEST", tls_validation=False)
    assert resp.status == 201 and resp.json()["tls_validation"] is False, resp


def test_valid_tls_material_is_accepted(depot_server, tmp_path):
    import subprocess

    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost"],
        check=True, capture_output=True,
    )
    resp = new_remote(
        depot_server, url="https://127.0.0.1:9/PULP_MANIFEST",
        ca_cert=cert.read_text(), client_cert=cert.read_text(), client_key=key.read_text(),
    )
    assert resp.status == 201, resp
    remote = resp.json()
    assert remote["ca_cert"].startswith("-----BEGIN CERTIFICATE-----")
    assert "client_key" not in remote
    assert {"name": "client_key", "is_set": True} in remote["hidden_fields"]
