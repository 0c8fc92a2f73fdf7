//! One call's media on the peer-connection engine: a peer connection per participant and one outgoing
//! track per (publisher, subscriber) pair; each publisher's packets are
//! forwarded by its loop in `crate::publish`.
//!
//! [`PcRoom`] is owned by the call's task, which calls its `&mut self`
//! methods one at a time: peer set-up, negotiation and tear-down need no
//! locks. Only the routing table is shared with the packet loops, behind a
//! std `Mutex` held for a lookup per packet and never across `.await`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use webrtc::api::API;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp_transceiver::rtp_sender::RTCRtpSender;

use crate::engine::{opus_capability, Sfu, SfuError, AUDIO_LEVEL_URI};
use crate::exchange::Exchange;
use crate::meter::{LinkSnapshot, ReportBlock};
use crate::publish::publish_loop;
use crate::room::{track_id, SfuEvent};
use crate::routes::{link_snapshots, lock, report_blocks, Routes};
use crate::stats::ntp_middle32;
use crate::tap::StreamTaps;
use crate::track::{ForwardTrack, SendChain};

struct Peer {
    /// This connection's own API: its chain ends in `taps`.
    api: API,
    pc: Arc<RTCPeerConnection>,
    /// The interceptors of this peer's outgoing tracks.
    send_chain: SendChain,
    /// Outgoing tracks on this peer, by publisher.
    outgoing: HashMap<u64, Arc<RTCRtpSender>>,
    exchange: Exchange,
}

/// One call's media. Owned by the call task.
pub struct PcRoom {
    sfu: Sfu,
    events: mpsc::UnboundedSender<SfuEvent>,
    routes: Arc<Mutex<Routes<ForwardTrack>>>,
    peers: HashMap<u64, Peer>,
    closed: CancellationToken,
    /// Tracks ever made per (publisher, subscriber): a publisher who leaves
    /// and joins again from the same device gets a new track id, since the
    /// subscriber's SDP keeps the old one's m-line (browsers refuse two
    /// m-lines with the same msid).
    track_stays: HashMap<(u64, u64), u32>,
}

impl PcRoom {
    /// A room for one call; its events go to `events`.
    pub(crate) fn new(sfu: Sfu, events: mpsc::UnboundedSender<SfuEvent>) -> PcRoom {
        PcRoom {
            sfu,
            events,
            routes: Arc::new(Mutex::new(Routes::default())),
            peers: HashMap::new(),
            closed: CancellationToken::new(),
            track_stays: HashMap::new(),
        }
    }
}

impl PcRoom {
    /// Create the participant's peer connection. Its offer comes next.
    pub async fn add_peer(&mut self, participant: u64) -> Result<(), SfuError> {
        if self.peers.contains_key(&participant) {
            return Ok(());
        }
        let taps = Arc::new(StreamTaps::default());
        let api = self.sfu.peer_api(&taps)?;
        let pc = Arc::new(api.new_peer_connection(RTCConfiguration::default()).await?);
        self.sfu.inner.live.peers.fetch_add(1, Ordering::Relaxed);
        let send_chain = SendChain::new(&pc).await?;
        let events = self.events.clone();
        pc.on_ice_candidate(Box::new(move |c| {
            let events = events.clone();
            Box::pin(async move {
                if let Some(json) = c
                    .and_then(|c| c.to_json().ok())
                    .and_then(|j| serde_json::to_value(j).ok())
                {
                    let _ = events.send(SfuEvent::Candidate {
                        participant,
                        candidate: json,
                    });
                }
            })
        }));
        let events = self.events.clone();
        pc.on_peer_connection_state_change(Box::new(move |state| {
            let events = events.clone();
            Box::pin(async move {
                let event = match state {
                    RTCPeerConnectionState::Connected => SfuEvent::Connected { participant },
                    RTCPeerConnectionState::Failed => SfuEvent::Failed { participant },
                    RTCPeerConnectionState::Disconnected => SfuEvent::Disconnected {
                        participant,
                        silent_ms: 0,
                    },
                    _ => return,
                };
                let _ = events.send(event);
            })
        }));
        let (routes, sfu, closed) = (self.routes.clone(), self.sfu.clone(), self.closed.clone());
        let taps = taps.clone();
        let events = self.events.clone();
        pc.on_track(Box::new(move |track, receiver, _| {
            let (routes, sfu, closed, events, taps) = (
                routes.clone(),
                sfu.clone(),
                closed.clone(),
                events.clone(),
                taps.clone(),
            );
            Box::pin(async move {
                let level_id = receiver
                    .get_parameters()
                    .await
                    .header_extensions
                    .iter()
                    .find(|e| e.uri == AUDIO_LEVEL_URI)
                    .and_then(|e| u8::try_from(e.id).ok());
                // Read the publisher's RTCP: the receiver-report interceptor
                // sees their SRs only as RTCP is read, and without them our
                // reports carry no LSR/DLSR (the browser gets no RTT).
                let rtcp_closed = closed.clone();
                sfu.spawn_counted(async move {
                    loop {
                        tokio::select! {
                            _ = rtcp_closed.cancelled() => break,
                            r = receiver.read_rtcp() => if r.is_err() { break },
                        }
                    }
                });
                sfu.spawn_counted(publish_loop(
                    participant,
                    track,
                    taps,
                    level_id,
                    routes,
                    sfu.clone(),
                    closed,
                    events,
                ));
            })
        }));
        {
            let mut routes = lock(&self.routes);
            routes.add_participant(participant);
        }
        self.peers.insert(
            participant,
            Peer {
                api,
                pc,
                send_chain,
                outgoing: HashMap::new(),
                exchange: Exchange::default(),
            },
        );
        Ok(())
    }

    /// The participant's offer. Returns the answer, or `None` when the
    /// server's own offer is outstanding (glare: the server does not roll
    /// back, the client must, and then answer the server's offer).
    pub async fn handle_offer(
        &mut self,
        participant: u64,
        sdp: String,
    ) -> Result<Option<String>, SfuError> {
        let peer = self
            .peers
            .get_mut(&participant)
            .ok_or(SfuError::UnknownPeer)?;
        if peer.exchange.offering() {
            return Ok(None);
        }
        let offer =
            RTCSessionDescription::offer(sdp).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        peer.pc
            .set_remote_description(offer)
            .await
            .map_err(|e| SfuError::BadSdp(e.to_string()))?;
        let answer = peer.pc.create_answer(None).await?;
        peer.pc.set_local_description(answer.clone()).await?;
        let first = peer.exchange.answered();
        if first {
            self.connect_new_peer(participant).await?;
        } else {
            self.renegotiate_if_dirty(participant).await?;
        }
        Ok(Some(answer.sdp))
    }

    /// The participant's answer to our offer.
    pub async fn handle_answer(&mut self, participant: u64, sdp: String) -> Result<(), SfuError> {
        let peer = self
            .peers
            .get_mut(&participant)
            .ok_or(SfuError::UnknownPeer)?;
        if !peer.exchange.offering() {
            return Err(SfuError::BadSdp("no offer is outstanding".into()));
        }
        let answer =
            RTCSessionDescription::answer(sdp).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        peer.pc
            .set_remote_description(answer)
            .await
            .map_err(|e| SfuError::BadSdp(e.to_string()))?;
        peer.exchange.answer_arrived();
        self.renegotiate_if_dirty(participant).await
    }

    pub async fn add_candidate(
        &mut self,
        participant: u64,
        candidate: serde_json::Value,
    ) -> Result<(), SfuError> {
        let peer = self.peers.get(&participant).ok_or(SfuError::UnknownPeer)?;
        let init: RTCIceCandidateInit = serde_json::from_value(candidate)
            .map_err(|e| SfuError::BadSdp(format!("candidate: {e}")))?;
        peer.pc.add_ice_candidate(init).await?;
        Ok(())
    }

    /// Self-mute (`moderator == false`) or server-side mute.
    pub fn set_muted(&mut self, participant: u64, muted: bool, moderator: bool) {
        lock(&self.routes).set_muted(participant, muted, moderator);
    }

    /// After the first exchange: subscribe the newcomer to everyone and
    /// everyone to the newcomer, then offer the new tracks.
    async fn connect_new_peer(&mut self, newcomer: u64) -> Result<(), SfuError> {
        let others: Vec<u64> = self
            .peers
            .iter()
            .filter(|(id, p)| **id != newcomer && p.exchange.negotiated())
            .map(|(id, _)| *id)
            .collect();
        for other in others {
            self.add_outgoing(other, newcomer).await?;
            self.add_outgoing(newcomer, other).await?;
            self.renegotiate(other).await?;
        }
        self.renegotiate(newcomer).await
    }

    /// Add a track carrying `publisher`'s audio to `subscriber`'s connection.
    async fn add_outgoing(&mut self, publisher: u64, subscriber: u64) -> Result<(), SfuError> {
        let stay = self.track_stays.entry((publisher, subscriber)).or_insert(0);
        *stay += 1;
        let peer = self
            .peers
            .get_mut(&subscriber)
            .ok_or(SfuError::UnknownPeer)?;
        let track = Arc::new(ForwardTrack::new(
            opus_capability(),
            track_id(publisher, *stay),
            format!("p-{publisher}"),
            peer.send_chain.taps(),
        ));
        let sender = peer
            .send_chain
            .add_track(&peer.api, &peer.pc, track.clone())
            .await?;
        peer.outgoing.insert(publisher, sender.clone());
        peer.exchange.changed();
        self.sfu.inner.live.tracks.fetch_add(1, Ordering::Relaxed);
        // Read the subscriber's RTCP: receiver reports about this track
        // feed its downstream meter (loss, jitter, round-trip time).
        let closed = self.closed.clone();
        let routes = self.routes.clone();
        self.sfu.spawn_counted(async move {
            let ssrc = sender
                .get_parameters()
                .await
                .encodings
                .first()
                .map(|e| e.ssrc);
            loop {
                let packets = tokio::select! {
                    _ = closed.cancelled() => break,
                    r = sender.read_rtcp() => match r { Ok((p, _)) => p, Err(_) => break },
                };
                let Some(ssrc) = ssrc else { continue };
                let now = ntp_middle32(std::time::SystemTime::now());
                let blocks: Vec<ReportBlock> = packets
                    .iter()
                    .flat_map(|p| report_blocks(p.as_ref(), ssrc))
                    .collect();
                if blocks.is_empty() {
                    continue;
                }
                let mut r = lock(&routes);
                if let Some(meter) = r.downstream.get_mut(&(publisher, subscriber)) {
                    for b in &blocks {
                        meter.record(b, now);
                    }
                }
            }
        });
        let mut routes = lock(&self.routes);
        routes.add_track(publisher, subscriber, track);
        Ok(())
    }

    async fn renegotiate_if_dirty(&mut self, participant: u64) -> Result<(), SfuError> {
        match self.peers.get(&participant) {
            Some(p) if p.exchange.dirty() => self.renegotiate(participant).await,
            _ => Ok(()),
        }
    }

    /// Send the participant an offer now, or as soon as the exchange under way ends.
    async fn renegotiate(&mut self, participant: u64) -> Result<(), SfuError> {
        let peer = self
            .peers
            .get_mut(&participant)
            .ok_or(SfuError::UnknownPeer)?;
        if !peer.exchange.offer_now() {
            return Ok(());
        }
        let made = async {
            let offer = peer.pc.create_offer(None).await?;
            peer.pc.set_local_description(offer.clone()).await?;
            Ok::<_, SfuError>(offer)
        };
        let offer = match made.await {
            Ok(offer) => offer,
            Err(err) => {
                peer.exchange.offer_failed();
                return Err(err);
            }
        };
        let _ = self.events.send(SfuEvent::Offer {
            participant,
            sdp: offer.sdp,
        });
        Ok(())
    }

    /// Close the participant's connection and remove their tracks from
    /// everyone else (renegotiating them).
    pub async fn remove_peer(&mut self, participant: u64) {
        let Some(peer) = self.peers.remove(&participant) else {
            return;
        };
        {
            let mut routes = lock(&self.routes);
            routes.remove_participant(participant);
        }
        self.sfu
            .inner
            .live
            .tracks
            .fetch_sub(peer.outgoing.len(), Ordering::Relaxed);
        close_pc(&self.sfu, &peer).await;
        let others: Vec<u64> = self.peers.keys().copied().collect();
        for other in others {
            let Some(p) = self.peers.get_mut(&other) else {
                continue;
            };
            if let Some(sender) = p.outgoing.remove(&participant) {
                self.sfu.inner.live.tracks.fetch_sub(1, Ordering::Relaxed);
                if p.pc.remove_track(&sender).await.is_ok() {
                    p.exchange.changed();
                    let _ = self.renegotiate(other).await;
                }
            }
        }
    }

    /// Close every connection and stop every loop.
    pub async fn close(&mut self) {
        self.closed.cancel();
        let ids: Vec<u64> = self.peers.keys().copied().collect();
        for id in ids {
            if let Some(peer) = self.peers.remove(&id) {
                self.sfu
                    .inner
                    .live
                    .tracks
                    .fetch_sub(peer.outgoing.len(), Ordering::Relaxed);
                close_pc(&self.sfu, &peer).await;
            }
        }
        let mut routes = lock(&self.routes);
        routes.clear();
    }

    pub fn participants(&self) -> usize {
        self.peers.len()
    }

    /// What the SFU measured on every participant's link since the previous
    /// call (each call starts a new interval).
    pub fn link_snapshots(&self, now: Instant) -> HashMap<u64, LinkSnapshot> {
        link_snapshots(&mut lock(&self.routes), self.peers.keys().copied(), now)
    }
}

async fn close_pc(sfu: &Sfu, peer: &Peer) {
    peer.send_chain.close().await;
    if let Err(err) = peer.pc.close().await {
        tracing::debug!(%err, "closing peer connection");
    }
    sfu.inner.live.peers.fetch_sub(1, Ordering::Relaxed);
}
