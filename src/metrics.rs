//! `GET /metrics`: Prometheus text format. The signaling layer's own
//! metrics share this registry; live counts (connections, rooms, calls, SFU
//! peers) are read when scraped, and process figures come from the
//! prometheus crate's process collector.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use crate::auth::bearer;
use crate::error::AppError;
use crate::AppState;

/// Metrics owned by the server edge.
pub struct ServerMetrics {
    pub registry: Registry,
    connections: IntGauge,
    users_online: IntGauge,
    rooms_active: IntGauge,
    calls_active: IntGauge,
    monitors: IntGauge,
    sfu_peers: IntGauge,
    sfu_tracks: IntGauge,
    sfu_tasks: IntGauge,
    sfu_received: IntCounter,
    sfu_forwarded: IntCounter,
    /// HTTP responses by status code.
    pub http_responses: IntCounterVec,
    // --- limits: connections and memory ---
    tcp_connections: IntGauge,
    outbound_bytes: IntGauge,
    outbound_bytes_max: IntGauge,
}

fn gauge(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    let g = IntGauge::new(name, help)?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}

fn counter(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    let c = IntCounter::new(name, help)?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

impl ServerMetrics {
    /// A registry with the edge's metrics and the process collector.
    pub fn new() -> prometheus::Result<ServerMetrics> {
        let registry = Registry::new();
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        let http_responses = IntCounterVec::new(
            Opts::new(
                "earshot_http_responses_total",
                "HTTP responses, by status code",
            ),
            &["status"],
        )?;
        registry.register(Box::new(http_responses.clone()))?;
        Ok(ServerMetrics {
            connections: gauge(
                &registry,
                "earshot_connections",
                "Open WebSocket connections",
            )?,
            users_online: gauge(
                &registry,
                "earshot_users_online",
                "Users with at least one open connection",
            )?,
            rooms_active: gauge(&registry, "earshot_rooms_active", "Room tasks running")?,
            calls_active: gauge(&registry, "earshot_calls_active", "Calls in progress")?,
            monitors: gauge(
                &registry,
                "earshot_monitor_subscribers",
                "Connections watching ongoing calls",
            )?,
            sfu_peers: gauge(&registry, "earshot_sfu_peers", "SFU peer connections")?,
            sfu_tracks: gauge(
                &registry,
                "earshot_sfu_tracks",
                "SFU outgoing tracks (one per speaker-listener pair)",
            )?,
            sfu_tasks: gauge(&registry, "earshot_sfu_tasks", "SFU media tasks")?,
            sfu_received: counter(
                &registry,
                "earshot_sfu_received_packets_total",
                "RTP packets the SFU received",
            )?,
            sfu_forwarded: counter(
                &registry,
                "earshot_sfu_forwarded_packets_total",
                "RTP packets the SFU forwarded",
            )?,
            http_responses,
            // --- limits: connections and memory ---
            tcp_connections: gauge(
                &registry,
                "earshot_tcp_connections",
                "Open TCP connections (HTTP and WebSocket)",
            )?,
            outbound_bytes: gauge(
                &registry,
                "earshot_outbound_queued_bytes",
                "Bytes queued to WebSockets and not yet written, all connections",
            )?,
            outbound_bytes_max: gauge(
                &registry,
                "earshot_outbound_queued_bytes_max",
                "Bytes queued to the most backed-up WebSocket",
            )?,
            registry,
        })
    }

    /// Read the live counts into the gauges.
    fn refresh(&self, state: &AppState) {
        let sig = &state.signaling;
        let (connections, users) = sig.hub.counts();
        self.connections.set(connections as i64);
        self.users_online.set(users as i64);
        self.rooms_active.set(sig.rooms.active() as i64);
        self.calls_active.set(sig.calls.active() as i64);
        self.monitors.set(sig.monitors.len() as i64);
        // --- limits: connections and memory ---
        self.tcp_connections
            .set(state.conn_limits.tcp_open() as i64);
        let (mut total, mut most) = (0usize, 0usize);
        for conn in sig.hub.all_connections() {
            let n = conn.pending_bytes();
            total = total.saturating_add(n);
            most = most.max(n);
        }
        self.outbound_bytes.set(total as i64);
        self.outbound_bytes_max.set(most as i64);
        if let Some(sfu) = &sig.sfu {
            let s = sfu.stats();
            self.sfu_peers.set(s.peers as i64);
            self.sfu_tracks.set(s.tracks as i64);
            self.sfu_tasks.set(s.tasks as i64);
            // Counters only go up: add what happened since the last scrape.
            self.sfu_received
                .inc_by(s.received_packets.saturating_sub(self.sfu_received.get()));
            self.sfu_forwarded
                .inc_by(s.forwarded_packets.saturating_sub(self.sfu_forwarded.get()));
        }
    }
}

/// `GET /metrics`, behind `metrics_token` when one is configured.
pub async fn scrape(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(expected) = &state.config.metrics_token {
        let given = bearer(&headers).unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            given.as_bytes(),
            expected.as_bytes(),
        )) {
            return Err(AppError::Unauthenticated(
                "metrics need the metrics token".into(),
            ));
        }
    }
    let metrics = &state.metrics;
    metrics.refresh(&state);
    let mut body = Vec::new();
    TextEncoder::new()
        .encode(&metrics.registry.gather(), &mut body)
        .map_err(|e| AppError::Internal(format!("metrics: {e}")))?;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            TextEncoder::new().format_type().to_string(),
        )],
        body,
    )
        .into_response())
}
