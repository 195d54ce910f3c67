-- Pulp's roles: named sets of permissions ('<app>.<codename>'). Locked roles are core's and the
-- plugins', rewritten from code at every migrating start; the others are the clients'.
CREATE TABLE roles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    locked BOOLEAN NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE role_permissions (
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role_id, permission)
);
CREATE INDEX role_permissions_permission ON role_permissions (permission);

-- A role given to a user or a group: for everything of its models (no object, no domain), for
-- one object (its PRN model and id), or for one domain.
CREATE TABLE role_assignments (
    id TEXT PRIMARY KEY,
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    group_id TEXT REFERENCES user_groups (id) ON DELETE CASCADE,
    object_type TEXT,
    object_id TEXT,
    domain_id TEXT,
    created TEXT NOT NULL,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX role_assignments_unique ON role_assignments (
    COALESCE(user_id, ''), COALESCE(group_id, ''), role_id, COALESCE(object_id, ''),
    COALESCE(domain_id, '')
);
CREATE INDEX role_assignments_user ON role_assignments (user_id);
CREATE INDEX role_assignments_group ON role_assignments (group_id);
CREATE INDEX role_assignments_object ON role_assignments (object_id);
