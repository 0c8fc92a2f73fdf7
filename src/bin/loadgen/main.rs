//! `earshot-loadgen`: drive a running earshot server and report what it did.
//!
//! - `chat`: rooms of K members; every member sends at a fixed rate; reports
//!   deliveries per second, delivery and ack latency (p50/p99), and, given
//!   `--server-pid`, the server's CPU time per delivery.
//! - `sfu`: calls of M participants publishing Opus-rate audio through the
//!   SFU; reports forwarded packets/s, loss, delay and server CPU per packet.
//! - `idle`: open N authenticated sockets and report the server's RSS per socket.
//! - `attack-memory`: clients that never read and keep asking for a room's
//!   whole history; reports the server's peak and remaining RSS.
//!
//! Tokens are minted with the server's HS256 secret (`--secret`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use earshot::auth::{now_secs, Auth, Claims};

mod attack;
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
    /// Chat fan-out: rooms x members, each member sending at a fixed rate.
    Chat {
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        #[arg(long, default_value_t = 10)]
        room_size: usize,
        /// Messages per second across all senders.
        #[arg(long, default_value_t = 5000)]
        rate: u64,
        /// Measured seconds (after warm-up).
        #[arg(long, default_value_t = 20)]
        duration: u64,
        #[arg(long, default_value_t = 3)]
        warmup: u64,
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

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    acks: AtomicU64,
    deliveries: AtomicU64,
    errors: AtomicU64,
    closed: AtomicU64,
}

struct Shared {
    start: Instant,
    measuring: AtomicBool,
    stop: AtomicBool,
    counters: Counters,
    delivery: Mutex<Histogram<u64>>,
    ack: Mutex<Histogram<u64>>,
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
            rooms,
            room_size,
            rate,
            duration,
            warmup,
            size,
        } => {
            chat(
                &cli.addr,
                &cli.secret,
                cli.server_pid,
                rooms,
                room_size,
                rate,
                duration,
                warmup,
                size,
            )
            .await
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

#[allow(clippy::too_many_arguments)]
async fn chat(
    addr: &str,
    secret: &str,
    pid: Option<u32>,
    rooms: usize,
    room_size: usize,
    rate: u64,
    duration: u64,
    warmup: u64,
    size: usize,
) -> Result<()> {
    let http = reqwest::Client::new();
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    // A staff role may put anyone in a room (the default `room_creation`).
    let owner = mint(secret, "lg-owner", "staff")?;
    for r in 0..rooms {
        let members: Vec<String> = (0..room_size).map(|u| format!("lg-{r}-{u}")).collect();
        let body = json!({"id": format!("lg-{run}-{r}"), "type": "bench", "title": "bench", "participants": members});
        create_room(&http, addr, &owner, &body).await?;
    }
    let shared = Arc::new(Shared {
        start: Instant::now(),
        measuring: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        counters: Counters::default(),
        delivery: Mutex::new(histogram()),
        ack: Mutex::new(histogram()),
    });
    let senders = (rooms * room_size) as u64;
    let period = Duration::from_secs_f64(senders as f64 / rate.max(1) as f64);
    let padding = "x".repeat(size.saturating_sub(24));
    let mut tasks = Vec::new();
    for r in 0..rooms {
        for u in 0..room_size {
            let user = format!("lg-{r}-{u}");
            let token = mint(secret, &user, "applicant")?;
            let url = format!("ws://{addr}/ws?token={token}");
            let (ws, _) = tokio_tungstenite::connect_async(&url)
                .await
                .with_context(|| format!("connect {user}"))?;
            let room = format!("lg-{run}-{r}");
            tasks.push(tokio::spawn(member(
                ws,
                room,
                period,
                padding.clone(),
                shared.clone(),
            )));
        }
    }
    eprintln!(
        "{} connections in {rooms} rooms of {room_size}; {rate} msg/s offered",
        rooms * room_size
    );
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    let c = &shared.counters;
    let base = [&c.sent, &c.acks, &c.deliveries].map(|a| a.load(Ordering::Relaxed));
    shared.delivery.lock().unwrap().reset();
    shared.ack.lock().unwrap().reset();
    let cpu0 = pid.and_then(proc_usage);
    shared.measuring.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(duration)).await;
    shared.measuring.store(false, Ordering::Relaxed);
    let secs = t0.elapsed().as_secs_f64();
    let cpu1 = pid.and_then(proc_usage);
    let now = [&c.sent, &c.acks, &c.deliveries].map(|a| a.load(Ordering::Relaxed));
    shared.stop.store(true, Ordering::Relaxed);
    // Let readers flush their last samples.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (sent, acks, deliveries) = (now[0] - base[0], now[1] - base[1], now[2] - base[2]);
    let d = shared.delivery.lock().unwrap().clone();
    let a = shared.ack.lock().unwrap().clone();
    println!("measured {secs:.1} s");
    println!("sent        {:>10.0} msg/s", sent as f64 / secs);
    println!("acked       {:>10.0} msg/s", acks as f64 / secs);
    println!("delivered   {:>10.0} msg/s", deliveries as f64 / secs);
    println!(
        "delivery latency  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        d.value_at_quantile(0.5) as f64 / 1000.0,
        d.value_at_quantile(0.99) as f64 / 1000.0,
        d.max() as f64 / 1000.0
    );
    println!(
        "ack latency       p50 {:.2} ms  p99 {:.2} ms",
        a.value_at_quantile(0.5) as f64 / 1000.0,
        a.value_at_quantile(0.99) as f64 / 1000.0
    );
    println!(
        "errors {}  closed {}",
        c.errors.load(Ordering::Relaxed),
        c.closed.load(Ordering::Relaxed)
    );
    if let (Some((cpu_a, _)), Some((cpu_b, rss))) = (cpu0, cpu1) {
        let cpu = cpu_b - cpu_a;
        println!(
            "server CPU {:.2} cores; {:.2} us per delivery; RSS {:.1} MiB",
            cpu / secs,
            cpu * 1e6 / deliveries.max(1) as f64,
            rss as f64 / (1024.0 * 1024.0)
        );
    }
    for t in tasks {
        t.abort();
    }
    Ok(())
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn member(ws: Ws, room: String, period: Duration, padding: String, shared: Arc<Shared>) {
    let (mut sink, mut stream) = ws.split();
    let join = json!({"type": "join_room", "room_id": room}).to_string();
    if sink.send(Message::text(join)).await.is_err() {
        shared.counters.errors.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let reader_shared = shared.clone();
    let reader = tokio::spawn(async move {
        let s = reader_shared;
        let mut local_d = histogram();
        let mut local_a = histogram();
        let mut flushed = Instant::now();
        while let Some(Ok(msg)) = stream.next().await {
            let Message::Text(text) = msg else { continue };
            let now = s.start.elapsed().as_micros() as u64;
            let measuring = s.measuring.load(Ordering::Relaxed);
            if text.starts_with(r#"{"type":"message","#) {
                s.counters.deliveries.fetch_add(1, Ordering::Relaxed);
                if let (true, Some(t)) = (measuring, stamp_after(&text, r#""text":"lg "#)) {
                    let _ = local_d.record(now.saturating_sub(t).max(1));
                }
            } else if text.starts_with(r#"{"type":"message_ack""#) {
                s.counters.acks.fetch_add(1, Ordering::Relaxed);
                if let (true, Some(t)) = (measuring, stamp_after(&text, r#""client_msg_id":"c"#)) {
                    let _ = local_a.record(now.saturating_sub(t).max(1));
                }
            } else if text.starts_with(r#"{"type":"error""#) {
                s.counters.errors.fetch_add(1, Ordering::Relaxed);
            }
            if flushed.elapsed() > Duration::from_millis(100) {
                flushed = Instant::now();
                let _ = s.delivery.lock().unwrap().add(&local_d);
                let _ = s.ack.lock().unwrap().add(&local_a);
                local_d.reset();
                local_a.reset();
            }
        }
        let _ = s.delivery.lock().unwrap().add(&local_d);
        let _ = s.ack.lock().unwrap().add(&local_a);
        s.counters.closed.fetch_add(1, Ordering::Relaxed);
    });
    // Spread senders over the period so load is smooth.
    let offset = Duration::from_micros(rand_offset(period));
    tokio::time::sleep(Duration::from_millis(500) + offset).await;
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut n = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        tick.tick().await;
        n += 1;
        let t = shared.start.elapsed().as_micros() as u64;
        let msg = format!(
            r#"{{"type":"send_message","room_id":"{room}","client_msg_id":"c{t}-{n}","text":"lg {t} {padding}"}}"#
        );
        if sink.send(Message::text(msg)).await.is_err() {
            break;
        }
        shared.counters.sent.fetch_add(1, Ordering::Relaxed);
    }
    reader.abort();
}

fn rand_offset(period: Duration) -> u64 {
    let p = period.as_micros().max(1) as u64;
    uuid::Uuid::new_v4().as_u128() as u64 % p
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
