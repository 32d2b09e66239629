-- What admins did in the back-office: tokens created or banned, agents
-- impersonated and each page seen as them. Only ever appended.
CREATE TABLE operator_actions (
    seq BIGSERIAL PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    at TIMESTAMPTZ NOT NULL,
    admin TEXT NOT NULL,
    action TEXT NOT NULL,
    agent TEXT,
    demande_id UUID,
    jti UUID,
    path TEXT NOT NULL
);
CREATE INDEX operator_actions_at ON operator_actions (at);
