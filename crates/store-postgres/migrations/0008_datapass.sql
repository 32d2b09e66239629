-- DataPass's webhook: each delivery under its idempotency key (the digest of its
-- body) with the answer given, repeated to its copies; and the demande each DataPass
-- demande became here, with the newest `fired_at` applied to it (the ordering guard).
CREATE TABLE datapass_deliveries (
    key TEXT PRIMARY KEY,
    bouquet TEXT NOT NULL,
    model_id BIGINT NOT NULL,
    event TEXT NOT NULL,
    fired_at BIGINT NOT NULL,
    answer TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX datapass_deliveries_model ON datapass_deliveries (bouquet, model_id, fired_at);

-- The link is written before the demande it names, in the same transaction.
CREATE TABLE datapass_demandes (
    bouquet TEXT NOT NULL,
    model_id BIGINT NOT NULL,
    demande_id UUID NOT NULL UNIQUE REFERENCES demandes (id) DEFERRABLE INITIALLY DEFERRED,
    fired_at BIGINT NOT NULL,
    PRIMARY KEY (bouquet, model_id)
);
