//! [`DirectRoom`]: one call's media on the direct engine. Owned by the
//! call's task, which calls its `&mut self` methods one at a time; the
//! packet path reaches the routes through [`RoomShared`] (a std `Mutex`
//! held for a lookup per packet, never across `.await`). A ticker task
//! sends each participant its RTCP reports once a second and reports
//! participants that have gone silent as failed.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::util::Marshal;

use crate::engine::{random_u64, Sfu, SfuError};
use crate::exchange::Exchange;
use crate::meter::LinkSnapshot;
use crate::room::{track_id, SfuEvent};
use crate::routes::{link_snapshots, lock, Routes};

use super::link::{Link, OutTrack, RoomShared};
use super::sdp::{candidate, Local, Negotiation};
use super::socket::MediaSocket;
use super::Transport;

/// A random non-zero 32-bit value (SSRCs, session ids).
fn random_u32() -> u32 {
    (random_u64() as u32).max(1)
}

struct Peer {
    link: Arc<Link>,
    socket: Arc<MediaSocket>,
    /// The socket is this peer's alone (a port from the range).
    own_socket: bool,
    negotiation: Negotiation,
    /// The SSRC of each outgoing track on this peer, by publisher.
    outgoing: HashMap<u64, u32>,
    /// The tracks the outstanding offer carries.
    offered: Vec<u32>,
    exchange: Exchange,
}

impl Peer {
    /// Tell the packet path what the client's latest description said.
    fn share_remote(&self) {
        if let Some(remote) = self.negotiation.remote() {
            self.link
                .set_remote(remote.clone(), self.negotiation.codec());
        }
    }
}

/// One call's media on the direct engine.
pub struct DirectRoom {
    sfu: Sfu,
    transport: Arc<Transport>,
    shared: Arc<RoomShared>,
    peers: HashMap<u64, Peer>,
    closed: CancellationToken,
    /// Stops the ticker, which runs while the room has participants.
    ticker: Option<CancellationToken>,
    /// Tracks ever made per (publisher, subscriber); see `track_id`.
    track_stays: HashMap<(u64, u64), u32>,
}

impl DirectRoom {
    pub(crate) fn new(
        sfu: Sfu,
        transport: Arc<Transport>,
        events: mpsc::UnboundedSender<SfuEvent>,
    ) -> DirectRoom {
        DirectRoom {
            shared: Arc::new(RoomShared {
                routes: Mutex::new(Routes::default()),
                links: Mutex::default(),
                events,
                sfu: sfu.clone(),
            }),
            sfu,
            transport,
            peers: HashMap::new(),
            closed: CancellationToken::new(),
            ticker: None,
            track_stays: HashMap::new(),
        }
    }

    /// Make the participant's link. Its offer comes next.
    pub async fn add_peer(&mut self, participant: u64) -> Result<(), SfuError> {
        if self.peers.contains_key(&participant) {
            return Ok(());
        }
        self.start_ticker();
        let (socket, own_socket) = self.transport.socket()?;
        let (ufrag, pwd) = (
            webrtc::ice::rand::generate_ufrag(),
            webrtc::ice::rand::generate_pwd(),
        );
        let link = Arc::new(Link::new(
            participant,
            ufrag.clone(),
            pwd.clone(),
            socket.socket.clone(),
            self.shared.clone(),
            random_u32(),
        ));
        socket.register(link.clone());
        if own_socket {
            let (s, cert) = (socket.clone(), self.transport.certificate.clone());
            self.sfu.spawn_counted(s.read_loop(cert));
        }
        let local = Local {
            ufrag,
            pwd,
            fingerprint: self.transport.fingerprint.clone(),
            candidates: self.transport.candidates(&socket),
        };
        lock(&self.shared.links).insert(participant, link.clone());
        {
            let mut routes = lock(&self.shared.routes);
            routes.add_participant(participant);
        }
        self.sfu.inner.live.peers.fetch_add(1, Ordering::Relaxed);
        self.peers.insert(
            participant,
            Peer {
                link,
                socket,
                own_socket,
                negotiation: Negotiation::new(local, u64::from(random_u32())),
                outgoing: HashMap::new(),
                offered: vec![],
                exchange: Exchange::default(),
            },
        );
        Ok(())
    }

    /// The participant's offer. Returns the answer, or `None` when the
    /// server's own offer is outstanding (glare: the client rolls back).
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
        let answer = peer.negotiation.answer(&sdp).map_err(SfuError::BadSdp)?;
        peer.share_remote();
        let first = peer.exchange.answered();
        if first {
            self.announce_candidates(participant);
            self.connect_new_peer(participant);
        } else {
            self.renegotiate_if_dirty(participant);
        }
        Ok(Some(answer))
    }

    /// Trickle the server's candidates (they are in the answer too).
    fn announce_candidates(&self, participant: u64) {
        let Some(peer) = self.peers.get(&participant) else {
            return;
        };
        let mid = peer.negotiation.first_mid().unwrap_or("0").to_string();
        for (i, addr) in peer.negotiation.local().candidates.iter().enumerate() {
            let _ = self.shared.events.send(SfuEvent::Candidate {
                participant,
                candidate: serde_json::json!({
                    "candidate": format!("candidate:{}", candidate(i, *addr)),
                    "sdpMid": mid,
                    "sdpMLineIndex": 0,
                }),
            });
        }
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
        peer.negotiation
            .accept_answer(&sdp)
            .map_err(SfuError::BadSdp)?;
        peer.share_remote();
        peer.exchange.answer_arrived();
        // The client now knows these tracks' SSRCs: they start carrying
        // audio (sent before, it would be dropped as unknown).
        let routes = lock(&self.shared.routes);
        for (publisher, ssrc) in &peer.outgoing {
            if peer.offered.contains(ssrc) {
                if let Some(t) = routes.tracks.get(&(*publisher, participant)) {
                    t.activate();
                }
            }
        }
        drop(routes);
        self.renegotiate_if_dirty(participant);
        Ok(())
    }

    /// A trickled client candidate: checked, then not needed (an ICE-lite
    /// server learns the client's address from its checks).
    pub async fn add_candidate(
        &mut self,
        participant: u64,
        candidate: serde_json::Value,
    ) -> Result<(), SfuError> {
        if !self.peers.contains_key(&participant) {
            return Err(SfuError::UnknownPeer);
        }
        let init: RTCIceCandidateInit = serde_json::from_value(candidate)
            .map_err(|e| SfuError::BadSdp(format!("candidate: {e}")))?;
        let raw = init.candidate.trim();
        let raw = raw.strip_prefix("candidate:").unwrap_or(raw);
        if !raw.is_empty() {
            webrtc::ice::candidate::candidate_base::unmarshal_candidate(raw)
                .map_err(|e| SfuError::BadSdp(format!("candidate: {e}")))?;
        }
        Ok(())
    }

    /// Self-mute (`moderator == false`) or server-side mute.
    pub fn set_muted(&mut self, participant: u64, muted: bool, moderator: bool) {
        lock(&self.shared.routes).set_muted(participant, muted, moderator);
    }

    /// After the first exchange: subscribe the newcomer to everyone and
    /// everyone to the newcomer, then offer the new tracks.
    fn connect_new_peer(&mut self, newcomer: u64) {
        let others: Vec<u64> = self
            .peers
            .iter()
            .filter(|(id, p)| **id != newcomer && p.exchange.negotiated())
            .map(|(id, _)| *id)
            .collect();
        for other in others {
            self.add_outgoing(other, newcomer);
            self.add_outgoing(newcomer, other);
            self.renegotiate(other);
        }
        self.renegotiate(newcomer);
    }

    /// Add a track carrying `publisher`'s audio to `subscriber`.
    fn add_outgoing(&mut self, publisher: u64, subscriber: u64) {
        let stay = self.track_stays.entry((publisher, subscriber)).or_insert(0);
        *stay += 1;
        let Some(peer) = self.peers.get_mut(&subscriber) else {
            return;
        };
        let ssrc = random_u32();
        peer.negotiation
            .add_track(ssrc, format!("p-{publisher}"), track_id(publisher, *stay));
        peer.outgoing.insert(publisher, ssrc);
        peer.exchange.changed();
        self.sfu.inner.live.tracks.fetch_add(1, Ordering::Relaxed);
        let track = Arc::new(OutTrack::new(ssrc, peer.link.clone()));
        let mut routes = lock(&self.shared.routes);
        routes.add_track(publisher, subscriber, track);
    }

    fn renegotiate_if_dirty(&mut self, participant: u64) {
        if self
            .peers
            .get(&participant)
            .is_some_and(|p| p.exchange.dirty())
        {
            self.renegotiate(participant);
        }
    }

    /// Send the participant an offer now, or as soon as the exchange under way ends.
    fn renegotiate(&mut self, participant: u64) {
        let Some(peer) = self.peers.get_mut(&participant) else {
            return;
        };
        if !peer.exchange.offer_now() {
            return;
        }
        let sdp = peer.negotiation.offer();
        peer.offered = peer.outgoing.values().copied().collect();
        let _ = self
            .shared
            .events
            .send(SfuEvent::Offer { participant, sdp });
    }

    /// Close the participant's link and remove their tracks from everyone
    /// else (renegotiating them).
    pub async fn remove_peer(&mut self, participant: u64) {
        let Some(peer) = self.peers.remove(&participant) else {
            return;
        };
        {
            let mut routes = lock(&self.shared.routes);
            routes.remove_participant(participant);
        }
        self.drop_peer(peer);
        if self.peers.is_empty() {
            if let Some(ticker) = self.ticker.take() {
                ticker.cancel();
            }
        }
        let others: Vec<u64> = self.peers.keys().copied().collect();
        for other in others {
            let Some(p) = self.peers.get_mut(&other) else {
                continue;
            };
            if let Some(ssrc) = p.outgoing.remove(&participant) {
                self.sfu.inner.live.tracks.fetch_sub(1, Ordering::Relaxed);
                if p.negotiation.remove_track(ssrc) {
                    p.exchange.changed();
                    self.renegotiate(other);
                }
            }
        }
    }

    /// Free one peer's link, socket and counters.
    fn drop_peer(&self, peer: Peer) {
        let live = &self.sfu.inner.live;
        live.tracks
            .fetch_sub(peer.outgoing.len(), Ordering::Relaxed);
        peer.link.close();
        peer.socket.unregister(&peer.link.ufrag);
        if peer.own_socket {
            peer.socket.stop.cancel();
        }
        lock(&self.shared.links).remove(&peer.link.participant);
        live.peers.fetch_sub(1, Ordering::Relaxed);
    }

    /// Close every link and stop the ticker.
    pub async fn close(&mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.closed.cancel();
        let peers: Vec<Peer> = self.peers.drain().map(|(_, p)| p).collect();
        for peer in peers {
            self.drop_peer(peer);
        }
        let mut routes = lock(&self.shared.routes);
        routes.clear();
    }

    pub fn participants(&self) -> usize {
        self.peers.len()
    }

    /// What the SFU measured on every participant's link since the previous call.
    pub fn link_snapshots(&self, now: Instant) -> HashMap<u64, LinkSnapshot> {
        link_snapshots(
            &mut lock(&self.shared.routes),
            self.peers.keys().copied(),
            now,
        )
    }

    fn start_ticker(&mut self) {
        if self.ticker.is_some() {
            return;
        }
        let closed = self.closed.child_token();
        self.ticker = Some(closed.clone());
        let shared = self.shared.clone();
        let failed_after = self.transport.failed_timeout;
        let interrupted_after = self.transport.disconnected_timeout;
        self.sfu.spawn_counted(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = closed.cancelled() => return,
                    _ = tick.tick() => {}
                }
                report_and_check(&shared, failed_after, interrupted_after, Instant::now());
            }
        });
    }
}

impl Drop for DirectRoom {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Once a second: each connected participant gets a sender report per
/// track it receives and a report block about what it sends; one silent
/// for `interrupted_after` is reported disconnected, for `failed_after`
/// failed.
fn report_and_check(
    shared: &RoomShared,
    failed_after: Duration,
    interrupted_after: Duration,
    now: Instant,
) {
    let links: Vec<Arc<Link>> = lock(&shared.links).values().cloned().collect();
    for link in links {
        if link.silent_for(now) > failed_after {
            link.fail();
            continue;
        }
        link.check_interrupted(interrupted_after, now);
        if !link.is_connected() {
            continue;
        }
        let me = link.participant;
        let (tracks, block) = {
            let r = lock(&shared.routes);
            let tracks: Vec<Arc<OutTrack>> = r
                .tracks
                .iter()
                .filter(|((_, to), _)| *to == me)
                .map(|(_, t)| t.clone())
                .collect();
            // The inbound lock is taken under the routes lock only here;
            // the packet path never holds it while taking the routes.
            let block = r
                .upstream
                .get(&me)
                .and_then(|m| link.reception_report(m.stats(), now));
            (tracks, block)
        };
        let reports: Vec<_> = tracks.iter().filter_map(|t| t.sender_report(now)).collect();
        let mut out = Vec::new();
        // A receiver report of its own (not blocks in a sender report):
        // simple clients read RRs only.
        if let Some(b) = block {
            let rr = webrtc::rtcp::receiver_report::ReceiverReport {
                ssrc: link.rtcp_ssrc,
                reports: vec![b],
                ..Default::default()
            };
            if let Ok(bytes) = rr.marshal() {
                out.extend_from_slice(&bytes);
            }
        }
        for sr in &reports {
            if let Ok(bytes) = sr.marshal() {
                out.extend_from_slice(&bytes);
            }
        }
        if !out.is_empty() {
            link.send_rtcp(&out);
        }
    }
}
