-- Client IPs banned for calling on through refusals, shared by the replicas; an
-- operator lifts a ban by dating `lifted_at`.
CREATE TABLE ip_bans (
    id BIGSERIAL PRIMARY KEY,
    ip TEXT NOT NULL,
    banned_at TIMESTAMPTZ NOT NULL,
    until TIMESTAMPTZ NOT NULL,
    reason TEXT NOT NULL,
    lifted_at TIMESTAMPTZ
);
CREATE INDEX ip_bans_in_force ON ip_bans (until) WHERE lifted_at IS NULL;
