-- The status page: each provider's checks rolled up by day (`YYYY-MM-DD`, the day the
-- prober counts it in) with the newest check's status, and the operators' incident
-- and maintenance notices with their notes, only ever added to.
CREATE TABLE status_days (
    bouquet TEXT NOT NULL,
    provider TEXT NOT NULL,
    day TEXT NOT NULL,
    checks INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    down INTEGER NOT NULL,
    maintenance INTEGER NOT NULL,
    last_status TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (bouquet, provider, day)
);
CREATE INDEX status_days_bouquet_day ON status_days (bouquet, day);

CREATE TABLE status_notices (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL UNIQUE,
    bouquet TEXT NOT NULL,
    provider TEXT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX status_notices_bouquet ON status_notices (bouquet, ends_at);

CREATE TABLE status_notes (
    notice_id TEXT NOT NULL REFERENCES status_notices (id),
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (notice_id, seq)
);
