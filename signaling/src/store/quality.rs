//! Call quality storage: per-participant samples, each call's summary,
//! listing calls by room, user, time and worst quality, and call reports.

use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{CallRecord, Store};
use crate::error::Result;
use crate::protocol::{CallSummary, QualityLevel, QualityTotals, QualityView};

/// One sample to store.
#[derive(Debug, Clone)]
pub struct QualitySampleRow {
    pub participant_id: String,
    pub quality: QualityView,
}

/// A stored sample, as the report lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredSample {
    pub participant_id: String,
    #[serde(flatten)]
    pub quality: QualityView,
}

/// One device's stay and quality in a call report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ParticipantQuality {
    pub participant_id: String,
    pub user_id: String,
    pub joined_at: i64,
    pub left_at: Option<i64>,
    #[serde(flatten)]
    pub quality: QualityTotals,
}

/// A call's full quality report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallReport {
    pub call: CallRecord,
    pub summary: CallSummary,
    pub participants: Vec<ParticipantQuality>,
    pub samples: Vec<StoredSample>,
    /// Live issues (`no_audio_sent`, ...) with when they began and ended.
    pub issues: Vec<super::StoredIssue>,
    /// Per participant: which leg hurt what they heard, in one sentence.
    pub diagnosis: Vec<crate::quality::legs::Diagnosis>,
    /// Per participant and interval: what they heard, leg by leg.
    pub legs: Vec<crate::quality::legs::Leg>,
}

/// Which calls a caller may list.
#[derive(Debug, Clone)]
pub enum CallScope {
    /// Staff without a tenant: every call.
    All,
    /// Staff of a tenant: that tenant's rooms, and rooms they belong to.
    Tenant { tenant: String, user_id: String },
    /// Everyone else: rooms they belong to or hold a grant for.
    Member {
        user_id: String,
        grants: Vec<String>,
    },
}

/// Filters of `GET /api/calls`.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub room_id: Option<String>,
    /// Calls this user took part in.
    pub user_id: Option<String>,
    /// Started at or after (ms since the epoch).
    pub since: Option<i64>,
    /// Started before.
    pub until: Option<i64>,
    /// Calls whose worst level was this or lower.
    pub worst: Option<QualityLevel>,
    /// Calls in which this live issue was raised.
    pub issue: Option<crate::quality::issues::IssueKind>,
    pub limit: u32,
}

/// Most samples a report includes.
const MAX_REPORT_SAMPLES: i64 = 20_000;

fn count(row: &sqlx::sqlite::SqliteRow, column: &str) -> Option<u64> {
    row.get::<Option<i64>, _>(column).map(|n| n.max(0) as u64)
}

fn level_of(rank: Option<i64>) -> Option<QualityLevel> {
    match rank? {
        0 => Some(QualityLevel::Poor),
        1 => Some(QualityLevel::Fair),
        2 => Some(QualityLevel::Good),
        3 => Some(QualityLevel::Excellent),
        _ => None,
    }
}

/// The aggregate columns `samples, avg_mos, worst_mos, worst_rank,
/// avg_loss, max_loss, avg_jitter, avg_rtt` of a row.
fn totals_from_row(row: &sqlx::sqlite::SqliteRow) -> QualityTotals {
    QualityTotals {
        samples: row.get("samples"),
        avg_mos: row.get("avg_mos"),
        worst_mos: row.get("worst_mos"),
        worst_level: level_of(row.get("worst_rank")),
        avg_loss_pct: row.get("avg_loss"),
        max_loss_pct: row.get("max_loss"),
        avg_jitter_ms: row.get("avg_jitter"),
        avg_rtt_ms: row.get("avg_rtt"),
    }
}

fn summary_from_row(row: &sqlx::sqlite::SqliteRow) -> CallSummary {
    let started_at: i64 = row.get("started_at");
    let ended_at: Option<i64> = row.get("ended_at");
    CallSummary {
        id: row.get("id"),
        room_id: row.get("room_id"),
        mode: row.get("mode"),
        started_at,
        ended_at,
        duration_ms: ended_at.map(|e| (e - started_at).max(0)),
        participants: row.get("participant_count"),
        quality: totals_from_row(row),
    }
}

const SUMMARY_COLUMNS: &str = "c.id, c.room_id, c.mode, c.started_at, c.ended_at, c.samples, \
     c.avg_mos, c.worst_mos, c.worst_level_rank AS worst_rank, c.avg_loss_pct AS avg_loss, \
     c.max_loss_pct AS max_loss, c.avg_jitter_ms AS avg_jitter, c.avg_rtt_ms AS avg_rtt, \
     (SELECT COUNT(DISTINCT p.participant_id) FROM call_participants p WHERE p.call_id = c.id) \
     AS participant_count";

/// The aggregates over a call's samples, in `calls` column order.
const AGGREGATES: &str = "SELECT COUNT(*) AS samples, AVG(mos) AS avg_mos, MIN(mos) AS worst_mos, \
     MIN(level_rank) AS worst_rank, AVG(loss_pct) AS avg_loss, MAX(loss_pct) AS max_loss, \
     AVG(jitter_ms) AS avg_jitter, AVG(rtt_ms) AS avg_rtt \
     FROM call_quality_samples WHERE call_id = ?1";

impl Store {
    /// Store one round of samples in one transaction.
    pub async fn insert_quality_samples(
        &self,
        call_id: &str,
        rows: &[QualitySampleRow],
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO call_quality_samples (call_id, participant_id, at, mos, level, level_rank, \
             loss_pct, up_loss_pct, down_loss_pct, jitter_ms, rtt_ms, bitrate_kbps, up_packets, \
             up_bytes, down_packets, down_bytes, audio_level_dbov, voice_activity, concealed_pct, \
             jitter_buffer_ms, source, sfu_loss_pct, up_jitter_ms, down_jitter_ms) ",
        );
        q.push_values(rows, |mut b, r| {
            let v = &r.quality;
            b.push_bind(call_id)
                .push_bind(&r.participant_id)
                .push_bind(v.at)
                .push_bind(v.mos)
                .push_bind(v.level.as_str())
                .push_bind(v.level.rank())
                .push_bind(v.loss_pct)
                .push_bind(v.up_loss_pct)
                .push_bind(v.down_loss_pct)
                .push_bind(v.jitter_ms)
                .push_bind(v.rtt_ms)
                .push_bind(v.bitrate_kbps)
                .push_bind(v.up_packets.map(|n| n as i64))
                .push_bind(v.up_bytes.map(|n| n as i64))
                .push_bind(v.down_packets.map(|n| n as i64))
                .push_bind(v.down_bytes.map(|n| n as i64))
                .push_bind(v.audio_level_dbov)
                .push_bind(v.voice_activity)
                .push_bind(v.concealed_pct)
                .push_bind(v.jitter_buffer_ms)
                .push_bind(&v.source)
                .push_bind(v.sfu_loss_pct)
                .push_bind(v.up_jitter_ms)
                .push_bind(v.down_jitter_ms);
        });
        q.build().execute(&self.pool).await?;
        Ok(())
    }

    /// Compute and store the call's summary from its samples; returns it.
    pub async fn summarize_call(&self, call_id: &str) -> Result<CallSummary> {
        sqlx::query(&format!(
            "UPDATE calls SET (samples, avg_mos, worst_mos, worst_level_rank, avg_loss_pct, \
             max_loss_pct, avg_jitter_ms, avg_rtt_ms) = ({AGGREGATES}) WHERE id = ?1"
        ))
        .bind(call_id)
        .execute(&self.pool)
        .await?;
        self.stored_summary(call_id)
            .await?
            .ok_or(crate::error::SignalError::NotFound("call"))
    }

    async fn stored_summary(&self, call_id: &str) -> Result<Option<CallSummary>> {
        let row = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM calls c WHERE c.id = ?"
        ))
        .bind(call_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(summary_from_row))
    }

    /// Calls in `scope` matching `filter`, newest first.
    pub async fn list_calls(&self, scope: &CallScope, f: &CallFilter) -> Result<Vec<CallSummary>> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {SUMMARY_COLUMNS} FROM calls c JOIN rooms r ON r.id = c.room_id WHERE "
        ));
        match scope {
            CallScope::All => {
                q.push("1 = 1");
            }
            CallScope::Tenant { tenant, user_id } => {
                q.push("(r.tenant = ")
                    .push_bind(tenant)
                    .push(" OR c.room_id IN (SELECT room_id FROM room_members WHERE user_id = ")
                    .push_bind(user_id)
                    .push("))");
            }
            CallScope::Member { user_id, grants } => {
                q.push("(c.room_id IN (SELECT room_id FROM room_members WHERE user_id = ")
                    .push_bind(user_id)
                    .push(")");
                if !grants.is_empty() {
                    q.push(" OR c.room_id IN (");
                    let mut sep = q.separated(", ");
                    for g in grants {
                        sep.push_bind(g);
                    }
                    q.push(")");
                }
                q.push(")");
            }
        }
        if let Some(room) = &f.room_id {
            q.push(" AND c.room_id = ").push_bind(room);
        }
        if let Some(user) = &f.user_id {
            q.push(" AND EXISTS (SELECT 1 FROM call_participants p WHERE p.call_id = c.id AND p.user_id = ")
                .push_bind(user)
                .push(")");
        }
        if let Some(since) = f.since {
            q.push(" AND c.started_at >= ").push_bind(since);
        }
        if let Some(until) = f.until {
            q.push(" AND c.started_at < ").push_bind(until);
        }
        if let Some(worst) = f.worst {
            q.push(" AND c.worst_level_rank <= ")
                .push_bind(worst.rank());
        }
        if let Some(issue) = f.issue {
            q.push(
                " AND EXISTS (SELECT 1 FROM call_issues i WHERE i.call_id = c.id AND i.issue = ",
            )
            .push_bind(issue.as_str())
            .push(")");
        }
        q.push(" ORDER BY c.started_at DESC, c.id DESC LIMIT ")
            .push_bind(i64::from(f.limit.max(1)));
        let rows = q.build().fetch_all(&self.pool).await?;
        Ok(rows.iter().map(summary_from_row).collect())
    }

    /// The call's record, summary (live for a running call), each
    /// participant's quality and the sample timeline.
    pub async fn call_report(&self, call_id: &str) -> Result<Option<CallReport>> {
        let Some(call) = self.call(call_id).await? else {
            return Ok(None);
        };
        let mut summary = self
            .stored_summary(call_id)
            .await?
            .ok_or(crate::error::SignalError::NotFound("call"))?;
        if call.ended_at.is_none() {
            let row = sqlx::query(AGGREGATES)
                .bind(call_id)
                .fetch_one(&self.pool)
                .await?;
            summary.quality = totals_from_row(&row);
        }
        let participants: Vec<ParticipantQuality> = sqlx::query(
            "SELECT p.participant_id, p.user_id, p.joined_at, p.left_at, COUNT(s.at) AS samples,
                    AVG(s.mos) AS avg_mos, MIN(s.mos) AS worst_mos, MIN(s.level_rank) AS worst_rank,
                    AVG(s.loss_pct) AS avg_loss, MAX(s.loss_pct) AS max_loss,
                    AVG(s.jitter_ms) AS avg_jitter, AVG(s.rtt_ms) AS avg_rtt
             FROM call_participants p
             LEFT JOIN call_quality_samples s
               ON s.call_id = p.call_id AND s.participant_id = p.participant_id
              AND s.at >= p.joined_at AND (p.left_at IS NULL OR s.at <= p.left_at)
             WHERE p.call_id = ?
             GROUP BY p.participant_id, p.user_id, p.joined_at, p.left_at
             ORDER BY p.joined_at, p.participant_id",
        )
        .bind(call_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| ParticipantQuality {
            participant_id: r.get("participant_id"),
            user_id: r.get("user_id"),
            joined_at: r.get("joined_at"),
            left_at: r.get("left_at"),
            quality: totals_from_row(r),
        })
        .collect();
        let samples: Vec<StoredSample> = sqlx::query(
            "SELECT participant_id, at, mos, level_rank, loss_pct, up_loss_pct, down_loss_pct,
                    jitter_ms, rtt_ms, bitrate_kbps, up_packets, up_bytes, down_packets, down_bytes,
                    audio_level_dbov, voice_activity, concealed_pct, jitter_buffer_ms, source,
                    sfu_loss_pct, up_jitter_ms, down_jitter_ms
             FROM call_quality_samples WHERE call_id = ? ORDER BY at, participant_id LIMIT ?",
        )
        .bind(call_id)
        .bind(MAX_REPORT_SAMPLES)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| StoredSample {
            participant_id: r.get("participant_id"),
            quality: QualityView {
                level: level_of(r.get("level_rank")).unwrap_or(QualityLevel::Poor),
                mos: r.get("mos"),
                loss_pct: r.get("loss_pct"),
                up_loss_pct: r.get("up_loss_pct"),
                down_loss_pct: r.get("down_loss_pct"),
                sfu_loss_pct: r.get("sfu_loss_pct"),
                up_jitter_ms: r.get("up_jitter_ms"),
                down_jitter_ms: r.get("down_jitter_ms"),
                jitter_ms: r.get("jitter_ms"),
                rtt_ms: r.get("rtt_ms"),
                bitrate_kbps: r.get("bitrate_kbps"),
                up_packets: count(r, "up_packets"),
                up_bytes: count(r, "up_bytes"),
                down_packets: count(r, "down_packets"),
                down_bytes: count(r, "down_bytes"),
                audio_level_dbov: r.get("audio_level_dbov"),
                voice_activity: r.get("voice_activity"),
                concealed_pct: r.get("concealed_pct"),
                jitter_buffer_ms: r.get("jitter_buffer_ms"),
                source: r.get("source"),
                at: r.get("at"),
            },
        })
        .collect();
        let issues = self.call_issues(call_id).await?;
        let legs = crate::quality::legs::legs(&samples);
        let diagnosis = crate::quality::legs::diagnose(&participants, &legs);
        Ok(Some(CallReport {
            call,
            summary,
            participants,
            samples,
            issues,
            diagnosis,
            legs,
        }))
    }
}
