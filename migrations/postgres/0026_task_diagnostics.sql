-- Task diagnostics (Pulp's X-TASK-DIAGNOSTICS): what a task's dispatcher asked to have
-- measured, and the files made of it (Pulp's profile artifacts), each an artifact.
ALTER TABLE tasks ADD COLUMN diagnostics TEXT;
CREATE TABLE task_profile_artifacts (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    artifact_id TEXT NOT NULL REFERENCES artifacts (id),
    PRIMARY KEY (task_id, name)
);
CREATE INDEX task_profile_artifacts_artifact ON task_profile_artifacts (artifact_id);
