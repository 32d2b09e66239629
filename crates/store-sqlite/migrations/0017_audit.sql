-- The audit notices: the notices sent are history events of kind `audit`, listed
-- newest first across every demande. (Request ids are already indexed, since 0001.)
CREATE INDEX demande_events_kind ON demande_events (kind, at);
