-- Until now every container repository was made by a push; pushed-to repositories are
-- Pulp's `container.container-push`, and `container.container` is left to synced ones.
UPDATE repositories SET pulp_type = 'container.container-push' WHERE pulp_type = 'container.container';

-- Container distributions: a description; pull-through distributions have a remote, and the
-- distributions a pull-through one creates for each upstream name point back at it.
ALTER TABLE distributions ADD COLUMN description TEXT;
ALTER TABLE distributions ADD COLUMN remote_id TEXT REFERENCES remotes (id) ON DELETE SET NULL;
ALTER TABLE distributions ADD COLUMN pull_through_id TEXT REFERENCES distributions (id) ON DELETE CASCADE;

-- Container namespaces: the first segment of container distributions' base paths (Pulp's unit
-- of registry permissions). Made with the first distribution in them, or through the API.
CREATE TABLE container_namespaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    pulp_labels TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
