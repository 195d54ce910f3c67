-- Pulp's content guards: who may fetch what a distribution serves (`distributions.content_guard`
-- holds a guard's id). Header guards keep the header, the value and an optional filter;
-- content-redirect guards their signing secret (encrypted as remote secrets are); composite
-- guards list their members, in order.
CREATE TABLE content_guards (
    id TEXT PRIMARY KEY,
    pulp_type TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    header_name TEXT,
    header_value TEXT,
    jq_filter TEXT,
    shared_secret TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE content_guard_members (
    composite_id TEXT NOT NULL REFERENCES content_guards (id) ON DELETE CASCADE,
    guard_id TEXT NOT NULL REFERENCES content_guards (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    PRIMARY KEY (composite_id, guard_id)
);
CREATE INDEX distributions_content_guard ON distributions (content_guard);
