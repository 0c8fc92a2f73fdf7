-- Room ids are scoped by tenant: a tenant's room is stored under the key
-- `{tenant}/{id}` (see the signaling crate's `room_key`), so two tenants may
-- each have a room `visa-2`. Rooms made before this, with a tenant, move to
-- their key; rooms without a tenant keep their id as their key.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE room_renames AS
    SELECT id AS old_id, tenant || '/' || id AS new_id
    FROM rooms
    WHERE tenant IS NOT NULL AND instr(id, '/') = 0;

UPDATE room_members SET room_id = (SELECT new_id FROM room_renames WHERE old_id = room_id)
    WHERE room_id IN (SELECT old_id FROM room_renames);
UPDATE messages SET room_id = (SELECT new_id FROM room_renames WHERE old_id = room_id)
    WHERE room_id IN (SELECT old_id FROM room_renames);
UPDATE calls SET room_id = (SELECT new_id FROM room_renames WHERE old_id = room_id)
    WHERE room_id IN (SELECT old_id FROM room_renames);
UPDATE notifications SET room_id = (SELECT new_id FROM room_renames WHERE old_id = room_id)
    WHERE room_id IN (SELECT old_id FROM room_renames);
UPDATE message_attachments SET room_id = (SELECT new_id FROM room_renames WHERE old_id = room_id)
    WHERE room_id IN (SELECT old_id FROM room_renames);
UPDATE room_assistant SET room_id = (SELECT new_id FROM room_renames WHERE old_id = room_id)
    WHERE room_id IN (SELECT old_id FROM room_renames);
UPDATE rooms SET id = (SELECT new_id FROM room_renames WHERE old_id = id)
    WHERE id IN (SELECT old_id FROM room_renames);

DROP TABLE room_renames;
