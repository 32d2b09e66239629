-- Signed answers: the keys that sign them live beside the token keys, told apart by
-- purpose; a journal row of a signed answer keeps the SHA-256 of the body it signed
-- (row format 3). Constant defaults: no table rewrite.
ALTER TABLE signing_keys ADD COLUMN purpose TEXT NOT NULL DEFAULT 'tokens';
ALTER TABLE journal ADD COLUMN body_sha256 TEXT;
