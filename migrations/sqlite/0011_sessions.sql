-- Sessions made by `login/` (the cookie Pulp's web UI signs in with). The row's id is the
-- sha256 of the key the cookie carries, so that the table holds nothing one can sign in with;
-- the CSRF token is checked against the `X-CSRFToken` header of every write.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created TEXT NOT NULL,
    expires TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
