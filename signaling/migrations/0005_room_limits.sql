-- Room creation policy, the paged room list and per-user room caps.

-- The tenant a user's latest token named: who counts as staff of a tenant
-- when someone names them as a participant.
ALTER TABLE users ADD COLUMN tenant TEXT;

-- When the room last had a message (its creation time until then): the room
-- list's order and its paging cursor. Each membership carries a copy, so a
-- page of one user's list is a range of one index.
ALTER TABLE rooms ADD COLUMN last_activity_at INTEGER NOT NULL DEFAULT 0;
UPDATE rooms SET last_activity_at = COALESCE(
    (SELECT x.created_at FROM messages x WHERE x.room_id = rooms.id AND x.seq = rooms.last_seq),
    created_at);
ALTER TABLE room_members ADD COLUMN activity_at INTEGER NOT NULL DEFAULT 0;
UPDATE room_members SET activity_at =
    (SELECT r.last_activity_at FROM rooms r WHERE r.id = room_members.room_id);

-- The writer moves `last_seq` once per committed batch and room; the
-- activity time follows it here (and a new member starts with the room's),
-- so no write path needs to know.
CREATE TRIGGER IF NOT EXISTS rooms_last_activity AFTER UPDATE OF last_seq ON rooms
BEGIN
    UPDATE rooms SET last_activity_at = COALESCE(
        (SELECT x.created_at FROM messages x WHERE x.room_id = NEW.id AND x.seq = NEW.last_seq),
        last_activity_at)
    WHERE id = NEW.id;
    UPDATE room_members SET activity_at =
        (SELECT r.last_activity_at FROM rooms r WHERE r.id = NEW.id)
    WHERE room_id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS room_members_activity AFTER INSERT ON room_members
BEGIN
    UPDATE room_members SET activity_at =
        (SELECT r.last_activity_at FROM rooms r WHERE r.id = NEW.room_id)
    WHERE room_id = NEW.room_id AND user_id = NEW.user_id;
END;

-- One user's rooms, most recently active first, a page at a time.
CREATE INDEX IF NOT EXISTS room_members_user_activity
    ON room_members(user_id, activity_at, room_id);
-- Rooms a user created (the per-user cap).
CREATE INDEX IF NOT EXISTS rooms_created_by ON rooms(created_by);
