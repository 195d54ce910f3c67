-- Container blobs, manifests and namespaces belong to a domain: a digest (and a namespace's
-- name) is unique per domain. The old UNIQUEs go with a rebuild after this file (the
-- container plugin's descriptor); tags follow their manifests.
ALTER TABLE container_blobs ADD COLUMN domain_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE container_manifests ADD COLUMN domain_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE container_namespaces ADD COLUMN domain_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
CREATE UNIQUE INDEX container_blobs_domain_digest ON container_blobs (domain_id, digest);
CREATE UNIQUE INDEX container_manifests_domain_digest ON container_manifests (domain_id, digest);
CREATE UNIQUE INDEX container_namespaces_domain_name ON container_namespaces (domain_id, name);
