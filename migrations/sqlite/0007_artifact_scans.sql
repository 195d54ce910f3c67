-- Verdicts of the malware scan (clamd), by sha256: an object may be scanned before its artifact
-- row exists (object storage notifies on write), and a verdict stays with the bytes.
CREATE TABLE artifact_scans (
    sha256 TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    signature TEXT,
    scanner TEXT NOT NULL,
    scanned_at TEXT NOT NULL
);
