-- Calls that behave like a phone: how each call went (`completed`, `missed`,
-- `declined`, `cancelled`, `busy`, `interrupted`), when it was first
-- answered, and where each callee ended up (JSON: user_id, state, reason, at).
ALTER TABLE calls ADD COLUMN outcome TEXT;
ALTER TABLE calls ADD COLUMN answered_at INTEGER;
ALTER TABLE calls ADD COLUMN invitees TEXT;
