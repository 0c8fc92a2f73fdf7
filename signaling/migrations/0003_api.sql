-- Notifications, uploads and message attachments, and the assistant's room setting.

-- One row per recipient. Every notification is stored, delivered or not, so a
-- user's list is complete; `delivered_at` is set once a device received it
-- live (NULL: waiting for the user's next connection).
CREATE TABLE IF NOT EXISTS notifications (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    link          TEXT,
    data          TEXT,
    room_id       TEXT,
    created_at    INTEGER NOT NULL,
    delivered_at  INTEGER,
    read_at       INTEGER
);
CREATE INDEX IF NOT EXISTS notifications_user ON notifications(user_id, created_at);
CREATE INDEX IF NOT EXISTS notifications_pending ON notifications(user_id) WHERE delivered_at IS NULL;

-- Uploaded files. The file lives under the data directory, named by `id`
-- (never by anything the client sent); `name` is the sanitized display name.
CREATE TABLE IF NOT EXISTS uploads (
    id             TEXT PRIMARY KEY,
    uploader_id    TEXT NOT NULL,
    name           TEXT NOT NULL,
    mime_type      TEXT NOT NULL,
    size           INTEGER NOT NULL,
    has_thumbnail  INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_uploader ON uploads(uploader_id);

-- Which message (and so which room) shared which upload: downloads are
-- allowed to those who may read such a room.
CREATE TABLE IF NOT EXISTS message_attachments (
    message_id  TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    upload_id   TEXT NOT NULL REFERENCES uploads(id),
    room_id     TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (message_id, upload_id)
);
CREATE INDEX IF NOT EXISTS message_attachments_upload ON message_attachments(upload_id, room_id);

-- Attachment views as delivered (JSON array), and the assistant's mark.
ALTER TABLE messages ADD COLUMN attachments TEXT;
ALTER TABLE messages ADD COLUMN ai INTEGER NOT NULL DEFAULT 0;

-- The assistant per room; without a row, room metadata `"assistant": true` enables it.
CREATE TABLE IF NOT EXISTS room_assistant (
    room_id     TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
    enabled     INTEGER NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
