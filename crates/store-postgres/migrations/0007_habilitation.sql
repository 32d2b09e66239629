-- The habilitation service: demandes (indexed columns, the rest as JSON), the people
-- with a role on each, their append-only history, the outbox that e-mails and
-- webhooks consume (written in the same transaction as the event), web sessions.
CREATE TABLE demandes (
    id UUID PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    bouquet TEXT NOT NULL,
    form_id TEXT NOT NULL,
    siret TEXT NOT NULL,
    state TEXT NOT NULL,
    reopening BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    submitted_at TIMESTAMPTZ,
    decided_at TIMESTAMPTZ
);
CREATE INDEX demandes_siret ON demandes (siret);
CREATE INDEX demandes_bouquet ON demandes (bouquet, submitted_at);

CREATE TABLE demande_people (
    demande_id UUID NOT NULL REFERENCES demandes (id),
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (demande_id, email, role)
);
CREATE INDEX demande_people_email ON demande_people (email);

CREATE TABLE demande_events (
    demande_id UUID NOT NULL REFERENCES demandes (id),
    seq BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (demande_id, seq)
);
-- History is append-only: the database refuses to change or remove it.
CREATE FUNCTION demande_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'demande_events is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER demande_events_append_only BEFORE UPDATE OR DELETE ON demande_events
    FOR EACH ROW EXECUTE FUNCTION demande_events_append_only();

CREATE TABLE outbox (
    id UUID PRIMARY KEY,
    channel TEXT NOT NULL,
    dedup TEXT UNIQUE,
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    attempts INTEGER NOT NULL,
    next_at TIMESTAMPTZ NOT NULL,
    done_at TIMESTAMPTZ,
    dead_at TIMESTAMPTZ,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE done_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_channel ON outbox (channel, created_at);

CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
