-- Pulp's access policies, one per viewset: the defaults code defines, written at every
-- migrating start unless a client changed them ('customized'). Statements, creation hooks and
-- queryset scoping are JSON text, kept as clients wrote them.
CREATE TABLE access_policies (
    id TEXT PRIMARY KEY,
    viewset_name TEXT NOT NULL UNIQUE,
    statements TEXT NOT NULL,
    creation_hooks TEXT NOT NULL,
    queryset_scoping TEXT,
    customized INTEGER NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
