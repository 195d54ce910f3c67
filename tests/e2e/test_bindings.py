"""The core pulp_file workflow through the generated Python bindings.

pulpcore-client / pulp-file-client 3.123.1 validate every response with strict
pydantic models, so these tests also prove the response shapes. A binding that
gets a status code it does not expect returns None instead of a model, hence the
isinstance checks.

Like test_pulp_cli.py, the steps run in file order and share `state`.
"""

import os
import time

import pytest
from pulpcore.client import pulp_file, pulpcore

TASK_TIMEOUT = 60  # seconds
TASK_POLL = 0.2  # seconds

state = {}


def need(*keys):
    missing = [key for key in keys if key not in state]
    if missing:
        pytest.skip(f"an earlier step did not provide: {', '.join(missing)}")
    return state[keys[0]] if len(keys) == 1 else [state[key] for key in keys]


@pytest.fixture(scope="module")
def core_client(depot_server):
    config = pulpcore.Configuration(host=depot_server.base_url, username=depot_server.username,
                                    password=depot_server.password)
    with pulpcore.ApiClient(config) as client:
        yield client


@pytest.fixture(scope="module")
def file_client(depot_server):
    config = pulp_file.Configuration(host=depot_server.base_url, username=depot_server.username,
                                     password=depot_server.password)
    with pulp_file.ApiClient(config) as client:
        yield client


@pytest.fixture(scope="module")
def tasks_api(core_client):
    return pulpcore.TasksApi(core_client)


def wait_task(tasks_api, task_href):
    """Poll a task until it is final; return it if completed, fail otherwise."""
    deadline = time.monotonic() + TASK_TIMEOUT
    while True:
        task = tasks_api.read(task_href)
        assert isinstance(task, pulpcore.TaskResponse), task
        if task.state == "completed":
            return task
        if task.state in ("failed", "canceled", "skipped"):
            pytest.fail(f"task {task_href} ended {task.state}: {task.error}")
        if time.monotonic() > deadline:
            pytest.fail(f"task {task_href} still {task.state} after {TASK_TIMEOUT}s")
        time.sleep(TASK_POLL)


def created(task, prefix):
    """The single created resource whose href starts with `prefix`."""
    hrefs = [href for href in task.created_resources or [] if href.startswith(prefix)]
    assert len(hrefs) == 1, (prefix, task.created_resources)
    return hrefs[0]


def test_status(core_client):
    status = pulpcore.StatusApi(core_client).status_read()
    assert isinstance(status, pulpcore.StatusResponse), status
    components = {v.component for v in status.versions}
    assert {"core", "file"} <= components, components
    assert status.database_connection.connected is True


def test_create_repository(file_client):
    repo = pulp_file.RepositoriesFileApi(file_client).create(
        pulp_file.FileFileRepository(name="bind-r1"))
    assert isinstance(repo, pulp_file.FileFileRepositoryResponse), repo
    assert repo.name == "bind-r1"
    assert repo.latest_version_href == repo.pulp_href + "versions/0/"

    listed = pulp_file.RepositoriesFileApi(file_client).list(name="bind-r1")
    assert listed.count == 1 and listed.results[0].pulp_href == repo.pulp_href
    state["repo"] = repo


def test_upload_content(file_client, core_client, tasks_api, tmp_path, helpers):
    repo = need("repo")
    data = os.urandom(3000)
    path = tmp_path / "one.bin"
    path.write_bytes(data)

    response = pulp_file.ContentFilesApi(file_client).create(
        relative_path="bind/one.bin", file=str(path), repository=repo.pulp_href)
    assert isinstance(response, pulp_file.AsyncOperationResponse), response
    task = wait_task(tasks_api, response.task)
    content_href = created(task, "/pulp/api/v3/content/file/files/")
    version_href = created(task, repo.pulp_href + "versions/")
    assert version_href == repo.pulp_href + "versions/1/"

    unit = pulp_file.ContentFilesApi(file_client).read(content_href)
    assert isinstance(unit, pulp_file.FileFileContentResponse), unit
    assert unit.relative_path == "bind/one.bin"
    assert unit.sha256 == helpers.sha256(data)

    artifacts = pulpcore.ArtifactsApi(core_client).list(sha256=unit.sha256)
    assert artifacts.count == 1 and artifacts.results[0].size == len(data)
    state["uploaded"] = {"bind/one.bin": {"sha256": unit.sha256, "data": data}}


def test_remote_and_sync(file_client, tasks_api, file_server, make_file_tree):
    repo = need("repo")
    files = make_file_tree(file_server.root / "bindings", 4)
    remote = pulp_file.RemotesFileApi(file_client).create(pulp_file.FileFileRemote(
        name="bind-rem", url=file_server.url("bindings/PULP_MANIFEST"), policy="immediate"))
    assert isinstance(remote, pulp_file.FileFileRemoteResponse), remote
    assert remote.policy == "immediate"

    response = pulp_file.RepositoriesFileApi(file_client).sync(
        repo.pulp_href, pulp_file.FileRepositorySyncURL(remote=remote.pulp_href))
    assert isinstance(response, pulp_file.AsyncOperationResponse), response
    task = wait_task(tasks_api, response.task)
    version_href = created(task, repo.pulp_href + "versions/")
    state.update(synced=files, sync_version=version_href)


def test_versions_and_content(file_client):
    repo, uploaded, synced = need("repo", "uploaded", "synced")
    expected = {**uploaded, **synced}
    versions = pulp_file.RepositoriesFileVersionsApi(file_client).list(repo.pulp_href)
    assert versions.count == 3
    assert [v.number for v in versions.results] == [2, 1, 0]
    latest = versions.results[0]
    assert isinstance(latest, pulp_file.RepositoryVersionResponse), latest
    assert latest.content_summary.present["file.file"]["count"] == len(expected)
    assert latest.content_summary.added["file.file"]["count"] == len(synced)

    page = pulp_file.ContentFilesApi(file_client).list(repository_version=latest.pulp_href,
                                                       limit=100)
    assert page.count == len(expected)
    assert {(u.relative_path, u.sha256) for u in page.results} == {
        (rp, f["sha256"]) for rp, f in expected.items()
    }
    state["latest"] = latest


def test_publish_and_distribute(file_client, tasks_api, helpers):
    repo, latest, uploaded, synced = need("repo", "latest", "uploaded", "synced")
    response = pulp_file.PublicationsFileApi(file_client).create(
        pulp_file.FileFilePublication(repository=repo.pulp_href))
    assert isinstance(response, pulp_file.AsyncOperationResponse), response
    task = wait_task(tasks_api, response.task)
    publication_href = created(task, "/pulp/api/v3/publications/file/file/")
    publication = pulp_file.PublicationsFileApi(file_client).read(publication_href)
    assert isinstance(publication, pulp_file.FileFilePublicationResponse), publication
    assert publication.repository_version == latest.pulp_href

    response = pulp_file.DistributionsFileApi(file_client).create(pulp_file.FileFileDistribution(
        name="bind-d", base_path="bind-d", publication=publication_href))
    assert isinstance(response, pulp_file.AsyncOperationResponse), response
    task = wait_task(tasks_api, response.task)
    dist_href = created(task, "/pulp/api/v3/distributions/file/file/")
    dist = pulp_file.DistributionsFileApi(file_client).read(dist_href)
    assert isinstance(dist, pulp_file.FileFileDistributionResponse), dist
    assert dist.publication == publication_href
    assert dist.base_url.endswith("/pulp/content/bind-d/"), dist.base_url

    for relative_path, f in {**uploaded, **synced}.items():
        data = helpers.get_bytes(dist.base_url + relative_path)
        assert helpers.sha256(data) == f["sha256"], relative_path


def test_task_list(tasks_api):
    need("repo")
    page = tasks_api.list(limit=100)
    assert isinstance(page, pulpcore.PaginatedTaskResponseList), page
    assert page.count >= 1 and len(page.results) == min(page.count, 100)
    for task in page.results:
        assert isinstance(task, pulpcore.TaskResponse)
