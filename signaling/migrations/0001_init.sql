-- earshot schema: users, rooms, members, messages.
CREATE TABLE IF NOT EXISTS users (
    id         TEXT PRIMARY KEY,
    name       TEXT,
    role       TEXT,
    last_seen  INTEGER
);

CREATE TABLE IF NOT EXISTS rooms (
    id          TEXT PRIMARY KEY,
    room_type   TEXT NOT NULL,
    title       TEXT NOT NULL,
    tenant      TEXT,
    metadata    TEXT,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS room_members (
    room_id        TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,
    last_read_seq  INTEGER NOT NULL DEFAULT 0,
    joined_at      INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX IF NOT EXISTS room_members_user ON room_members(user_id);

CREATE TABLE IF NOT EXISTS messages (
    id             TEXT PRIMARY KEY,
    room_id        TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    sender_id      TEXT NOT NULL,
    sender_name    TEXT,
    sender_role    TEXT,
    client_msg_id  TEXT NOT NULL,
    message_type   TEXT NOT NULL,
    body           TEXT NOT NULL,
    reply_to       TEXT,
    refs           TEXT,
    metadata       TEXT,
    lang           TEXT,
    created_at     INTEGER NOT NULL,
    edited_at      INTEGER,
    deleted_at     INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_room_seq ON messages(room_id, seq);
CREATE UNIQUE INDEX IF NOT EXISTS messages_idempotency ON messages(room_id, sender_id, client_msg_id);
