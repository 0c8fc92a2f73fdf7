//! A UDP relay between one test peer and the SFU that injects delay,
//! jitter and loss in user space (the kernel here has no netem). The peer
//! sends to [`Relay::addr`] instead of the SFU's port; the SFU sees the
//! relay's other socket as the peer (a peer-reflexive candidate).
//!
//! Loss applies to RTP only (not STUN, DTLS or RTCP), so the connection
//! still comes up; delay and jitter apply to everything.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;

/// What the relay does to one direction of traffic.
#[derive(Debug, Clone, Copy, Default)]
pub struct Impairment {
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly from 0..jitter for each datagram.
    pub jitter: Duration,
    /// Drop every k-th RTP packet (0: none).
    pub drop_every: u64,
}

/// What a participant needs to send through a relay: its address, and
/// where to tell it the SFU is (learnt from the SFU's first candidate).
#[derive(Clone, Debug)]
pub struct RelayRoute {
    pub addr: SocketAddr,
    target: Arc<Mutex<Option<SocketAddr>>>,
}

impl RelayRoute {
    /// Point the server's candidate at the relay, and the relay at the server.
    pub fn route(&self, candidate: &mut serde_json::Value) {
        if let Some(server) = candidate_addr(candidate) {
            self.target.lock().unwrap().get_or_insert(server);
        }
        redirect_candidate(candidate, self.addr);
    }
}

fn candidate_addr(candidate: &serde_json::Value) -> Option<SocketAddr> {
    let line = candidate["candidate"].as_str()?;
    let fields: Vec<&str> = line.split(' ').collect();
    format!("{}:{}", fields.get(4)?, fields.get(5)?)
        .parse()
        .ok()
}

pub struct Relay {
    /// Where the peer should send (the address to put in the SFU's candidates).
    pub addr: SocketAddr,
    target: Arc<Mutex<Option<SocketAddr>>>,
    /// RTP packets dropped so far, towards the SFU and towards the peer.
    pub dropped_up: Arc<AtomicU64>,
    pub dropped_down: Arc<AtomicU64>,
    /// When set, nothing gets through in either direction.
    cut: Arc<std::sync::atomic::AtomicBool>,
    /// When set, RTP towards the SFU / towards the peer is dropped (STUN,
    /// DTLS and RTCP still pass: the connection stays up, the audio does not).
    block_up: Arc<std::sync::atomic::AtomicBool>,
    block_down: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// RTP (not RTCP, RFC 5761 §4): version 2 and a second byte outside 192..=223.
fn is_rtp(buf: &[u8]) -> bool {
    buf.len() >= 12 && buf[0] >> 6 == 2 && !(192..=223).contains(&buf[1])
}

/// A small deterministic generator (xorshift), so runs are repeatable.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        if n == 0 {
            0
        } else {
            self.0 % n
        }
    }
}

fn spawn_send(sock: Arc<UdpSocket>, to: SocketAddr, buf: Vec<u8>, wait: Duration) {
    tokio::spawn(async move {
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let _ = sock.send_to(&buf, to).await;
    });
}

fn plan(imp: &Impairment, rng: &Mutex<Rng>) -> Duration {
    let extra = rng.lock().unwrap().below(imp.jitter.as_micros() as u64 + 1);
    imp.delay + Duration::from_micros(extra)
}

/// How one direction is impaired, and its counters.
struct Direction {
    imp: Impairment,
    rng: Arc<Mutex<Rng>>,
    dropped: Arc<AtomicU64>,
    cut: Arc<std::sync::atomic::AtomicBool>,
    blocked: Arc<std::sync::atomic::AtomicBool>,
}

/// One direction: what arrives on `inbound` leaves `outbound` for `dest()`,
/// impaired; `seen` is told where each datagram came from.
async fn pump(
    inbound: Arc<UdpSocket>,
    outbound: Arc<UdpSocket>,
    dir: Direction,
    seen: impl Fn(SocketAddr),
    dest: impl Fn() -> Option<SocketAddr>,
) {
    let Direction {
        imp,
        rng,
        dropped,
        cut,
        blocked,
    } = dir;
    let mut buf = vec![0u8; 2048];
    let mut rtp = 0u64;
    while let Ok((n, from)) = inbound.recv_from(&mut buf).await {
        seen(from);
        let Some(to) = dest() else {
            continue;
        };
        if cut.load(Ordering::Relaxed) {
            continue;
        }
        if is_rtp(&buf[..n]) {
            if blocked.load(Ordering::Relaxed) {
                dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            rtp += 1;
            if imp.drop_every > 0 && rtp % imp.drop_every == 0 {
                dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        }
        spawn_send(outbound.clone(), to, buf[..n].to_vec(), plan(&imp, &rng));
    }
}

impl Relay {
    /// Stop relaying anything (the peer's network is gone).
    pub fn cut(&self) {
        self.cut.store(true, Ordering::Relaxed);
    }

    /// Relay again after [`Relay::cut`].
    pub fn restore(&self) {
        self.cut.store(false, Ordering::Relaxed);
    }

    /// Drop (or pass again) the audio towards the peer only: the peer
    /// stays connected and keeps sending, but hears nothing.
    pub fn block_audio_down(&self, blocked: bool) {
        self.block_down.store(blocked, Ordering::Relaxed);
    }

    /// Drop (or pass again) the audio towards the SFU only.
    pub fn block_audio_up(&self, blocked: bool) {
        self.block_up.store(blocked, Ordering::Relaxed);
    }

    pub fn route(&self) -> RelayRoute {
        RelayRoute {
            addr: self.addr,
            target: self.target.clone(),
        }
    }

    /// Relay between a peer and the SFU (whose address the route learns),
    /// impairing each direction.
    pub async fn start(up: Impairment, down: Impairment) -> Relay {
        let target: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind relay"));
        let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind relay"));
        let addr = front.local_addr().unwrap();
        let peer: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let rng = Arc::new(Mutex::new(Rng(0x9E37_79B9_7F4A_7C15)));
        let (dropped_up, dropped_down) = (Arc::<AtomicU64>::default(), Arc::<AtomicU64>::default());
        let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let block_up = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let block_down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let upward = {
            let (peer, target) = (peer.clone(), target.clone());
            tokio::spawn(pump(
                front.clone(),
                back.clone(),
                Direction {
                    imp: up,
                    rng: rng.clone(),
                    dropped: dropped_up.clone(),
                    cut: cut.clone(),
                    blocked: block_up.clone(),
                },
                move |from| *peer.lock().unwrap() = Some(from),
                move || *target.lock().unwrap(),
            ))
        };
        let downward = {
            let peer = peer.clone();
            tokio::spawn(pump(
                back,
                front,
                Direction {
                    imp: down,
                    rng,
                    dropped: dropped_down.clone(),
                    cut: cut.clone(),
                    blocked: block_down.clone(),
                },
                |_| {},
                move || *peer.lock().unwrap(),
            ))
        };
        Relay {
            addr,
            target,
            dropped_up,
            dropped_down,
            cut,
            block_up,
            block_down,
            tasks: vec![upward, downward],
        }
    }
}

/// Point an ICE candidate (`RTCIceCandidateInit` JSON) at `addr` instead.
pub fn redirect_candidate(candidate: &mut serde_json::Value, addr: SocketAddr) {
    let Some(line) = candidate["candidate"].as_str() else {
        return;
    };
    let mut fields: Vec<String> = line.split(' ').map(str::to_owned).collect();
    if fields.len() > 5 {
        fields[4] = addr.ip().to_string();
        fields[5] = addr.port().to_string();
    }
    candidate["candidate"] = serde_json::Value::String(fields.join(" "));
}

/// An SDP without its `a=candidate` lines: the SFU then learns this peer's
/// address only from where its checks come from (the relay).
pub fn strip_candidates(sdp: &str) -> String {
    sdp.split("\r\n")
        .filter(|l| !l.starts_with("a=candidate") && !l.starts_with("a=end-of-candidates"))
        .collect::<Vec<_>>()
        .join("\r\n")
}
