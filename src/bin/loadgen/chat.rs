//! `chat`: rooms of K members, every member sending on its own open-loop
//! schedule; reports deliveries per second, delivery and ack latency, and,
//! given `--server-pid`, the server's CPU per delivery and per message.
//!
//! Arrivals are open loop: each sender's next send is scheduled by the
//! clock (exponential gaps for `poisson`, a fixed period for `fixed`) and
//! never waits for an ack or a delivery; a send that falls behind its
//! schedule goes out at once and its lag is reported. Latency is taken
//! from the send time stamped into each message to the moment a member
//! reads the delivery.
//!
//! Two targets speak the same workload:
//!
//! - `earshot`: rooms made over REST, `join_room`, `send_message`; the
//!   server broadcasts `message` to every joined member (sender included)
//!   and acks the sender with `message_ack`.
//! - `socketio`: Socket.IO v4 over a raw WebSocket (Engine.IO 4 framing, no
//!   polling), against `bench/socketio/server.js`: `40` connect, then
//!   `420["join","<room>"]` (acked as `430[]`), then per message
//!   `42<n>["msg",{"room":..,"id":..,"t":<send time us>,"text":..}]`; the
//!   server emits `42["msg",<payload>]` to the room (sender included) and
//!   acks with `43<n>[{"id":..,"t":..}]`. Engine.IO pings (`2`) are
//!   answered (`3`).
//!
//! A sweep (`--sweep start,factor,max`) runs successive rates on the same
//! connections: each step runs `--warmup` seconds, measures `--duration`
//! seconds, then pauses every sender until all its messages are delivered
//! (or `--drain` seconds pass, which counts the rest as lost).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::json;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::{create_room, histogram, mint, proc_usage, stamp_after};

/// The server the generator talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// earshot's own WebSocket protocol.
    Earshot,
    /// Socket.IO v4 (`bench/socketio/server.js`), over a raw WebSocket.
    Socketio,
}

/// How each sender spaces its sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Arrivals {
    /// Exponential gaps with the sender's mean period (a Poisson process).
    Poisson,
    /// A fixed period, each sender at a random phase.
    Fixed,
}

pub struct Plan {
    pub target: Target,
    pub arrivals: Arrivals,
    pub rooms: usize,
    pub room_size: usize,
    /// Messages per second across all senders (one run, no sweep).
    pub rate: f64,
    /// `start, factor, max`: the rates of a sweep.
    pub sweep: Option<(f64, f64, f64)>,
    pub p99_limit_ms: f64,
    pub duration: u64,
    pub warmup: u64,
    pub drain: u64,
    pub size: usize,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    acks: AtomicU64,
    deliveries: AtomicU64,
    errors: AtomicU64,
    closed: AtomicU64,
    /// Sends that went out more than `LATE` behind their schedule.
    late: AtomicU64,
    ready: AtomicU64,
}

/// A send this far behind its schedule is counted as late.
const LATE: Duration = Duration::from_millis(5);

struct Shared {
    start: Instant,
    /// Samples are recorded only while set (the measured window).
    measuring: std::sync::atomic::AtomicBool,
    counters: Counters,
    delivery: Mutex<Histogram<u64>>,
    ack: Mutex<Histogram<u64>>,
    /// How far behind its schedule each send went out.
    lag: Mutex<Histogram<u64>>,
}

impl Shared {
    fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    fn record(&self, h: &Mutex<Histogram<u64>>, us: u64) {
        if self.measuring.load(Ordering::Relaxed) {
            let _ = h.lock().unwrap().record(us.max(1));
        }
    }

    /// sent, acks, deliveries, errors, closed, late.
    fn totals(&self) -> [u64; 6] {
        let c = &self.counters;
        [
            &c.sent,
            &c.acks,
            &c.deliveries,
            &c.errors,
            &c.closed,
            &c.late,
        ]
        .map(|a| a.load(Ordering::Relaxed))
    }
}

/// What one rate gave.
struct Step {
    rate: f64,
    secs: f64,
    sent: u64,
    acks: u64,
    deliveries: u64,
    errors: u64,
    closed: u64,
    /// Deliveries still missing after the drain.
    lost: u64,
    /// Sends more than `LATE` behind schedule in the window.
    late: u64,
    delivery: Histogram<u64>,
    ack: Histogram<u64>,
    lag: Histogram<u64>,
    /// Server CPU seconds in the window, and its RSS at the end.
    cpu: Option<(f64, u64)>,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Step {
    fn p99_ms(&self) -> f64 {
        ms(self.delivery.value_at_quantile(0.99))
    }
    fn per_sec(&self, n: u64) -> f64 {
        n as f64 / self.secs
    }
    fn cores(&self) -> Option<f64> {
        self.cpu.map(|(c, _)| c / self.secs)
    }
    fn us_per(&self, n: u64) -> Option<f64> {
        self.cpu.map(|(c, _)| c * 1e6 / n.max(1) as f64)
    }
    fn healthy(&self) -> bool {
        self.lost == 0 && self.closed == 0
    }
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.prec$}"))
}

pub async fn run(addr: &str, secret: &str, pid: Option<u32>, plan: Plan) -> Result<()> {
    let members = plan.rooms * plan.room_size;
    if members == 0 {
        bail!("no members: --rooms and --room-size must be at least 1");
    }
    let shared = Arc::new(Shared {
        start: Instant::now(),
        measuring: Default::default(),
        counters: Counters::default(),
        delivery: Mutex::new(histogram()),
        ack: Mutex::new(histogram()),
        lag: Mutex::new(histogram()),
    });
    let (rate_tx, rate_rx) = watch::channel(0.0f64);
    let tasks = connect(addr, secret, &plan, rate_rx, &shared).await?;
    let target = match plan.target {
        Target::Earshot => "earshot",
        Target::Socketio => "socket.io",
    };
    let arrivals = match plan.arrivals {
        Arrivals::Poisson => "poisson",
        Arrivals::Fixed => "fixed",
    };
    eprintln!(
        "{members} connections to {target} in {} rooms of {}; {arrivals} arrivals",
        plan.rooms, plan.room_size
    );
    let result = match plan.sweep {
        None => {
            let s = step(&plan, pid, plan.rate, &rate_tx, &shared).await;
            report(&s);
            Ok(())
        }
        Some(s) => sweep(&plan, pid, s, &rate_tx, &shared).await,
    };
    drop(rate_tx);
    for t in tasks {
        t.abort();
    }
    result
}

/// Connect every member, join its room, and wait until all have joined.
async fn connect(
    addr: &str,
    secret: &str,
    plan: &Plan,
    rate: watch::Receiver<f64>,
    shared: &Arc<Shared>,
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    if plan.target == Target::Earshot {
        let http = reqwest::Client::new();
        // A staff role may put anyone in a room (the default `room_creation`).
        let owner = mint(secret, "lg-owner", "staff")?;
        for r in 0..plan.rooms {
            let members: Vec<String> = (0..plan.room_size).map(|u| format!("lg-{r}-{u}")).collect();
            let body = json!({"id": format!("lg-{run}-{r}"), "type": "bench", "title": "bench", "participants": members});
            create_room(&http, addr, &owner, &body).await?;
        }
    }
    let member_plan = Arc::new(MemberPlan {
        target: plan.target,
        arrivals: plan.arrivals,
        senders: (plan.rooms * plan.room_size) as f64,
        padding: "x".repeat(plan.size.saturating_sub(24)),
    });
    let mut tasks = Vec::new();
    for r in 0..plan.rooms {
        for u in 0..plan.room_size {
            let user = format!("lg-{r}-{u}");
            let url = match plan.target {
                Target::Earshot => {
                    format!("ws://{addr}/ws?token={}", mint(secret, &user, "applicant")?)
                }
                Target::Socketio => format!("ws://{addr}/socket.io/?EIO=4&transport=websocket"),
            };
            let (ws, _) = tokio_tungstenite::connect_async(&url)
                .await
                .with_context(|| format!("connect {user}"))?;
            tasks.push(tokio::spawn(member(
                ws,
                format!("lg-{run}-{r}"),
                format!("{r}-{u}"),
                member_plan.clone(),
                rate.clone(),
                shared.clone(),
            )));
        }
    }
    let want = tasks.len() as u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while shared.counters.ready.load(Ordering::Relaxed) < want {
        if Instant::now() > deadline || shared.counters.closed.load(Ordering::Relaxed) > 0 {
            bail!(
                "only {} of {want} members joined their rooms",
                shared.counters.ready.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(tasks)
}

/// One rate: warm up, measure, then pause the senders and drain.
async fn step(
    plan: &Plan,
    pid: Option<u32>,
    rate: f64,
    rate_tx: &watch::Sender<f64>,
    shared: &Shared,
) -> Step {
    let before = shared.totals();
    rate_tx.send_replace(rate);
    tokio::time::sleep(Duration::from_secs(plan.warmup)).await;
    for h in [&shared.delivery, &shared.ack, &shared.lag] {
        h.lock().unwrap().reset();
    }
    let base = shared.totals();
    let cpu0 = pid.and_then(proc_usage);
    let t0 = Instant::now();
    shared.measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(plan.duration)).await;
    shared.measuring.store(false, Ordering::Relaxed);
    let secs = t0.elapsed().as_secs_f64();
    let cpu1 = pid.and_then(proc_usage);
    let now = shared.totals();
    rate_tx.send_replace(0.0);
    // Drain: every message sent in this step is due once per member.
    let k = plan.room_size as u64;
    let deadline = Instant::now() + Duration::from_secs(plan.drain);
    let missing = loop {
        let t = shared.totals();
        let due = (t[0] - before[0]) * k;
        let got = t[2] - before[2];
        let unacked = (t[0] - before[0]).saturating_sub(t[1] - before[1]);
        if (got >= due && unacked == 0) || Instant::now() > deadline {
            break due.saturating_sub(got);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let after = shared.totals();
    Step {
        rate,
        secs,
        sent: now[0] - base[0],
        acks: now[1] - base[1],
        deliveries: now[2] - base[2],
        errors: after[3] - before[3],
        closed: after[4] - before[4],
        lost: missing,
        late: now[5] - base[5],
        delivery: shared.delivery.lock().unwrap().clone(),
        ack: shared.ack.lock().unwrap().clone(),
        lag: shared.lag.lock().unwrap().clone(),
        cpu: match (cpu0, cpu1) {
            (Some((a, _)), Some((b, rss))) => Some((b - a, rss)),
            _ => None,
        },
    }
}

fn report(s: &Step) {
    let (d, a, l) = (&s.delivery, &s.ack, &s.lag);
    println!("measured {:.1} s", s.secs);
    println!("offered     {:>10.0} msg/s", s.rate);
    println!("sent        {:>10.0} msg/s", s.per_sec(s.sent));
    println!("acked       {:>10.0} msg/s", s.per_sec(s.acks));
    println!("delivered   {:>10.0} msg/s", s.per_sec(s.deliveries));
    println!(
        "delivery latency  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        ms(d.value_at_quantile(0.5)),
        ms(d.value_at_quantile(0.99)),
        ms(d.max())
    );
    println!(
        "ack latency       p50 {:.2} ms  p99 {:.2} ms",
        ms(a.value_at_quantile(0.5)),
        ms(a.value_at_quantile(0.99))
    );
    println!(
        "send lag behind schedule  p99 {:.2} ms  max {:.2} ms; {} sends over {} ms late",
        ms(l.value_at_quantile(0.99)),
        ms(l.max()),
        s.late,
        LATE.as_millis()
    );
    println!("errors {}  closed {}  lost {}", s.errors, s.closed, s.lost);
    if let Some((_, rss)) = s.cpu {
        println!(
            "server CPU {} cores; {} us per delivery; {} us per message; RSS {:.1} MiB",
            opt(s.cores(), 2),
            opt(s.us_per(s.deliveries), 2),
            opt(s.us_per(s.sent), 2),
            rss as f64 / (1024.0 * 1024.0)
        );
    }
}

/// Rates `start`, `start * factor`, ... up to `max`; stops after a rate
/// that loses deliveries, or at the second rate in a row over the p99
/// limit. Then runs half the best rate once more, for its latency.
async fn sweep(
    plan: &Plan,
    pid: Option<u32>,
    (start, factor, max): (f64, f64, f64),
    rate_tx: &watch::Sender<f64>,
    shared: &Shared,
) -> Result<()> {
    if start <= 0.0 || factor <= 1.0 || max < start {
        bail!("--sweep wants start > 0, factor > 1 and max >= start");
    }
    let limit = plan.p99_limit_ms;
    println!(
        "sweep: p99 limit {limit} ms; {} s warm-up and {} s measured per rate",
        plan.warmup, plan.duration
    );
    println!(
        "{:>9} {:>9} {:>10} {:>8} {:>8} {:>8} {:>6} {:>8} {:>8} {:>6} {:>8} {:>6}",
        "offered",
        "sent/s",
        "deliv/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "cores",
        "us/deliv",
        "us/msg",
        "lost",
        "lag p99",
        "late"
    );
    let mut best: Option<Step> = None;
    let mut over = 0;
    let mut rate = start;
    while rate <= max * (1.0 + 1e-9) {
        let s = step(plan, pid, rate.round(), rate_tx, shared).await;
        let d = &s.delivery;
        println!(
            "{:>9.0} {:>9.0} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>6} {:>8} {:>8} {:>6} {:>8.2} {:>6}",
            s.rate,
            s.per_sec(s.sent),
            s.per_sec(s.deliveries),
            ms(d.value_at_quantile(0.5)),
            ms(d.value_at_quantile(0.99)),
            ms(d.max()),
            opt(s.cores(), 2),
            opt(s.us_per(s.deliveries), 1),
            opt(s.us_per(s.sent), 1),
            s.lost,
            ms(s.lag.value_at_quantile(0.99)),
            s.late,
        );
        if !s.healthy() {
            println!(
                "stopped: {} deliveries lost, {} connections closed at {:.0} msg/s",
                s.lost, s.closed, s.rate
            );
            break;
        }
        if s.p99_ms() <= limit {
            over = 0;
            best = Some(s);
        } else {
            over += 1;
            if over >= 2 {
                println!("stopped: p99 over {limit} ms at two rates in a row");
                break;
            }
        }
        rate *= factor;
    }
    let Some(b) = best else {
        println!("max rate at p99 <= {limit} ms: none");
        return Ok(());
    };
    println!(
        "max rate at p99 <= {limit} ms: {:.0} msg/s offered, {:.0} deliveries/s, p99 {:.2} ms, {} us CPU per delivery, {} us per message",
        b.rate,
        b.per_sec(b.deliveries),
        b.p99_ms(),
        opt(b.us_per(b.deliveries), 1),
        opt(b.us_per(b.sent), 1),
    );
    let h = step(plan, pid, (b.rate / 2.0).round(), rate_tx, shared).await;
    println!(
        "at half that rate ({:.0} msg/s): delivery p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms; lost {}",
        h.rate,
        ms(h.delivery.value_at_quantile(0.5)),
        h.p99_ms(),
        ms(h.delivery.max()),
        h.lost
    );
    Ok(())
}

struct MemberPlan {
    target: Target,
    arrivals: Arrivals,
    /// Senders sharing the offered rate.
    senders: f64,
    padding: String,
}

impl MemberPlan {
    /// This sender's mean period at a total `rate`, or None when paused.
    fn mean(&self, rate: f64) -> Option<f64> {
        (rate > 0.0).then(|| self.senders / rate)
    }

    /// The gap to the next send.
    fn gap(&self, mean: f64) -> Duration {
        let secs = match self.arrivals {
            // Inverse transform: -mean * ln(1 - u), u uniform in [0, 1).
            Arrivals::Poisson => -mean * (1.0 - rand::random::<f64>()).ln(),
            Arrivals::Fixed => mean,
        };
        Duration::from_secs_f64(secs)
    }

    /// The first gap after a rate change: a fresh exponential gap (the
    /// process is memoryless), or a random phase within a fixed period.
    fn first_gap(&self, mean: f64) -> Duration {
        match self.arrivals {
            Arrivals::Poisson => self.gap(mean),
            Arrivals::Fixed => Duration::from_secs_f64(mean * rand::random::<f64>()),
        }
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

enum Frame {
    /// A message delivered, with its send stamp.
    Delivery(Option<u64>),
    Ack(Option<u64>),
    Error,
    /// An Engine.IO ping, to be answered.
    Ping,
    Other,
}

fn classify(target: Target, text: &str) -> Frame {
    match target {
        Target::Earshot => {
            if text.starts_with(r#"{"type":"message","#) {
                Frame::Delivery(stamp_after(text, r#""text":"lg "#))
            } else if text.starts_with(r#"{"type":"message_ack""#) {
                Frame::Ack(stamp_after(text, r#""client_msg_id":"c"#))
            } else if text.starts_with(r#"{"type":"error""#) {
                Frame::Error
            } else {
                Frame::Other
            }
        }
        Target::Socketio => {
            if text.starts_with(r#"42["msg","#) {
                Frame::Delivery(stamp_after(text, r#""t":"#))
            } else if text == "2" {
                Frame::Ping
            } else if text.starts_with("43") && text.contains(r#""t":"#) {
                Frame::Ack(stamp_after(text, r#""t":"#))
            } else if text.starts_with("44") || text.starts_with("41") || text.starts_with('1') {
                Frame::Error
            } else {
                Frame::Other
            }
        }
    }
}

/// Read frames until one satisfies `done` (answering Engine.IO pings).
async fn expect(
    ws: &mut Ws,
    target: Target,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> Result<()> {
    let wait = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(msg) = ws.next().await {
            let Message::Text(text) = msg? else { continue };
            if done(text.as_str()) {
                return Ok(());
            }
            if let Frame::Ping = classify(target, &text) {
                ws.send(Message::text("3")).await?;
            }
        }
        bail!("closed while waiting for {what}")
    });
    wait.await.with_context(|| format!("no {what}"))?
}

async fn handshake(ws: &mut Ws, target: Target, room: &str) -> Result<()> {
    match target {
        Target::Earshot => {
            let join = json!({"type": "join_room", "room_id": room}).to_string();
            ws.send(Message::text(join)).await?;
            expect(ws, target, "room_joined", |t| {
                t.starts_with(r#"{"type":"room_joined""#)
            })
            .await
        }
        Target::Socketio => {
            expect(ws, target, "Engine.IO open", |t| t.starts_with("0{")).await?;
            ws.send(Message::text("40")).await?;
            expect(ws, target, "Socket.IO connect", |t| t.starts_with("40")).await?;
            let join = format!("420{}", json!(["join", room]));
            ws.send(Message::text(join)).await?;
            expect(ws, target, "join ack", |t| t.starts_with("430")).await
        }
    }
}

async fn member(
    mut ws: Ws,
    room: String,
    id: String,
    plan: Arc<MemberPlan>,
    mut rate: watch::Receiver<f64>,
    shared: Arc<Shared>,
) {
    let counters = &shared.counters;
    if let Err(e) = handshake(&mut ws, plan.target, &room).await {
        eprintln!("member {id}: {e:#}");
        counters.closed.fetch_add(1, Ordering::Relaxed);
        return;
    }
    counters.ready.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut stream) = ws.split();
    let far = || Instant::now() + Duration::from_secs(86_400);
    let mut mean = plan.mean(*rate.borrow_and_update());
    let mut next = mean.map(|m| Instant::now() + plan.first_gap(m));
    let mut n = 0u64;
    loop {
        tokio::select! {
            changed = rate.changed() => {
                if changed.is_err() {
                    break;
                }
                mean = plan.mean(*rate.borrow_and_update());
                next = mean.map(|m| Instant::now() + plan.first_gap(m));
            }
            frame = stream.next() => {
                let Some(Ok(msg)) = frame else {
                    counters.closed.fetch_add(1, Ordering::Relaxed);
                    break;
                };
                let Message::Text(text) = msg else { continue };
                match classify(plan.target, &text) {
                    Frame::Delivery(t) => {
                        counters.deliveries.fetch_add(1, Ordering::Relaxed);
                        if let Some(t) = t {
                            shared.record(&shared.delivery, shared.now_us().saturating_sub(t));
                        }
                    }
                    Frame::Ack(t) => {
                        counters.acks.fetch_add(1, Ordering::Relaxed);
                        if let Some(t) = t {
                            shared.record(&shared.ack, shared.now_us().saturating_sub(t));
                        }
                    }
                    Frame::Error => {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    Frame::Ping => {
                        if sink.send(Message::text("3")).await.is_err() {
                            break;
                        }
                    }
                    Frame::Other => {}
                }
            }
            _ = tokio::time::sleep_until(next.unwrap_or_else(far)), if next.is_some() => {
                let (Some(due), Some(m)) = (next, mean) else { continue };
                // Open loop: the next send is due a gap after this one was
                // due, however late this one goes out.
                next = Some(due + plan.gap(m));
                n += 1;
                let t = shared.now_us();
                let lag = Instant::now().saturating_duration_since(due);
                shared.record(&shared.lag, lag.as_micros() as u64);
                if lag > LATE && shared.measuring.load(Ordering::Relaxed) {
                    counters.late.fetch_add(1, Ordering::Relaxed);
                }
                let pad = &plan.padding;
                let msg = match plan.target {
                    Target::Earshot => format!(
                        r#"{{"type":"send_message","room_id":"{room}","client_msg_id":"c{t}-{n}","text":"lg {t} {pad}"}}"#
                    ),
                    Target::Socketio => format!(
                        r#"42{n}["msg",{{"room":"{room}","id":"c{id}-{n}","t":{t},"text":"{pad}"}}]"#
                    ),
                };
                if sink.send(Message::text(msg)).await.is_err() {
                    counters.closed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                counters.sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
