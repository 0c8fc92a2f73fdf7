-- Room creation policy, the paged room list and per-user room caps.

-- The tenant a user's latest token named: who counts as staff of a tenant
-- when someone names them as a participant.
ALTER TABLE users ADD COLUMN tenant TEXT;

-- When the room last had a message (its creation time until then): the room
-- list's order and its paging cursor.
ALTER TABLE rooms ADD COLUMN last_activity_at INTEGER NOT NULL DEFAULT 0;
UPDATE rooms SET last_activity_at = COALESCE(
    (SELECT x.created_at FROM messages x WHERE x.room_id = rooms.id AND x.seq = rooms.last_seq),
    created_at);

-- The writer moves `last_seq` once per committed batch and room; the
-- activity time follows it here, so no write path needs to know.
CREATE TRIGGER IF NOT EXISTS rooms_last_activity AFTER UPDATE OF last_seq ON rooms
BEGIN
    UPDATE rooms SET last_activity_at = COALESCE(
        (SELECT x.created_at FROM messages x WHERE x.room_id = NEW.id AND x.seq = NEW.last_seq),
        last_activity_at)
    WHERE id = NEW.id;
END;

-- A page of one user's rooms: their memberships, then rooms by activity.
CREATE INDEX IF NOT EXISTS rooms_activity ON rooms(last_activity_at DESC, id);
CREATE INDEX IF NOT EXISTS room_members_user_room ON room_members(user_id, room_id);
-- Rooms a user created (the per-user cap).
CREATE INDEX IF NOT EXISTS rooms_created_by ON rooms(created_by);
