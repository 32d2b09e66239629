-- A token's last calls, for its holders' portal, without reading the whole journal.
CREATE INDEX journal_jti ON journal (jti, id);
