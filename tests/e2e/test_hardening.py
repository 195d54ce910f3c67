"""Anonymous clients against the real process: what a long URL costs it (time and memory), and
that idle, slow or too many connections cannot lock others out. The API's own answers to bad
input are tested in process (local-runner/tests/hardening.rs)."""

import os
import socket
import subprocess
import time

import pytest

from conftest import backend_kind, encode_multipart, http_request


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def make_file_distribution(server, name):
    resp = server.request("POST", "repositories/file/file/", {"name": name})
    assert resp.status == 201, resp
    resp = server.request("POST", "distributions/file/file/",
                          {"name": name, "base_path": name, "repository": resp.json()["pulp_href"]})
    assert resp.status == 202, resp
    assert server.wait_task(resp.json()["task"])["state"] == "completed"


def test_long_urls_cost_a_small_fixed_amount(runner_factory):
    server = runner_factory.start()
    make_file_distribution(server, "base")
    pid = server.process.pid
    log_start = server.log_size()
    before = rss_mib(pid)
    deep = "a/" * 30000  # a 60 KB path: cost grew with its square before the bound
    near_limit = "a/" * 4000  # just under the 8 KiB URI bound: looked up, not refused
    started = time.monotonic()
    for _ in range(3):
        for path in (f"/pulp/content/base/{deep}", f"/pypi/{deep}simple/",
                     f"/pypi/base/simple/{deep}"):
            resp = http_request("GET", server.base_url + path, timeout=10)
            assert resp.status == 414, resp
            assert "longer than 8192 bytes" in resp.json()["detail"]
        for path in (f"/pulp/content/base/{near_limit}", f"/pulp/content/{near_limit}",
                     f"/pypi/{near_limit}simple/", f"/pypi/base/simple/{near_limit}"):
            resp = http_request("GET", server.base_url + path, timeout=10)
            assert resp.status in (301, 404), resp
    elapsed = time.monotonic() - started
    grown = rss_mib(pid) - before
    assert elapsed < 10, f"21 long-URL requests took {elapsed:.1f} s"
    assert grown < 64, f"resident memory grew by {grown:.0f} MiB"
    resp = http_request("GET", server.api_url + "status/", timeout=5)
    assert resp.status == 200
    # No log line quotes a whole long path.
    longest = max((len(line) for line in server.log_text(log_start).splitlines()), default=0)
    assert longest <= 4200, f"a log line of {longest} bytes"


def seconds_until_closed(sock):
    """Reads whatever the server still sends; returns how long it took to close the socket."""
    started = time.monotonic()
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    sock.close()
    return time.monotonic() - started


def test_idle_and_slow_connections_do_not_lock_others_out(runner_factory):
    server = runner_factory.start(DEPOT_MAX_CONNECTIONS=100, DEPOT_HTTP_HEADER_TIMEOUT=3)
    host, port = "127.0.0.1", int(server.base_url.rsplit(":", 1)[1])
    held = []
    try:
        # Three times the limit: idle sockets, and sockets that send half a request head.
        for i in range(300):
            s = socket.create_connection((host, port), timeout=5)
            if i % 2:
                s.sendall(b"GET /pulp/api/v3/status/ HTTP/1.1\r\nHost: x\r\n")
            held.append(s)
        started = time.monotonic()
        resp = http_request("GET", server.api_url + "status/", timeout=15)
        assert resp.status == 200, resp
        assert time.monotonic() - started < 5
        assert "connection limit reached (100 open" in server.log_text()

        # A socket that never finishes its head is closed after the header timeout.
        slow = socket.create_connection((host, port), timeout=10)
        slow.sendall(b"GET /pulp/api/v3/status/ HTTP/1.1\r\n")
        waited = seconds_until_closed(slow)
        assert 2 <= waited < 8, f"closed after {waited:.1f} s"

        # A kept-alive connection left idle is closed after the same time.
        idle = socket.create_connection((host, port), timeout=10)
        idle.sendall(b"GET /pulp/api/v3/status/ HTTP/1.1\r\nHost: x\r\n\r\n")
        first = idle.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first[:100]
        waited = seconds_until_closed(idle)
        assert 2 <= waited < 8, f"idle connection closed after {waited:.1f} s"
    finally:
        for s in held:
            s.close()


@pytest.mark.skipif(backend_kind() != "local", reason="with a shared queue (the aws round) "
                    "other processes may be staging files; orphan cleanup sweeps them there")
def test_files_staged_by_a_killed_process_are_swept_at_start(runner_factory):
    server = runner_factory.start()
    host, port = "127.0.0.1", int(server.base_url.rsplit(":", 1)[1])
    staged = server.data_dir / "media" / "tmp"
    # An upload cut off half way by kill -9: its staged file stays behind.
    boundary = "killb0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big\"\r\n\r\n"
            ).encode()
    sock = socket.create_connection((host, port), timeout=10)
    sock.sendall(
        b"POST /pulp/api/v3/artifacts/ HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: {server.auth_header()['Authorization']}\r\n".encode()
        + f"Content-Type: multipart/form-data; boundary={boundary}\r\n".encode()
        + f"Content-Length: {len(head) + 64 * 1024 * 1024}\r\n\r\n".encode()
        + head + b"x" * (4 * 1024 * 1024))
    deadline = time.monotonic() + 10
    while not any(staged.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    runner_factory.kill(server)
    sock.close()
    assert any(staged.iterdir()), "the upload staged no file"
    server = runner_factory.start()
    assert list(staged.iterdir()) == []
    assert "staged files left by an earlier run" in server.log_text()


@pytest.fixture
def small_disk(tmp_path):
    """A 24 MiB tmpfs (the tests run as root, as CI does)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def upload_file(server, name, data):
    body, ctype = encode_multipart({"relative_path": name, "repository": server.repo_href},
                                   {"file": (name, data)})
    return server.request("POST", "content/file/files/", body=body, headers={"Content-Type": ctype})


@pytest.mark.skipif(os.environ.get("DEPOT_TEST_DB", "sqlite") != "sqlite" or backend_kind() != "local",
                    reason="the database and the files must be on the small disk")
def test_a_full_disk_is_507_and_writes_work_again_once_space_is_freed(small_disk, runner_factory):
    # Its log is on the small disk too: a log line that cannot be written must not fail a request.
    runner_factory.data_dir = small_disk
    # A task whose end could not be written is failed by the sweeper once its heartbeat is stale.
    server = runner_factory.start(DEPOT_TASK_HEARTBEAT_TIMEOUT=2)
    resp = server.request("POST", "repositories/file/file/", {"name": "full"})
    assert resp.status == 201, resp
    server.repo_href = resp.json()["pulp_href"]
    # Leave almost nothing free, then write: files of several sizes (the storage fills) and
    # rows (the database fills), through requests and through tasks.
    filler = small_disk / "filler"
    stat = os.statvfs(small_disk)
    with open(filler, "wb") as f:
        f.write(b"\0" * (stat.f_bavail * stat.f_frsize - 256 * 1024))
    answers = []
    for i in range(12):
        resp = upload_file(server, f"f{i}.bin", os.urandom(4096 * (1 + i * i)))
        answers.append(resp.status)
        if resp.status == 202:
            task = server.wait_task(resp.json()["task"], timeout=30)
            answers.append(task["state"])
        else:
            assert resp.status == 507, resp
            assert resp.json()["detail"].startswith("Insufficient storage"), resp
        resp = server.request("POST", "repositories/file/file/", {"name": f"r{i}-" + "x" * 2000})
        answers.append(resp.status)
        assert resp.status in (201, 507), resp
    print(answers)
    assert 507 in answers, answers
    resp = http_request("GET", server.api_url + "status/", timeout=10)
    assert resp.status == 200
    # Space comes back: writes work again, without a restart.
    filler.unlink()
    resp = server.request("POST", "repositories/file/file/", {"name": "after"})
    assert resp.status == 201, resp
    resp = upload_file(server, "after.bin", b"after" * 1000)
    assert resp.status == 202, resp
    task = server.wait_task(resp.json()["task"])
    assert task["state"] == "completed", task
    tasks = server.request("GET", "tasks/?state=running").json()
    assert tasks["count"] == 0, tasks
