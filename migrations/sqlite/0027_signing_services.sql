-- Signing services (Pulp's): a script that signs files with a key, checked when it is added
-- (`local-runner add-signing-service`). Above domains, as in Pulp.
CREATE TABLE signing_services (
    id TEXT PRIMARY KEY,
    pulp_type TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    public_key TEXT NOT NULL,
    pubkey_fingerprint TEXT NOT NULL,
    script TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
