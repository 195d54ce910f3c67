-- Content and artifacts belong to a domain, as in Pulp: the same file uploaded in two domains is
-- two rows, so nothing one tenant stores shows in, or changes, what another's uploads and syncs
-- do. Artifacts of domains other than `default` are stored under their own keys
-- (`domains/<id>/artifact/...`).
ALTER TABLE contents ADD COLUMN domain_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE artifacts ADD COLUMN domain_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE file_contents ADD COLUMN domain_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
CREATE INDEX contents_domain ON contents (domain_id, created);
ALTER TABLE artifacts DROP CONSTRAINT artifacts_sha256_key;
CREATE UNIQUE INDEX artifacts_domain_sha256 ON artifacts (domain_id, sha256);
ALTER TABLE file_contents DROP CONSTRAINT file_contents_relative_path_sha256_key;
CREATE UNIQUE INDEX file_contents_domain_key ON file_contents (domain_id, relative_path, sha256);
