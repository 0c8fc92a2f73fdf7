//! [`SfuRoom`]: one call's media, on the engine the SFU was configured
//! with, and [`SfuEvent`], what a room tells the call that owns it.

use std::collections::HashMap;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::direct::room::DirectRoom;
use crate::engine::{Ports, Sfu, SfuError};
use crate::meter::LinkSnapshot;
use crate::pc_room::PcRoom;

/// What a room tells its owner; `participant` is the key given to `add_peer`.
#[derive(Debug, Clone, PartialEq)]
pub enum SfuEvent {
    /// A server ICE candidate to send to the participant (`RTCIceCandidateInit` JSON).
    Candidate {
        participant: u64,
        candidate: serde_json::Value,
    },
    /// A server-initiated offer to send to the participant.
    Offer {
        participant: u64,
        sdp: String,
    },
    Connected {
        participant: u64,
    },
    /// Nothing has been heard from the participant for the disconnected
    /// timeout: its media path is interrupted (a later `Connected` says it
    /// is back). `silent_ms`: how long it has been silent.
    Disconnected {
        participant: u64,
        silent_ms: u64,
    },
    /// The peer connection failed or closed: treat the participant as gone.
    Failed {
        participant: u64,
    },
    /// The loudest current speaker changed.
    ActiveSpeaker {
        participant: Option<u64>,
    },
}

/// The track id of the `stay`-th track (1-based) from `publisher`:
/// `audio-<publisher>`, then `audio-<publisher>-<stay>`.
pub(crate) fn track_id(publisher: u64, stay: u32) -> String {
    if stay <= 1 {
        format!("audio-{publisher}")
    } else {
        format!("audio-{publisher}-{stay}")
    }
}

/// One call's media. Owned by the call task, which calls its methods one
/// at a time.
pub enum SfuRoom {
    /// webrtc-rs peer connections.
    PeerConnection(PcRoom),
    /// The SFU's own transport (the default).
    Direct(DirectRoom),
}

impl Sfu {
    /// A room for one call; its events go to `events`.
    pub fn room(&self, events: mpsc::UnboundedSender<SfuEvent>) -> SfuRoom {
        match &self.inner.ports {
            Ports::Direct(transport) => {
                SfuRoom::Direct(DirectRoom::new(self.clone(), transport.clone(), events))
            }
            _ => SfuRoom::PeerConnection(PcRoom::new(self.clone(), events)),
        }
    }
}

impl SfuRoom {
    /// Make the participant's connection. Its offer comes next.
    pub async fn add_peer(&mut self, participant: u64) -> Result<(), SfuError> {
        match self {
            SfuRoom::PeerConnection(r) => r.add_peer(participant).await,
            SfuRoom::Direct(r) => r.add_peer(participant).await,
        }
    }

    /// The participant's offer. Returns the answer, or `None` when the
    /// server's own offer is outstanding (glare: the server does not roll
    /// back, the client must, and then answer the server's offer).
    pub async fn handle_offer(
        &mut self,
        participant: u64,
        sdp: String,
    ) -> Result<Option<String>, SfuError> {
        match self {
            SfuRoom::PeerConnection(r) => r.handle_offer(participant, sdp).await,
            SfuRoom::Direct(r) => r.handle_offer(participant, sdp).await,
        }
    }

    /// The participant's answer to our offer.
    pub async fn handle_answer(&mut self, participant: u64, sdp: String) -> Result<(), SfuError> {
        match self {
            SfuRoom::PeerConnection(r) => r.handle_answer(participant, sdp).await,
            SfuRoom::Direct(r) => r.handle_answer(participant, sdp).await,
        }
    }

    /// One trickled client candidate (`RTCIceCandidateInit` JSON).
    pub async fn add_candidate(
        &mut self,
        participant: u64,
        candidate: serde_json::Value,
    ) -> Result<(), SfuError> {
        match self {
            SfuRoom::PeerConnection(r) => r.add_candidate(participant, candidate).await,
            SfuRoom::Direct(r) => r.add_candidate(participant, candidate).await,
        }
    }

    /// Self-mute (`moderator == false`) or server-side mute.
    pub fn set_muted(&mut self, participant: u64, muted: bool, moderator: bool) {
        match self {
            SfuRoom::PeerConnection(r) => r.set_muted(participant, muted, moderator),
            SfuRoom::Direct(r) => r.set_muted(participant, muted, moderator),
        }
    }

    /// Close the participant's connection and remove their tracks from
    /// everyone else (renegotiating them).
    pub async fn remove_peer(&mut self, participant: u64) {
        match self {
            SfuRoom::PeerConnection(r) => r.remove_peer(participant).await,
            SfuRoom::Direct(r) => r.remove_peer(participant).await,
        }
    }

    /// Close every connection and stop every loop.
    pub async fn close(&mut self) {
        match self {
            SfuRoom::PeerConnection(r) => r.close().await,
            SfuRoom::Direct(r) => r.close().await,
        }
    }

    pub fn participants(&self) -> usize {
        match self {
            SfuRoom::PeerConnection(r) => r.participants(),
            SfuRoom::Direct(r) => r.participants(),
        }
    }

    /// What the SFU measured on every participant's link since the previous
    /// call (each call starts a new interval).
    pub fn link_snapshots(&self, now: Instant) -> HashMap<u64, LinkSnapshot> {
        match self {
            SfuRoom::PeerConnection(r) => r.link_snapshots(now),
            SfuRoom::Direct(r) => r.link_snapshots(now),
        }
    }
}
