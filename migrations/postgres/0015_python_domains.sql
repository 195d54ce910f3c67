-- Python packages belong to their content's domain: a package's sha256 is unique per domain.
ALTER TABLE python_packages ADD COLUMN domain_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE python_packages DROP CONSTRAINT python_packages_sha256_key;
CREATE UNIQUE INDEX python_packages_domain_sha256 ON python_packages (domain_id, sha256);
