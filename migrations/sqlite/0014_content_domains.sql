-- Content and artifacts belong to a domain, as in Pulp: the same file uploaded in two domains is
-- two rows, so nothing one tenant stores shows in, or changes, what another's uploads and syncs
-- do. Artifacts of domains other than `default` are stored under their own keys
-- (`domains/<id>/artifact/...`). The single-column UNIQUEs go with a rebuild after this file
-- (db.rs, CONTENT_REBUILDS); the per-domain ones are indexes below.
ALTER TABLE contents ADD COLUMN domain_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE artifacts ADD COLUMN domain_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE file_contents ADD COLUMN domain_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
CREATE INDEX contents_domain ON contents (domain_id, created);
CREATE UNIQUE INDEX artifacts_domain_sha256 ON artifacts (domain_id, sha256);
CREATE UNIQUE INDEX file_contents_domain_key ON file_contents (domain_id, relative_path, sha256);
