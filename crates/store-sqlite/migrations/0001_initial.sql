-- Tokens: the source of truth for scopes, expiry, revocation, SIRET and limits.
CREATE TABLE tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    siret TEXT NOT NULL,
    scopes TEXT NOT NULL,              -- JSON array
    issued_at TEXT NOT NULL,           -- RFC 3339, UTC
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    rate_limit_per_minute INTEGER,
    allowed_ips TEXT NOT NULL DEFAULT '[]'
);

-- Keys that sign tokens; several coexist so that keys can be rotated.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    algorithm TEXT NOT NULL,
    private_der BLOB NOT NULL,
    public_der BLOB NOT NULL,
    created_at TEXT NOT NULL
);

-- Secrets made at first start (the journal's parameter-hash salt).
CREATE TABLE secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);

-- The journal: one row per call, never the identity in clear.
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    at TEXT NOT NULL,
    jti TEXT,
    recipient TEXT,
    endpoint TEXT NOT NULL,
    status INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    params_hash TEXT,
    cached INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX journal_at ON journal (at);
CREATE INDEX journal_request_id ON journal (request_id);
