-- Journal rows in format 2: bouquet, caller (a token's jti or a citizen's keyed hash)
-- and every purpose parameter (JSON object). Rows written before keep format 1: their
-- hash covers jti and recipient only, and they read back with the recipient as purpose.
-- Columns take PostgreSQL's names: `id` numbers rows, `seq` is the chain position.
ALTER TABLE journal RENAME COLUMN seq TO id;
ALTER TABLE journal RENAME COLUMN wseq TO seq;
ALTER TABLE journal ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
ALTER TABLE journal ADD COLUMN bouquet TEXT NOT NULL DEFAULT 'particulier';
ALTER TABLE journal ADD COLUMN citizen TEXT;
ALTER TABLE journal ADD COLUMN purpose TEXT;

-- A token opens its own bouquet's routes only.
ALTER TABLE tokens ADD COLUMN bouquet TEXT NOT NULL DEFAULT 'particulier';
