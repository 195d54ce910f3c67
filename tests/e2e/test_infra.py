"""infra/template.yaml: cfn-lint clean as written and as `sam package` hands it to CloudFormation
(translated by aws-sam-translator), and consistent with the code: one function per handler crate,
a queue for every function that runs tasks, routes that send each API path to its crate."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sam_template
from conftest import REPO_ROOT, first_round_only

# Nothing here starts a server: the template and the code are the same in every round.
pytestmark = first_round_only

CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def cfn_lint(path):
    result = subprocess.run([str(CFN_LINT), "--regions", "us-east-1", "--", str(path)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_passes_on_the_template():
    cfn_lint(sam_template.TEMPLATE)


def test_the_translated_template_passes_cfn_lint(tmp_path, monkeypatch):
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    doc = sam_template.load()
    for fn in sam_template.functions(doc):
        # `sam build` + `sam package` replace the crate folder with the uploaded zip.
        doc["Resources"][fn.logical_id]["Properties"]["CodeUri"] = f"s3://packaged/{fn.binary}.zip"

    class NoManagedPolicies:
        def load(self):
            return {}

    try:
        translated = transform(doc, {}, NoManagedPolicies())
    except InvalidDocumentException as e:
        pytest.fail("; ".join(c.message for c in e.causes))
    out = tmp_path / "translated.json"
    out.write_text(json.dumps(translated))
    cfn_lint(out)
    types = [r["Type"] for r in translated["Resources"].values()]
    assert types.count("AWS::Lambda::Function") == len(sam_template.functions(sam_template.load()))
    urls = [r for r in translated["Resources"].values() if r["Type"] == "AWS::Lambda::Url"]
    assert [u["Properties"]["InvokeMode"] for u in urls] == ["RESPONSE_STREAM"]


def test_every_handler_crate_is_one_function():
    crates = sorted(p.name for p in (REPO_ROOT / "functions").iterdir() if (p / "Cargo.toml").exists())
    deployed = sorted(fn.binary for fn in sam_template.functions(sam_template.load()))
    assert deployed == crates


def test_every_function_that_runs_tasks_reads_its_queue():
    doc = sam_template.load()
    routed = sam_template.function_queues(doc)
    consumers = {}
    for fn in sam_template.functions(doc):
        for queue, props in fn.queues():
            if fn.binary == "scan":  # its queue carries the bucket's notifications, not tasks
                assert queue == "ScanQueue"
                notified = doc["Resources"]["ArtifactBucket"]["Properties"]["NotificationConfiguration"]
                assert notified["QueueConfigurations"][0]["Queue"] == {"Fn::GetAtt": ["ScanQueue", "Arn"]}
                continue
            assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], fn.logical_id
            consumers[fn.binary] = queue
            timeout = fn.props.get("Timeout", doc["Globals"]["Function"]["Timeout"])
            queue_props = doc["Resources"][queue]["Properties"]
            assert queue_props["VisibilityTimeout"] >= 6 * timeout, queue
            assert queue_props["RedrivePolicy"]["maxReceiveCount"] >= 5
    # The functions the task specs of core and every plugin name, and no other.
    binary = os.environ.get("DEPOT_BIN") or str(REPO_ROOT / "target" / "debug" / "local-runner")
    out = subprocess.run([binary, "task-routes"], capture_output=True, text=True, check=True, timeout=60)
    functions_in_code = {line.split()[1] for line in out.stdout.splitlines()}
    assert "task-delete" in functions_in_code and "task-container-sync" in functions_in_code
    assert set(routed) == functions_in_code
    assert consumers == routed


@pytest.mark.parametrize("path, crate", [
    ("/pulp/api/v3/status/", "api-status"),
    ("/pulp/api/v3/docs/api.json", "api-docs"),
    ("/pulp/api/v3/docs/", "api-docs"),
    ("/pulp/api/v3/repositories/file/file/", "api-repositories"),
    ("/pulp/api/v3/remotes/container/container/", "api-remotes"),
    ("/pulp/api/v3/acs/file/file/", "api-remotes"),
    ("/pulp/api/v3/repositories/", "api-repositories"),
    ("/pulp/api/v3/repository_versions/", "api-repositories"),
    ("/pulp/acme/api/v3/repository_versions/?content=x", "api-repositories"),
    ("/pulp/acme/api/v3/remotes/", "api-remotes"),
    ("/pulp/api/v3/content/?repository_version=x", "api-content"),
    ("/pulp/api/v3/distributions/", "api-distributions"),
    ("/pulp/acme/api/v3/publications/", "api-publications"),
    ("/pulp/acme/api/v3/acs/file/file/0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e/refresh/", "api-remotes"),
    ("/pulp/api/v3/content/file/files/", "api-content"),
    ("/pulp/api/v3/artifacts/", "api-artifacts"),
    ("/pulp/api/v3/uploads/", "api-artifacts"),
    ("/pulp/api/v3/repair/", "api-artifacts"),
    ("/pulp/acme/api/v3/repair/", "api-artifacts"),
    ("/pulp/api/v3/livez/", "api-status"),
    ("/pulp/api/v3/", "api-status"),
    ("/pulp/acme/api/v3/", "api-status"),
    ("/pulp/api/v3/repositories/file/file/0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e/versions/1/repair/", "api-repositories"),
    ("/pulp/api/v3/publications/file/file/", "api-publications"),
    ("/pulp/api/v3/distributions/python/pypi/", "api-distributions"),
    ("/pulp/api/v3/tasks/", "api-tasks"),
    ("/pulp/api/v3/task-groups/", "api-tasks"),
    ("/pulp/api/v3/orphans/cleanup/", "api-orphans"),
    ("/pulp/api/v3/pulp_container/namespaces/", "api-namespaces"),
    ("/pulp/api/v3/users/", "api-access"),
    ("/pulp/api/v3/groups/", "api-access"),
    ("/pulp/api/v3/roles/", "api-access"),
    ("/pulp/api/v3/access_policies/", "api-access"),
    ("/pulp/api/v3/login/", "api-access"),
    ("/pulp/api/v3/contentguards/core/rbac/", "api-access"),
    ("/pulp/api/v3/domains/", "api-access"),
    ("/pulp/api/v3/exporters/core/pulp/", "api-import-export"),
    ("/pulp/acme/api/v3/exporters/core/filesystem/0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e/exports/", "api-import-export"),
    ("/pulp/api/v3/importers/core/pulp/import-check/", "api-import-export"),
    # With PULP_DOMAIN_ENABLED, every API path also lives under /pulp/<domain>/api/v3/.
    ("/pulp/acme/api/v3/repositories/file/file/", "api-repositories"),
    ("/pulp/acme/api/v3/content/file/files/", "api-content"),
    ("/pulp/org-1/api/v3/tasks/", "api-tasks"),
    ("/pulp/default/api/v3/domains/", "api-access"),
    ("/pulp/acme/api/v3/status/", "api-status"),
    ("/pypi/team/simple/", "pypi-api"),
    ("/v2/", "registry-api"),
    ("/v2/library/busybox/manifests/latest", "registry-api"),
])
def test_api_paths_reach_their_crate(path, crate):
    fn = sam_template.function_for(sam_template.load(), path)
    assert fn is not None and fn.binary == crate, path
