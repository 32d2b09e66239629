-- The portal's alerts about a habilitation's tokens.

-- The addresses each token calls from (an IPv6 client as its /64), flushed by the
-- gateway every few seconds: never in the journal, whose chained rows stay as they are.
CREATE TABLE token_addresses (
    jti UUID NOT NULL,
    address TEXT NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL,
    calls BIGINT NOT NULL,
    PRIMARY KEY (jti, address)
);
CREATE INDEX token_addresses_first_seen ON token_addresses (first_seen);

-- What a habilitation's people chose: the alerts they turned off (`mail:spike`…,
-- comma-separated) and where signed webhooks go.
CREATE TABLE alert_settings (
    demande_id UUID PRIMARY KEY NOT NULL,
    opt_outs TEXT NOT NULL,
    webhook_url TEXT,
    webhook_secret TEXT,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL
);

-- The alerts raised, for the settings page.
CREATE TABLE alerts (
    id UUID PRIMARY KEY NOT NULL,
    demande_id UUID NOT NULL,
    jti UUID NOT NULL,
    kind TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX alerts_demande ON alerts (demande_id, at);

-- One mark per token and kind of alert, taken by a conditional insert in the
-- transaction that raises the alert: each alert is raised once, whichever replica
-- finds it.
CREATE TABLE alert_marks (
    jti UUID NOT NULL,
    kind TEXT NOT NULL,
    raised_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (jti, kind)
);
