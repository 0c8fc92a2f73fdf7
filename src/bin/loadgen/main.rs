//! `earshot-loadgen`: drive a running earshot server and report what it did.
//!
//! - `chat`: rooms of K members, each sending on an open-loop schedule
//!   (Poisson or fixed arrivals), against earshot or a Socket.IO server;
//!   reports deliveries per second, delivery and ack latency (p50/p99), and,
//!   given `--server-pid`, the server's CPU time per delivery. `--sweep`
//!   steps the rate up and reports the highest whose p99 stays in a limit.
//! - `sfu`: calls of M participants publishing Opus-rate audio through the
//!   SFU; reports forwarded packets/s, loss, delay and server CPU per packet.
//! - `idle`: open N authenticated sockets and report the server's RSS per socket.
//! - `attack-memory`: clients that never read and keep asking for a room's
//!   whole history; reports the server's peak and remaining RSS.
//!
//! Tokens are minted with the server's HS256 secret (`--secret`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use hdrhistogram::Histogram;

use earshot::auth::{now_secs, Auth, Claims};

mod attack;
mod chat;
mod sfu;

#[derive(Parser)]
#[command(name = "earshot-loadgen", about = "Load generator for earshot")]
struct Cli {
    /// Server address (host:port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// The server's HS256 secret, to mint tokens.
    #[arg(long, env = "EARSHOT_JWT_SECRET")]
    secret: String,
    /// PID of the server, to report its CPU time and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Chat fan-out: rooms x members, each member sending on an open-loop
    /// schedule. With `--sweep`, one line per rate and the highest rate
    /// whose delivery p99 stays within `--p99-limit-ms`.
    Chat {
        /// The server's protocol: earshot's own, or Socket.IO v4 over a
        /// raw WebSocket (`bench/socketio/server.js`, see scripts/bench-socketio).
        #[arg(long, value_enum, default_value_t = chat::Target::Earshot)]
        target: chat::Target,
        /// How each sender spaces its sends: exponential gaps (poisson) or a
        /// fixed period; either way sends never wait for acks or deliveries.
        #[arg(long, value_enum, default_value_t = chat::Arrivals::Poisson)]
        arrivals: chat::Arrivals,
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        #[arg(long, default_value_t = 10)]
        room_size: usize,
        /// Messages per second across all senders (without --sweep).
        #[arg(long, default_value_t = 5000)]
        rate: u64,
        /// START,FACTOR,MAX: measure START msg/s, then START*FACTOR, ... up
        /// to MAX on the same connections (each rate: warm-up, measured
        /// window, then a pause until everything sent is delivered). Stops
        /// after a rate that loses deliveries or the second rate in a row
        /// over the p99 limit; then reports the highest rate within it and
        /// runs half that rate once more.
        #[arg(long, value_delimiter = ',', num_args = 1)]
        sweep: Vec<f64>,
        /// The delivery p99 a sweep's rate must stay within, in ms.
        #[arg(long, default_value_t = 50.0)]
        p99_limit_ms: f64,
        /// Measured seconds (after warm-up), per rate.
        #[arg(long, default_value_t = 20)]
        duration: u64,
        /// Warm-up seconds, per rate.
        #[arg(long, default_value_t = 3)]
        warmup: u64,
        /// Longest wait, after each rate, for deliveries still in flight
        /// (those still missing then are reported as lost).
        #[arg(long, default_value_t = 10)]
        drain: u64,
        /// Message text length in bytes.
        #[arg(long, default_value_t = 100)]
        size: usize,
    },
    /// SFU calls: rooms x participants publishing 50 packets/s each.
    Sfu {
        #[arg(long, default_value_t = 10)]
        rooms: usize,
        #[arg(long, default_value_t = 3)]
        participants: usize,
        #[arg(long, default_value_t = 20)]
        duration: u64,
        #[arg(long, default_value_t = 5)]
        warmup: u64,
        /// The participants' peer implementation.
        #[arg(long, value_enum, default_value_t = sfu::PeerKind::Lean)]
        peer: sfu::PeerKind,
        /// Loss on the participants' uplinks, by their order in each call:
        /// `4,50` makes the first leave out every 4th packet it publishes
        /// (25 % loss), the second every 50th (2 %); 0 or none: no loss.
        #[arg(long, value_delimiter = ',')]
        lossy_every: Vec<u16>,
    },
    /// Idle sockets: memory per connection.
    Idle {
        #[arg(long, default_value_t = 5000)]
        connections: usize,
        /// Connections being set up at once (the time to connect them all
        /// is reported: a restart's reconnect storm).
        #[arg(long, default_value_t = 200)]
        parallel: usize,
    },
    /// Clients that never read, asking for a large history again and again.
    AttackMemory {
        #[arg(long, default_value_t = 3)]
        attackers: usize,
        /// Messages in the room's history.
        #[arg(long, default_value_t = 500)]
        history: usize,
        /// Message text length in bytes.
        #[arg(long, default_value_t = 4000)]
        size: usize,
        /// Seconds of attack.
        #[arg(long, default_value_t = 16)]
        duration: u64,
        /// Requests per second per attacker.
        #[arg(long, default_value_t = 20)]
        rate: u64,
    },
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// `POST /api/rooms`, waiting out the REST rate limit (`429`) if it applies.
async fn create_room(
    http: &reqwest::Client,
    addr: &str,
    token: &str,
    body: &serde_json::Value,
) -> Result<()> {
    loop {
        let res = http
            .post(format!("http://{addr}/api/rooms"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await?;
        if res.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let secs = res
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(secs)).await;
            continue;
        }
        if !res.status().is_success() {
            bail!("create room: {} {}", res.status(), res.text().await?);
        }
        return Ok(());
    }
}

fn mint(secret: &str, user: &str, role: &str) -> Result<String> {
    let config = earshot::Config {
        jwt_secret: Some(secret.into()),
        dev: true,
        ..Default::default()
    };
    let auth = Auth::from_config(&config)?;
    let now = now_secs();
    let claims = Claims {
        sub: user.into(),
        name: Some(user.into()),
        role: role.into(),
        tenant: None,
        rooms: vec![],
        exp: now + 86_400,
        iat: now,
        iss: None,
        aud: None,
    };
    auth.mint(&claims).context("mint")
}

/// (user+system CPU seconds, RSS bytes) of a process, from /proc.
fn proc_usage(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((ticks as f64 / 100.0, rss_kb * 1024))
}

/// Microseconds encoded after `marker` in `text`, e.g. `"client_msg_id":"c123"`.
fn stamp_after(text: &str, marker: &str) -> Option<u64> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Chat {
            target,
            arrivals,
            rooms,
            room_size,
            rate,
            sweep,
            p99_limit_ms,
            duration,
            warmup,
            drain,
            size,
        } => {
            let sweep = match sweep[..] {
                [] => None,
                [start, factor, max] => Some((start, factor, max)),
                _ => bail!("--sweep wants START,FACTOR,MAX"),
            };
            let plan = chat::Plan {
                target,
                arrivals,
                rooms,
                room_size,
                rate: rate as f64,
                sweep,
                p99_limit_ms,
                duration,
                warmup,
                drain,
                size,
            };
            chat::run(&cli.addr, &cli.secret, cli.server_pid, plan).await
        }
        Cmd::Sfu {
            rooms,
            participants,
            duration,
            warmup,
            peer,
            lossy_every,
        } => {
            let plan = sfu::Plan {
                rooms,
                participants: participants.max(2),
                duration,
                warmup,
                peer,
                lossy_every,
            };
            sfu::run(&cli.addr, &cli.secret, cli.server_pid, plan).await
        }
        Cmd::Idle {
            connections,
            parallel,
        } => {
            idle(
                &cli.addr,
                &cli.secret,
                cli.server_pid,
                connections,
                parallel,
            )
            .await
        }
        Cmd::AttackMemory {
            attackers,
            history,
            size,
            duration,
            rate,
        } => {
            let plan = attack::Plan {
                attackers,
                history,
                size,
                duration,
                rate,
            };
            attack::run(&cli.addr, &cli.secret, cli.server_pid, plan).await
        }
    }
}

async fn idle(
    addr: &str,
    secret: &str,
    pid: Option<u32>,
    connections: usize,
    parallel: usize,
) -> Result<()> {
    let Some(pid) = pid else {
        bail!("idle needs --server-pid to read the server's memory")
    };
    let url = |i: usize| -> Result<String> {
        Ok(format!(
            "ws://{addr}/ws?token={}",
            mint(secret, &format!("lg-idle-{i}"), "applicant")?
        ))
    };
    // Warm up allocator pools with a few sockets first.
    let mut socks = Vec::with_capacity(connections);
    for i in 0..50 {
        socks.push(
            tokio_tungstenite::connect_async(url(connections + i)?)
                .await?
                .0,
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, rss0) = proc_usage(pid).context("read server memory")?;
    // `parallel` at a time, each counted once its `welcome` arrived.
    let gate = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..connections {
        let (url, gate) = (url(i)?, gate.clone());
        set.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let (mut ws, _) = tokio_tungstenite::connect_async(url)
                .await
                .with_context(|| format!("socket {i}"))?;
            // Read the welcome so the connection is fully set up.
            let _ = tokio::time::timeout(Duration::from_secs(30), ws.next()).await;
            anyhow::Ok(ws)
        });
    }
    while let Some(ws) = set.join_next().await {
        socks.push(ws??);
    }
    let took = started.elapsed();
    println!(
        "{connections} authenticated sockets ({parallel} at a time) connected in {:.2} s",
        took.as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, rss1) = proc_usage(pid).context("read server memory")?;
    let per = rss1.saturating_sub(rss0) as f64 / connections as f64;
    println!(
        "{connections} idle sockets: server RSS {:.1} MiB -> {:.1} MiB; {:.2} KiB per socket",
        rss0 as f64 / 1048576.0,
        rss1 as f64 / 1048576.0,
        per / 1024.0
    );
    Ok(())
}
