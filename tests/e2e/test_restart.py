"""Tasks survive a restart: a waiting task runs after the runner comes back, and a task whose
process died is marked failed (and its repository accepts new tasks)."""

import time
import uuid


def test_waiting_task_runs_after_restart(runner_factory, helpers):
    # No workers: the modify task is dispatched but cannot run.
    server = runner_factory.start(DEPOT_WORKERS=0)
    repo = server.request("POST", "repositories/file/file/", {"name": "restart-" + uuid.uuid4().hex[:6]}).json()
    body, ctype = helpers.multipart({"relative_path": "r.txt"}, {"file": ("r.txt", b"restart me")})
    unit = server.request("POST", "content/file/files/upload/", body=body, headers={"Content-Type": ctype}).json()
    resp = server.request("POST", repo["pulp_href"] + "modify/", {"add_content_units": [unit["pulp_href"]]})
    assert resp.status == 202, resp
    href = resp.json()["task"]
    time.sleep(0.5)
    assert server.request("GET", href).json()["state"] == "waiting"
    runner_factory.stop(server)

    server = runner_factory.start()
    task = server.wait_task(href, states=("completed", "failed", "canceled"))
    assert task["state"] == "completed", task["error"]
    repo = server.request("GET", repo["pulp_href"]).json()
    assert repo["latest_version_href"].endswith("/versions/1/")


def test_task_of_a_killed_runner_is_failed_and_repository_is_usable(runner_factory, stalling_upstream, helpers):
    server = runner_factory.start(DEPOT_TASK_HEARTBEAT_TIMEOUT=2)
    repo = server.request("POST", "repositories/file/file/", {"name": "killed-" + uuid.uuid4().hex[:6]}).json()
    remote = server.request(
        "POST", "remotes/file/file/", {"name": "stall-" + uuid.uuid4().hex[:6], "url": stalling_upstream.url}
    ).json()
    href = server.request("POST", repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"]}).json()["task"]
    server.wait_task(href, states=("running",))
    time.sleep(0.5)
    runner_factory.kill(server)

    server = runner_factory.start(DEPOT_TASK_HEARTBEAT_TIMEOUT=2)
    task = server.wait_task(href, states=("failed", "completed", "canceled"), timeout=30)
    assert task["state"] == "failed"
    assert "stopped responding" in task["error"]["description"]
    # Nothing half-made: the repository still has only version 0 and no artifact was stored.
    repo_now = server.request("GET", repo["pulp_href"]).json()
    assert repo_now["latest_version_href"].endswith("/versions/0/")
    assert server.request("GET", "artifacts/?limit=1").json()["count"] == 0

    # The reservation was released: a new task on the repository runs.
    body, ctype = helpers.multipart({"relative_path": "after.txt"}, {"file": ("after.txt", b"after")})
    unit = server.request("POST", "content/file/files/upload/", body=body, headers={"Content-Type": ctype}).json()
    resp = server.request("POST", repo["pulp_href"] + "modify/", {"add_content_units": [unit["pulp_href"]]})
    task = server.wait_task(resp.json()["task"], states=("completed", "failed"))
    assert task["state"] == "completed", task["error"]


def test_cancel_waiting_and_running_tasks(runner_factory, stalling_upstream, helpers):
    # A waiting task (no workers) is canceled at once; cancelling it again is a 409.
    server = runner_factory.start(DEPOT_WORKERS=0)
    repo = server.request("POST", "repositories/file/file/", {"name": "cancel-" + uuid.uuid4().hex[:6]}).json()
    remote = server.request(
        "POST", "remotes/file/file/", {"name": "stall-" + uuid.uuid4().hex[:6], "url": stalling_upstream.url}
    ).json()
    href = server.request("POST", repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"]}).json()["task"]
    resp = server.request("PATCH", href, {"state": "canceled"})
    assert resp.status == 200 and resp.json()["state"] == "canceled", resp
    resp = server.request("PATCH", href, {"state": "canceled"})
    assert resp.status == 409, resp
    resp = server.request("PATCH", href, {"state": "running"})
    assert resp.status == 400, resp
    runner_factory.stop(server)

    # A running task is stopped by its worker, and its repository is free again.
    server = runner_factory.start()
    assert server.request("GET", href).json()["state"] == "canceled"
    href = server.request("POST", repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"]}).json()["task"]
    server.wait_task(href, states=("running",))
    resp = server.request("PATCH", href, {"state": "canceled"})
    assert resp.status == 200 and resp.json()["state"] in ("canceling", "canceled"), resp
    task = server.wait_task(href, states=("canceled", "failed", "completed"), timeout=30)
    assert task["state"] == "canceled", task
    assert server.request("GET", repo["pulp_href"]).json()["latest_version_href"].endswith("/versions/0/")
    body, ctype = helpers.multipart({"relative_path": "c.txt"}, {"file": ("c.txt", b"after cancel")})
    unit = server.request("POST", "content/file/files/upload/", body=body, headers={"Content-Type": ctype}).json()
    resp = server.request("POST", repo["pulp_href"] + "modify/", {"add_content_units": [unit["pulp_href"]]})
    assert server.wait_task(resp.json()["task"], states=("completed", "failed"))["state"] == "completed"


def test_ctrl_c_lets_running_tasks_finish(runner_factory, helpers):
    import hashlib
    import os

    files = {f"{i}.bin": os.urandom(300) for i in range(5)}
    files["PULP_MANIFEST"] = "".join(f"{p},{hashlib.sha256(d).hexdigest()},{len(d)}\n"
                                     for p, d in files.items()).encode()
    upstream = helpers.http_server(helpers.slow_handler(files, delay=0.4))
    try:
        server = runner_factory.start()
        repo = server.request("POST", "repositories/file/file/", {"name": "drain-" + uuid.uuid4().hex[:6]}).json()
        remote = server.request("POST", "remotes/file/file/", {
            "name": "drain-" + uuid.uuid4().hex[:6], "url": upstream.base_url + "/PULP_MANIFEST",
            "policy": "immediate", "download_concurrency": 1}).json()
        href = server.request("POST", repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"]}).json()["task"]
        server.wait_task(href, states=("running",))
        # SIGINT: the HTTP side stops, the running sync (about 2 s more) finishes, then the process exits.
        assert runner_factory.stop(server) == 0
        server = runner_factory.start()
        task = server.request("GET", href).json()
        assert task["state"] == "completed", task
        latest = server.request("GET", repo["pulp_href"]).json()["latest_version_href"]
        assert server.request("GET", latest).json()["content_summary"]["present"]["file.file"]["count"] == 5
    finally:
        upstream.stop()
