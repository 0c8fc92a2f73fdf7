-- Call issues about a pair (`one_way_audio`: whose audio does not reach
-- the participant) and the SFU's own share of each sample's loss.
CREATE TABLE call_issues_new (
    call_id             TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    participant_id      TEXT NOT NULL,
    user_id             TEXT NOT NULL,
    issue               TEXT NOT NULL,
    started_at          INTEGER NOT NULL,
    ended_at            INTEGER,
    -- '' when the issue is about the participant alone.
    from_participant_id TEXT NOT NULL DEFAULT '',
    from_user_id        TEXT,
    PRIMARY KEY (call_id, participant_id, issue, from_participant_id, started_at)
);
INSERT INTO call_issues_new (call_id, participant_id, user_id, issue, started_at, ended_at)
    SELECT call_id, participant_id, user_id, issue, started_at, ended_at FROM call_issues;
DROP TABLE call_issues;
ALTER TABLE call_issues_new RENAME TO call_issues;
-- `GET /api/calls?issue=...`
CREATE INDEX call_issues_by_kind ON call_issues (issue, call_id);

ALTER TABLE call_quality_samples ADD COLUMN sfu_loss_pct REAL;
ALTER TABLE call_quality_samples ADD COLUMN up_jitter_ms REAL;
ALTER TABLE call_quality_samples ADD COLUMN down_jitter_ms REAL;
