//! The `earshot` binary: load config, set up tracing, bind, run.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use earshot::auth::{now_secs, Auth, Claims};
use earshot::Config;

#[derive(Parser)]
#[command(
    name = "earshot",
    version,
    about = "Self-hosted realtime voice and chat server"
)]
struct Cli {
    /// TOML config file (default: ./earshot.toml if present).
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    flags: Flags,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Flags that override the config file and environment.
#[derive(clap::Args, Serialize, Default)]
struct Flags {
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
    /// Data directory (SQLite database, dev secret).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    /// Development mode: token minting and a generated signing secret.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dev: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Print a signed token (dev mode, or with an HS256 jwt_secret configured).
    Token {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "applicant")]
        role: String,
        #[arg(long)]
        tenant: Option<String>,
        /// Room grants (repeatable).
        #[arg(long = "room")]
        rooms: Vec<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl: u64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref(), &cli.flags)?;
    init_tracing(config.log_json);
    for var in Config::unknown_env_vars() {
        tracing::warn!(variable = %var, "ignoring an EARSHOT_ variable that names no setting");
    }
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            fit_connections_to_file_limit(&mut config);
            // One worker: the current-thread scheduler, which wakes tasks
            // without the cross-thread bookkeeping of the multi-threaded one.
            let mut builder = match config.worker_threads {
                Some(1) => tokio::runtime::Builder::new_current_thread(),
                Some(n) => {
                    let mut b = tokio::runtime::Builder::new_multi_thread();
                    b.worker_threads(n.max(1));
                    b
                }
                None => tokio::runtime::Builder::new_multi_thread(),
            };
            let runtime = builder.enable_all().build()?;
            runtime.block_on(serve(config))
        }
        Command::Token {
            user,
            name,
            role,
            tenant,
            rooms,
            ttl,
        } => {
            // Minting is a local, trusted action: allow it with a configured secret too.
            config.dev = true;
            let auth = Auth::from_config(&config)?;
            let now = now_secs();
            let claims = Claims {
                sub: user,
                name,
                role,
                tenant,
                rooms,
                exp: now + ttl,
                iat: now,
                iss: config.jwt_issuer.clone(),
                aud: config.jwt_audience.clone(),
            };
            let token = auth
                .mint(&claims)
                .context("tokens can only be minted with HS256")?;
            println!("{token}");
            Ok(())
        }
    }
}

/// Descriptors kept for everything but client connections: the database,
/// media sockets, uploads, refused connections being answered.
const FD_HEADROOM: u64 = 256;

/// Raise the open-file soft limit to the hard limit (each connection is a
/// descriptor; the usual soft default of 1024 is far below what a server
/// needs) and keep `max_connections` within what the limit allows.
fn fit_connections_to_file_limit(config: &mut Config) {
    let limit = match raise_file_limit() {
        Ok((before, after)) => {
            tracing::info!(before, after, "open-file limit");
            after
        }
        Err(err) => {
            tracing::warn!(%err, "cannot read or raise the open-file limit");
            return;
        }
    };
    let wanted = config.max_connections as u64 + FD_HEADROOM;
    if wanted > limit {
        let fits = limit.saturating_sub(FD_HEADROOM).max(1) as usize;
        tracing::warn!(
            max_connections = config.max_connections,
            open_file_limit = limit,
            lowered_to = fits,
            "max_connections does not fit the open-file limit; lowered"
        );
        config.max_connections = fits;
        config.connection_reserve = config.connection_reserve.min(fits / 2);
    }
}

/// The open-file soft limit before and after raising it to the hard limit.
#[cfg(unix)]
// `rlim_t` is `u64` on Linux but not on every Unix.
#[allow(clippy::unnecessary_cast)]
fn raise_file_limit() -> std::io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = lim.rlim_cur as u64;
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; the call only reads it.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        return Ok((before, lim.rlim_max as u64));
    }
    Ok((before, before))
}

#[cfg(not(unix))]
fn raise_file_limit() -> std::io::Result<(u64, u64)> {
    Err(std::io::Error::other("not supported on this platform"))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        trigger.cancel();
    });
    earshot::run(listener, config, shutdown).await?;
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// What is logged unless `RUST_LOG` says otherwise: earshot's own events
/// from `info`; from libraries only what an operator can act on. (The DTLS
/// layer warns about every TLS extension a browser offers that it does not
/// implement, about 18 per call join: nothing to act on.)
const DEFAULT_LOG_FILTER: &str = "info,tower_http=warn,sqlx=warn,dtls::handshake=error";

fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_default_log_keeps_earshots_warnings_and_drops_dtls_extension_chatter() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                super::DEFAULT_LOG_FILTER,
            ))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "dtls::handshake::handshake_message_client_hello", "Unsupported Extension Type 0 23");
            tracing::warn!(target: "dtls::conn", "handshake failed");
            tracing::warn!(target: "earshot::ws", "slow consumer closed");
            tracing::debug!(target: "earshot::ws", "client request");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("Unsupported Extension Type"), "{text}");
        assert!(
            text.contains("handshake failed"),
            "other DTLS warnings stay: {text}"
        );
        assert!(text.contains("slow consumer closed"), "{text}");
        assert!(!text.contains("client request"), "{text}");
    }
}
