-- Usage rollups: the journal's calls counted so that pages never scan the journal.
-- Each row holds a call count, the sum of the calls' durations and a fixed latency
-- histogram (h0..h11: calls under 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
-- 10000 ms, then the rest; LATENCY_BOUNDS_MS in the store crate).

-- By token (the nil UUID: no token), hour (UTC), bouquet, endpoint and status: an
-- organisation's own usage, read by token.
CREATE TABLE usage_hourly (
    jti UUID NOT NULL,
    hour TIMESTAMPTZ NOT NULL,
    bouquet TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    status INTEGER NOT NULL,
    calls BIGINT NOT NULL,
    total_ms DOUBLE PRECISION NOT NULL,
    h0 BIGINT NOT NULL,
    h1 BIGINT NOT NULL,
    h2 BIGINT NOT NULL,
    h3 BIGINT NOT NULL,
    h4 BIGINT NOT NULL,
    h5 BIGINT NOT NULL,
    h6 BIGINT NOT NULL,
    h7 BIGINT NOT NULL,
    h8 BIGINT NOT NULL,
    h9 BIGINT NOT NULL,
    h10 BIGINT NOT NULL,
    h11 BIGINT NOT NULL,
    PRIMARY KEY (jti, hour, bouquet, endpoint, status)
);

-- By bouquet, day (UTC), endpoint and status: the public figures, a year of which is
-- small enough to read for a page.
CREATE TABLE usage_daily (
    bouquet TEXT NOT NULL,
    day TIMESTAMPTZ NOT NULL,
    endpoint TEXT NOT NULL,
    status INTEGER NOT NULL,
    calls BIGINT NOT NULL,
    total_ms DOUBLE PRECISION NOT NULL,
    h0 BIGINT NOT NULL,
    h1 BIGINT NOT NULL,
    h2 BIGINT NOT NULL,
    h3 BIGINT NOT NULL,
    h4 BIGINT NOT NULL,
    h5 BIGINT NOT NULL,
    h6 BIGINT NOT NULL,
    h7 BIGINT NOT NULL,
    h8 BIGINT NOT NULL,
    h9 BIGINT NOT NULL,
    h10 BIGINT NOT NULL,
    h11 BIGINT NOT NULL,
    PRIMARY KEY (bouquet, day, endpoint, status)
);

-- How far the rollups have counted the journal: the last journal id counted. It moves
-- in the transaction that adds the rows, by a conditional update (from the id read
-- before), so that two replicas rolling up at once never count a row twice.
CREATE TABLE usage_watermark (
    name TEXT PRIMARY KEY NOT NULL,
    last_id BIGINT NOT NULL,
    counted BIGINT NOT NULL,
    moved_at TIMESTAMPTZ
);
INSERT INTO usage_watermark (name, last_id, counted) VALUES ('journal', 0, 0);
