//! A real WebRTC peer (webrtc-rs) for call tests: joins a call over its own
//! socket, negotiates with the server (or another peer), publishes fake Opus
//! packets at 50 packets/s and records every RTP packet it receives.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp::header::Header;
use webrtc::rtp::packet::Packet;
use webrtc::track::track_local::track_local_static_rtp::TrackLocalStaticRTP;
use webrtc::track::track_local::{TrackLocal, TrackLocalWriter};

use super::{TestServer, WAIT};

/// Received packets per remote stream id (`p-<participant id>`): (seq, payload).
pub type Received = Arc<Mutex<HashMap<String, Vec<(u16, Vec<u8>)>>>>;

pub struct MediaPeer {
    pub pc: Arc<RTCPeerConnection>,
    pub track: Arc<TrackLocalStaticRTP>,
    pub received: Received,
}

/// A peer restricted to loopback candidates.
pub async fn media_peer() -> MediaPeer {
    let mut settings = SettingEngine::default();
    settings.set_include_loopback_candidate(true);
    settings.set_ip_filter(Box::new(|ip| ip.is_loopback()));
    settings.set_network_types(vec![NetworkType::Udp4]);
    settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    let api = earshot_sfu::build_api(settings).expect("api");
    let pc = Arc::new(
        api.new_peer_connection(RTCConfiguration::default())
            .await
            .expect("pc"),
    );
    let track = Arc::new(TrackLocalStaticRTP::new(
        earshot_sfu::opus_capability(),
        "mic".into(),
        "local".into(),
    ));
    pc.add_track(track.clone() as Arc<dyn TrackLocal + Send + Sync>)
        .await
        .expect("add track");
    let received: Received = Arc::default();
    let sink = received.clone();
    pc.on_track(Box::new(move |remote, _, _| {
        let sink = sink.clone();
        Box::pin(async move {
            let stream = remote.stream_id();
            tokio::spawn(async move {
                while let Ok((pkt, _)) = remote.read_rtp().await {
                    let mut map = sink.lock().unwrap();
                    map.entry(stream.clone())
                        .or_default()
                        .push((pkt.header.sequence_number, pkt.payload.to_vec()));
                }
            });
        })
    }));
    MediaPeer {
        pc,
        track,
        received,
    }
}

impl MediaPeer {
    /// Offer with every candidate included (no trickle needed).
    pub async fn full_offer(&self) -> String {
        let offer = self.pc.create_offer(None).await.expect("offer");
        let mut done = self.pc.gathering_complete_promise().await;
        self.pc
            .set_local_description(offer)
            .await
            .expect("set local");
        let _ = done.recv().await;
        self.pc.local_description().await.expect("local").sdp
    }

    pub async fn accept_offer(&self, sdp: String) -> String {
        self.pc
            .set_remote_description(RTCSessionDescription::offer(sdp).unwrap())
            .await
            .expect("remote offer");
        let answer = self.pc.create_answer(None).await.expect("answer");
        let mut done = self.pc.gathering_complete_promise().await;
        self.pc
            .set_local_description(answer)
            .await
            .expect("set local");
        let _ = done.recv().await;
        self.pc.local_description().await.expect("local").sdp
    }

    pub async fn accept_answer(&self, sdp: String) {
        self.pc
            .set_remote_description(RTCSessionDescription::answer(sdp).unwrap())
            .await
            .expect("remote answer");
    }

    /// Publish fake Opus at 50 packets/s; payload = [tag, seq_hi, seq_lo, 0...].
    /// Runs until the returned sender is dropped.
    pub fn publish(&self, tag: u8) -> tokio::sync::oneshot::Sender<()> {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let track = self.track.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let (mut seq, mut ts) = (1000u16, 0u32);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {}
                }
                let mut payload = vec![0u8; 60];
                payload[0] = tag;
                payload[1..3].copy_from_slice(&seq.to_be_bytes());
                let pkt = Packet {
                    header: Header {
                        version: 2,
                        payload_type: 111,
                        sequence_number: seq,
                        timestamp: ts,
                        ssrc: 0x1234,
                        ..Default::default()
                    },
                    payload: payload.into(),
                };
                let _ = track.write_rtp(&pkt).await;
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(960);
            }
        });
        stop
    }

    /// Packets received so far from stream `stream` (e.g. `p-12`).
    pub fn packets_from(&self, stream: &str) -> Vec<(u16, Vec<u8>)> {
        self.received
            .lock()
            .unwrap()
            .get(stream)
            .cloned()
            .unwrap_or_default()
    }

    pub fn streams(&self) -> Vec<String> {
        let mut s: Vec<String> = self.received.lock().unwrap().keys().cloned().collect();
        s.sort();
        s
    }
}

/// A participant of an SFU call: its own socket, a media peer, and a pump
/// that answers the server's signaling. Other messages go to `events`.
pub struct SfuParticipant {
    pub media: MediaPeer,
    pub participant_id: String,
    pub events: mpsc::UnboundedReceiver<Value>,
    out: mpsc::UnboundedSender<Value>,
    pub call_id: String,
}

impl SfuParticipant {
    pub async fn join(
        server: &TestServer,
        user: &str,
        role: &str,
        call_id: &str,
    ) -> SfuParticipant {
        let mut client = server.client(user, role).await;
        let joined = client
            .request(json!({"type": "join_call", "call_id": call_id}))
            .await;
        assert_eq!(joined["type"], "call_joined", "join_call: {joined}");
        let participant_id = joined["participant_id"].as_str().unwrap().to_string();
        let media = media_peer().await;
        let offer = media.full_offer().await;
        let (events_tx, events) = mpsc::unbounded_channel();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Value>();
        let pc = media.pc.clone();
        let call = call_id.to_string();
        let mut ws = client.ws;
        ws.send(Message::text(
            json!({"type": "sfu_offer", "call_id": call, "sdp": offer}).to_string(),
        ))
        .await
        .unwrap();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    out = out_rx.recv() => match out {
                        Some(v) => if ws.send(Message::text(v.to_string())).await.is_err() { break },
                        None => { let _ = ws.close(None).await; break }
                    },
                    msg = ws.next() => {
                        let Some(Ok(Message::Text(text))) = msg else {
                            if matches!(msg, Some(Ok(_))) { continue } else { break }
                        };
                        let v: Value = serde_json::from_str(&text).unwrap();
                        match v["type"].as_str().unwrap_or("") {
                            "sfu_answer" => {
                                let sdp = v["sdp"].as_str().unwrap().to_string();
                                pc.set_remote_description(RTCSessionDescription::answer(sdp).unwrap()).await.expect("answer");
                            }
                            "sfu_offer" => {
                                let sdp = v["sdp"].as_str().unwrap().to_string();
                                pc.set_remote_description(RTCSessionDescription::offer(sdp).unwrap()).await.expect("offer");
                                let answer = pc.create_answer(None).await.unwrap();
                                pc.set_local_description(answer.clone()).await.unwrap();
                                let reply = json!({"type": "sfu_answer", "call_id": call, "sdp": answer.sdp});
                                if ws.send(Message::text(reply.to_string())).await.is_err() { break }
                            }
                            "ice_candidate" => {
                                let c: RTCIceCandidateInit = serde_json::from_value(v["candidate"].clone()).unwrap();
                                let _ = pc.add_ice_candidate(c).await;
                            }
                            _ => { let _ = events_tx.send(v); }
                        }
                    }
                }
            }
        });
        SfuParticipant {
            media,
            participant_id,
            events,
            out,
            call_id: call_id.to_string(),
        }
    }

    pub fn send(&self, v: Value) {
        let _ = self.out.send(v);
    }

    /// The stream id under which others receive this participant.
    pub fn stream(&self) -> String {
        format!("p-{}", self.participant_id)
    }

    pub async fn next_event(&mut self, t: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let v = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no `{t}` event"))
                .expect("socket closed");
            if v["type"] == t {
                return v;
            }
        }
    }

    /// Wait until `pred` holds for this peer's received packets.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&MediaPeer) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !pred(&self.media) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; streams {:?}",
                self.media.streams()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn close(self) {
        let _ = self.media.pc.close().await;
        drop(self.out);
    }
}
