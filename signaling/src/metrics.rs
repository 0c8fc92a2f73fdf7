//! Prometheus metrics of the realtime layer. The server binary owns the
//! registry and the `/metrics` endpoint; this crate registers and updates
//! what only it can see (messages stored, errors by code, call quality).

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// The realtime layer's metrics, registered in one [`Registry`].
#[derive(Clone)]
pub struct Metrics {
    pub messages_stored: IntCounter,
    pub errors: IntCounterVec,
    pub calls_started: IntCounterVec,
    pub calls_ended: IntCounterVec,
    /// Devices currently in a call (both modes).
    pub call_participants: IntGauge,
    pub quality_mos: Histogram,
    pub quality_loss: Histogram,
    pub quality_jitter: Histogram,
    pub quality_rtt: Histogram,
    pub quality_changes: IntCounterVec,
    pub frames: IntCounterVec,
}

fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> prometheus::Result<Histogram> {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntCounterVec> {
    IntCounterVec::new(Opts::new(name, help), labels)
}

impl Metrics {
    /// Create the metrics and register them in `registry`.
    pub fn register(registry: &Registry) -> Result<Metrics, prometheus::Error> {
        let m = Metrics {
            messages_stored: IntCounter::new(
                "earshot_messages_stored_total",
                "Chat messages durably stored and acknowledged (resends not counted)",
            )?,
            errors: counter_vec(
                "earshot_socket_errors_total",
                "Typed errors sent on sockets, by code",
                &["code"],
            )?,
            calls_started: counter_vec(
                "earshot_calls_started_total",
                "Calls started, by mode",
                &["mode"],
            )?,
            calls_ended: counter_vec(
                "earshot_calls_ended_total",
                "Calls ended, by reason",
                &["reason"],
            )?,
            call_participants: IntGauge::new(
                "earshot_call_participants",
                "Devices currently in a call",
            )?,
            quality_mos: histogram(
                "earshot_call_quality_mos",
                "MOS estimate of each participant quality sample",
                vec![1.5, 2.0, 2.5, 3.0, 3.3, 3.6, 3.9, 4.03, 4.2, 4.34, 4.5],
            )?,
            quality_loss: histogram(
                "earshot_call_quality_loss_percent",
                "Packet loss on a participant's link per quality sample, percent",
                vec![0.1, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0],
            )?,
            quality_jitter: histogram(
                "earshot_call_quality_jitter_ms",
                "Interarrival jitter per quality sample, ms",
                vec![1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0, 200.0],
            )?,
            quality_rtt: histogram(
                "earshot_call_quality_rtt_ms",
                "Round-trip time per quality sample, ms",
                vec![10.0, 25.0, 50.0, 100.0, 150.0, 200.0, 300.0, 500.0, 1000.0],
            )?,
            quality_changes: counter_vec(
                "earshot_call_quality_level_changes_total",
                "Participant quality level changes, by new level",
                &["level"],
            )?,
            frames: counter_vec(
                "earshot_socket_frames_total",
                "WebSocket frames, by direction (in, out)",
                &["direction"],
            )?,
        };
        registry.register(Box::new(m.messages_stored.clone()))?;
        registry.register(Box::new(m.errors.clone()))?;
        registry.register(Box::new(m.calls_started.clone()))?;
        registry.register(Box::new(m.calls_ended.clone()))?;
        registry.register(Box::new(m.call_participants.clone()))?;
        registry.register(Box::new(m.quality_mos.clone()))?;
        registry.register(Box::new(m.quality_loss.clone()))?;
        registry.register(Box::new(m.quality_jitter.clone()))?;
        registry.register(Box::new(m.quality_rtt.clone()))?;
        registry.register(Box::new(m.quality_changes.clone()))?;
        registry.register(Box::new(m.frames.clone()))?;
        Ok(m)
    }

    pub fn observe_sample(&self, q: &crate::protocol::QualityView) {
        self.quality_mos.observe(q.mos);
        self.quality_loss.observe(q.loss_pct);
        self.quality_jitter.observe(q.jitter_ms);
        if let Some(rtt) = q.rtt_ms {
            self.quality_rtt.observe(rtt);
        }
    }
}
