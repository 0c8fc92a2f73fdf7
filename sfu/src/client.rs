//! A minimal WebRTC audio peer built on the same API as the SFU, for the
//! integration tests and the load generator: publishes fake Opus at 50
//! packets/s and records what it receives per remote stream.
//!
//! Payload layout of published packets: `[tag, seq_hi, seq_lo, send time in
//! microseconds since the Unix epoch (8 bytes, big endian), padding...]`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use webrtc::api::setting_engine::SettingEngine;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp::header::Header;
use webrtc::rtp::packet::Packet;
use webrtc::rtp_transceiver::rtp_sender::RTCRtpSender;
use webrtc::track::track_local::track_local_static_rtp::TrackLocalStaticRTP;
use webrtc::track::track_local::{TrackLocal, TrackLocalWriter};

use crate::engine::{build_api, opus_capability, SfuError};

/// What one remote stream delivered.
#[derive(Debug, Default, Clone)]
pub struct StreamLog {
    /// (sequence number, payload) of every packet, if kept.
    pub packets: Vec<(u16, Vec<u8>)>,
    pub count: u64,
    /// Highest sequence number seen, extended across wraparounds.
    pub first_seq: Option<u64>,
    pub highest_seq: u64,
    /// One-way delays in microseconds (sender clock = receiver clock on one host).
    pub delays_us: Vec<u64>,
}

impl StreamLog {
    /// Packets the sender sent in the span received (from sequence numbers).
    pub fn expected(&self) -> u64 {
        self.first_seq.map_or(0, |f| self.highest_seq - f + 1)
    }

    /// Log one packet: its sequence number extended by `cycles`, the delay
    /// from the send time in its payload, and the payload itself if `keep`.
    pub(crate) fn record(&mut self, cycles: &mut SeqCycles, seq: u16, payload: &[u8], keep: bool) {
        let ext = cycles.extend(seq);
        self.count += 1;
        self.first_seq.get_or_insert(ext);
        self.highest_seq = self.highest_seq.max(ext);
        if let Some(sent) = payload.get(3..11).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            self.delays_us
                .push(now_us().saturating_sub(u64::from_be_bytes(sent)));
        }
        if keep {
            self.packets.push((seq, payload.to_vec()));
        }
    }
}

/// Extends a stream's 16-bit sequence numbers across wraparounds.
#[derive(Debug, Default)]
pub(crate) struct SeqCycles {
    last: Option<u16>,
    cycles: u64,
}

impl SeqCycles {
    fn extend(&mut self, seq: u16) -> u64 {
        if let Some(l) = self.last {
            if seq < l && l - seq > u16::MAX / 2 {
                self.cycles += 1 << 16;
            }
        }
        self.last = Some(seq);
        self.cycles + u64::from(seq)
    }
}

pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

pub struct AudioPeer {
    pub pc: Arc<RTCPeerConnection>,
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<RTCRtpSender>,
    received: Arc<Mutex<HashMap<String, StreamLog>>>,
    /// Loss injection: skip every k-th packet (0: none).
    drop_every: Arc<AtomicU16>,
    /// Round-trip time from the latest receiver report about our stream
    /// that echoed one of our sender reports (what a browser shows as
    /// `remote-inbound-rtp.roundTripTime`).
    uplink_rtt: Arc<Mutex<Option<Duration>>>,
}

impl AudioPeer {
    /// A peer whose ICE candidates are loopback only; `keep_packets` keeps
    /// every payload (tests) instead of counts and delays only (load).
    pub async fn loopback(keep_packets: bool) -> Result<AudioPeer, SfuError> {
        let mut settings = SettingEngine::default();
        settings.set_include_loopback_candidate(true);
        settings.set_ip_filter(Box::new(|ip| ip.is_loopback()));
        settings.set_network_types(vec![NetworkType::Udp4]);
        settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
        let api = build_api(settings)?;
        let pc = Arc::new(api.new_peer_connection(RTCConfiguration::default()).await?);
        let track = Arc::new(TrackLocalStaticRTP::new(
            opus_capability(),
            "mic".into(),
            "local".into(),
        ));
        let sender = pc
            .add_track(track.clone() as Arc<dyn TrackLocal + Send + Sync>)
            .await?;
        let uplink_rtt: Arc<Mutex<Option<Duration>>> = Arc::default();
        {
            let (sender, rtt) = (sender.clone(), uplink_rtt.clone());
            tokio::spawn(async move {
                while let Ok((packets, _)) = sender.read_rtcp().await {
                    let now = crate::stats::ntp_middle32(SystemTime::now());
                    for p in &packets {
                        let Some(rr) = p
                            .as_any()
                            .downcast_ref::<webrtc::rtcp::receiver_report::ReceiverReport>()
                        else {
                            continue;
                        };
                        for block in &rr.reports {
                            if let Some(d) = crate::stats::rtt_from_receiver_report(
                                now,
                                block.last_sender_report,
                                block.delay,
                            ) {
                                *rtt.lock().unwrap_or_else(|p| p.into_inner()) = Some(d);
                            }
                        }
                    }
                }
            });
        }
        let received: Arc<Mutex<HashMap<String, StreamLog>>> = Arc::default();
        let sink = received.clone();
        pc.on_track(Box::new(move |remote, receiver, _| {
            let sink = sink.clone();
            Box::pin(async move {
                // Read RTCP as a browser does: the report interceptors see
                // the sender's SRs only when RTCP is read, and without them
                // our receiver reports carry no LSR/DLSR (no RTT).
                tokio::spawn(async move { while receiver.read_rtcp().await.is_ok() {} });
                let stream = remote.stream_id();
                tokio::spawn(async move {
                    let mut cycles = SeqCycles::default();
                    let mut buf = vec![0u8; 1500];
                    while let Ok((pkt, _)) = remote.read(&mut buf).await {
                        let mut map = sink.lock().unwrap_or_else(|p| p.into_inner());
                        map.entry(stream.clone()).or_default().record(
                            &mut cycles,
                            pkt.header.sequence_number,
                            &pkt.payload,
                            keep_packets,
                        );
                    }
                });
            })
        }));
        Ok(AudioPeer {
            pc,
            track,
            sender,
            received,
            drop_every: Arc::default(),
            uplink_rtt,
        })
    }

    /// Create an offer and wait for ICE gathering (no trickle needed).
    pub async fn full_offer(&self) -> Result<String, SfuError> {
        let offer = self.pc.create_offer(None).await?;
        self.set_local_gathered(offer).await
    }

    /// Answer a remote offer, waiting for ICE gathering.
    pub async fn full_answer(&self, offer: String) -> Result<String, SfuError> {
        let answer = self.answer_for(offer).await?;
        self.set_local_gathered(answer).await
    }

    /// Answer a remote offer at once (candidates trickle separately).
    pub async fn answer(&self, offer: String) -> Result<String, SfuError> {
        let answer = self.answer_for(offer).await?;
        self.pc.set_local_description(answer.clone()).await?;
        Ok(answer.sdp)
    }

    async fn answer_for(&self, offer: String) -> Result<RTCSessionDescription, SfuError> {
        let offer =
            RTCSessionDescription::offer(offer).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        self.pc.set_remote_description(offer).await?;
        Ok(self.pc.create_answer(None).await?)
    }

    /// Apply a local description and return it once every candidate is in it.
    async fn set_local_gathered(&self, desc: RTCSessionDescription) -> Result<String, SfuError> {
        let mut done = self.pc.gathering_complete_promise().await;
        self.pc.set_local_description(desc).await?;
        let _ = done.recv().await;
        Ok(self
            .pc
            .local_description()
            .await
            .map(|d| d.sdp)
            .unwrap_or_default())
    }

    pub async fn accept_answer(&self, answer: String) -> Result<(), SfuError> {
        let answer =
            RTCSessionDescription::answer(answer).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        self.pc.set_remote_description(answer).await?;
        Ok(())
    }

    /// The round-trip time the far end's receiver reports give us, once one
    /// has echoed our sender report.
    pub fn uplink_rtt(&self) -> Option<Duration> {
        *self.uplink_rtt.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Inject loss on what this peer publishes: from now on every `k`-th
    /// packet is not sent (its sequence number is still used, so the
    /// receiver sees a hole); 0 turns it off.
    pub fn set_drop_every(&self, k: u16) {
        self.drop_every.store(k, Ordering::Relaxed);
    }

    /// Publish fake Opus at 50 packets/s until the returned sender is dropped.
    pub fn publish(&self, tag: u8) -> tokio::sync::oneshot::Sender<()> {
        self.publish_with_level(tag, None)
    }

    /// Like [`AudioPeer::publish`], with an RFC 6464 audio level (-dBov;
    /// below 127 also sets the voice flag) on every packet.
    pub fn publish_with_level(
        &self,
        tag: u8,
        level: Option<u8>,
    ) -> tokio::sync::oneshot::Sender<()> {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let track = self.track.clone();
        let sender = self.sender.clone();
        let drop_every = self.drop_every.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            // The track's binding keeps the extension ids known when it was
            // bound (before the answer), so set the negotiated id ourselves.
            let mut level_id: Option<u8> = None;
            let (mut seq, mut ts) = (1000u16, 0u32);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {}
                }
                let mut payload = vec![0u8; 60];
                payload[0] = tag;
                payload[1..3].copy_from_slice(&seq.to_be_bytes());
                payload[3..11].copy_from_slice(&now_us().to_be_bytes());
                let header = Header {
                    version: 2,
                    payload_type: 111,
                    sequence_number: seq,
                    timestamp: ts,
                    ssrc: 0x1234,
                    ..Default::default()
                };
                let mut packet = Packet {
                    header,
                    payload: payload.into(),
                };
                if let Some(level) = level {
                    if level_id.is_none() {
                        level_id = sender
                            .get_parameters()
                            .await
                            .rtp_parameters
                            .header_extensions
                            .iter()
                            .find(|e| e.uri == crate::engine::AUDIO_LEVEL_URI)
                            .and_then(|e| u8::try_from(e.id).ok());
                    }
                    if let Some(id) = level_id {
                        let byte = level.min(127) | if level < 127 { 0x80 } else { 0 };
                        let _ = packet
                            .header
                            .set_extension(id, bytes::Bytes::copy_from_slice(&[byte]));
                    }
                }
                let k = drop_every.load(Ordering::Relaxed);
                if k == 0 || seq % k != 0 {
                    let _ = track.write_rtp(&packet).await;
                }
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(960);
            }
        });
        stop
    }

    /// What stream `stream` delivered so far.
    pub fn log(&self, stream: &str) -> StreamLog {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(stream)
            .cloned()
            .unwrap_or_default()
    }

    /// Every stream's log (the load generator drains delays with this).
    pub fn take_logs(&self) -> HashMap<String, StreamLog> {
        let mut map = self.received.lock().unwrap_or_else(|p| p.into_inner());
        map.iter_mut()
            .map(|(k, v)| {
                let taken = StreamLog {
                    delays_us: std::mem::take(&mut v.delays_us),
                    packets: vec![],
                    ..v.clone()
                };
                (k.clone(), taken)
            })
            .collect()
    }

    pub fn streams(&self) -> Vec<String> {
        let mut s: Vec<String> = self
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        s.sort();
        s
    }
}
