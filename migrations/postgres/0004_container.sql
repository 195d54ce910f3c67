-- The key under which a content unit is unique within a repository version (Pulp's
-- repo_key_fields): a file's relative path, a container tag's name, a manifest's or blob's
-- digest. Adding a unit replaces the unit of the same type and key.
ALTER TABLE contents ADD COLUMN repo_key TEXT;
UPDATE contents SET repo_key = (
    SELECT relative_path FROM file_contents f WHERE f.content_id = contents.id
) WHERE pulp_type = 'file.file';

-- Container content. Blob bytes are artifacts (content_artifacts.relative_path = digest);
-- manifests are kept in the database byte for byte, as pushed or fetched.
CREATE TABLE container_blobs (
    content_id TEXT PRIMARY KEY REFERENCES contents (id) ON DELETE CASCADE,
    digest TEXT NOT NULL UNIQUE
);

CREATE TABLE container_manifests (
    content_id TEXT PRIMARY KEY REFERENCES contents (id) ON DELETE CASCADE,
    digest TEXT NOT NULL UNIQUE,
    schema_version BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    -- image, index or artifact
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    config_blob_id TEXT REFERENCES container_blobs (content_id),
    -- OCI 1.1: the digest of the manifest this one refers to, and its artifact type
    subject TEXT,
    artifact_type TEXT,
    annotations TEXT NOT NULL
);
CREATE INDEX container_manifests_subject ON container_manifests (subject);

-- The config and layer blobs an image manifest references.
CREATE TABLE container_manifest_blobs (
    manifest_id TEXT NOT NULL REFERENCES container_manifests (content_id) ON DELETE CASCADE,
    blob_id TEXT NOT NULL REFERENCES container_blobs (content_id),
    PRIMARY KEY (manifest_id, blob_id)
);
CREATE INDEX container_manifest_blobs_blob ON container_manifest_blobs (blob_id);

-- The manifests an index (manifest list) lists, with their platform.
CREATE TABLE container_listed_manifests (
    list_id TEXT NOT NULL REFERENCES container_manifests (content_id) ON DELETE CASCADE,
    manifest_id TEXT NOT NULL REFERENCES container_manifests (content_id),
    architecture TEXT,
    os TEXT,
    variant TEXT,
    PRIMARY KEY (list_id, manifest_id)
);

-- A tag row never changes: moving a tag makes a new row in a new repository version.
CREATE TABLE container_tags (
    content_id TEXT PRIMARY KEY REFERENCES contents (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    manifest_id TEXT NOT NULL REFERENCES container_manifests (content_id),
    UNIQUE (name, manifest_id)
);

-- Pushed blobs and manifests not (yet) in a repository version: visible to pulls of that
-- repository, as in pulp_container.
CREATE TABLE container_pending (
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    content_id TEXT NOT NULL REFERENCES contents (id) ON DELETE CASCADE,
    created TEXT NOT NULL,
    PRIMARY KEY (repository_id, content_id)
);

-- Blob uploads in progress. Chunks live in upload_chunks; a single streamed PATCH becomes an
-- artifact at once (artifact_id), checked against the digest when the upload is closed.
CREATE TABLE container_uploads (
    id TEXT PRIMARY KEY REFERENCES uploads (id) ON DELETE CASCADE,
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    artifact_id TEXT REFERENCES artifacts (id),
    created TEXT NOT NULL
);

-- Container distributions: hidden from anonymous pulls and the catalog when private.
ALTER TABLE distributions ADD COLUMN private BOOLEAN NOT NULL DEFAULT FALSE;
