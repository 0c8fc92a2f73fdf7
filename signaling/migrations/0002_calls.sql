-- Calls and who took part, with join and leave times.
CREATE TABLE IF NOT EXISTS calls (
    id          TEXT PRIMARY KEY,
    room_id     TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    mode        TEXT NOT NULL,
    initiator   TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    end_reason  TEXT,
    ended_by    TEXT
);
CREATE INDEX IF NOT EXISTS calls_room ON calls(room_id, started_at);

CREATE TABLE IF NOT EXISTS call_participants (
    call_id         TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    participant_id  TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    joined_at       INTEGER NOT NULL,
    left_at         INTEGER,
    PRIMARY KEY (call_id, participant_id)
);
CREATE INDEX IF NOT EXISTS call_participants_user ON call_participants(user_id);
