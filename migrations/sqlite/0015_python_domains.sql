-- Python packages belong to their content's domain: a package's sha256 is unique per domain
-- (the old UNIQUE goes with a rebuild after this file, the python plugin's descriptor).
ALTER TABLE python_packages ADD COLUMN domain_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
CREATE UNIQUE INDEX python_packages_domain_sha256 ON python_packages (domain_id, sha256);
