//! `sfu`: N calls of M participants, each publishing Opus-rate audio
//! (50 packets/s) through the SFU; reports forwarded packets per second,
//! loss, one-way delay through the SFU, and the server's CPU per packet.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use earshot_sfu::client::{AudioPeer, StreamLog};
use earshot_sfu::lean::LeanPeer;

use super::{mint, proc_usage};

/// Which peer implementation the participants use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PeerKind {
    /// [`LeanPeer`]: ICE, DTLS and SRTP without a peer connection; costs a
    /// fraction of the server's CPU per packet, so the server saturates first.
    Lean,
    /// [`AudioPeer`]: a full webrtc-rs peer connection, as the tests use;
    /// on one core it saturates at about the load the server does.
    Webrtc,
}

enum Peer {
    Lean(Box<LeanPeer>),
    Webrtc(Arc<AudioPeer>),
}

impl Peer {
    fn logs(&self) -> Vec<StreamLog> {
        match self {
            Peer::Lean(p) => p.take_logs(),
            Peer::Webrtc(p) => p.take_logs().into_values().collect(),
        }
    }
}

/// One participant: its socket pump runs in the background.
struct Member {
    peer: Arc<Peer>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// `drop_every`: leave out every k-th packet published (0: none).
async fn join(
    addr: &str,
    secret: &str,
    user: &str,
    call_id: &str,
    kind: PeerKind,
    drop_every: u16,
) -> Result<Member> {
    let url = format!("ws://{addr}/ws?token={}", mint(secret, user, "applicant")?);
    let (mut ws, _) = tokio_tungstenite::connect_async(&url)
        .await
        .context("connect")?;
    ws.send(Message::text(
        json!({"type": "join_call", "call_id": call_id}).to_string(),
    ))
    .await?;
    let peer = Arc::new(match kind {
        PeerKind::Lean => Peer::Lean(Box::new(
            LeanPeer::bind(std::net::Ipv4Addr::LOCALHOST.into()).await?,
        )),
        PeerKind::Webrtc => Peer::Webrtc(Arc::new(AudioPeer::loopback(false).await?)),
    });
    let offer = match peer.as_ref() {
        Peer::Lean(p) => p.offer(),
        Peer::Webrtc(p) => p.full_offer().await?,
    };
    ws.send(Message::text(
        json!({"type": "sfu_offer", "call_id": call_id, "sdp": offer}).to_string(),
    ))
    .await?;
    let pump_peer = peer.clone();
    let call = call_id.to_string();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(text) = msg else { continue };
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let sdp = v["sdp"].as_str().unwrap_or_default().to_string();
            let reply = match (v["type"].as_str(), pump_peer.as_ref()) {
                (Some("sfu_answer"), Peer::Lean(p)) => {
                    if let Err(err) = p.accept_answer(&sdp) {
                        eprintln!("bad answer: {err}");
                    }
                    None
                }
                (Some("sfu_answer"), Peer::Webrtc(p)) => {
                    let _ = p.accept_answer(sdp).await;
                    None
                }
                (Some("sfu_offer"), Peer::Lean(p)) => p.answer(&sdp).ok(),
                (Some("sfu_offer"), Peer::Webrtc(p)) => p.answer(sdp).await.ok(),
                (Some("ice_candidate"), Peer::Lean(p)) => {
                    if let Some(c) = v["candidate"]["candidate"].as_str() {
                        p.add_candidate(c);
                    }
                    None
                }
                (Some("ice_candidate"), Peer::Webrtc(p)) => {
                    if let Ok(c) = serde_json::from_value(v["candidate"].clone()) {
                        let _ = p.pc.add_ice_candidate(c).await;
                    }
                    None
                }
                (Some("error"), _) => {
                    eprintln!("server error: {text}");
                    None
                }
                _ => None,
            };
            if let Some(answer) = reply {
                let reply = json!({"type": "sfu_answer", "call_id": call, "sdp": answer});
                if ws.send(Message::text(reply.to_string())).await.is_err() {
                    break;
                }
            }
        }
    });
    let stop = match peer.as_ref() {
        Peer::Lean(p) => {
            p.set_drop_every(drop_every);
            p.publish(1)
        }
        Peer::Webrtc(p) => {
            p.set_drop_every(drop_every);
            p.publish(1)
        }
    };
    Ok(Member { peer, _stop: stop })
}

/// (received, expected) over every stream of every member, and drained delays.
fn totals(members: &[Member], delays: &mut Histogram<u64>) -> (u64, u64) {
    let (mut got, mut expected) = (0, 0);
    for m in members {
        for log in &m.peer.logs() {
            got += log.count;
            expected += log.expected();
            for d in &log.delays_us {
                let _ = delays.record((*d).max(1));
            }
        }
    }
    (got, expected)
}

async fn forwarded(http: &reqwest::Client, addr: &str, admin: &str) -> Result<u64> {
    let status: Value = http
        .get(format!("http://{addr}/api/status"))
        .bearer_auth(admin)
        .send()
        .await?
        .json()
        .await?;
    status["sfu"]["forwarded_packets"]
        .as_u64()
        .context("status has no sfu figures")
}

/// What to run: calls, their size, the timing and the peers.
pub struct Plan {
    pub rooms: usize,
    pub participants: usize,
    pub duration: u64,
    pub warmup: u64,
    pub peer: PeerKind,
    /// The i-th participant of every call leaves out every `lossy_every[i]`-th
    /// packet it publishes (0 or missing: none).
    pub lossy_every: Vec<u16>,
}

pub async fn run(addr: &str, secret: &str, pid: Option<u32>, plan: Plan) -> Result<()> {
    let Plan {
        rooms,
        participants,
        duration,
        warmup,
        peer: kind,
        lossy_every,
    } = plan;
    let http = reqwest::Client::new();
    let admin = mint(secret, "lg-admin", "admin")?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let mut members = Vec::new();
    for r in 0..rooms {
        let users: Vec<String> = (0..participants).map(|i| format!("lgs-{r}-{i}")).collect();
        let owner = mint(secret, &users[0], "applicant")?;
        // Rooms with chosen ids are made by a service role, as a product does.
        let creator = mint(secret, &users[0], "service")?;
        let room = format!("lgs-{run}-{r}");
        let res = http
            .post(format!("http://{addr}/api/rooms"))
            .bearer_auth(&creator)
            .json(&json!({"id": room, "type": "bench", "title": "bench", "participants": users}))
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("create room: {}", res.text().await?);
        }
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/ws?token={owner}")).await?;
        ws.send(Message::text(
            json!({"type": "start_call", "room_id": room, "mode": "sfu", "request_id": "s"})
                .to_string(),
        ))
        .await?;
        let call_id = loop {
            let Some(Ok(Message::Text(t))) = ws.next().await else {
                bail!("socket closed")
            };
            let v: Value = serde_json::from_str(&t)?;
            if v["type"] == "call_started" {
                break v["call"]["id"].as_str().context("call id")?.to_string();
            }
            if v["type"] == "error" {
                bail!("start_call: {t}");
            }
        };
        for (i, u) in users.iter().enumerate() {
            let drop_every = lossy_every.get(i).copied().unwrap_or(0);
            members.push(join(addr, secret, u, &call_id, kind, drop_every).await?);
        }
    }
    let streams = rooms * participants * (participants - 1);
    eprintln!("{rooms} calls x {participants} participants = {streams} forwarded streams offered at 50 packets/s");
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    let mut delays = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (got0, exp0) = totals(&members, &mut delays);
    delays.reset();
    let fwd0 = forwarded(&http, addr, &admin).await?;
    let cpu0 = pid.and_then(proc_usage);
    let own0 = proc_usage(std::process::id());
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(duration)).await;
    let secs = t0.elapsed().as_secs_f64();
    let fwd1 = forwarded(&http, addr, &admin).await?;
    let cpu1 = pid.and_then(proc_usage);
    let own1 = proc_usage(std::process::id());
    let (got1, exp1) = totals(&members, &mut delays);
    let (got, expected) = (got1 - got0, exp1 - exp0);
    let fwd = fwd1 - fwd0;
    println!("measured {secs:.1} s, {streams} streams");
    println!(
        "forwarded by server   {:>10.0} packets/s",
        fwd as f64 / secs
    );
    println!(
        "received by peers     {:>10.0} packets/s",
        got as f64 / secs
    );
    println!(
        "loss                  {:>10.3} %",
        100.0 * (1.0 - got as f64 / expected.max(1) as f64)
    );
    println!(
        "one-way delay via SFU p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        delays.value_at_quantile(0.5) as f64 / 1000.0,
        delays.value_at_quantile(0.99) as f64 / 1000.0,
        delays.max() as f64 / 1000.0
    );
    if let (Some((a, _)), Some((b, rss))) = (cpu0, cpu1) {
        let cpu = b - a;
        println!(
            "server CPU {:.2} cores; {:.2} us per forwarded packet; RSS {:.1} MiB",
            cpu / secs,
            cpu * 1e6 / fwd.max(1) as f64,
            rss as f64 / 1048576.0
        );
    }
    // The generator's own peers do the work of every participant: near 1.0
    // cores (on its one core), loss may be its own rather than the server's.
    if let (Some((a, _)), Some((b, _))) = (own0, own1) {
        println!("load generator CPU {:.2} cores", (b - a) / secs);
    }
    Ok(())
}
