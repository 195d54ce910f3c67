"""API rules: labels on every labeled resource (through pulp-cli where it has commands), the
distribution rules that must be a 400 before any task runs, pagination and field selection,
and deletes."""

import uuid


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_labels_through_the_cli_and_label_select(pulp, depot_server):
    name = unique("lbl")
    pulp("file", "repository", "create", "--name", name)
    pulp("file", "repository", "label", "set", "--repository", name, "--key", "env", "--value", "prod")
    shown = pulp("file", "repository", "show", "--name", name)
    assert shown["pulp_labels"] == {"env": "prod"}
    listed = depot_server.request("GET", f"repositories/file/file/?pulp_label_select=env=prod&name={name}").json()
    assert listed["count"] == 1
    assert depot_server.request("GET", f"repositories/file/file/?pulp_label_select=env!=prod&name={name}").json()["count"] == 0
    pulp("file", "repository", "label", "unset", "--repository", name, "--key", "env")
    assert pulp("file", "repository", "show", "--name", name)["pulp_labels"] == {}


def test_label_actions_on_remotes_distributions_and_content(depot_server, helpers):
    remote = depot_server.request("POST", "remotes/file/file/", {"name": unique("r"), "url": "http://127.0.0.1:9/PULP_MANIFEST"}).json()
    body, ctype = helpers.multipart({"relative_path": unique("c") + ".txt"}, {"file": ("c", uuid.uuid4().bytes)})
    content = depot_server.request("POST", "content/file/files/upload/", body=body, headers={"Content-Type": ctype}).json()
    for href in (remote["pulp_href"], content["pulp_href"]):
        resp = depot_server.request("POST", href + "set_label/", {"key": "team", "value": "core"})
        assert resp.status == 201, resp
        assert resp.json() == {"key": "team", "value": "core"}
        assert depot_server.request("GET", href).json()["pulp_labels"] == {"team": "core"}
        resp = depot_server.request("POST", href + "unset_label/", {"key": "team"})
        assert resp.status == 201 and resp.json()["value"] == "core", resp
        resp = depot_server.request("POST", href + "unset_label/", {"key": "team"})
        assert resp.status == 400 and "key" in resp.json(), resp
    resp = depot_server.request("POST", content["pulp_href"] + "set_label/", {"key": "bad key!", "value": "x"})
    assert resp.status == 400, resp


def test_overlapping_base_paths_and_duplicate_names_are_400(depot_server):
    base = unique("bp")
    name = unique("dist")
    resp = depot_server.request("POST", "distributions/file/file/", {"name": name, "base_path": base})
    assert resp.status == 202, resp
    tasks_before = depot_server.request("GET", "tasks/?limit=1").json()["count"]
    for bad in (
        {"name": unique("d"), "base_path": f"{base}/nested"},
        {"name": unique("d"), "base_path": base},
        {"name": name, "base_path": unique("other")},
        {"name": unique("d"), "base_path": "/abs"},
        {"name": unique("d"), "base_path": "a/../b"},
    ):
        resp = depot_server.request("POST", "distributions/file/file/", bad)
        assert resp.status == 400, (bad, resp)
        assert resp.content_type == "application/json"
        assert set(resp.json()) & {"base_path", "name"}, resp
    # Refused before dispatch: no task was created for them.
    assert depot_server.request("GET", "tasks/?limit=1").json()["count"] == tasks_before


def test_pagination_ordering_and_field_selection(depot_server):
    prefix = unique("page")
    for i in range(5):
        assert depot_server.request("POST", "repositories/file/file/", {"name": f"{prefix}-{i}"}).status == 201
    query = f"repositories/file/file/?name__startswith={prefix}&limit=2"
    page = depot_server.request("GET", query + "&ordering=-name").json()
    assert page["count"] == 5 and page["previous"] is None
    assert [r["name"] for r in page["results"]] == [f"{prefix}-4", f"{prefix}-3"]
    names = [r["name"] for r in page["results"]]
    while page["next"]:
        page = depot_server.request("GET", page["next"]).json()
        names += [r["name"] for r in page["results"]]
    assert names == [f"{prefix}-{i}" for i in (4, 3, 2, 1, 0)]
    assert page["previous"] is not None

    trimmed = depot_server.request("GET", query + "&fields=name&fields=pulp_href").json()["results"][0]
    assert set(trimmed) == {"name", "pulp_href"}
    trimmed = depot_server.request("GET", query + "&exclude_fields=pulp_labels,description").json()["results"][0]
    assert "pulp_labels" not in trimmed and "description" not in trimmed and "name" in trimmed
    resp = depot_server.request("GET", query + "&ordering=nonsense")
    assert resp.status == 400 and "ordering" in resp.json(), resp
    resp = depot_server.request("GET", query.replace("limit=2", "limit=-1"))
    assert resp.status == 400, resp


def test_deletes(pulp, depot_server, helpers):
    name = unique("del")
    repo = pulp("file", "repository", "create", "--name", name)
    body, ctype = helpers.multipart({"relative_path": "d.txt", "repository": repo["pulp_href"]}, {"file": ("d", b"delete me")})
    resp = depot_server.request("POST", "content/file/files/", body=body, headers={"Content-Type": ctype})
    assert resp.status == 202
    publication = pulp("file", "publication", "create", "--repository", name)
    pulp("file", "distribution", "create", "--name", name, "--base-path", name, "--publication", publication["pulp_href"])
    remote = pulp("file", "remote", "create", "--name", name, "--url", "http://127.0.0.1:9/PULP_MANIFEST")

    def finished(resp):
        assert resp.status == 202, resp
        return depot_server.wait_task(resp.json()["task"])

    # Version 0 can go; a version a distribution serves cannot (Pulp's 400), nor the last one.
    assert finished(depot_server.request("DELETE", repo["pulp_href"] + "versions/0/"))["state"] == "completed"
    assert depot_server.request("GET", repo["pulp_href"] + "versions/0/").status == 404
    resp = depot_server.request("DELETE", repo["pulp_href"] + "versions/1/")
    assert resp.status == 400 and "cannot be deleted" in str(resp.json()), resp

    resp = depot_server.request("DELETE", publication["pulp_href"])
    assert resp.status == 204, resp
    assert depot_server.request("GET", publication["pulp_href"]).status == 404
    task = finished(depot_server.request("DELETE", repo["pulp_href"] + "versions/1/"))
    assert task["state"] == "failed" and "at least one repository version" in task["error"]["description"]
    pulp("file", "distribution", "destroy", "--name", name)
    pulp("file", "remote", "destroy", "--name", name)
    pulp("file", "repository", "destroy", "--name", name)
    for href in (repo["pulp_href"], remote["pulp_href"]):
        resp = depot_server.request("GET", href)
        assert resp.status == 404 and resp.content_type == "application/json", resp
    assert depot_server.request("GET", f"distributions/file/file/?name={name}").json()["count"] == 0
