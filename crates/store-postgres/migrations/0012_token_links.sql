-- One-time links that show a token to whom the applicant sent them (4 hours).
CREATE TABLE token_links (
    code_hash TEXT PRIMARY KEY,
    demande_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    recipient TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    opened_at TIMESTAMPTZ
);
