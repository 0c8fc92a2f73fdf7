//! `attack-memory`: clients that never read and keep asking for a room's
//! whole history (`join_room` with `since_seq: 0`), to measure how much
//! memory they can make the server hold. Reports the server's RSS before,
//! at its peak (VmHWM) and after the attackers are gone, and how each
//! attacker's connection ended.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

use super::mint;

pub struct Plan {
    pub attackers: usize,
    pub history: usize,
    pub size: usize,
    pub duration: u64,
    /// Requests per second per attacker (the server's rate limit applies).
    pub rate: u64,
}

/// (VmRSS, VmHWM) of a process in bytes.
fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let kb: u64 = status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1048576.0
}

pub async fn run(addr: &str, secret: &str, pid: Option<u32>, plan: Plan) -> Result<()> {
    let Some(pid) = pid else {
        bail!("attack-memory needs --server-pid to read the server's memory")
    };
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let room = format!("lg-attack-{run}");
    let owner = "lg-attack-owner";
    let attackers: Vec<String> = (0..plan.attackers)
        .map(|i| format!("lg-attacker-{i}"))
        .collect();
    // The room is made the way a product backend makes it (a service role
    // may choose its id and name its members); the attackers are members.
    let res = reqwest::Client::new()
        .post(format!("http://{addr}/api/rooms"))
        .bearer_auth(mint(secret, owner, "service")?)
        .json(&json!({"id": room, "type": "bench", "title": "attack", "participants": attackers}))
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("create room: {} {}", res.status(), res.text().await?);
    }

    // The history the attackers will ask for again and again.
    let url = format!("ws://{addr}/ws?token={}", mint(secret, owner, "applicant")?);
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
    ws.send(Message::text(
        json!({"type": "join_room", "room_id": room, "request_id": "join"}).to_string(),
    ))
    .await?;
    let text = "x".repeat(plan.size);
    for i in 0..plan.history {
        let msg = json!({"type": "send_message", "room_id": room, "client_msg_id": format!("h{i}"),
            "text": text, "request_id": format!("h{i}")});
        ws.send(Message::text(msg.to_string())).await?;
        // One at a time, within the rate limit: wait for the ack.
        loop {
            let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
                .await
                .context("ack")?
                .context("socket closed")??;
            if let Message::Text(t) = m {
                if t.contains("\"message_ack\"") {
                    break;
                }
                if t.contains("RATE_LIMITED") {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    ws.send(Message::text(msg.to_string())).await?;
                }
            }
        }
    }
    drop(ws);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss0, _) = memory(pid).context("read server memory")?;
    println!(
        "history: {} messages of {} bytes; server RSS before: {:.1} MiB",
        plan.history,
        plan.size,
        mib(rss0)
    );

    // The attackers: small receive buffers, never read, ask for everything.
    let mut tasks = vec![];
    let period = Duration::from_secs_f64(1.0 / plan.rate.max(1) as f64);
    let stop_at = Instant::now() + Duration::from_secs(plan.duration);
    for user in &attackers {
        let socket = TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(4096)?;
        let stream = socket.connect(addr.parse()?).await?;
        let url = format!("ws://{addr}/ws?token={}", mint(secret, user, "applicant")?);
        let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await?;
        let room = room.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent_bytes = 0usize;
            let mut i = 0u64;
            while Instant::now() < stop_at {
                let msg = json!({"type": "join_room", "room_id": room, "since_seq": 0,
                    "request_id": format!("j{i}")})
                .to_string();
                sent_bytes += msg.len();
                if tokio::time::timeout(period * 20, ws.send(Message::text(msg)))
                    .await
                    .map_or(true, |r| r.is_err())
                {
                    break;
                }
                i += 1;
                tokio::time::sleep(period).await;
            }
            // Now read, to see how the server ended (or kept) the connection.
            let ended = async {
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Close(Some(f)))) => {
                            return format!("closed {} ({})", u16::from(f.code), f.reason)
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return format!("dropped ({e})"),
                        None => return "dropped".to_string(),
                    }
                }
            };
            let ended = tokio::time::timeout(Duration::from_secs(5), ended)
                .await
                .unwrap_or_else(|_| "still open".into());
            (i, sent_bytes, ended)
        }));
    }
    let mut peak_rss = 0;
    while Instant::now() < stop_at {
        if let Some((rss, _)) = memory(pid) {
            peak_rss = peak_rss.max(rss);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut total_bytes = 0;
    for (n, task) in tasks.into_iter().enumerate() {
        let (requests, bytes, ended) = task.await?;
        total_bytes += bytes;
        println!("attacker {n}: {requests} requests, {bytes} bytes sent; {ended}");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (rss_after, hwm) = memory(pid).context("read server memory")?;
    println!(
        "{} attackers, {} KiB sent in {} s: server RSS peak {:.1} MiB (sampled), VmHWM {:.1} MiB, \
         after they left {:.1} MiB (before: {:.1} MiB)",
        plan.attackers,
        total_bytes / 1024,
        plan.duration,
        mib(peak_rss),
        mib(hwm),
        mib(rss_after),
        mib(rss0)
    );
    Ok(())
}
