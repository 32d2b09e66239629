-- Tokens: the source of truth for scopes, expiry, revocation, SIRET and limits.
CREATE TABLE tokens (
    jti UUID PRIMARY KEY,
    name TEXT NOT NULL,
    siret TEXT NOT NULL,
    scopes TEXT[] NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    rate_limit_per_minute INTEGER,
    allowed_ips TEXT[] NOT NULL DEFAULT '{}'
);

-- Keys that sign tokens and journal seals; several coexist so that keys can be rotated.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL,
    private_der BYTEA NOT NULL,
    public_der BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Secrets made at first start (the journal's parameter-hash salt).
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

-- The journal: one row per call, never the identity in clear, chained by hash per
-- writer (one writer per gateway process, so replicas never contend on one chain).
CREATE TABLE journal (
    id BIGSERIAL PRIMARY KEY,
    request_id TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    jti UUID,
    recipient TEXT,
    endpoint TEXT NOT NULL,
    status INTEGER NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    params_hash TEXT,
    cached BOOLEAN NOT NULL,
    writer UUID NOT NULL,
    seq BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (writer, seq)
);
CREATE INDEX journal_at ON journal (at);
CREATE INDEX journal_request_id ON journal (request_id);

-- Signed chain positions: checkpoints of a writer's head, anchors left by purges.
CREATE TABLE journal_seals (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    writer UUID NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    kid TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE INDEX journal_seals_writer ON journal_seals (writer, seq);
