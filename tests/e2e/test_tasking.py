"""Reservations: tasks on one repository run one at a time, in dispatch order, each making one
version; tasks on different repositories run at the same time."""

import hashlib
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest


def create_repo(server):
    resp = server.request("POST", "repositories/file/file/", {"name": "tasking-" + uuid.uuid4().hex[:8]})
    assert resp.status == 201, resp
    return resp.json()


def upload_unit(server, helpers, relative_path, data):
    body, ctype = helpers.multipart({"relative_path": relative_path}, {"file": ("f", data)})
    resp = server.request("POST", "content/file/files/upload/", body=body, headers={"Content-Type": ctype})
    assert resp.status == 201, resp
    return resp.json()


def test_concurrent_modifies_on_one_repository_make_one_version_each_in_order(depot_server, helpers):
    repo = create_repo(depot_server)
    units = [upload_unit(depot_server, helpers, f"m/{i}.txt", os.urandom(64)) for i in range(30)]

    def modify(unit):
        resp = depot_server.request("POST", repo["pulp_href"] + "modify/", {"add_content_units": [unit["pulp_href"]]})
        assert resp.status == 202, resp
        return resp.json()["task"]

    with ThreadPoolExecutor(max_workers=10) as pool:
        hrefs = list(pool.map(modify, units))
    tasks = [depot_server.wait_task(h) for h in hrefs]
    assert [t["state"] for t in tasks] == ["completed"] * 30, [t["error"] for t in tasks]

    # In dispatch order, each task made the next version, and none ran while another did.
    tasks.sort(key=lambda t: t["pulp_created"])
    numbers = []
    for t in tasks:
        versions = [h for h in t["created_resources"] if "/versions/" in h]
        assert len(versions) == 1, t
        numbers.append(int(versions[0].rstrip("/").rsplit("/", 1)[1]))
    assert numbers == list(range(1, 31))
    for earlier, later in zip(tasks, tasks[1:]):
        assert later["started_at"] >= earlier["finished_at"], (earlier, later)

    # Each version added exactly one unit and none was lost.
    resp = depot_server.request("GET", repo["versions_href"] + "?limit=100")
    versions = {v["number"]: v for v in resp.json()["results"]}
    assert sorted(versions) == list(range(31))
    for n in range(1, 31):
        summary = versions[n]["content_summary"]
        assert summary["added"]["file.file"]["count"] == 1
        assert summary["present"]["file.file"]["count"] == n
        assert summary["removed"] == {}
    latest = repo["versions_href"] + "30/"
    resp = depot_server.request("GET", f"content/file/files/?repository_version={latest}&limit=100")
    assert {c["pulp_href"] for c in resp.json()["results"]} == {u["pulp_href"] for u in units}


@pytest.fixture
def slow_upstream(helpers):
    files = {}
    lines = []
    for i in range(6):
        data = os.urandom(512)
        files[f"slow/{i}.bin"] = data
        lines.append(f"{i}.bin,{hashlib.sha256(data).hexdigest()},{len(data)}\n")
    files["slow/PULP_MANIFEST"] = "".join(lines).encode()
    server = helpers.http_server(helpers.slow_handler(files, delay=0.25))
    yield server
    server.stop()


def sync_task(server, repo, remote_url):
    resp = server.request(
        "POST",
        "remotes/file/file/",
        {"name": "slow-" + uuid.uuid4().hex[:8], "url": remote_url, "policy": "immediate", "download_concurrency": 1},
    )
    assert resp.status == 201, resp
    resp = server.request("POST", repo["pulp_href"] + "sync/", {"remote": resp.json()["pulp_href"]})
    assert resp.status == 202, resp
    return resp.json()["task"]


def test_syncs_of_different_repositories_overlap_and_of_one_repository_do_not(depot_server, slow_upstream):
    url = slow_upstream.base_url + "/slow/PULP_MANIFEST"
    a, b = create_repo(depot_server), create_repo(depot_server)
    ta, tb = sync_task(depot_server, a, url), sync_task(depot_server, b, url)
    ta, tb = depot_server.wait_task(ta), depot_server.wait_task(tb)
    assert ta["state"] == tb["state"] == "completed", (ta["error"], tb["error"])
    # Each sync takes over a second (7 requests at 0.25 s); run in parallel, they overlap.
    assert ta["started_at"] < tb["finished_at"] and tb["started_at"] < ta["finished_at"], (ta, tb)

    c = create_repo(depot_server)
    t1, t2 = sync_task(depot_server, c, url), sync_task(depot_server, c, url)
    t1, t2 = depot_server.wait_task(t1), depot_server.wait_task(t2)
    assert t1["state"] == t2["state"] == "completed", (t1["error"], t2["error"])
    first, second = sorted([t1, t2], key=lambda t: t["pulp_created"])
    assert second["started_at"] >= first["finished_at"], (first, second)
    # The repository is held exclusively (unprefixed), the remote shared.
    repo_prn = "prn:file.filerepository:" + c["pulp_href"].rstrip("/").rsplit("/", 1)[1]
    assert repo_prn in first["reserved_resources_record"]
    assert any(r.startswith("shared:prn:file.fileremote:") for r in first["reserved_resources_record"])


def test_the_correlation_id_follows_a_request_into_its_task_and_the_log(depot_server):
    """Pulp's Correlation-ID: echoed, kept as the task's logging_cid, and on every log line of
    the request and of the task it dispatched (the access line names the user too)."""
    cid = uuid.uuid4().hex
    remote = depot_server.request("POST", "remotes/file/file/", {
        "name": "cid-" + uuid.uuid4().hex[:8], "url": "http://127.0.0.1:9/PULP_MANIFEST", "max_retries": 0,
    }).json()
    repo = create_repo(depot_server)
    resp = depot_server.request("POST", repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"]},
                                headers={"Correlation-ID": cid})
    assert resp.status == 202, resp
    assert resp.headers["Correlation-ID"] == cid
    task = depot_server.wait_task(resp.json()["task"])
    assert task["state"] == "failed" and task["logging_cid"] == cid
    lines = [line for line in depot_server.log_path.read_text().splitlines() if cid in line]
    assert any("task failed" in line for line in lines), lines
    assert any("depot::access" in line and "user=admin" in line and "POST" in line for line in lines), lines
