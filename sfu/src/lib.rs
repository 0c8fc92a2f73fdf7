//! earshot's embedded selective forwarding unit: audio only, Opus, RTP
//! forwarded without decoding, built on webrtc-rs.
//!
//! # Why webrtc 0.17
//! The maintained async line (0.20+) is a thin layer over the sans-IO `rtc`
//! crate and will be the future, but in 0.21 the settings an SFU needs are
//! not wired up yet: no UDP mux (one port for every peer), no IP/interface
//! filter, NAT 1:1 and loopback candidates stored but unused, and
//! `write_rtp` silently drops packets whose SSRC/payload type are not the
//! negotiated ones. 0.17.2 (bug fixes only) has all of these, rewrites SSRC
//! and payload type per subscriber, sends RFC 7675 consent checks, and pulls
//! no duplicate of our heavy dependencies. Known limits of 0.17 that shape
//! this crate: no SDP rollback (the server is the "impolite" side in offer
//! glare: it keeps its offer and the client rolls back), inbound stats carry
//! no loss/jitter (we meter the links ourselves: [`meter`]), a track shared
//! by several subscribers writes to them in turn (we give each subscriber
//! its own [`track::ForwardTrack`]), and every peer connection's interceptor
//! chain ends with a stats recorder that messages a stats task per packet
//! (we read and write each stream under it, through [`tap`]). Revisit when
//! 0.2x gains UDP mux and ICE filters.
//!
//! # Two engines
//! [`Engine::Direct`], the default, is the SFU's own transport on webrtc
//! 0.17's building blocks (its STUN, DTLS, SRTP, RTCP and SDP crates, which
//! it re-exports and which are as stable as it is), without a peer
//! connection: the server is an ICE-lite agent and the DTLS server, and
//! each packet is decrypted, routed, re-encrypted and sent in the task that
//! read it ([`direct`]). [`Engine::PeerConnection`] is the first engine: a
//! webrtc-rs `RTCPeerConnection` per participant. Its receive path hands
//! every packet through four tasks (UDP mux, ICE agent, DTLS/SRTP demux,
//! SRTP session) and its send path down as many async layers, and a peer
//! connection exposes neither its SRTP keys nor a way under those layers;
//! that costs 22-29 µs of CPU per forwarded packet, against 6.3-10 µs for
//! the direct engine as the host drifts, over half of it the kernel's
//! loopback `sendto` (`docs/BENCHMARKS.md`). It stays selectable for A/B
//! runs and as the reference the direct engine is tested against; both
//! share the routing, metering and speaker logic ([`forward`], [`meter`],
//! [`speaker`], through `routes`).
//!
//! # Layout
//! - [`client`]: [`client::AudioPeer`], a minimal audio peer for tests and the load generator.
//! - [`lean`]: [`lean::LeanPeer`], an audio peer on webrtc-rs's ICE, DTLS and SRTP crates without a peer connection, for the load generator; its DTLS, STUN and report parts serve the direct engine too.
//! - [`engine`]: [`Sfu`], typed [`SfuConfig`] and the [`Engine`] choice, the peer-connection engine's settings and UDP mux socket (or a port per peer from a range), live counters.
//! - [`room`]: [`SfuRoom`], one call's media on either engine, and [`SfuEvent`], what it tells the call.
//! - [`direct`]: the direct engine: its sockets, links, rooms and SDP negotiation.
//! - `pc_room`: [`PcRoom`], one call's peer connections, tracks and renegotiation.
//! - `exchange`: where each participant's offer/answer exchange stands (one server offer at a time, glare), for both engines.
//! - `routes`: what a call's packet path shares with the call's task (who hears whom, tracks, meters, speaker), and the per-interval link snapshots taken from it.
//! - `publish`: the peer-connection engine's per-packet loop of each publisher.
//! - [`rtp`]: [`rtp::RtpHeader`], a zero-copy RTP header view with RFC 8285 extensions and the RFC 6464 audio level, panic-free on untrusted bytes.
//! - [`forward`]: [`forward::Forwarder`], who receives whose audio, with [`forward::SeqRewriter`] keeping each stream gap-free across mutes.
//! - [`speaker`]: [`speaker::ActiveSpeaker`], active-speaker detection from audio levels with hold time and rate limit.
//! - [`meter`]: [`meter::UpstreamMeter`] and [`meter::DownstreamMeter`], each participant's link (loss, jitter, RTT, bitrate, audio level) summed up as a [`meter::LinkSnapshot`] per interval.
//! - [`stats`]: [`stats::ReceiveStats`], RFC 3550 loss, jitter, duplicates and bitrate of an inbound stream; RTT from receiver reports.
//! - [`tap`]: [`tap::StreamTaps`], each stream's RTP reader and writer taken from inside the interceptor chain, so forwarding skips the per-packet locks and the stats recorder above them.
//! - [`track`]: [`track::ForwardTrack`], the lean outgoing track of one (publisher, subscriber) pair, and [`track::SendChain`], the interceptors its sender uses.
//! - [`quality`]: MOS estimate from loss, jitter and RTT (simplified G.107 E-model) and a [`quality::QualityLevel`] classifier with hysteresis.

#![forbid(unsafe_code)]

pub mod client;
pub mod direct;
pub mod engine;
mod exchange;
pub mod forward;
pub mod lean;
pub mod meter;
mod pc_room;
mod publish;
pub mod quality;
pub mod room;
mod routes;
pub mod rtp;
pub mod speaker;
pub mod stats;
pub mod tap;
pub mod track;

pub use engine::{
    build_api, opus_capability, Engine, Sfu, SfuConfig, SfuError, SfuStats, AUDIO_LEVEL_URI,
};
pub use meter::{DownstreamSnapshot, LinkSnapshot, Uplink, UpstreamSnapshot};
pub use pc_room::PcRoom;
pub use room::{SfuEvent, SfuRoom};
