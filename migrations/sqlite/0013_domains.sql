-- Pulp's domains: every tenant's repositories, remotes, distributions, content guards, uploads
-- and tasks belong to one, and names are unique within a domain, not across them (one tenant
-- must not learn another's names from a refused create). The `default` domain holds everything
-- made before; its storage and switches are the deployment's (empty storage_class).
-- SQLite cannot change a table's UNIQUE constraints in place: after this file, the migration
-- runner rebuilds remotes, repositories, distributions and content_guards without their
-- single-column UNIQUEs (db.rs, DOMAIN_REBUILDS); the per-domain ones are indexes below.
CREATE TABLE domains (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    pulp_labels TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    storage_settings TEXT NOT NULL,
    redirect_to_object_storage INTEGER NOT NULL,
    hide_guarded_distributions INTEGER NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
INSERT INTO domains VALUES ('00000000-0000-0000-0000-000000000000', 'default', NULL, '{}', '', '{}',
    1, 0, strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now'), strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now'));

ALTER TABLE remotes ADD COLUMN domain_id TEXT NOT NULL
    DEFAULT '00000000-0000-0000-0000-000000000000' REFERENCES domains (id);
ALTER TABLE repositories ADD COLUMN domain_id TEXT NOT NULL
    DEFAULT '00000000-0000-0000-0000-000000000000' REFERENCES domains (id);
ALTER TABLE distributions ADD COLUMN domain_id TEXT NOT NULL
    DEFAULT '00000000-0000-0000-0000-000000000000' REFERENCES domains (id);
ALTER TABLE content_guards ADD COLUMN domain_id TEXT NOT NULL
    DEFAULT '00000000-0000-0000-0000-000000000000' REFERENCES domains (id);
CREATE UNIQUE INDEX remotes_domain_name ON remotes (domain_id, name);
CREATE UNIQUE INDEX repositories_domain_name ON repositories (domain_id, name);
CREATE UNIQUE INDEX distributions_domain_name ON distributions (domain_id, name);
CREATE UNIQUE INDEX distributions_domain_base_path ON distributions (domain_id, base_path);
CREATE UNIQUE INDEX content_guards_domain_name ON content_guards (domain_id, name);

ALTER TABLE uploads ADD COLUMN domain_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE tasks ADD COLUMN domain_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
CREATE INDEX tasks_domain ON tasks (domain_id, created);
