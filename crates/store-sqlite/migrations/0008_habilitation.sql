-- The habilitation service: demandes (indexed columns, the rest as JSON), the people
-- with a role on each, their append-only history, the outbox that e-mails and
-- webhooks consume (written in the same transaction as the event), web sessions.
CREATE TABLE demandes (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL UNIQUE,
    bouquet TEXT NOT NULL,
    form_id TEXT NOT NULL,
    siret TEXT NOT NULL,
    state TEXT NOT NULL,
    reopening INTEGER NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_at TEXT,
    decided_at TEXT
);
CREATE INDEX demandes_siret ON demandes (siret);
CREATE INDEX demandes_bouquet ON demandes (bouquet, submitted_at);

CREATE TABLE demande_people (
    demande_id TEXT NOT NULL REFERENCES demandes (id),
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (demande_id, email, role)
);
CREATE INDEX demande_people_email ON demande_people (email);

CREATE TABLE demande_events (
    demande_id TEXT NOT NULL REFERENCES demandes (id),
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (demande_id, seq)
);
-- History is append-only: the database refuses to change or remove it.
CREATE TRIGGER demande_events_no_update BEFORE UPDATE ON demande_events
BEGIN SELECT RAISE(ABORT, 'demande_events is append-only'); END;
CREATE TRIGGER demande_events_no_delete BEFORE DELETE ON demande_events
BEGIN SELECT RAISE(ABORT, 'demande_events is append-only'); END;

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    dedup TEXT UNIQUE,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at TEXT NOT NULL,
    done_at TEXT,
    dead_at TEXT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE done_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_channel ON outbox (channel, created_at);

CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
