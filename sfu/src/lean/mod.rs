//! [`LeanPeer`]: an audio peer for the load generator, built straight on
//! webrtc-rs's ICE, DTLS and SRTP crates instead of a peer connection.
//!
//! A peer connection's receive path hands every packet through four tasks
//! (UDP mux, ICE agent, DTLS/SRTP demux, SRTP session) and its send path
//! through as many async layers, so a load generator built on it costs
//! about as much CPU per packet as the server it measures, and on a
//! two-core machine it saturates its own core before the server does. A
//! lean peer reads its socket in one task that answers ICE checks, passes
//! DTLS records to the handshake and decrypts SRTP in place, and publishes
//! from one timer task.
//!
//! What it implements is what a call through the SFU needs: the offerer's
//! side of one BUNDLEd Opus session (controlling ICE agent with aggressive
//! nomination from one host candidate to each of the server's, DTLS
//! client on the first pair that answers), answers to the server's
//! renegotiation offers, and a receiver report a second about what it
//! receives (loss, jitter, the server's sender reports echoed, so the
//! server measures its RTT); it sends no sender reports.
//!
//! # Layout
//! - this file: [`LeanPeer`], its socket reader and its publisher.
//! - `sdp`: its offer, its answers, and what it reads from the server's descriptions.
//! - `stun`: the nominating binding request and answers to the server's checks.
//! - `dtls`: the DTLS client over the peer's socket and the SRTP contexts it keys.

pub(crate) mod dtls;
pub(crate) mod report;
pub(crate) mod sdp;
pub(crate) mod stun;

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_util::sync::CancellationToken;
use webrtc::dtls::crypto::Certificate;
use webrtc::peer_connection::certificate::RTCCertificate;
use webrtc::rtp::header::Header;
use webrtc::rtp::packet::Packet;
use webrtc::srtp::context::Context;
use webrtc::util::Marshal;

use report::Inbound;
use webrtc::rtcp::receiver_report::ReceiverReport;
use webrtc::rtcp::sender_report::SenderReport;

use crate::client::{now_us, StreamLog};
use crate::engine::{random_u64, SfuError};

/// What the signaling side has learnt of the server so far.
#[derive(Default)]
struct Pending {
    remote: Option<sdp::Remote>,
    /// The server's candidates, in the order they arrived.
    candidates: Vec<SocketAddr>,
    started: bool,
}

// std mutexes: each guards a few fields for a moment and none is held
// across an await.
struct Shared {
    received: Mutex<HashMap<u32, Inbound>>,
    pending: Mutex<Pending>,
    /// The publisher's SRTP context and the server's address, once keyed.
    outbound: Mutex<Option<oneshot::Receiver<(Context, SocketAddr)>>>,
    /// Kept for as long as the peer lives (dropping it closes DTLS).
    dtls: Mutex<Option<webrtc::dtls::conn::DTLSConn>>,
    /// The server address that first answered a check.
    selected: Mutex<Option<SocketAddr>>,
    ice_ok: Notify,
    /// Where the reader passes DTLS records, once the handshake starts.
    records: Mutex<Option<mpsc::Sender<Vec<u8>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A lean audio peer on one UDP socket. Dropping it stops its tasks.
pub struct LeanPeer {
    local: sdp::Local,
    socket: Arc<UdpSocket>,
    certificate: Certificate,
    shared: Arc<Shared>,
    outbound_tx: Mutex<Option<oneshot::Sender<(Context, SocketAddr)>>>,
    /// Loss injection: every k-th packet is not sent (0: none).
    drop_every: Arc<AtomicU16>,
    stop: CancellationToken,
}

impl Drop for LeanPeer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl LeanPeer {
    /// A peer on a fresh UDP socket of `ip`.
    pub async fn bind(ip: IpAddr) -> Result<LeanPeer, SfuError> {
        let socket = UdpSocket::bind(SocketAddr::new(ip, 0))
            .await
            .map_err(|err| SfuError::Bind {
                addr: SocketAddr::new(ip, 0),
                err,
            })?;
        let addr = socket.local_addr().map_err(|err| SfuError::Bind {
            addr: SocketAddr::new(ip, 0),
            err,
        })?;
        let certificate = Certificate::generate_self_signed(vec!["earshot-lean".to_string()])
            .map_err(webrtc::Error::from)?;
        let fingerprint = RTCCertificate::from_existing(
            certificate.clone(),
            SystemTime::now() + Duration::from_secs(86_400),
        )
        .get_fingerprints()
        .into_iter()
        .find(|f| f.algorithm == "sha-256")
        .map(|f| f.value)
        .ok_or_else(|| SfuError::BadSdp("no sha-256 fingerprint".into()))?;
        let local = sdp::Local {
            ufrag: webrtc::ice::rand::generate_ufrag(),
            pwd: webrtc::ice::rand::generate_pwd(),
            fingerprint,
            ssrc: (random_u64() as u32).max(1),
            addr,
        };
        let (outbound_tx, outbound_rx) = oneshot::channel();
        Ok(LeanPeer {
            local,
            socket: Arc::new(socket),
            certificate,
            shared: Arc::new(Shared {
                received: Mutex::default(),
                pending: Mutex::default(),
                outbound: Mutex::new(Some(outbound_rx)),
                dtls: Mutex::default(),
                selected: Mutex::default(),
                ice_ok: Notify::new(),
                records: Mutex::default(),
            }),
            outbound_tx: Mutex::new(Some(outbound_tx)),
            drop_every: Arc::default(),
            stop: CancellationToken::new(),
        })
    }

    /// The first offer (carries this peer's only candidate).
    pub fn offer(&self) -> String {
        sdp::offer(&self.local)
    }

    /// Take the server's answer to [`LeanPeer::offer`].
    pub fn accept_answer(&self, answer: &str) -> Result<(), SfuError> {
        let remote = sdp::remote(answer).map_err(SfuError::BadSdp)?;
        let mut p = lock(&self.shared.pending);
        for c in &remote.candidates {
            if !p.candidates.contains(c) {
                p.candidates.push(*c);
            }
        }
        p.remote = Some(remote);
        self.maybe_start(p);
        Ok(())
    }

    /// Take a trickled server candidate (`a=candidate` value).
    pub fn add_candidate(&self, candidate: &str) {
        let Some(addr) = sdp::candidate_addr(candidate) else {
            return;
        };
        let mut p = lock(&self.shared.pending);
        if !p.candidates.contains(&addr) {
            p.candidates.push(addr);
        }
        self.maybe_start(p);
    }

    /// Answer a server renegotiation offer.
    pub fn answer(&self, offer: &str) -> Result<String, SfuError> {
        sdp::answer(&self.local, offer).map_err(SfuError::BadSdp)
    }

    fn maybe_start(&self, mut p: MutexGuard<'_, Pending>) {
        let (Some(remote), false, false) = (p.remote.clone(), p.candidates.is_empty(), p.started)
        else {
            return;
        };
        p.started = true;
        drop(p);
        let creds = stun::Credentials {
            local_ufrag: self.local.ufrag.clone(),
            local_pwd: self.local.pwd.clone(),
            remote_ufrag: remote.ufrag,
            remote_pwd: remote.pwd,
        };
        let (inbound_tx, inbound_rx) = oneshot::channel();
        tokio::spawn(read_loop(
            self.socket.clone(),
            self.shared.clone(),
            creds.clone(),
            inbound_rx,
            self.stop.clone(),
        ));
        let outbound_tx = lock(&self.outbound_tx).take();
        let (socket, shared, certificate, stop) = (
            self.socket.clone(),
            self.shared.clone(),
            self.certificate.clone(),
            self.stop.clone(),
        );
        tokio::spawn(async move {
            let connect = async {
                let addr = connect_ice(&socket, &shared, &creds).await?;
                let (link, records) = dtls::DtlsLink::new(socket.clone(), addr);
                *lock(&shared.records) = Some(records);
                dtls::handshake(link, certificate).await.map(|k| (k, addr))
            };
            let keyed = tokio::select! {
                _ = stop.cancelled() => return,
                keyed = connect => keyed,
            };
            match keyed {
                Ok((k, addr)) => {
                    let _ = inbound_tx.send(k.inbound);
                    if let Some(tx) = outbound_tx {
                        let _ = tx.send((k.outbound, addr));
                    }
                    *lock(&shared.dtls) = Some(k.conn);
                }
                Err(err) => tracing::warn!(%err, "lean peer could not connect"),
            }
        });
    }

    /// Inject loss on what this peer publishes: from now on every `k`-th
    /// packet is not sent (its sequence number is still used, so the server
    /// sees a hole); 0 turns it off.
    pub fn set_drop_every(&self, k: u16) {
        self.drop_every.store(k, Ordering::Relaxed);
    }

    /// Publish fake Opus at 50 packets/s (the payload layout of
    /// [`crate::client`]) once connected, until the returned sender drops.
    pub fn publish(&self, tag: u8) -> oneshot::Sender<()> {
        let (stop_tx, mut stopped) = oneshot::channel::<()>();
        let keyed = lock(&self.shared.outbound).take();
        let (socket, ssrc, stop) = (self.socket.clone(), self.local.ssrc, self.stop.clone());
        let drop_every = self.drop_every.clone();
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let Some(keyed) = keyed else { return };
            let (mut ctx, to) = tokio::select! {
                _ = stop.cancelled() => return,
                k = keyed => match k { Ok(k) => k, Err(_) => return },
            };
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let (mut seq, mut ts) = (1000u16, 0u32);
            let mut ticks = 0u64;
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let mut payload = [0u8; 60];
                payload[0] = tag;
                payload[1..3].copy_from_slice(&seq.to_be_bytes());
                payload[3..11].copy_from_slice(&now_us().to_be_bytes());
                let packet = Packet {
                    header: Header {
                        version: 2,
                        payload_type: 111,
                        sequence_number: seq,
                        timestamp: ts,
                        ssrc,
                        ..Default::default()
                    },
                    payload: Bytes::copy_from_slice(&payload),
                };
                let k = drop_every.load(Ordering::Relaxed);
                let skip = k > 0 && seq % k == 0;
                if let (false, Ok(plain)) = (skip, packet.marshal()) {
                    if let Ok(sealed) = ctx.encrypt_rtp(&plain) {
                        let _ = socket.send_to(&sealed, to).await;
                    }
                }
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(960);
                ticks += 1;
                if ticks % 50 == 0 {
                    for report in receiver_reports(&shared, ssrc) {
                        let sealed = report
                            .marshal()
                            .ok()
                            .and_then(|b| ctx.encrypt_rtcp(&b).ok());
                        if let Some(sealed) = sealed {
                            let _ = socket.send_to(&sealed, to).await;
                        }
                    }
                }
            }
        });
        stop_tx
    }

    /// Every inbound stream's log so far, with the delays drained.
    pub fn take_logs(&self) -> Vec<StreamLog> {
        lock(&self.shared.received)
            .values_mut()
            .map(|s| StreamLog {
                delays_us: std::mem::take(&mut s.log.delays_us),
                packets: vec![],
                ..s.log.clone()
            })
            .collect()
    }
}

/// Receiver reports about every inbound stream (31 blocks at most each).
fn receiver_reports(shared: &Shared, ssrc: u32) -> Vec<ReceiverReport> {
    let now = Instant::now();
    let blocks: Vec<_> = lock(&shared.received)
        .iter_mut()
        .map(|(from, s)| s.reception_report(*from, now))
        .collect();
    blocks
        .chunks(31)
        .map(|c| ReceiverReport {
            ssrc,
            reports: c.to_vec(),
            profile_extensions: Bytes::new(),
        })
        .collect()
}

/// Check (and nominate) every server candidate known, candidates trickled
/// meanwhile included, until one answers (10 s at most); that one is the
/// server's address from then on.
async fn connect_ice(
    socket: &UdpSocket,
    shared: &Shared,
    creds: &stun::Credentials,
) -> Result<SocketAddr, String> {
    let tie_breaker = random_u64();
    for _ in 0..200 {
        let candidates = lock(&shared.pending).candidates.clone();
        for to in candidates {
            let request = stun::nominating_request(creds, tie_breaker)?;
            // A candidate this socket cannot reach fails here; others may not.
            let _ = socket.send_to(&request, to).await;
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), shared.ice_ok.notified()).await;
        if let Some(addr) = *lock(&shared.selected) {
            return Ok(addr);
        }
    }
    Err("no answer to ICE checks".into())
}

/// The socket reader: ICE checks answered, DTLS records passed on, SRTP
/// decrypted and logged; of the server's RTCP, sender reports are noted.
async fn read_loop(
    socket: Arc<UdpSocket>,
    shared: Arc<Shared>,
    creds: stun::Credentials,
    mut inbound_rx: oneshot::Receiver<Context>,
    stop: CancellationToken,
) {
    let mut inbound: Option<Context> = None;
    let mut records: Option<mpsc::Sender<Vec<u8>>> = None;
    let mut buf = vec![0u8; 1500];
    loop {
        let (n, from) = tokio::select! {
            _ = stop.cancelled() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(r) => r,
                // An ICMP error for an earlier send (a candidate that was
                // not there): the socket itself is fine.
                Err(e) if matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset) => continue,
                Err(err) => {
                    tracing::warn!(%err, "lean peer socket failed");
                    return;
                }
            },
        };
        let bytes = &buf[..n];
        match bytes.first().copied().unwrap_or(255) {
            0..=3 => match stun::handle(bytes, from, &creds) {
                stun::Inbound::Request(response) => {
                    let _ = socket.send_to(&response, from).await;
                }
                stun::Inbound::Success if lock(&shared.pending).candidates.contains(&from) => {
                    lock(&shared.selected).get_or_insert(from);
                    shared.ice_ok.notify_one();
                }
                stun::Inbound::Success | stun::Inbound::Other => {}
            },
            20..=63 => {
                if records.is_none() {
                    records = lock(&shared.records).clone();
                }
                if let Some(tx) = &records {
                    let _ = tx.try_send(bytes.to_vec());
                }
            }
            128..=191 => {
                if inbound.is_none() {
                    inbound = inbound_rx.try_recv().ok();
                }
                let Some(ctx) = inbound.as_mut() else {
                    continue;
                };
                let now = Instant::now();
                // RFC 5761: packet types 192-223 are RTCP.
                if (192..=223).contains(&bytes.get(1).copied().unwrap_or(0)) {
                    let Ok(plain) = ctx.decrypt_rtcp(bytes) else {
                        continue;
                    };
                    let Ok(packets) = webrtc::rtcp::packet::unmarshal(&mut &plain[..]) else {
                        continue;
                    };
                    let mut received = lock(&shared.received);
                    for sr in packets
                        .iter()
                        .filter_map(|p| p.as_any().downcast_ref::<SenderReport>())
                    {
                        received
                            .entry(sr.ssrc)
                            .or_default()
                            .sender_report(sr.ntp_time, now);
                    }
                    continue;
                }
                let Ok(plain) = ctx.decrypt_rtp(bytes) else {
                    continue;
                };
                let Ok(h) = crate::rtp::RtpHeader::parse(&plain) else {
                    continue;
                };
                lock(&shared.received).entry(h.ssrc()).or_default().record(
                    h.sequence_number(),
                    h.timestamp(),
                    h.payload(),
                    now,
                );
            }
            _ => {}
        }
    }
}
