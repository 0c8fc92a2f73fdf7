//! Live call issues as stored for the call report: one row per issue and
//! participant, from when it began to when it cleared.

use serde::Serialize;
use sqlx::Row;

use super::Store;
use crate::error::Result;

/// One issue of one participant in a call.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredIssue {
    pub participant_id: String,
    pub user_id: String,
    /// `no_audio_sent`, ...
    pub issue: String,
    pub started_at: i64,
    /// `None` while it lasts.
    pub ended_at: Option<i64>,
    /// `one_way_audio`: the speaker whose audio did not reach them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_participant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_user_id: Option<String>,
}

impl Store {
    /// An issue began (or, with `ended_at`, ended). Writes may land in
    /// either order: an end once stored is never undone by its start.
    pub async fn record_issue(&self, call_id: &str, issue: &StoredIssue) -> Result<()> {
        sqlx::query(
            "INSERT INTO call_issues (call_id, participant_id, user_id, issue, started_at, ended_at,
                                      from_participant_id, from_user_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (call_id, participant_id, issue, from_participant_id, started_at)
             DO UPDATE SET ended_at = COALESCE(excluded.ended_at, call_issues.ended_at)",
        )
        .bind(call_id)
        .bind(&issue.participant_id)
        .bind(&issue.user_id)
        .bind(&issue.issue)
        .bind(issue.started_at)
        .bind(issue.ended_at)
        .bind(issue.from_participant_id.as_deref().unwrap_or(""))
        .bind(&issue.from_user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A call's issues, in the order they began.
    pub async fn call_issues(&self, call_id: &str) -> Result<Vec<StoredIssue>> {
        Ok(sqlx::query(
            "SELECT participant_id, user_id, issue, started_at, ended_at, from_participant_id,
                    from_user_id FROM call_issues
             WHERE call_id = ? ORDER BY started_at, participant_id, from_participant_id",
        )
        .bind(call_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| StoredIssue {
            participant_id: r.get("participant_id"),
            user_id: r.get("user_id"),
            issue: r.get("issue"),
            started_at: r.get("started_at"),
            ended_at: r.get("ended_at"),
            from_participant_id: Some(r.get::<String, _>("from_participant_id"))
                .filter(|s| !s.is_empty()),
            from_user_id: r.get("from_user_id"),
        })
        .collect())
    }
}
