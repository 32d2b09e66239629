-- Delegations: the people of a habilitation let a software editor act for them.
CREATE TABLE delegations (
    id TEXT PRIMARY KEY,
    demande_id TEXT NOT NULL REFERENCES demandes (id),
    editor TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    revoked_by TEXT,
    revoked_at TEXT
);
-- At most one delegation in force per habilitation and editor.
CREATE UNIQUE INDEX delegations_in_force ON delegations (demande_id, editor) WHERE revoked_at IS NULL;
CREATE INDEX delegations_by_editor ON delegations (editor) WHERE revoked_at IS NULL;

-- The tokens an editor's users took through a delegation (their records are in `tokens`).
CREATE TABLE delegated_tokens (
    jti TEXT PRIMARY KEY REFERENCES tokens (jti),
    delegation_id TEXT NOT NULL REFERENCES delegations (id),
    label TEXT NOT NULL,
    taken_by TEXT NOT NULL,
    taken_at TEXT NOT NULL
);
CREATE INDEX delegated_tokens_by_delegation ON delegated_tokens (delegation_id);
