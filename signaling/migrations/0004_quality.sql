-- Call quality: a timeline of samples per participant, and each call's summary.
CREATE TABLE IF NOT EXISTS call_quality_samples (
    call_id         TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    participant_id  TEXT NOT NULL,
    at              INTEGER NOT NULL,
    mos             REAL NOT NULL,
    level           TEXT NOT NULL,
    level_rank      INTEGER NOT NULL,
    loss_pct        REAL NOT NULL,
    up_loss_pct     REAL,
    down_loss_pct   REAL,
    jitter_ms       REAL NOT NULL,
    rtt_ms          REAL,
    bitrate_kbps    REAL,
    up_packets      INTEGER,
    up_bytes        INTEGER,
    down_packets    INTEGER,
    down_bytes      INTEGER,
    audio_level_dbov REAL,
    voice_activity  REAL,
    concealed_pct   REAL,
    jitter_buffer_ms REAL,
    source          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS call_quality_samples_call ON call_quality_samples(call_id, at);

-- Filled in when the call ends (NULL while it runs, or without samples).
ALTER TABLE calls ADD COLUMN samples INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN avg_mos REAL;
ALTER TABLE calls ADD COLUMN worst_mos REAL;
ALTER TABLE calls ADD COLUMN worst_level_rank INTEGER;
ALTER TABLE calls ADD COLUMN avg_loss_pct REAL;
ALTER TABLE calls ADD COLUMN max_loss_pct REAL;
ALTER TABLE calls ADD COLUMN avg_jitter_ms REAL;
ALTER TABLE calls ADD COLUMN avg_rtt_ms REAL;
CREATE INDEX IF NOT EXISTS calls_started ON calls(started_at);

-- One row per stay: a device that leaves and joins the same call again gets
-- a second row (the primary key used to keep only its first stay).
CREATE TABLE call_stays (
    call_id         TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    participant_id  TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    joined_at       INTEGER NOT NULL,
    left_at         INTEGER,
    PRIMARY KEY (call_id, participant_id, joined_at)
);
INSERT INTO call_stays (call_id, participant_id, user_id, joined_at, left_at)
    SELECT call_id, participant_id, user_id, joined_at, left_at FROM call_participants;
DROP TABLE call_participants;
ALTER TABLE call_stays RENAME TO call_participants;
CREATE INDEX IF NOT EXISTS call_participants_user ON call_participants(user_id);
