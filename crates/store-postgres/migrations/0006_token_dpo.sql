-- The address of a habilitation's data protection officer, shown to the citizens
-- whose data its token fetches (the citizen record).
ALTER TABLE tokens ADD COLUMN dpo_email TEXT;
