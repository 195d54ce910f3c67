"""The pulp_file workflow driven by the real pulp CLI (pulp-cli 0.41.1).

The tests run in file order and share what they create through `state`; a step
whose prerequisite failed is skipped, so the first failure is the one to read.
The bad-input checks at the end use plain HTTP and do not depend on the flow.
"""

import os
import shutil
import time
import uuid

import pytest

state = {}


def need(*keys):
    missing = [key for key in keys if key not in state]
    if missing:
        pytest.skip(f"an earlier step did not provide: {', '.join(missing)}")
    return state[keys[0]] if len(keys) == 1 else [state[key] for key in keys]


def content_set(units):
    return {(unit["relative_path"], unit["sha256"]) for unit in units}


def manifest_set(files):
    return {(relative_path, f["sha256"]) for relative_path, f in files.items()}


# --------------------------------------------------------------------------------------
# status
# --------------------------------------------------------------------------------------


def test_status(pulp, depot_server):
    status = pulp("status")
    versions = {v["component"]: v["version"] for v in status["versions"]}
    assert "core" in versions and "file" in versions, status["versions"]
    assert status["database_connection"]["connected"] is True

    resp = depot_server.request("GET", "status/", auth=None)
    assert resp.status == 200, resp
    assert resp.content_type == "application/json", resp

    # pulp-glue compares these two maps; they must agree or every `pulp status` refreshes the spec
    docs = depot_server.request("GET", "docs/api.json", auth=None)
    assert docs.status == 200, docs
    assert docs.content_type == "application/json", docs
    assert docs.json()["info"]["x-pulp-app-versions"] == versions


# --------------------------------------------------------------------------------------
# repository + uploads
# --------------------------------------------------------------------------------------


def test_repository_create_list_show(pulp):
    repo = pulp("file", "repository", "create", "--name", "r1")
    assert repo["name"] == "r1"
    assert repo["pulp_href"].startswith("/pulp/api/v3/repositories/file/file/")
    assert repo["latest_version_href"] == repo["pulp_href"] + "versions/0/"

    listed = pulp("file", "repository", "list")
    assert [r["pulp_href"] for r in listed if r["name"] == "r1"] == [repo["pulp_href"]]

    shown = pulp("file", "repository", "show", "--name", "r1")
    assert shown["pulp_href"] == repo["pulp_href"]
    assert shown["name"] == "r1"
    state["r1"] = repo


def test_upload_whole_file(pulp, tmp_path, helpers):
    need("r1")
    data = os.urandom(2048)
    path = tmp_path / "f1.bin"
    path.write_bytes(data)

    unit = pulp("file", "content", "upload", "--repository", "r1", "--file", path,
                "--relative-path", "a/f1.bin")
    assert unit["relative_path"] == "a/f1.bin"
    assert unit["sha256"] == helpers.sha256(data)
    assert unit["pulp_href"].startswith("/pulp/api/v3/content/file/files/")

    artifacts = pulp("artifact", "list", "--sha256", helpers.sha256(data))
    assert len(artifacts) == 1 and artifacts[0]["size"] == len(data), artifacts
    state["f1"] = {"relative_path": "a/f1.bin", "sha256": unit["sha256"], "data": data}


def test_upload_chunked(pulp, tmp_path, helpers):
    need("r1")
    data = os.urandom(5123)  # 5 full 1000-byte chunks and a partial one
    path = tmp_path / "f2.bin"
    path.write_bytes(data)

    unit = pulp("file", "content", "upload", "--repository", "r1", "--file", path,
                "--relative-path", "b/f2.bin", "--chunk-size", "1000")
    assert unit["relative_path"] == "b/f2.bin"
    assert unit["sha256"] == helpers.sha256(data)

    artifacts = pulp("artifact", "list", "--sha256", helpers.sha256(data))
    assert len(artifacts) == 1 and artifacts[0]["size"] == len(data), artifacts
    state["f2"] = {"relative_path": "b/f2.bin", "sha256": unit["sha256"], "data": data}


def test_repository_versions(pulp):
    repo, f1, f2 = need("r1", "f1", "f2")
    versions = pulp("file", "repository", "version", "list", "--repository", "r1")
    assert [v["number"] for v in versions] == [2, 1, 0]
    v2, v1, v0 = versions
    assert v0["content_summary"] == {"added": {}, "removed": {}, "present": {}}
    assert v1["content_summary"]["present"]["file.file"]["count"] == 1
    assert v2["content_summary"]["added"]["file.file"]["count"] == 1
    assert v2["content_summary"]["present"]["file.file"]["count"] == 2
    assert v2["pulp_href"] == repo["pulp_href"] + "versions/2/"

    shown = pulp("file", "repository", "show", "--name", "r1")
    assert shown["latest_version_href"] == v2["pulp_href"]

    units = pulp("file", "content", "list", "--repository-version", v2["pulp_href"])
    assert content_set(units) == {(f1["relative_path"], f1["sha256"]),
                                  (f2["relative_path"], f2["sha256"])}
    units = pulp("file", "content", "list", "--repository-version", v1["pulp_href"])
    assert content_set(units) == {(f1["relative_path"], f1["sha256"])}


# --------------------------------------------------------------------------------------
# sync (immediate), publish, distribute, download
# --------------------------------------------------------------------------------------


def test_sync_immediate(pulp, file_server, make_file_tree):
    files = make_file_tree(file_server.root / "immediate", 6)
    remote = pulp("file", "remote", "create", "--name", "rem",
                  "--url", file_server.url("immediate/PULP_MANIFEST"), "--policy", "immediate")
    assert remote["policy"] == "immediate"
    assert remote["url"] == file_server.url("immediate/PULP_MANIFEST")

    repo = pulp("file", "repository", "create", "--name", "r2")
    pulp("file", "repository", "sync", "--name", "r2", "--remote", "rem")
    tasks = pulp.started_tasks()
    assert len(tasks) == 1, pulp.last.stderr

    repo = pulp("file", "repository", "show", "--name", "r2")
    assert repo["latest_version_href"] == repo["pulp_href"] + "versions/1/"
    version = pulp("file", "repository", "version", "show", "--repository", "r2", "--version", "1")
    assert version["content_summary"]["present"]["file.file"]["count"] == len(files)
    assert version["content_summary"]["added"]["file.file"]["count"] == len(files)

    units = pulp("file", "content", "list", "--repository-version", version["pulp_href"],
                 "--limit", "100")
    assert content_set(units) == manifest_set(files)

    # immediate: every file was fetched from the remote during the sync
    fetched = set(file_server.requested("immediate/"))
    assert {f"/immediate/{rp}" for rp in files} <= fetched, fetched

    task = pulp("task", "show", "--href", tasks[0])
    assert task["state"] == "completed", task
    assert version["pulp_href"] in (task["created_resources"] or []), task
    state.update(r2=repo, r2_version=version, r2_files=files, sync_task=tasks[0])


def test_alternate_content_source(pulp, file_server, make_file_tree):
    """An immediate sync takes each file from the ACS that offers the same sha256: from the
    sync's own remote only the manifest is read."""
    files = make_file_tree(file_server.root / "acs-main", 3)
    shutil.copytree(file_server.root / "acs-main", file_server.root / "acs-near")
    pulp("file", "remote", "create", "--name", "acs-near", "--url", file_server.url(""),
         "--policy", "on_demand")
    acs = pulp("file", "acs", "create", "--name", "near", "--remote", "acs-near",
               "--path", "acs-near/PULP_MANIFEST")
    assert acs["paths"] == ["acs-near/PULP_MANIFEST"], acs
    pulp("file", "acs", "refresh", "--name", "near")
    assert pulp("file", "acs", "show", "--name", "near")["last_refreshed"]
    assert file_server.requested("acs-near/") == ["/acs-near/PULP_MANIFEST"]

    pulp("file", "remote", "create", "--name", "acs-main",
         "--url", file_server.url("acs-main/PULP_MANIFEST"), "--policy", "immediate")
    pulp("file", "repository", "create", "--name", "acs-repo")
    pulp("file", "repository", "sync", "--name", "acs-repo", "--remote", "acs-main")
    assert file_server.requested("acs-main/") == ["/acs-main/PULP_MANIFEST"]
    assert sorted(file_server.requested("acs-near/")) == sorted(
        ["/acs-near/PULP_MANIFEST"] + [f"/acs-near/{rp}" for rp in files])
    version = pulp("file", "repository", "version", "show", "--repository", "acs-repo")
    assert version["content_summary"]["present"]["file.file"]["count"] == len(files)
    pulp("file", "acs", "destroy", "--name", "near")


def test_publish_and_distribute(pulp, depot_server, helpers):
    repo, version, files = need("r2", "r2_version", "r2_files")
    publication = pulp("file", "publication", "create", "--repository", "r2")
    assert publication["pulp_href"].startswith("/pulp/api/v3/publications/file/file/")
    assert publication["repository_version"] == version["pulp_href"]

    dist = pulp("file", "distribution", "create", "--name", "d2", "--base-path", "d2",
                "--publication", publication["pulp_href"])
    assert dist["base_path"] == "d2"
    assert dist["publication"] == publication["pulp_href"]
    assert dist["base_url"] == f"{depot_server.base_url}/pulp/content/d2/"

    for relative_path, f in files.items():
        data = helpers.get_bytes(dist["base_url"] + relative_path)
        assert helpers.sha256(data) == f["sha256"], relative_path

    manifest = helpers.get_bytes(dist["base_url"] + "PULP_MANIFEST").decode()
    assert helpers.parse_manifest(manifest) == {
        rp: (f["sha256"], f["size"]) for rp, f in files.items()
    }

    missing = helpers.request("GET", dist["base_url"] + "no/such/file.bin")
    assert missing.status == 404, missing
    state.update(d2=dist)


# --------------------------------------------------------------------------------------
# sync (on_demand), then download through the content app
# --------------------------------------------------------------------------------------


def test_sync_on_demand(pulp, file_server, make_file_tree, helpers):
    files = make_file_tree(file_server.root / "ondemand", 5)
    pulp("file", "remote", "create", "--name", "rem-od",
         "--url", file_server.url("ondemand/PULP_MANIFEST"), "--policy", "on_demand")
    pulp("file", "repository", "create", "--name", "r3")
    pulp("file", "repository", "sync", "--name", "r3", "--remote", "rem-od")

    repo = pulp("file", "repository", "show", "--name", "r3")
    assert repo["latest_version_href"] == repo["pulp_href"] + "versions/1/"
    version = pulp("file", "repository", "version", "show", "--repository", "r3", "--version", "1")
    assert version["content_summary"]["present"]["file.file"]["count"] == len(files)
    units = pulp("file", "content", "list", "--repository-version", version["pulp_href"],
                 "--limit", "100")
    assert content_set(units) == manifest_set(files)

    # on_demand: only the manifest was fetched, and no artifact exists yet
    fetched = file_server.requested("ondemand/")
    assert [p for p in fetched if not p.endswith("/PULP_MANIFEST")] == [], fetched
    for f in files.values():
        assert pulp("artifact", "list", "--sha256", f["sha256"]) == []
    state.update(r3=repo, r3_files=files)


def test_distribute_on_demand(pulp, file_server, helpers):
    files = need("r3_files")
    # A file distribution that follows a repository serves its latest publication.
    pulp("file", "publication", "create", "--repository", "r3")
    dist = pulp("file", "distribution", "create", "--name", "d3", "--base-path", "d3",
                "--repository", "r3")
    assert dist["base_path"] == "d3"

    for relative_path, f in files.items():
        data = helpers.get_bytes(dist["base_url"] + relative_path)
        assert data == f["data"], relative_path

    fetched = set(file_server.requested("ondemand/"))
    assert {f"/ondemand/{rp}" for rp in files} <= fetched, fetched

    # the content app saved what it streamed
    for relative_path, f in files.items():
        artifacts = pulp("artifact", "list", "--sha256", f["sha256"])
        assert len(artifacts) == 1, (relative_path, artifacts)
        assert artifacts[0]["size"] == f["size"]

    # a second download is served locally, without asking the remote again
    before = len(file_server.requested("ondemand/"))
    first = sorted(files)[0]
    assert helpers.get_bytes(dist["base_url"] + first) == files[first]["data"]
    assert len(file_server.requested("ondemand/")) == before
    state.update(d3=dist)


# --------------------------------------------------------------------------------------
# tasks, orphans
# --------------------------------------------------------------------------------------


def test_tasks(pulp):
    sync_task = need("sync_task")
    tasks = pulp("task", "list", "--limit", "100")
    assert tasks, "task list is empty"
    by_href = {t["pulp_href"]: t for t in tasks}
    assert sync_task in by_href, sorted(by_href)
    # pulp-glue raises NotImplementedError on any other state
    known = {"waiting", "running", "canceling", "completed", "failed", "canceled"}
    assert {t["state"] for t in tasks} <= known, tasks

    shown = pulp("task", "show", "--href", sync_task)
    assert shown["pulp_href"] == sync_task
    assert shown["state"] == "completed"
    assert shown["finished_at"] is not None
    assert shown["error"] is None


def test_orphan_cleanup(pulp, tmp_path, helpers):
    data = os.urandom(1500)
    path = tmp_path / "orphan.bin"
    path.write_bytes(data)
    digest = helpers.sha256(data)
    unit = pulp("file", "content", "upload", "--file", path, "--relative-path", "orphan.bin")
    assert unit["sha256"] == digest
    assert len(pulp("artifact", "list", "--sha256", digest)) == 1

    pulp("orphan", "cleanup", "--protection-time", "0")

    assert pulp("file", "content", "list", "--sha256", digest) == []
    assert pulp("artifact", "list", "--sha256", digest) == []

    # content that is in a repository survives, and is still served
    if "f1" in state:
        f1 = state["f1"]
        assert len(pulp("file", "content", "list", "--sha256", f1["sha256"])) == 1
        assert len(pulp("artifact", "list", "--sha256", f1["sha256"])) == 1
    if "d2" in state:
        relative_path, f = sorted(state["r2_files"].items())[0]
        assert helpers.sha256(helpers.get_bytes(state["d2"]["base_url"] + relative_path)) \
            == f["sha256"]


def test_export_and_import(pulp, depot_server, tmp_path, helpers):
    """pulp-cli's exporter and export commands write Pulp's export format (chunked here); an
    importer made with pulp-cli reads it into another repository. The import itself goes over
    REST: pulp-cli 0.41 has no command that starts one."""
    data = os.urandom(3000)
    path = tmp_path / "exported.bin"
    path.write_bytes(data)
    pulp("file", "repository", "create", "--name", "exp-src")
    pulp("file", "content", "upload", "--repository", "exp-src", "--file", path,
         "--relative-path", "x/exported.bin")
    out = depot_server.data_dir / "exchange" / "out"
    exporter = pulp("exporter", "pulp", "create", "--name", "cli-exporter", "--path", str(out),
                    "--repository", "file:file:exp-src")
    assert exporter["last_export"] is None, exporter
    pulp("export", "pulp", "run", "--exporter", "cli-exporter", "--chunk-size", "1KB")
    exports = pulp("export", "pulp", "list", "--exporter", "cli-exporter")
    assert len(exports) == 1, exports
    toc = exports[0]["toc_info"]["file"]
    chunks = sorted(f for f in exports[0]["output_file_info"] if not f.endswith(".json"))
    assert len(chunks) >= 4 and all(os.path.getsize(c) == 1024 for c in chunks[:-1]), chunks

    pulp("file", "repository", "create", "--name", "exp-dest")
    importer = pulp("importer", "pulp", "create", "--name", "cli-importer",
                    "--repo-map", "exp-src", "exp-dest")
    assert importer["repo_mapping"] == {"exp-src": "exp-dest"}, importer
    resp = depot_server.request("POST", importer["pulp_href"] + "imports/", json_body={"toc": toc})
    assert resp.status == 202, resp
    group = resp.json()["task_group"]
    for _ in range(600):
        g = depot_server.request("GET", group).json()
        if g["tasks"] and g["waiting"] + g["running"] + g["canceling"] == 0:
            break
        time.sleep(0.05)
    assert g["completed"] == 2 and g["failed"] == 0, g
    units = pulp("file", "repository", "content", "list", "--repository", "exp-dest")
    assert content_set(units) == {("x/exported.bin", helpers.sha256(data))}, units
    assert [i["name"] for i in pulp("importer", "pulp", "list")] == ["cli-importer"]
    pulp("importer", "pulp", "destroy", "--name", "cli-importer")
    pulp("exporter", "pulp", "destroy", "--name", "cli-exporter")


def test_vulnerability_reports(pulp, depot_server):
    """pulp-cli's vulnerability-report group lists and shows what scans wrote. Scans ask OSV,
    which CI cannot reach: local-runner/tests/vulnerability_reports.rs scans against a stand-in
    of its API."""
    assert pulp("vulnerability-report", "list") == []
    missing = "/pulp/api/v3/vuln_report/00000000-0000-0000-0000-000000000000/"
    result = pulp.run("vulnerability-report", "show", "--href", missing)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    resp = depot_server.request("GET", "vuln_report/", auth=None)
    assert resp.status == 401, resp


# --------------------------------------------------------------------------------------
# bad input over plain HTTP
# --------------------------------------------------------------------------------------


def test_duplicate_repository_name_is_400(depot_server):
    first = depot_server.request("POST", "repositories/file/file/", json_body={"name": "dup"})
    assert first.status == 201, first
    second = depot_server.request("POST", "repositories/file/file/", json_body={"name": "dup"})
    assert second.status == 400, second
    assert second.content_type == "application/json", second
    assert "name" in second.json(), second


def test_unknown_field_is_400(depot_server):
    resp = depot_server.request("POST", "repositories/file/file/",
                                json_body={"name": "unknown-field", "bogus": 1})
    assert resp.status == 400, resp
    assert resp.content_type == "application/json", resp
    assert "bogus" in resp.json(), resp
    listed = depot_server.request("GET", "repositories/file/file/?name=unknown-field")
    assert listed.status == 200, listed
    assert listed.json()["count"] == 0, listed


def test_unknown_href_is_404(depot_server):
    resp = depot_server.request("GET", f"/pulp/api/v3/repositories/file/file/{uuid.uuid4()}/")
    assert resp.status == 404, resp
    assert resp.content_type == "application/json", resp
    assert "detail" in resp.json(), resp


def test_bad_credentials_are_401(depot_server):
    wrong = depot_server.request("GET", "repositories/file/file/", auth=("admin", "wrong"))
    assert wrong.status == 401, wrong
    anonymous = depot_server.request("GET", "repositories/file/file/", auth=None)
    assert anonymous.status == 401, anonymous


@pytest.mark.parametrize("relative_path", ["../x", "a/../../x", "/etc/x"])
def test_content_with_unsafe_relative_path_is_400(depot_server, helpers, relative_path):
    body, content_type = helpers.multipart({"relative_path": relative_path},
                                           {"file": ("x.bin", os.urandom(64))})
    resp = depot_server.request("POST", "content/file/files/", body=body,
                                headers={"Content-Type": content_type})
    assert resp.status == 400, resp
    assert resp.content_type == "application/json", resp
    assert "relative_path" in resp.json(), resp


def test_users(pulp, depot_server):
    """`pulp user`: create, list, show, update and destroy; the new user signs in with the
    password given, and (without roles) sees no repositories and may not make one."""
    name = "u" + uuid.uuid4().hex[:8]
    made = pulp("user", "create", "--username", name, "--password", "Sup3r-secret", "--email", f"{name}@example.com")
    assert made["username"] == name and isinstance(made["id"], int)
    assert {"name": "password", "is_set": True} in made["hidden_fields"]
    assert name in [u["username"] for u in pulp("user", "list", "--limit", "1000")]
    assert pulp("user", "show", "--username", name)["pulp_href"] == made["pulp_href"]
    pulp("user", "update", "--username", name, "--first-name", "Una", "--password", "")
    changed = pulp("user", "show", "--username", name)
    assert changed["first_name"] == "Una"
    assert {"name": "password", "is_set": False} in changed["hidden_fields"]
    pulp("user", "update", "--username", name, "--password", "An0ther-secret")
    resp = depot_server.request("GET", "repositories/file/file/", auth=(name, "An0ther-secret"))
    assert resp.status == 200 and resp.json()["count"] == 0, resp
    resp = depot_server.request("POST", "repositories/file/file/", json_body={"name": name},
                                auth=(name, "An0ther-secret"))
    assert resp.status == 403, resp
    pulp("user", "destroy", "--username", name)
    assert name not in [u["username"] for u in pulp("user", "list", "--limit", "1000")]


def test_roles(pulp):
    """Roles with pulp-cli, as its own role scripts drive them: locked and custom roles, roles
    given to users and groups model-wide and on one object, and what each lets a user do."""
    assert pulp("role", "show", "--name", "core.task_owner")["locked"] is True
    custom, user, group = ("r" + uuid.uuid4().hex[:8] + ".group_viewer",
                           "ru" + uuid.uuid4().hex[:8], "rg" + uuid.uuid4().hex[:8])
    password = "Yeech6ba-" + uuid.uuid4().hex[:6]
    made = pulp("role", "create", "--name", custom, "--permission", "core.view_group")
    assert made["permissions"] == ["core.view_group"] and made["locked"] is False
    pulp("user", "create", "--username", user, "--password", password)
    group_href = pulp("group", "create", "--name", group)["pulp_href"]
    as_user = pulp.as_user(user, password)

    # No roles: empty lists, nothing to show, nothing to make.
    assert as_user("task", "list") == []
    assert as_user("file", "repository", "list") == []
    assert as_user.run("group", "show", "--name", group).returncode != 0
    assert as_user.run("file", "repository", "create", "--name", user).returncode != 0

    # A custom role on one group, given and taken back.
    pulp("user", "role-assignment", "add", "--username", user, "--role", custom, "--object", group_href)
    given = pulp("user", "role-assignment", "list", "--username", user, "--role-in", custom,
                 "--object", group_href)
    assert len(given) == 1 and given[0]["content_object"] == group_href
    assert as_user("group", "show", "--name", group)["pulp_href"] == group_href
    pulp("user", "role-assignment", "remove", "--username", user, "--role", custom, "--object", group_href)
    assert as_user.run("group", "show", "--name", group).returncode != 0

    # The same through a group the user is in.
    pulp("group", "user", "add", "--group", group, "--username", user)
    pulp("group", "role-assignment", "add", "--group", group, "--role", custom, "--object", group_href)
    assert as_user("group", "show", "--name", group)["name"] == group
    pulp("group", "role-assignment", "remove", "--group", group, "--role", custom, "--object", group_href)
    assert as_user.run("group", "show", "--name", group).returncode != 0

    # Model-wide: the creator role lets the user make repositories, which they then own.
    pulp("user", "role-assignment", "add", "--username", user, "--role",
         "file.filerepository_creator", "--object", "")
    repo = as_user("file", "repository", "create", "--name", user)
    perms = as_user("file", "repository", "role", "my-permissions", "--name", user)["permissions"]
    assert "file.change_filerepository" in perms
    roles = pulp("file", "repository", "role", "list", "--name", user)["roles"]
    assert {"role": "file.filerepository_owner", "users": [user], "groups": []} in roles
    # Admin's repositories stay out of sight; an object role on one shows it.
    other = "ro" + uuid.uuid4().hex[:8]
    pulp("file", "repository", "create", "--name", other)
    assert as_user.run("file", "repository", "show", "--name", other).returncode != 0
    pulp("file", "repository", "role", "add", "--name", other, "--user", user,
         "--role", "file.filerepository_viewer")
    assert as_user("file", "repository", "show", "--name", other)["name"] == other
    assert as_user.run("file", "repository", "update", "--name", other,
                       "--retain-repo-versions", "1").returncode != 0
    assert sorted(r["name"] for r in as_user("file", "repository", "list")) == sorted([user, other])
    pulp("file", "repository", "role", "remove", "--name", other, "--user", user,
         "--role", "file.filerepository_viewer")
    assert as_user.run("file", "repository", "show", "--name", other).returncode != 0
    # Their own tasks, and only those, are theirs to see.
    as_user("file", "repository", "update", "--name", user, "--description", "mine")
    assert {t["name"] for t in as_user("task", "list")} == {"pulpcore.app.tasks.base.general_update"}

    for name in (user, other):
        pulp("file", "repository", "destroy", "--name", name)
    pulp("group", "destroy", "--name", group)
    pulp("user", "destroy", "--username", user)
    pulp("role", "destroy", "--name", custom)
    assert pulp.run("role", "show", "--name", custom).returncode != 0


def test_groups(pulp):
    """`pulp group`: create, show, list, add and remove a user, destroy."""
    name, user = "g" + uuid.uuid4().hex[:8], "gu" + uuid.uuid4().hex[:8]
    made = pulp("group", "create", "--name", name)
    assert made["name"] == name and isinstance(made["id"], int)
    assert pulp("group", "show", "--name", name)["pulp_href"] == made["pulp_href"]
    pulp("user", "create", "--username", user)
    pulp("group", "user", "add", "--group", name, "--username", user)
    assert [u["username"] for u in pulp("group", "user", "list", "--group", name)] == [user]
    assert pulp("user", "show", "--username", user)["groups"] == [{"name": name, "pulp_href": made["pulp_href"]}]
    pulp("group", "user", "remove", "--group", name, "--username", user)
    assert pulp("group", "user", "list", "--group", name) == []
    pulp("group", "destroy", "--name", name)
    assert name not in [g["name"] for g in pulp("group", "list")]
