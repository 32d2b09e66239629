-- The journal becomes tamper-evident: each gateway process (writer) chains its rows
-- by hash. Rows written before this migration stay under the nil writer, unchained.
ALTER TABLE journal ADD COLUMN writer TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE journal ADD COLUMN wseq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE journal ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE journal ADD COLUMN hash TEXT NOT NULL DEFAULT '';
UPDATE journal SET wseq = seq;
CREATE UNIQUE INDEX journal_chain ON journal (writer, wseq);

-- Signed chain positions: checkpoints of a writer's head, anchors left by purges.
CREATE TABLE journal_seals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    writer TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    kid TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE INDEX journal_seals_writer ON journal_seals (writer, seq);
