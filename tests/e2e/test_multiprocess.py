"""Several processes, one system: API-only and worker-only runners share the database, the storage
and an SQS queue (moto_server, a real SQS wire protocol on 127.0.0.1). With DEPOT_TEST_BACKEND=aws
the storage is an S3 bucket on the same moto_server."""

import json
import os
import socket
import time
import uuid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def upload(server, helpers, path, data):
    body, ctype = helpers.multipart({"relative_path": path}, {"file": ("f", data)})
    resp = server.request("POST", "content/file/files/upload/", body=body, headers={"Content-Type": ctype})
    assert resp.status == 201, resp
    return resp.json()["pulp_href"]


def test_api_and_worker_processes_share_an_sqs_queue(runner_factory, aws, helpers, file_server, make_file_tree):
    queue_url = aws.new_queue()
    env = {"DEPOT_QUEUE_URL": queue_url, "DEPOT_TASK_HEARTBEAT_TIMEOUT": 3}
    api = runner_factory.start(DEPOT_ROLE="api", **env)
    worker = runner_factory.start(wait=False, DEPOT_ROLE="worker", **env)

    repo = api.request("POST", "repositories/file/file/", {"name": "mp-" + uuid.uuid4().hex[:6]}).json()
    units = [upload(api, helpers, f"mp/{i}.txt", os.urandom(32)) for i in range(10)]
    hrefs = [api.request("POST", repo["pulp_href"] + "modify/", {"add_content_units": [u]}).json()["task"] for u in units]
    # The API process runs no workers: these complete only through the worker process.
    tasks = [api.wait_task(h) for h in hrefs]
    assert [t["state"] for t in tasks] == ["completed"] * 10, [t["error"] for t in tasks]
    versions = api.request("GET", repo["versions_href"] + "?limit=100").json()
    assert versions["count"] == 11

    root = file_server.root / ("mp-" + uuid.uuid4().hex[:6])
    make_file_tree(root, 5)
    remote = api.request("POST", "remotes/file/file/", {"name": "mp-" + uuid.uuid4().hex[:6],
                                                        "url": file_server.url(f"{root.name}/PULP_MANIFEST")}).json()
    task = api.wait_task(api.request("POST", repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"]}).json()["task"])
    assert task["state"] == "completed", task["error"]
    latest = api.request("GET", repo["pulp_href"]).json()["latest_version_href"]
    assert api.request("GET", latest).json()["content_summary"]["present"]["file.file"]["count"] == 15

    # Delivering every message again changes nothing: the claim makes a second start a no-op.
    for t in tasks + [task]:
        task_id = t["pulp_href"].rstrip("/").rsplit("/", 1)[1]
        aws.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"task_id": task_id, "correlation_id": ""}))
    aws.sqs.send_message(QueueUrl=queue_url, MessageBody="not json")
    aws.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"task_id": str(uuid.uuid4()), "correlation_id": ""}))
    deadline = time.monotonic() + 30
    while int(aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
              ["Attributes"]["ApproximateNumberOfMessages"]) > 0:
        assert time.monotonic() < deadline, "the worker did not drain the queue"
        time.sleep(0.2)
    time.sleep(1)
    assert api.request("GET", repo["versions_href"]).json()["count"] == 12
    assert worker.process.poll() is None, "the worker died on a duplicate or unreadable message"
    log = worker.log_text()
    assert "unreadable queue message" in log and "task that no longer exists" in log, log[-3000:]


def test_a_missing_queue_is_a_clear_startup_error(runner_factory, aws):
    bad_url = aws.new_queue().rsplit("/", 1)[0] + "/does-not-exist"
    server = runner_factory.start(wait=False, DEPOT_QUEUE_URL=bad_url)
    assert server.process.wait(timeout=60) != 0
    assert "DEPOT_QUEUE_URL" in server.log_text()
    server = runner_factory.start(wait=False, DEPOT_ROLE="worker", DEPOT_QUEUE_URL="")
    assert server.process.wait(timeout=60) != 0
    assert "DEPOT_QUEUE_URL" in server.log_text()


def test_killed_worker_process_fails_its_task_and_the_next_sync_runs(runner_factory, aws, stalling_upstream,
                                                                      file_server, make_file_tree):
    env = {"DEPOT_QUEUE_URL": aws.new_queue(), "DEPOT_TASK_HEARTBEAT_TIMEOUT": 2}
    api = runner_factory.start(DEPOT_ROLE="api", **env)
    worker = runner_factory.start(wait=False, DEPOT_ROLE="worker", **env)
    repo = api.request("POST", "repositories/file/file/", {"name": "kill-" + uuid.uuid4().hex[:6]}).json()
    stalled = api.request("POST", "remotes/file/file/", {"name": "kill-" + uuid.uuid4().hex[:6],
                                                         "url": stalling_upstream.url}).json()
    href = api.request("POST", repo["pulp_href"] + "sync/", {"remote": stalled["pulp_href"]}).json()["task"]
    deadline = time.monotonic() + 30
    while api.request("GET", href).json()["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    runner_factory.kill(worker)

    # The API process's sweeper fails the task once its heartbeat is stale.
    task = api.wait_task(href, timeout=30)
    assert task["state"] == "failed" and "stopped responding" in task["error"]["description"]
    assert api.request("GET", repo["pulp_href"]).json()["latest_version_href"].endswith("/versions/0/")

    runner_factory.start(wait=False, DEPOT_ROLE="worker", **env)
    root = file_server.root / ("kill-" + uuid.uuid4().hex[:6])
    make_file_tree(root, 3)
    good = api.request("POST", "remotes/file/file/", {"name": "kill-" + uuid.uuid4().hex[:6],
                                                      "url": file_server.url(f"{root.name}/PULP_MANIFEST")}).json()
    task = api.wait_task(api.request("POST", repo["pulp_href"] + "sync/", {"remote": good["pulp_href"]}).json()["task"])
    assert task["state"] == "completed", task["error"]


def test_two_api_and_two_worker_processes_keep_every_repository_consistent(
        runner_factory, aws, helpers, file_server, make_file_tree):
    from concurrent.futures import ThreadPoolExecutor

    env = {"DEPOT_QUEUE_URL": aws.new_queue()}
    apis = [runner_factory.start(DEPOT_ROLE="api", **env),
            runner_factory.start(DEPOT_ROLE="api", port=free_port(), **env)]
    for _ in range(2):
        runner_factory.start(wait=False, DEPOT_ROLE="worker", **env)

    repos = [apis[i % 2].request("POST", "repositories/file/file/", {"name": f"c-{i}-" + uuid.uuid4().hex[:6]}).json()
             for i in range(10)]
    units = [upload(apis[i % 2], helpers, f"c/{i}.txt", os.urandom(16)) for i in range(100)]
    root = file_server.root / ("c-" + uuid.uuid4().hex[:6])
    synced = make_file_tree(root, 5)
    remote = apis[0].request("POST", "remotes/file/file/", {"name": "c-" + uuid.uuid4().hex[:6],
                                                            "url": file_server.url(f"{root.name}/PULP_MANIFEST")}).json()

    def fire(i):
        api, repo = apis[i % 2], repos[i % 10]
        if i in (7, 58):  # two syncs among the modifies
            resp = api.request("POST", repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"]})
            assert resp.status == 202, resp
            return [resp.json()["task"]]
        resp = api.request("POST", repo["pulp_href"] + "modify/", {"add_content_units": [units[i]]})
        assert resp.status == 202, resp
        return [resp.json()["task"]]

    with ThreadPoolExecutor(max_workers=16) as pool:
        hrefs = [h for hs in pool.map(fire, range(100)) for h in hs]
    tasks = [apis[0].wait_task(h, timeout=120) for h in hrefs]
    assert all(t["state"] == "completed" for t in tasks), [t["error"] for t in tasks if t["error"]]

    for i, repo in enumerate(repos):
        expected = {units[j] for j in range(i, 100, 10) if j not in (7, 58)}
        latest = apis[1].request("GET", repo["pulp_href"]).json()["latest_version_href"]
        listed = apis[1].request("GET", f"content/file/files/?repository_version={latest}&limit=1000").json()["results"]
        hrefs_present = {c["pulp_href"] for c in listed}
        assert expected <= hrefs_present, f"repository {i} lost content"
        extra = {c["relative_path"] for c in listed if c["pulp_href"] not in expected}
        assert extra == (set(synced) if i in (7, 8) else set()), (i, extra)
        numbers = [v["number"] for v in apis[0].request("GET", repo["versions_href"] + "?limit=100").json()["results"]]
        assert numbers == list(range(len(numbers) - 1, -1, -1)) and len(numbers) == 11, (i, numbers)
