-- Python packages. The file is an artifact (content_artifacts.relative_path = filename); a
-- wheel's core metadata file is a second one at <filename>.metadata (PEP 658).
CREATE TABLE python_packages (
    content_id TEXT PRIMARY KEY REFERENCES contents (id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_normalized TEXT NOT NULL,
    version TEXT NOT NULL,
    packagetype TEXT NOT NULL,
    python_version TEXT NOT NULL,
    requires_python TEXT,
    size BIGINT NOT NULL,
    -- the core metadata as JSON (snake_case names, lists for fields that repeat)
    metadata TEXT NOT NULL,
    metadata_sha256 TEXT
);
CREATE INDEX python_packages_name ON python_packages (name_normalized);

-- Python distributions: whether twine may upload to them.
ALTER TABLE distributions ADD COLUMN allow_uploads BOOLEAN NOT NULL DEFAULT TRUE;
