//! The earshot server: configuration, the HTTP and WebSocket edges, and the
//! wiring of the signaling crate into one process.
//!
//! # Layout
//! - [`config`]: the typed [`Config`] (file, `EARSHOT_*` env, flags).
//! - [`auth`]: JWT verification, dev-mode minting, the `AuthUser`,
//!   `ServiceCaller` (API keys) and `Caller` extractors.
//! - [`error`]: [`error::AppError`], every HTTP failure as a typed body.
//! - [`http`]: REST routes and the static demo app; the server API for
//!   product backends, notifications, uploads, the assistant setting and the
//!   OpenAPI description (`/api/openapi.json`).
//! - [`files`]: upload names, MIME sniffing, thumbnails, download headers.
//! - [`http`]: REST routes and the static demo app.
//! - [`limits`]: connection caps (total, per IP, sockets per user).
//! - [`serve`]: the accept loop (request-head deadline, caps, graceful stop).
//! - [`metrics`]: `GET /metrics` in the Prometheus text format.
//! - [`upload_limits`]: thumbnail workers, upload rate, quota, disk floor,
//!   and the sweeper of never-attached uploads.
//! - [`webhooks`]: signed, retried delivery of call events.
//! - [`ws`]: the WebSocket connection: auth, reader, writer, heartbeat.
//! - [`run`]: start everything on a listener and stop it on a token.

pub mod auth;
pub mod config;
pub mod error;
pub mod files;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod serve;
pub mod upload_limits;
pub mod webhooks;
pub mod ws;

use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use config::Config;
use earshot_signaling::events::EventSink;
use earshot_signaling::store::Store;
use earshot_signaling::{Parts, Signaling};

fn webhook_config(config: &Config) -> Option<webhooks::WebhookConfig> {
    if config.webhook_urls.is_empty() {
        return None;
    }
    Some(webhooks::WebhookConfig {
        urls: config.webhook_urls.clone(),
        secret: config.webhook_secret.clone().unwrap_or_default(),
        max_attempts: config.webhook_max_attempts.max(1),
        retry_base: config.webhook_retry_base,
        timeout: config.webhook_timeout,
    })
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    pub config: Config,
    pub auth: auth::Auth,
    /// Checks tokens presented on open sockets (`authenticate` refreshes);
    /// built once and shared, not cloned per connection.
    pub token_verifier: earshot_signaling::expiry::TokenVerifier,
    pub signaling: Arc<Signaling>,
    /// Cancelled when the server starts shutting down.
    pub shutdown: CancellationToken,
    /// Tracks WebSocket connections so shutdown can wait for them.
    pub tracker: TaskTracker,
    pub started: Instant,
    pub metrics: metrics::ServerMetrics,
    /// Thumbnail workers, upload rate, quota and disk floor.
    pub uploads: upload_limits::UploadLimits,
    /// Per-user and per-IP limits at the HTTP edge.
    pub limits: http::Limits,
    /// Connection caps, shared by the accept loop and the WebSocket edge.
    pub conn_limits: Arc<limits::Limits>,
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

/// Why the server could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Key(#[from] auth::KeyError),
    #[error("storage: {0}")]
    Storage(#[from] earshot_signaling::SignalError),
    #[error("serve: {0}")]
    Io(#[from] std::io::Error),
    #[error("media: {0}")]
    Media(#[from] earshot_sfu::SfuError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Open storage and build the application state and router.
pub async fn app(
    config: Config,
    shutdown: CancellationToken,
) -> Result<(axum::Router, AppState), ServerError> {
    config.validate()?;
    let auth = auth::Auth::from_config(&config)?;
    let (store, writer) = Store::open_sqlite(&config.database_path(), 1024).await?;
    tokio::spawn(writer.run());
    let interrupted = match store.close_dangling_calls().await {
        Ok(calls) => calls,
        Err(err) => {
            warn!(%err, "cannot close dangling calls");
            vec![]
        }
    };
    if !interrupted.is_empty() {
        info!(
            calls = interrupted.len(),
            "closed calls left open by a previous run"
        );
    }
    let sfu = if config.media {
        Some(earshot_sfu::Sfu::bind(config.sfu()).await?)
    } else {
        None
    };
    let mut signaling_config = config.signaling();
    signaling_config.assistant = config.assistant()?;
    let server_metrics = metrics::ServerMetrics::new()?;
    let signaling_metrics =
        earshot_signaling::metrics::Metrics::register(&server_metrics.registry)?;
    let events = match webhook_config(&config) {
        Some(hooks) => {
            let (sink, rx) = EventSink::channel(1024);
            tokio::spawn(webhooks::run(hooks, rx, shutdown.clone()));
            sink
        }
        None => EventSink::none(),
    };
    tokio::spawn(upload_limits::sweep_orphans(
        store.clone(),
        config.clone(),
        shutdown.clone(),
    ));
    let signaling = Signaling::start(
        signaling_config,
        Parts {
            store,
            tracker: TaskTracker::new(),
            sfu,
            metrics: signaling_metrics,
            events,
        },
    );
    // Their rooms' timelines say the call was interrupted.
    tokio::spawn({
        let signaling = signaling.clone();
        async move { signaling.record_interrupted(interrupted).await }
    });
    let limits = http::Limits::new(&config);
    let conn_limits = limits::Limits::new(&config);
    let state = AppState(Arc::new(AppInner {
        limits,
        conn_limits,
        token_verifier: auth.verifier(),
        auth,
        signaling,
        shutdown,
        tracker: TaskTracker::new(),
        started: Instant::now(),
        metrics: server_metrics,
        uploads: upload_limits::UploadLimits::new(&config),
        config,
    }));
    Ok((http::router(state.clone()), state))
}

/// Ask every call to end (the server is stopping).
async fn end_calls(state: &AppState) {
    for call_id in state.signaling.calls.ids() {
        let _ = state
            .signaling
            .calls
            .send(&call_id, earshot_signaling::call::CallCmd::Shutdown)
            .await;
    }
}

/// Serve on `listener` until `shutdown` is cancelled, then tell every client
/// (close 1012), wait for connections to finish (up to `shutdown_grace`) and
/// make sure every queued write is committed.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let (router, state) = app(config, shutdown.clone()).await?;
    info!(addr = %listener.local_addr()?, dev = state.config.dev, "earshot listening");
    // Calls end first (`interrupted`), while their devices can still be told.
    tokio::spawn({
        let (state, shutdown) = (state.clone(), shutdown.clone());
        async move {
            shutdown.cancelled().await;
            end_calls(&state).await;
        }
    });
    serve::serve(
        listener,
        router,
        state.conn_limits.clone(),
        state.config.header_timeout,
        shutdown.clone(),
    )
    .await;
    end_calls(&state).await;
    state.tracker.close();
    if tokio::time::timeout(state.config.shutdown_grace, state.tracker.wait())
        .await
        .is_err()
    {
        warn!("connections still open after the grace period");
    }
    if let Some(sfu) = &state.signaling.sfu {
        // Give call tasks a moment to close their peers and record the end.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        while state.signaling.calls.active() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        sfu.close().await;
    }
    if let Err(err) = state.signaling.store.writer().flush().await {
        warn!(%err, "final flush failed");
    }
    info!("earshot stopped");
    Ok(())
}
