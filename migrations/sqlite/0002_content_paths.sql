-- The content app finds a file by its relative path; without this index that means scanning
-- every file of the repository.
CREATE INDEX content_artifacts_path ON content_artifacts (relative_path);
