"""The malware scan: new artifacts streamed to a real clamd (Debian's, with a signature database
made by the conftest), triggered by object storage notifications through SQS (the scan function,
under the emulated Lambda runtime) or by the local runner itself. The content app refuses to
serve what clamd found."""

import json
import time
import urllib.parse
import uuid

from conftest import EICAR, terminate
from lambda_emulator import sqs_event
from test_lambda import Deployment

CLEAN = b"nothing to see here\n" * 50


def publish(server, helpers, files):
    """Uploads `files` ({relative path: bytes}) into a new repository served at a new base path;
    returns (base URL, {relative path: sha256})."""
    hrefs, digests = [], {}
    for path, data in files.items():
        body, ctype = helpers.multipart({"relative_path": path}, {"file": ("f", data)})
        resp = server.request("POST", "content/file/files/upload/", body=body, headers={"Content-Type": ctype})
        assert resp.status == 201, resp
        hrefs.append(resp.json()["pulp_href"])
        digests[path] = resp.json()["sha256"]
    name = "scan-" + uuid.uuid4().hex[:8]
    # Autopublished: a file distribution serves a repository through its publications.
    repo = server.request("POST", "repositories/file/file/", {"name": name, "autopublish": True}).json()
    task = server.wait_task(server.request("POST", repo["pulp_href"] + "modify/",
                                           {"add_content_units": hrefs}).json()["task"])
    assert task["state"] == "completed", task
    task = server.wait_task(server.request("POST", "distributions/file/file/", {
        "name": name, "base_path": name, "repository": repo["pulp_href"]}).json()["task"])
    assert task["state"] == "completed", task
    return f"{server.base_url}/pulp/content/{name}/", digests


def s3_notification(key, bucket="depot-artifacts"):
    """An ObjectCreated notification as S3 sends it (the key URL-encoded)."""
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper()},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "scan",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "EXAMPLE"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": urllib.parse.quote_plus(key), "size": 1, "eTag": "0" * 32,
                          "sequencer": "0055AED6DCD90281E5"}},
    }]})


def wait_for_status(helpers, url, status, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        resp = helpers.content("GET", url)
        if resp.status == status or time.monotonic() > deadline:
            return resp
        time.sleep(0.2)


def test_object_notifications_trigger_the_scan_function(runner_factory, aws, clamd, helpers):
    storage_url = runner_factory.base_env.get("DEPOT_STORAGE_URL", "")
    notified_queue = None
    if storage_url.startswith("s3://"):
        # Real notifications: moto's bucket tells an SQS queue of each new object, as
        # infra/template.yaml sets it up.
        bucket = storage_url[len("s3://"):].split("/")[0]
        notified_queue = aws.new_queue()
        arn = aws.sqs.get_queue_attributes(QueueUrl=notified_queue,
                                           AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        aws.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
                                     "Filter": {"Key": {"FilterRules": [
                                         {"Name": "prefix", "Value": "depot/artifact/"}]}}}]})

    server = runner_factory.start(DEPOT_SCAN_TRIGGER="notification", **clamd.env())
    base, digests = publish(server, helpers, {"eicar.txt": EICAR, "clean.txt": CLEAN})
    # Nothing scanned yet: the notification trigger leaves it to the scan function.
    assert helpers.content("GET", base + "eicar.txt").status == 200

    if notified_queue:
        bodies = []

        def stored():  # the sha256 of each object S3 told of
            keys = [urllib.parse.unquote_plus(r["s3"]["object"]["key"])
                    for b in bodies for r in json.loads(b).get("Records", [])]
            return {k.rsplit("/", 2)[-2] + k.rsplit("/", 1)[-1] for k in keys}

        for _ in range(20):
            out = aws.sqs.receive_message(QueueUrl=notified_queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            bodies += [m["Body"] for m in out.get("Messages", [])]
            if set(digests.values()) <= stored():
                break
        # Both files, and the PULP_MANIFEST their publication wrote.
        assert set(digests.values()) <= stored() and len(stored()) == 3, stored()
    else:
        # The filesystem backend sends no notifications: the ones S3 would send for its keys.
        bodies = [s3_notification(f"artifact/{d[:2]}/{d[2:]}") for d in digests.values()]
        bodies.append(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent",
                                  "Bucket": "depot-artifacts"}))

    deployment = Deployment(runner_factory, aws)
    try:
        scan = deployment.start("scan", DEPOT_SCAN_TRIGGER="notification", **clamd.env())
        event = sqs_event(bodies + ["not a notification"], queue_name="scan")
        result = scan.invoke(event, timeout=120)
        assert result.kind == "response", result.body
        assert result.json() == {"batchItemFailures": [{"itemIdentifier": event["Records"][-1]["messageId"]}]}

        # clamd down: the record comes back, to be delivered again.
        unreachable = deployment.start("scan", PULP_CLAMAV_HOST="127.0.0.1", PULP_CLAMAV_PORT="1")
        one = sqs_event([next(b for b in bodies if '"Records"' in b)], queue_name="scan")
        retry = unreachable.invoke(one)
        assert retry.json() == {"batchItemFailures": [{"itemIdentifier": one["Records"][0]["messageId"]}]}
    finally:
        deployment.stop()

    infected = helpers.content("GET", base + "eicar.txt")
    assert infected.status == 403, infected
    assert "Eicar-Test-Signature" in infected.json()["detail"]
    clean = helpers.content("GET", base + "clean.txt")
    assert clean.status == 200 and clean.body == CLEAN


def test_the_local_runner_scans_what_it_stores(runner_factory, clamd, helpers):
    server = runner_factory.start(**clamd.env())
    base, _ = publish(server, helpers, {"eicar.txt": EICAR, "clean.txt": CLEAN})
    infected = wait_for_status(helpers, base + "eicar.txt", 403)
    assert infected.status == 403, infected
    assert "quarantined" in infected.json()["detail"]
    assert helpers.content("GET", base + "clean.txt").body == CLEAN


def test_the_registry_refuses_an_infected_blob(runner_factory, clamd, helpers):
    server = runner_factory.start(**clamd.env())
    name = "scan/" + uuid.uuid4().hex[:8]
    auth = server.auth_header()
    digests = {}
    for label, data in (("infected", EICAR), ("clean", CLEAN)):
        digest = "sha256:" + helpers.sha256(data)
        resp = helpers.request("POST", f"{server.base_url}/v2/{name}/blobs/uploads/?digest={digest}", body=data,
                               headers={**auth, "Content-Type": "application/octet-stream"})
        assert resp.status == 201, resp
        digests[label] = digest
    deadline = time.monotonic() + 30
    while True:
        resp = helpers.request("GET", f"{server.base_url}/v2/{name}/blobs/{digests['infected']}", headers=auth)
        if resp.status == 403 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert resp.status == 403, resp
    error = resp.json()["errors"][0]
    assert error["code"] == "DENIED" and "Eicar-Test-Signature" in error["message"], error
    # Served (on object storage, by a redirect to it).
    clean = helpers.request("GET", f"{server.base_url}/v2/{name}/blobs/{digests['clean']}", headers=auth)
    assert clean.status in (200, 302), clean
    assert clean.status == 302 or clean.body == CLEAN


def test_the_scan_function_polls_its_queue_outside_lambda(runner_factory, aws, clamd, helpers):
    """The container host: the scan binary without AWS_LAMBDA_RUNTIME_API reads its own queue."""
    server = runner_factory.start(DEPOT_SCAN_TRIGGER="notification", **clamd.env())
    base, digests = publish(server, helpers, {"eicar.txt": EICAR})
    queue = aws.new_queue()
    key = f"artifact/{digests['eicar.txt'][:2]}/{digests['eicar.txt'][2:]}"
    if runner_factory.base_env.get("DEPOT_STORAGE_URL", "").startswith("s3://"):
        key = "depot/" + key
    aws.sqs.send_message(QueueUrl=queue, MessageBody=s3_notification(key))
    aws.sqs.send_message(QueueUrl=queue, MessageBody="not a notification")  # left for the DLQ

    deployment = Deployment(runner_factory, aws)
    try:
        poller = deployment.process("scan", DEPOT_QUEUE_URL_SCAN=queue, **clamd.env())
        infected = wait_for_status(helpers, base + "eicar.txt", 403)
        assert infected.status == 403, infected
        terminate(poller, timeout=30)
        assert poller.returncode == 0  # SIGTERM: a clean stop
    finally:
        deployment.stop()
