//! [`Link`]: one participant's transport on the direct engine (its ICE
//! credentials, the address its checks come from, its DTLS handshake and
//! SRTP contexts), and the per-packet path that starts there: decrypt,
//! meter, route, then rewrite, encrypt and send to each subscriber
//! ([`OutTrack`]), all in the task that read the packet.
//!
//! Each std `Mutex` here guards a few fields for one packet's worth of
//! work and is never held across `.await`; the routing lock is released
//! before any subscriber's is taken.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use webrtc::dtls::conn::DTLSConn;
use webrtc::dtls::crypto::Certificate;
use webrtc::srtp::context::Context;

use crate::engine::Sfu;
use crate::lean::dtls::{accept, DtlsLink};
use crate::lean::report::ReportState;
use crate::meter::ReportBlock;
use crate::room::SfuEvent;
use crate::routes::{lock, report_blocks, Routes, SentTrack};
use crate::rtp::{audio_level, rewrite, Rewrite, RtpHeader};
use crate::stats::{ntp_middle32, ReceiveStats};

use super::sdp::RemoteIce;

/// How long a DTLS handshake may take once its first record arrived.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// What a room's links share: the routing state and the room's events.
pub(crate) struct RoomShared {
    pub routes: Mutex<Routes<OutTrack>>,
    /// Every participant's link, for the room's ticker.
    pub links: Mutex<HashMap<u64, Arc<Link>>>,
    pub events: mpsc::UnboundedSender<SfuEvent>,
    pub sfu: Sfu,
}

/// The receiving half: the client's SRTP context and our receiver
/// reports' state (their statistics are the upstream meter's).
#[derive(Default)]
struct Inbound {
    ctx: Option<Context>,
    report: ReportState,
    /// The SSRC the client publishes on.
    ssrc: Option<u32>,
}

/// The sending half: our SRTP context and where the client is.
#[derive(Default)]
pub(crate) struct Outbound {
    ctx: Option<Context>,
    to: Option<SocketAddr>,
    /// The client nominated `to` (later unnominated checks do not move it).
    nominated: bool,
}

enum Dtls {
    Idle,
    /// Records go to the handshake (and, after it, to the connection).
    Running(mpsc::Sender<Vec<u8>>),
    Failed,
}

/// One participant's transport.
pub(crate) struct Link {
    pub participant: u64,
    pub ufrag: String,
    pub pwd: String,
    pub socket: Arc<UdpSocket>,
    pub room: Arc<RoomShared>,
    /// The SSRC our receiver reports are sent from when no track is.
    pub rtcp_ssrc: u32,
    remote: Mutex<Option<RemoteIce>>,
    /// The client's Opus payload type and audio-level extension id.
    codec: OnceLock<(u8, Option<u8>)>,
    inbound: Mutex<Inbound>,
    outbound: Mutex<Outbound>,
    dtls: Mutex<Dtls>,
    /// Kept open for as long as the link lives.
    conn: Mutex<Option<Arc<DTLSConn>>>,
    created: Instant,
    /// Milliseconds after `created` the client was last heard from.
    last_heard_ms: AtomicU64,
    connected: AtomicBool,
    closed: AtomicBool,
    /// `Failed` was reported (once).
    failed: AtomicBool,
    /// `Disconnected` was reported and traffic has not resumed since.
    interrupted: AtomicBool,
}

impl Link {
    pub fn new(
        participant: u64,
        ufrag: String,
        pwd: String,
        socket: Arc<UdpSocket>,
        room: Arc<RoomShared>,
        rtcp_ssrc: u32,
    ) -> Link {
        Link {
            participant,
            ufrag,
            pwd,
            socket,
            room,
            rtcp_ssrc,
            remote: Mutex::new(None),
            codec: OnceLock::new(),
            inbound: Mutex::default(),
            outbound: Mutex::default(),
            dtls: Mutex::new(Dtls::Idle),
            conn: Mutex::new(None),
            created: Instant::now(),
            last_heard_ms: AtomicU64::new(0),
            connected: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            interrupted: AtomicBool::new(false),
        }
    }

    /// What the client's latest description says of its end.
    pub fn set_remote(&self, remote: RemoteIce, codec: (u8, Option<u8>)) {
        *lock(&self.remote) = Some(remote);
        let _ = self.codec.set(codec);
    }

    /// Whether `ufrag` is the client's ICE username fragment (false before it offered).
    pub fn is_remote_ufrag(&self, ufrag: &str) -> bool {
        lock(&self.remote)
            .as_ref()
            .is_some_and(|r| r.ufrag == ufrag)
    }

    fn codec(&self) -> (u8, Option<u8>) {
        self.codec.get().copied().unwrap_or((111, None))
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// A valid packet came from `from`: it counts as heard.
    fn touch(&self, now: Instant) {
        let ms = now.saturating_duration_since(self.created).as_millis() as u64;
        self.last_heard_ms.store(ms, Ordering::Relaxed);
    }

    /// A check that proved the client's password came from `from`: media
    /// goes there until the client nominates another pair.
    pub fn checked(&self, from: SocketAddr, nominated: bool, now: Instant) {
        self.touch(now);
        let mut out = lock(&self.outbound);
        if out.to.is_none() || (nominated && (!out.nominated || out.to != Some(from))) {
            out.to = Some(from);
        }
        out.nominated |= nominated;
    }

    /// How long nothing has been heard from the client (since it was made,
    /// if it never was).
    pub fn silent_for(&self, now: Instant) -> Duration {
        let since = Duration::from_millis(self.last_heard_ms.load(Ordering::Relaxed));
        now.saturating_duration_since(self.created + since)
    }

    /// Once a second: a connected client silent for `after` is reported
    /// `Disconnected` (once); one heard again after that, `Connected`.
    pub fn check_interrupted(&self, after: Duration, now: Instant) {
        if !self.is_connected() || self.is_closed() {
            return;
        }
        let silent = self.silent_for(now);
        let participant = self.participant;
        if silent > after {
            if !self.interrupted.swap(true, Ordering::Relaxed) {
                let silent_ms = silent.as_millis() as u64;
                let _ = self.room.events.send(SfuEvent::Disconnected {
                    participant,
                    silent_ms,
                });
            }
        } else if silent < Duration::from_secs(1) && self.interrupted.swap(false, Ordering::Relaxed)
        {
            let _ = self.room.events.send(SfuEvent::Connected { participant });
        }
    }

    /// Report `Failed` once.
    pub fn fail(&self) {
        if !self.failed.swap(true, Ordering::Relaxed) && !self.is_closed() {
            let _ = self.room.events.send(SfuEvent::Failed {
                participant: self.participant,
            });
        }
    }

    /// Stop everything: later packets are ignored and DTLS is closed.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        *lock(&self.dtls) = Dtls::Failed;
        if let Some(conn) = lock(&self.conn).take() {
            tokio::spawn(async move {
                let _ = conn.close().await;
            });
        }
    }

    /// A DTLS record from `from`; the first one starts the handshake.
    pub fn on_dtls(self: &Arc<Self>, bytes: &[u8], from: SocketAddr, certificate: &Certificate) {
        let mut dtls = lock(&self.dtls);
        match &*dtls {
            Dtls::Running(tx) => {
                let _ = tx.try_send(bytes.to_vec());
            }
            Dtls::Failed => {}
            Dtls::Idle => {
                let Some(fingerprint) = lock(&self.remote).as_ref().map(|r| r.fingerprint.clone())
                else {
                    return; // no offer yet: nobody to check the client against
                };
                let (conn, tx) = DtlsLink::new(self.socket.clone(), from);
                let _ = tx.try_send(bytes.to_vec());
                *dtls = Dtls::Running(tx);
                let (link, certificate) = (self.clone(), certificate.clone());
                self.room.sfu.spawn_counted(async move {
                    let keyed = tokio::time::timeout(
                        HANDSHAKE_TIMEOUT,
                        accept(Arc::new(conn), certificate, &fingerprint),
                    )
                    .await
                    .unwrap_or_else(|_| Err("DTLS handshake timed out".into()));
                    match keyed {
                        Ok(k) if !link.is_closed() => {
                            lock(&link.inbound).ctx = Some(k.inbound);
                            {
                                let mut out = lock(&link.outbound);
                                out.ctx = Some(k.outbound);
                                out.to.get_or_insert(from);
                            }
                            *lock(&link.conn) = Some(Arc::new(k.conn));
                            link.connected.store(true, Ordering::Relaxed);
                            let _ = link.room.events.send(SfuEvent::Connected {
                                participant: link.participant,
                            });
                        }
                        Ok(k) => {
                            let _ = k.conn.close().await;
                        }
                        Err(err) => {
                            tracing::info!(participant = link.participant, %err, "DTLS failed");
                            *lock(&link.dtls) = Dtls::Failed;
                            link.fail();
                        }
                    }
                });
            }
        }
    }

    /// An SRTP or SRTCP packet from the client.
    pub fn on_media(&self, bytes: &[u8], scratch: &mut Scratch, now: Instant) {
        if self.is_closed() {
            return;
        }
        // RFC 5761: packet types 192-223 are RTCP.
        if (192..=223).contains(&bytes.get(1).copied().unwrap_or(0)) {
            return self.on_rtcp(bytes, now);
        }
        let mut inb = lock(&self.inbound);
        let Some(ctx) = inb.ctx.as_mut() else { return };
        // The context checks replays (RFC 3711 §3.3.2).
        let Ok(plain) = ctx.decrypt_rtp(bytes) else {
            return;
        };
        let Ok(h) = RtpHeader::parse(&plain) else {
            return;
        };
        inb.ssrc = Some(h.ssrc());
        drop(inb);
        self.touch(now);
        let live = &self.room.sfu.inner.live;
        live.received_packets.fetch_add(1, Ordering::Relaxed);
        self.forward(&h, plain.as_ref(), scratch, now);
    }

    /// Meter one decrypted packet (`h` is its header) and route it to every
    /// subscriber whose track is negotiated.
    fn forward(&self, h: &RtpHeader<'_>, plain: &[u8], scratch: &mut Scratch, now: Instant) {
        let from = self.participant;
        let level_id = self.codec().1;
        let level = level_id
            .and_then(|id| h.extension(id))
            .and_then(audio_level);
        scratch.routed.clear();
        scratch.targets.clear();
        let change = {
            let mut r = lock(&self.room.routes);
            if let Some(meter) = r.upstream.get_mut(&from) {
                meter.record(
                    h.sequence_number(),
                    h.timestamp(),
                    h.payload().len(),
                    level,
                    now,
                );
            }
            r.forwarder.route(
                from,
                h.sequence_number(),
                h.timestamp(),
                &mut scratch.routed,
            );
            for (to, seq, ts) in &scratch.routed {
                if let Some(t) = r.tracks.get(&(from, *to)).filter(|t| t.is_active()) {
                    scratch.targets.push((t.clone(), *seq, *ts));
                }
            }
            if let (Some((dbov, voice)), false) = (level, r.forwarder.is_muted(from)) {
                r.speaker.observe(from, dbov, voice, now);
            }
            r.speaker.poll(now)
        };
        if let Some(change) = change {
            let _ = self.room.events.send(SfuEvent::ActiveSpeaker {
                participant: change.speaker,
            });
        }
        let payload_len = h.payload().len();
        for (track, seq, ts) in scratch.targets.drain(..) {
            let (pt, their_level) = track.to.codec();
            scratch.buf.clear();
            scratch.buf.extend_from_slice(plain);
            let r = Rewrite {
                payload_type: pt,
                sequence_number: seq,
                timestamp: ts,
                ssrc: track.ssrc,
                level_id: level_id.map(|id| (id, their_level)),
            };
            if rewrite(&mut scratch.buf, &r).is_ok() && track.to.send_rtp(&scratch.buf) {
                track.sent(ts, payload_len, now);
                let live = &self.room.sfu.inner.live;
                live.forwarded_packets.fetch_add(1, Ordering::Relaxed);
            } else if track.to.is_connected() {
                // (Before the subscriber's DTLS is up, nothing is lost yet.)
                track.interval_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Encrypt and send one RTP packet to the client; false when it cannot be.
    fn send_rtp(&self, plain: &[u8]) -> bool {
        self.seal_and_send(|ctx| ctx.encrypt_rtp(plain))
    }

    /// Encrypt and send one (compound) RTCP packet to the client.
    pub fn send_rtcp(&self, plain: &[u8]) {
        self.seal_and_send(|ctx| ctx.encrypt_rtcp(plain));
    }

    /// Encrypt with our SRTP context and send to the client's address, once
    /// both are known; false when the packet did not go.
    fn seal_and_send(
        &self,
        seal: impl FnOnce(&mut Context) -> Result<bytes::Bytes, webrtc::srtp::Error>,
    ) -> bool {
        if self.is_closed() {
            return false;
        }
        let (sealed, to) = {
            let mut out = lock(&self.outbound);
            let (Some(to), Some(ctx)) = (out.to, out.ctx.as_mut()) else {
                return false;
            };
            match seal(ctx) {
                Ok(sealed) => (sealed, to),
                Err(_) => return false,
            }
        };
        // A full socket buffer drops this packet for this subscriber only.
        self.socket.try_send_to(&sealed, to).is_ok()
    }

    /// The client's RTCP: sender reports about its stream (echoed in our
    /// receiver reports), report blocks about the tracks we send it.
    fn on_rtcp(&self, bytes: &[u8], now: Instant) {
        let packets = {
            let mut inb = lock(&self.inbound);
            let Some(ctx) = inb.ctx.as_mut() else { return };
            let Ok(plain) = ctx.decrypt_rtcp(bytes) else {
                return;
            };
            let Ok(packets) = webrtc::rtcp::packet::unmarshal(&mut &plain[..]) else {
                return;
            };
            use webrtc::rtcp::sender_report::SenderReport;
            for sr in packets
                .iter()
                .filter_map(|p| p.as_any().downcast_ref::<SenderReport>())
            {
                inb.report.sender_report(sr.ntp_time, now);
            }
            packets
        };
        self.touch(now);
        let ntp_now = ntp_middle32(SystemTime::now());
        let me = self.participant;
        let mut r = lock(&self.room.routes);
        let mine: Vec<(u64, u32)> = r
            .tracks
            .iter()
            .filter(|((_, to), _)| *to == me)
            .map(|((from, _), t)| (*from, t.ssrc))
            .collect();
        for (from, ssrc) in mine {
            let blocks: Vec<ReportBlock> = packets
                .iter()
                .flat_map(|p| report_blocks(p.as_ref(), ssrc))
                .collect();
            if let Some(meter) = r.downstream.get_mut(&(from, me)) {
                for b in &blocks {
                    meter.record(b, ntp_now);
                }
            }
        }
    }

    /// The report block about the client's own stream, from `stats` (its
    /// upstream meter's), if it publishes.
    pub fn reception_report(
        &self,
        stats: &ReceiveStats,
        now: Instant,
    ) -> Option<webrtc::rtcp::reception_report::ReceptionReport> {
        let mut inb = lock(&self.inbound);
        let ssrc = inb.ssrc?;
        Some(inb.report.report(stats, ssrc, now))
    }
}

/// Buffers the socket reader lends to every packet.
#[derive(Default)]
pub(crate) struct Scratch {
    routed: Vec<(u64, u16, u32)>,
    targets: Vec<(Arc<OutTrack>, u16, u32)>,
    buf: Vec<u8>,
}

/// One publisher's audio as sent to one subscriber.
pub(crate) struct OutTrack {
    pub ssrc: u32,
    pub to: Arc<Link>,
    /// The subscriber has accepted an offer with this track.
    active: AtomicBool,
    created: Instant,
    interval_packets: AtomicU64,
    interval_bytes: AtomicU64,
    /// Packets routed to this track that could not be sent (a full socket
    /// buffer, a failed rewrite or encryption): the SFU's own loss.
    interval_dropped: AtomicU64,
    /// For sender reports: totals, the last RTP timestamp sent and when
    /// (microseconds after `created`, 0: nothing sent yet).
    packets: AtomicU32,
    octets: AtomicU32,
    last_ts: AtomicU32,
    last_at_us: AtomicU64,
}

impl OutTrack {
    pub fn new(ssrc: u32, to: Arc<Link>) -> OutTrack {
        OutTrack {
            ssrc,
            to,
            active: AtomicBool::new(false),
            created: Instant::now(),
            interval_packets: AtomicU64::new(0),
            interval_bytes: AtomicU64::new(0),
            interval_dropped: AtomicU64::new(0),
            packets: AtomicU32::new(0),
            octets: AtomicU32::new(0),
            last_ts: AtomicU32::new(0),
            last_at_us: AtomicU64::new(0),
        }
    }

    pub fn activate(&self) {
        self.active.store(true, Ordering::Relaxed);
    }

    fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    fn sent(&self, ts: u32, payload_len: usize, now: Instant) {
        self.interval_packets.fetch_add(1, Ordering::Relaxed);
        self.interval_bytes
            .fetch_add(payload_len as u64, Ordering::Relaxed);
        self.packets.fetch_add(1, Ordering::Relaxed);
        self.octets.fetch_add(payload_len as u32, Ordering::Relaxed);
        self.last_ts.store(ts, Ordering::Relaxed);
        let us = now.saturating_duration_since(self.created).as_micros() as u64;
        self.last_at_us.store(us.max(1), Ordering::Relaxed);
    }

    /// This track's sender report as of `now`, once it has sent anything.
    pub fn sender_report(&self, now: Instant) -> Option<webrtc::rtcp::sender_report::SenderReport> {
        let at = self.last_at_us.load(Ordering::Relaxed);
        if at == 0 {
            return None;
        }
        let since = now.saturating_duration_since(self.created + Duration::from_micros(at));
        let rtp_time = self
            .last_ts
            .load(Ordering::Relaxed)
            .wrapping_add((since.as_micros() as u64 * 48 / 1000) as u32);
        Some(webrtc::rtcp::sender_report::SenderReport {
            ssrc: self.ssrc,
            ntp_time: crate::stats::ntp_timestamp(SystemTime::now()),
            rtp_time,
            packet_count: self.packets.load(Ordering::Relaxed),
            octet_count: self.octets.load(Ordering::Relaxed),
            ..Default::default()
        })
    }
}

impl SentTrack for OutTrack {
    fn created(&self) -> Instant {
        self.created
    }

    fn take_sent(&self) -> (u64, u64) {
        (
            self.interval_packets.swap(0, Ordering::Relaxed),
            self.interval_bytes.swap(0, Ordering::Relaxed),
        )
    }

    fn take_dropped(&self) -> u64 {
        self.interval_dropped.swap(0, Ordering::Relaxed)
    }
}
