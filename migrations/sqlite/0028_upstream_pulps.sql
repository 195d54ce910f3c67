-- Upstream Pulps (Pulp's replication): another Pulp (or Depot) whose distributions a domain
-- here mirrors. `settings` holds the connection settings as a remote's are kept (the same
-- names, its secrets encrypted), `remote_policy` the download policy of the remotes it makes;
-- `policy` says which local objects replication manages.
CREATE TABLE upstream_pulps (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    domain_id TEXT NOT NULL REFERENCES domains (id),
    base_url TEXT NOT NULL,
    api_root TEXT NOT NULL,
    upstream_domain TEXT,
    settings TEXT NOT NULL,
    remote_policy TEXT,
    q_select TEXT,
    policy TEXT NOT NULL,
    last_replication TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE UNIQUE INDEX upstream_pulps_domain_name ON upstream_pulps (domain_id, name);
