-- Alternate content sources (Pulp's AlternateContentSource): a remote of the same type whose
-- files a sync or an on-demand fetch may take instead of the primary remote's, matched by
-- sha256. A refresh records what each path offers in acs_files (Pulp keeps a hidden
-- repository per path for this; a table of checksums is all a lookup needs).
CREATE TABLE acs (
    id TEXT PRIMARY KEY,
    pulp_type TEXT NOT NULL,
    name TEXT NOT NULL,
    remote_id TEXT NOT NULL REFERENCES remotes (id),
    last_refreshed TEXT,
    domain_id TEXT NOT NULL REFERENCES domains (id),
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE UNIQUE INDEX acs_domain_name ON acs (domain_id, name);
CREATE INDEX acs_remote ON acs (remote_id);

CREATE TABLE acs_paths (
    id TEXT PRIMARY KEY,
    acs_id TEXT NOT NULL REFERENCES acs (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    UNIQUE (acs_id, path)
);

CREATE TABLE acs_files (
    acs_path_id TEXT NOT NULL REFERENCES acs_paths (id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    url TEXT NOT NULL,
    size BIGINT,
    PRIMARY KEY (acs_path_id, sha256)
);
CREATE INDEX acs_files_sha256 ON acs_files (sha256);

-- Task groups belong to the domain of the request that made them, as their tasks do.
ALTER TABLE task_groups ADD COLUMN domain_id TEXT NOT NULL
    DEFAULT '00000000-0000-0000-0000-000000000000';
