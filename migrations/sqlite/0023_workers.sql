-- The processes that run tasks (Pulp's workers): each records itself and beats its heart, and
-- tasks name the worker that ran them. Workers are above domains.
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    last_heartbeat TEXT NOT NULL,
    versions TEXT NOT NULL,
    current_task TEXT
);
CREATE INDEX workers_heartbeat ON workers (last_heartbeat);
-- Tasks named their worker by a name no row has; they keep no worker.
UPDATE tasks SET worker = NULL;
