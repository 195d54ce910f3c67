-- Exporters and importers (Pulp's PulpExporter, FilesystemExporter, PulpImporter) and the
-- exports and imports each has run. What an export wrote (its files, their checksums, the
-- table of contents) is kept as Pulp shows it; the versions or publication it exported are
-- kept by id in exported_resources, so that an incremental export finds its starting point.
CREATE TABLE exporters (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    method TEXT,
    last_export_id TEXT,
    domain_id TEXT NOT NULL REFERENCES domains (id),
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE UNIQUE INDEX exporters_domain_name ON exporters (domain_id, kind, name);

CREATE TABLE exporter_repositories (
    exporter_id TEXT NOT NULL REFERENCES exporters (id) ON DELETE CASCADE,
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    PRIMARY KEY (exporter_id, repository_id)
);
CREATE INDEX exporter_repositories_repository ON exporter_repositories (repository_id);

CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    exporter_id TEXT NOT NULL REFERENCES exporters (id) ON DELETE CASCADE,
    task_id TEXT,
    params TEXT NOT NULL,
    exported_resources TEXT NOT NULL,
    output_file_info TEXT,
    toc_info TEXT,
    domain_id TEXT NOT NULL REFERENCES domains (id),
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX exports_exporter ON exports (exporter_id, created);

CREATE TABLE importers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    domain_id TEXT NOT NULL REFERENCES domains (id),
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE UNIQUE INDEX importers_domain_name ON importers (domain_id, name);

-- An importer's repo_mapping: the repository named source_repo in an export goes into
-- repository_id here.
CREATE TABLE importer_repositories (
    importer_id TEXT NOT NULL REFERENCES importers (id) ON DELETE CASCADE,
    source_repo TEXT NOT NULL,
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    PRIMARY KEY (importer_id, source_repo)
);
CREATE INDEX importer_repositories_repository ON importer_repositories (repository_id);

CREATE TABLE imports (
    id TEXT PRIMARY KEY,
    importer_id TEXT NOT NULL REFERENCES importers (id) ON DELETE CASCADE,
    task_id TEXT,
    params TEXT NOT NULL,
    domain_id TEXT NOT NULL REFERENCES domains (id),
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX imports_importer ON imports (importer_id, created);

-- Pulp's GroupProgressReport: progress over a task group's tasks (an import's repositories).
CREATE TABLE group_progress_reports (
    task_group_id TEXT NOT NULL REFERENCES task_groups (id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    total BIGINT,
    done BIGINT NOT NULL,
    PRIMARY KEY (task_group_id, code)
);
