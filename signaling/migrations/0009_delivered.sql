-- Delivery states: how far each member's devices have received a room's
-- messages (at least one device), next to how far they have read it.
ALTER TABLE room_members ADD COLUMN delivered_seq INTEGER NOT NULL DEFAULT 0;
UPDATE room_members SET delivered_seq = last_read_seq;
