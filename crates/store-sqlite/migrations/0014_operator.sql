-- What admins did in the back-office: tokens created or banned, agents
-- impersonated and each page seen as them. Only ever appended.
CREATE TABLE operator_actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    admin TEXT NOT NULL,
    action TEXT NOT NULL,
    agent TEXT,
    demande_id TEXT,
    jti TEXT,
    path TEXT NOT NULL
);
CREATE INDEX operator_actions_at ON operator_actions (at);
