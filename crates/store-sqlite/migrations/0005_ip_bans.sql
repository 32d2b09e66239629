-- Client IPs banned for calling on through refusals, shared by the replicas; an
-- operator lifts a ban by dating `lifted_at`.
CREATE TABLE ip_bans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ip TEXT NOT NULL,
    banned_at TEXT NOT NULL,
    until TEXT NOT NULL,
    reason TEXT NOT NULL,
    lifted_at TEXT
);
CREATE INDEX ip_bans_in_force ON ip_bans (until) WHERE lifted_at IS NULL;
