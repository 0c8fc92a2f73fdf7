//! A real WebRTC peer (webrtc-rs) for call tests: joins a call over its own
//! socket, negotiates with the server (or another peer), publishes fake Opus
//! packets at 50 packets/s and records every RTP packet it receives.
#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;

use super::{TestServer, WAIT};

pub use earshot_sfu::client::AudioPeer as MediaPeer;

/// A peer restricted to loopback candidates that keeps every payload.
pub async fn media_peer() -> MediaPeer {
    MediaPeer::loopback(true).await.expect("media peer")
}

/// Packets received from `stream` as (seq, payload).
pub trait Packets {
    fn packets_from(&self, stream: &str) -> Vec<(u16, Vec<u8>)>;
}

impl Packets for MediaPeer {
    fn packets_from(&self, stream: &str) -> Vec<(u16, Vec<u8>)> {
        self.log(stream).packets
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
        Self::join_via(server, user, role, call_id, None).await
    }

    /// Join with all media going through a relay at `relay` (see
    /// `relay::Relay`): the server's candidates are rewritten to point at
    /// it and the offer carries no candidates of ours.
    pub async fn join_via(
        server: &TestServer,
        user: &str,
        role: &str,
        call_id: &str,
        relay: Option<super::relay::RelayRoute>,
    ) -> SfuParticipant {
        Self::join_with(server, user, role, call_id, relay, false).await
    }

    /// Join, but never answer the server's later offers (a client whose
    /// renegotiation breaks): tracks added for newcomers never carry audio.
    pub async fn join_deaf(
        server: &TestServer,
        user: &str,
        role: &str,
        call_id: &str,
    ) -> SfuParticipant {
        Self::join_with(server, user, role, call_id, None, true).await
    }

    async fn join_with(
        server: &TestServer,
        user: &str,
        role: &str,
        call_id: &str,
        relay: Option<super::relay::RelayRoute>,
        ignore_offers: bool,
    ) -> SfuParticipant {
        let mut client = server.client(user, role).await;
        let joined = client
            .request(json!({"type": "join_call", "call_id": call_id}))
            .await;
        assert_eq!(joined["type"], "call_joined", "join_call: {joined}");
        let participant_id = joined["participant_id"].as_str().unwrap().to_string();
        let media = media_peer().await;
        let mut offer = media.full_offer().await.expect("offer");
        if relay.is_some() {
            offer = super::relay::strip_candidates(&offer);
        }
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
                                let mut sdp = v["sdp"].as_str().unwrap().to_string();
                                if relay.is_some() { sdp = super::relay::strip_candidates(&sdp) }
                                pc.set_remote_description(RTCSessionDescription::answer(sdp).unwrap()).await.expect("answer");
                            }
                            "sfu_offer" if ignore_offers => {}
                            "sfu_offer" => {
                                let mut sdp = v["sdp"].as_str().unwrap().to_string();
                                if relay.is_some() { sdp = super::relay::strip_candidates(&sdp) }
                                pc.set_remote_description(RTCSessionDescription::offer(sdp).unwrap()).await.expect("offer");
                                let answer = pc.create_answer(None).await.unwrap();
                                pc.set_local_description(answer.clone()).await.unwrap();
                                let mut sdp = answer.sdp;
                                if relay.is_some() { sdp = super::relay::strip_candidates(&sdp) }
                                let reply = json!({"type": "sfu_answer", "call_id": call, "sdp": sdp});
                                if ws.send(Message::text(reply.to_string())).await.is_err() { break }
                            }
                            "ice_candidate" => {
                                let mut c = v["candidate"].clone();
                                if let Some(relay) = &relay {
                                    relay.route(&mut c);
                                }
                                let c: RTCIceCandidateInit = serde_json::from_value(c).unwrap();
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
