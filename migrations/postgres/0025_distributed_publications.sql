-- The publications each distribution served (Pulp's DistributedPublication): a superseded one
-- stays servable for PULP_DISTRIBUTED_PUBLICATION_RETENTION_PERIOD, so that clients midway
-- through an old index still find its files. `expires_at` is null for the one served now.
CREATE TABLE distributed_publications (
    id TEXT PRIMARY KEY,
    distribution_id TEXT NOT NULL REFERENCES distributions (id) ON DELETE CASCADE,
    publication_id TEXT NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
    created TEXT NOT NULL,
    expires_at TEXT
);
CREATE INDEX distributed_publications_distribution ON distributed_publications (distribution_id);
CREATE INDEX distributed_publications_publication ON distributed_publications (publication_id);
