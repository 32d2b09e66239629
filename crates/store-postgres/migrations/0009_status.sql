-- The status page: each provider's checks rolled up by day (`YYYY-MM-DD`, the day the
-- prober counts it in) with the newest check's status, and the operators' incident
-- and maintenance notices with their notes, only ever added to.
CREATE TABLE status_days (
    bouquet TEXT NOT NULL,
    provider TEXT NOT NULL,
    day TEXT NOT NULL,
    checks BIGINT NOT NULL,
    ok BIGINT NOT NULL,
    down BIGINT NOT NULL,
    maintenance BIGINT NOT NULL,
    last_status TEXT NOT NULL,
    last_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bouquet, provider, day)
);
CREATE INDEX status_days_bouquet_day ON status_days (bouquet, day);

CREATE TABLE status_notices (
    id UUID PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    bouquet TEXT NOT NULL,
    provider TEXT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    starts_at TIMESTAMPTZ NOT NULL,
    ends_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX status_notices_bouquet ON status_notices (bouquet, ends_at);

CREATE TABLE status_notes (
    notice_id UUID NOT NULL REFERENCES status_notices (id),
    seq BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (notice_id, seq)
);
