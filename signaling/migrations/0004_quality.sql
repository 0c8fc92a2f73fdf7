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
