-- Live call issues (`no_audio_sent`, ...) per participant, with when each
-- began and ended, for the call report's timeline.
CREATE TABLE IF NOT EXISTS call_issues (
    call_id         TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    participant_id  TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    issue           TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    ended_at        INTEGER,
    PRIMARY KEY (call_id, participant_id, issue, started_at)
);
