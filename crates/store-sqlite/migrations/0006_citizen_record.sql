-- The citizen record: a journal row names the person a call is about by a keyed
-- lookup key (row format 4), and the citizen's page reads their rows by it.
ALTER TABLE journal ADD COLUMN subject TEXT;
CREATE INDEX journal_subject ON journal (subject, at) WHERE subject IS NOT NULL;
