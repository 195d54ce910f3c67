-- Upstream files that failed their digest when fetched for on-demand content: they are not
-- asked again for a while (Pulp's REMOTE_CONTENT_FETCH_FAILURE_COOLDOWN). One row per remote
-- and URL, for a remote's and an alternate content source's files alike.
CREATE TABLE source_failures (
    remote_id TEXT NOT NULL REFERENCES remotes (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    failed_at TEXT NOT NULL,
    PRIMARY KEY (remote_id, url)
);
CREATE INDEX source_failures_time ON source_failures (failed_at);
