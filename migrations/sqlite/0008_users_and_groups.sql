-- Pulp's user fields (`users/`): an integer id for clients (the row's own id stays the text one
-- hrefs use), names, email, and the staff and active flags. Existing users are numbered in the
-- order they were made.
ALTER TABLE users ADD COLUMN number BIGINT;
ALTER TABLE users ADD COLUMN first_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN last_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN is_staff INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN is_active INTEGER NOT NULL DEFAULT 1;
UPDATE users SET number = (
    SELECT COUNT(*) FROM users AS earlier
    WHERE earlier.created < users.created OR (earlier.created = users.created AND earlier.id <= users.id)
);
CREATE UNIQUE INDEX users_number ON users (number);

-- Pulp's groups (`groups/`), numbered for clients like users, and who is in each.
CREATE TABLE user_groups (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);
CREATE TABLE user_group_members (
    group_id TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX user_group_members_user ON user_group_members (user_id);
