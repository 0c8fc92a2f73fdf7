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
//! # Cost per packet
//! What is left per forwarded packet is webrtc-rs's own path: the UDP mux's
//! reader task, the ICE agent's, the DTLS/SRTP demux and the SRTP session
//! each hand every received packet to the next task, and every sent packet
//! goes down through SRTP, the demux, the ICE agent and the mux, each an
//! async call of its own, to its own `sendto`. A peer connection exposes
//! neither its SRTP keys nor a way under those layers, so while the SFU is
//! built on peer connections they stay; the forwarding loop skips what it
//! can ([`tap`]). The ICE, DTLS and SRTP crates under the peer connection
//! are public, though: [`lean`] builds a whole audio peer on them in one
//! socket task, and the same in the server (one busy socket, decrypt ->
//! route -> encrypt where it is read) is the way to a few microseconds per
//! packet. See `docs/BENCHMARKS.md`.
//!
//! # Layout
//! - [`client`]: [`client::AudioPeer`], a minimal audio peer for tests and the load generator.
//! - [`lean`]: [`lean::LeanPeer`], an audio peer on webrtc-rs's ICE, DTLS and SRTP crates without a peer connection, for the load generator.
//! - [`engine`]: [`Sfu`], the settings every peer connection shares, the UDP mux socket (or a port per peer from a range), typed [`SfuConfig`], live counters.
//! - [`room`]: [`SfuRoom`], one call's peers, tracks and renegotiation.
//! - `publish`: the per-packet loop of each publisher, and the routes it shares with the room.
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
pub mod engine;
pub mod forward;
pub mod lean;
pub mod meter;
mod publish;
pub mod quality;
pub mod room;
pub mod rtp;
pub mod speaker;
pub mod stats;
pub mod tap;
pub mod track;

pub use engine::{build_api, opus_capability, Sfu, SfuConfig, SfuError, SfuStats, AUDIO_LEVEL_URI};
pub use meter::{DownstreamSnapshot, LinkSnapshot, Uplink, UpstreamSnapshot};
pub use room::{SfuEvent, SfuRoom};
