//! Calls and their participants' join and leave times.

use serde::Serialize;
use sqlx::Row;

use super::{now_ms, Store};
use crate::error::Result;
use crate::protocol::{CallOutcome, InviteeView};

/// A stored call.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallRecord {
    pub id: String,
    #[serde(serialize_with = "crate::room_key::serialize_local")]
    pub room_id: String,
    pub mode: String,
    pub initiator: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
    pub ended_by: Option<String>,
    /// `completed`, `missed`, `declined`, `cancelled`, `busy` or
    /// `interrupted`, once the call ended.
    pub outcome: Option<String>,
    pub answered_at: Option<i64>,
    /// Each callee's final state (`user_id`, `state`, `reason`, `at`).
    pub invitees: Vec<InviteeView>,
    pub participants: Vec<CallParticipantRecord>,
}

/// One device's stay in a call.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallParticipantRecord {
    pub participant_id: String,
    pub user_id: String,
    pub joined_at: i64,
    pub left_at: Option<i64>,
}

impl Store {
    pub async fn insert_call(
        &self,
        id: &str,
        room_id: &str,
        mode: &str,
        initiator: &str,
        started_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO calls (id, room_id, mode, initiator, started_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(room_id)
        .bind(mode)
        .bind(initiator)
        .bind(started_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn end_call(&self, id: &str, reason: &str, ended_by: Option<&str>) -> Result<()> {
        let now = now_ms();
        sqlx::query("UPDATE calls SET ended_at = ?, end_reason = ?, ended_by = ? WHERE id = ? AND ended_at IS NULL")
            .bind(now)
            .bind(reason)
            .bind(ended_by)
            .bind(id)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "UPDATE call_participants SET left_at = ? WHERE call_id = ? AND left_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How the call went and where each callee ended up.
    pub async fn set_call_outcome(
        &self,
        id: &str,
        outcome: CallOutcome,
        answered_at: Option<i64>,
        invitees: &[InviteeView],
    ) -> Result<()> {
        let invitees = serde_json::to_string(invitees).unwrap_or_else(|_| "[]".into());
        sqlx::query("UPDATE calls SET outcome = ?, answered_at = ?, invitees = ? WHERE id = ?")
            .bind(outcome.as_str())
            .bind(answered_at)
            .bind(invitees)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn call_participant_joined(
        &self,
        call_id: &str,
        participant_id: &str,
        user_id: &str,
        at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO call_participants (call_id, participant_id, user_id, joined_at) VALUES (?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(call_id)
        .bind(participant_id)
        .bind(user_id)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn call_participant_left(&self, call_id: &str, participant_id: &str) -> Result<()> {
        sqlx::query("UPDATE call_participants SET left_at = ? WHERE call_id = ? AND participant_id = ? AND left_at IS NULL")
            .bind(now_ms())
            .bind(call_id)
            .bind(participant_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Calls that were never ended (the process hosting them died): ended
    /// with `shutdown` and the outcome `interrupted`, their quality
    /// summarized from the samples stored. Returns them as they were.
    pub async fn close_dangling_calls(&self) -> Result<Vec<CallRecord>> {
        let open: Vec<String> = sqlx::query_scalar("SELECT id FROM calls WHERE ended_at IS NULL")
            .fetch_all(&self.pool)
            .await?;
        let mut records = Vec::with_capacity(open.len());
        for id in &open {
            if let Some(record) = self.call(id).await? {
                records.push(record);
            }
        }
        sqlx::query(
            "UPDATE call_participants SET left_at = joined_at
             WHERE left_at IS NULL AND call_id IN (SELECT id FROM calls WHERE ended_at IS NULL)",
        )
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "UPDATE calls SET ended_at = started_at, end_reason = 'shutdown', outcome = 'interrupted'
             WHERE ended_at IS NULL",
        )
        .execute(&self.pool)
        .await?;
        for id in open {
            self.summarize_call(&id).await?;
        }
        Ok(records)
    }

    pub async fn call(&self, id: &str) -> Result<Option<CallRecord>> {
        let Some(row) = sqlx::query("SELECT * FROM calls WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let participants = sqlx::query(
            "SELECT participant_id, user_id, joined_at, left_at FROM call_participants
             WHERE call_id = ? ORDER BY joined_at, participant_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|p| CallParticipantRecord {
            participant_id: p.get("participant_id"),
            user_id: p.get("user_id"),
            joined_at: p.get("joined_at"),
            left_at: p.get("left_at"),
        })
        .collect();
        Ok(Some(CallRecord {
            id: row.get("id"),
            room_id: row.get("room_id"),
            mode: row.get("mode"),
            initiator: row.get("initiator"),
            started_at: row.get("started_at"),
            ended_at: row.get("ended_at"),
            end_reason: row.get("end_reason"),
            ended_by: row.get("ended_by"),
            outcome: row.get("outcome"),
            answered_at: row.get("answered_at"),
            invitees: row
                .get::<Option<String>, _>("invitees")
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_default(),
            participants,
        }))
    }

    /// A room's calls, newest first.
    pub async fn room_calls(&self, room_id: &str, limit: u32) -> Result<Vec<CallRecord>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM calls WHERE room_id = ? ORDER BY started_at DESC LIMIT ?",
        )
        .bind(room_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(call) = self.call(&id).await? {
                out.push(call);
            }
        }
        Ok(out)
    }
}
