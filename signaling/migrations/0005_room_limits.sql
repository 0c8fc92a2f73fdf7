-- Room creation policy, the paged room list and per-user room caps.

-- The tenant a user's latest token named: who counts as staff of a tenant
-- when someone names them as a participant.
ALTER TABLE users ADD COLUMN tenant TEXT;

-- When the room last had a message (its creation time until then): the room
-- list's order and its paging cursor. The writer sets it with `last_seq`, in
-- the same statement, once per committed batch and room; a page of a user's
-- list joins their memberships (room_members_user) to it and sorts only
-- those two columns, so no write pays for the order of anyone's list.
ALTER TABLE rooms ADD COLUMN last_activity_at INTEGER NOT NULL DEFAULT 0;
UPDATE rooms SET last_activity_at = COALESCE(
    (SELECT x.created_at FROM messages x WHERE x.room_id = rooms.id AND x.seq = rooms.last_seq),
    created_at);

-- Rooms a user created (the per-user cap).
CREATE INDEX IF NOT EXISTS rooms_created_by ON rooms(created_by);
