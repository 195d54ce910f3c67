-- Depot schema, version 1. Ids are UUID text, timestamps are ISO-8601 UTC text with microseconds
-- (they sort as text), JSON values are text, booleans are INTEGER 0/1 (sqlx's Any driver cannot
-- read SQLite's BOOLEAN type). The PostgreSQL set mirrors this file.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_superuser INTEGER NOT NULL,
    created TEXT NOT NULL
);

-- One row; every task dispatch and every reservation decision first updates it. That serialises
-- the decisions on both engines (a row lock on PostgreSQL, the write lock on SQLite) and hands
-- out the dispatch order.
CREATE TABLE task_lock (
    id BIGINT PRIMARY KEY,
    counter BIGINT NOT NULL
);
INSERT INTO task_lock (id, counter) VALUES (1, 0);

CREATE TABLE task_groups (
    id TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    all_tasks_dispatched INTEGER NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    handler TEXT NOT NULL,
    state TEXT NOT NULL,
    args TEXT NOT NULL,
    logging_cid TEXT NOT NULL,
    created_by TEXT,
    task_group_id TEXT,
    parent_task_id TEXT,
    exclusive_resources TEXT NOT NULL,
    shared_resources TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    unblocked_at TEXT,
    started_at TEXT,
    finished_at TEXT,
    heartbeat TEXT,
    worker TEXT,
    error TEXT,
    progress_reports TEXT NOT NULL,
    created_resources TEXT NOT NULL,
    result TEXT
);
CREATE INDEX tasks_state ON tasks (state, seq);
CREATE INDEX tasks_created ON tasks (created);

CREATE TABLE artifacts (
    id TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    size BIGINT NOT NULL,
    md5 TEXT,
    sha1 TEXT,
    sha224 TEXT,
    sha256 TEXT NOT NULL UNIQUE,
    sha384 TEXT,
    sha512 TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);

CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);

CREATE TABLE upload_chunks (
    upload_id TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    start_offset BIGINT NOT NULL,
    size BIGINT NOT NULL,
    storage_key TEXT NOT NULL,
    PRIMARY KEY (upload_id, start_offset)
);

CREATE TABLE remotes (
    id TEXT PRIMARY KEY,
    pulp_type TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    policy TEXT NOT NULL,
    pulp_labels TEXT NOT NULL,
    settings TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);

CREATE TABLE repositories (
    id TEXT PRIMARY KEY,
    pulp_type TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    pulp_labels TEXT NOT NULL,
    retain_repo_versions BIGINT,
    retain_checkpoints BIGINT,
    remote_id TEXT REFERENCES remotes (id) ON DELETE SET NULL,
    autopublish INTEGER NOT NULL,
    manifest TEXT,
    latest_number BIGINT NOT NULL,
    next_number BIGINT NOT NULL,
    last_sync_details TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);

CREATE TABLE repository_versions (
    id TEXT PRIMARY KEY,
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    base_version_id TEXT,
    content_summary TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    UNIQUE (repository_id, number)
);

-- Master content record; the per-type detail lives in its own table (file_contents, ...).
CREATE TABLE contents (
    id TEXT PRIMARY KEY,
    pulp_type TEXT NOT NULL,
    pulp_labels TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);

CREATE TABLE file_contents (
    content_id TEXT PRIMARY KEY REFERENCES contents (id) ON DELETE CASCADE,
    relative_path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT,
    UNIQUE (relative_path, sha256)
);
CREATE INDEX file_contents_sha256 ON file_contents (sha256);

-- The files a content unit is made of. artifact_id is NULL until an on-demand file is fetched.
CREATE TABLE content_artifacts (
    id TEXT PRIMARY KEY,
    content_id TEXT NOT NULL REFERENCES contents (id) ON DELETE CASCADE,
    artifact_id TEXT REFERENCES artifacts (id),
    relative_path TEXT NOT NULL,
    UNIQUE (content_id, relative_path)
);
CREATE INDEX content_artifacts_artifact ON content_artifacts (artifact_id);

-- Where an on-demand file can be fetched from.
CREATE TABLE remote_artifacts (
    id TEXT PRIMARY KEY,
    content_artifact_id TEXT NOT NULL REFERENCES content_artifacts (id) ON DELETE CASCADE,
    remote_id TEXT NOT NULL REFERENCES remotes (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    size BIGINT,
    sha256 TEXT,
    UNIQUE (content_artifact_id, remote_id)
);

-- Content membership as ranges of version numbers: a unit is in version n when
-- version_added <= n and (version_removed IS NULL or version_removed > n).
CREATE TABLE repository_contents (
    id TEXT PRIMARY KEY,
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    content_id TEXT NOT NULL REFERENCES contents (id),
    version_added BIGINT NOT NULL,
    version_removed BIGINT
);
CREATE INDEX repository_contents_added ON repository_contents (repository_id, version_added);
CREATE INDEX repository_contents_removed ON repository_contents (repository_id, version_removed);
CREATE INDEX repository_contents_content ON repository_contents (content_id);

CREATE TABLE publications (
    id TEXT PRIMARY KEY,
    pulp_type TEXT NOT NULL,
    repository_version_id TEXT NOT NULL REFERENCES repository_versions (id) ON DELETE CASCADE,
    manifest TEXT,
    checkpoint INTEGER NOT NULL,
    pass_through INTEGER NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);

-- Files a publication serves: either a content artifact (by relative path) or a generated
-- metadata artifact such as PULP_MANIFEST.
CREATE TABLE published_files (
    publication_id TEXT NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
    relative_path TEXT NOT NULL,
    content_artifact_id TEXT,
    artifact_id TEXT,
    PRIMARY KEY (publication_id, relative_path)
);

CREATE TABLE distributions (
    id TEXT PRIMARY KEY,
    pulp_type TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    base_path TEXT NOT NULL UNIQUE,
    pulp_labels TEXT NOT NULL,
    hidden INTEGER NOT NULL,
    content_guard TEXT,
    repository_id TEXT REFERENCES repositories (id) ON DELETE SET NULL,
    repository_version_id TEXT REFERENCES repository_versions (id) ON DELETE SET NULL,
    publication_id TEXT REFERENCES publications (id) ON DELETE SET NULL,
    checkpoint INTEGER NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
