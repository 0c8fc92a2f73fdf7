//! The outgoing side of forwarding: [`ForwardTrack`], the audio track of
//! one (publisher, subscriber) pair, and [`SendChain`], the interceptors its
//! packets pass through.
//!
//! webrtc-rs's `TrackLocalStaticRTP` is built for one track shared by many
//! subscribers: every write takes an async mutex, clones the packet and the
//! list of bindings, and builds an extension map. An SFU track has exactly
//! one binding and the forwarding loop owns the packet it writes, so this
//! track keeps its binding behind a plain mutex (held to clone one `Arc`)
//! and rewrites the packet's SSRC and payload type in place. It writes to
//! the sender's stream under the track writer (see [`crate::tap`]).
//!
//! A peer connection's own interceptor chain always ends with webrtc-rs's
//! stats recorder, which sends a message to a stats task for every packet
//! (about a tenth of the SFU's CPU). Nothing reads those stats here (the
//! SFU meters its links itself), so outgoing tracks get senders on a chain
//! of their own with only the sender-report interceptor (SRs keep the
//! receivers' round-trip times and our RTT measurement working) and a
//! [`crate::tap::Tap`] recording each sender's stream.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use webrtc::api::API;
use webrtc::interceptor::registry::Registry;
use webrtc::interceptor::report::sender::SenderReport;
use webrtc::interceptor::{Attributes, Interceptor, RTCPWriter, RTPWriter};
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtcp::packet::Packet as RtcpPacket;
use webrtc::rtp::packet::Packet;
use webrtc::rtp_transceiver::rtp_codec::{
    RTCRtpCodecCapability, RTCRtpCodecParameters, RTPCodecType,
};
use webrtc::rtp_transceiver::rtp_sender::RTCRtpSender;
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::rtp_transceiver::RTCRtpTransceiverInit;
use webrtc::track::track_local::{TrackLocal, TrackLocalContext, TrackLocalWriter};

use crate::engine::SfuError;
use crate::tap::StreamTaps;

/// Where a bound track writes: the sender's SSRC and payload type, and its
/// writer (the interceptor chain, then SRTP).
struct Binding {
    id: String,
    ssrc: u32,
    payload_type: u8,
    writer: Arc<dyn TrackLocalWriter + Send + Sync>,
    /// The same stream's writer under the track writer's own lock (the
    /// sender's interceptors, then SRTP): found in the taps on first write,
    /// since a sender binds its track before its interceptors.
    direct: OnceLock<Arc<dyn RTPWriter + Send + Sync>>,
}

/// One subscriber's copy of one publisher's audio.
pub struct ForwardTrack {
    id: String,
    stream_id: String,
    codec: RTCRtpCodecCapability,
    // A std Mutex on purpose: each write holds it only to clone the binding
    // (one Arc), never across `.await`; bind and unbind are rare.
    binding: Mutex<Option<Arc<Binding>>>,
    /// The subscriber's sending streams (see [`crate::tap`]).
    taps: Arc<StreamTaps>,
    /// Packets and payload bytes sent since the last [`ForwardTrack::take_sent`].
    sent_packets: AtomicU64,
    sent_bytes: AtomicU64,
    created: std::time::Instant,
}

impl std::fmt::Debug for ForwardTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardTrack")
            .field("id", &self.id)
            .field("stream_id", &self.stream_id)
            .finish()
    }
}

impl ForwardTrack {
    pub fn new(
        codec: RTCRtpCodecCapability,
        id: String,
        stream_id: String,
        taps: Arc<StreamTaps>,
    ) -> Self {
        ForwardTrack {
            id,
            stream_id,
            codec,
            binding: Mutex::new(None),
            taps,
            sent_packets: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
            created: std::time::Instant::now(),
        }
    }

    fn binding(&self) -> Option<Arc<Binding>> {
        let b = self
            .binding
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        if b.direct.get().is_none() {
            if let Some(w) = self.taps.local(b.ssrc) {
                let _ = b.direct.set(w);
            }
        }
        Some(b)
    }

    /// Send `pkt` to the subscriber, stamped with this track's SSRC and
    /// payload type. Before negotiation binds the track: nothing is sent.
    pub async fn write(&self, pkt: &mut Packet) -> webrtc::error::Result<usize> {
        let Some(b) = self.binding() else {
            return Ok(0);
        };
        pkt.header.ssrc = b.ssrc;
        pkt.header.payload_type = b.payload_type;
        let n = match b.direct.get() {
            Some(direct) => direct.write(pkt, &Attributes::new()).await?,
            None => {
                b.writer
                    .write_rtp_with_attributes(pkt, &Attributes::new())
                    .await?
            }
        };
        if n > 0 {
            self.sent_packets.fetch_add(1, Ordering::Relaxed);
            self.sent_bytes
                .fetch_add(pkt.payload.len() as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

impl crate::routes::SentTrack for ForwardTrack {
    fn created(&self) -> std::time::Instant {
        self.created
    }

    fn take_sent(&self) -> (u64, u64) {
        (
            self.sent_packets.swap(0, Ordering::Relaxed),
            self.sent_bytes.swap(0, Ordering::Relaxed),
        )
    }
}

/// Sends the chain's RTCP (sender reports) on the peer connection.
struct PeerRtcp(std::sync::Weak<RTCPeerConnection>);

#[async_trait]
impl RTCPWriter for PeerRtcp {
    async fn write(
        &self,
        pkts: &[Box<dyn RtcpPacket + Send + Sync>],
        _: &Attributes,
    ) -> Result<usize, webrtc::interceptor::Error> {
        match self.0.upgrade() {
            Some(pc) => pc
                .write_rtcp(pkts)
                .await
                .map_err(|e| webrtc::interceptor::Error::Other(e.to_string())),
            None => Ok(0),
        }
    }
}

/// The interceptor chain of one peer connection's outgoing tracks.
pub struct SendChain {
    chain: Arc<dyn Interceptor + Send + Sync>,
    taps: Arc<StreamTaps>,
}

impl SendChain {
    /// A chain sending its sender reports on `pc`.
    pub async fn new(pc: &Arc<RTCPeerConnection>) -> Result<SendChain, SfuError> {
        let taps = Arc::new(StreamTaps::default());
        let mut registry = Registry::new();
        registry.add(Box::new(SenderReport::builder()));
        registry.add(taps.builder());
        let chain: Arc<dyn Interceptor + Send + Sync> = Arc::new(
            registry
                .build_chain("")
                .map_err(|e| SfuError::Webrtc(e.into()))?,
        );
        chain
            .bind_rtcp_writer(Arc::new(PeerRtcp(Arc::downgrade(pc))))
            .await;
        Ok(SendChain { chain, taps })
    }

    /// The streams of this chain's senders, for [`ForwardTrack::new`].
    pub fn taps(&self) -> Arc<StreamTaps> {
        self.taps.clone()
    }

    /// Add `track` to `pc` with a sender on this chain; the next offer
    /// carries it.
    pub async fn add_track(
        &self,
        api: &API,
        pc: &RTCPeerConnection,
        track: Arc<ForwardTrack>,
    ) -> Result<Arc<RTCRtpSender>, SfuError> {
        let local = track as Arc<dyn TrackLocal + Send + Sync>;
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Sendrecv,
            send_encodings: vec![],
        };
        let transceiver = pc
            .add_transceiver_from_track(local.clone(), Some(init))
            .await?;
        let placeholder = transceiver.sender().await;
        let sender = Arc::new(
            api.new_rtp_sender(Some(local.clone()), pc.dtls_transport(), self.chain.clone())
                .await,
        );
        transceiver
            .set_sender_track(sender.clone(), Some(local))
            .await?;
        // Never bound (nothing was negotiated yet): stopping it only tidies up.
        let _ = placeholder.stop().await;
        Ok(sender)
    }

    /// Stop the chain's report loop.
    pub async fn close(&self) {
        let _ = self.chain.close().await;
    }
}

/// The negotiated codec matching ours (by MIME type, clock rate and channels).
fn matching_codec(
    ours: &RTCRtpCodecCapability,
    offered: &[RTCRtpCodecParameters],
) -> Option<RTCRtpCodecParameters> {
    offered
        .iter()
        .find(|c| {
            c.capability.mime_type.eq_ignore_ascii_case(&ours.mime_type)
                && c.capability.clock_rate == ours.clock_rate
                && c.capability.channels == ours.channels
        })
        .or_else(|| {
            offered
                .iter()
                .find(|c| c.capability.mime_type.eq_ignore_ascii_case(&ours.mime_type))
        })
        .cloned()
}

#[async_trait]
impl TrackLocal for ForwardTrack {
    async fn bind(&self, t: &TrackLocalContext) -> webrtc::error::Result<RTCRtpCodecParameters> {
        let codec = matching_codec(&self.codec, t.codec_parameters())
            .ok_or(webrtc::Error::ErrUnsupportedCodec)?;
        *self.binding.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(Binding {
            id: t.id(),
            ssrc: t.ssrc(),
            payload_type: codec.payload_type,
            writer: t.write_stream(),
            direct: OnceLock::new(),
        }));
        Ok(codec)
    }

    async fn unbind(&self, t: &TrackLocalContext) -> webrtc::error::Result<()> {
        let mut slot = self.binding.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_ref() {
            Some(b) if b.id == t.id() => {
                *slot = None;
                Ok(())
            }
            _ => Err(webrtc::Error::ErrUnbindFailed),
        }
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn rid(&self) -> Option<&str> {
        None
    }

    fn stream_id(&self) -> &str {
        &self.stream_id
    }

    fn kind(&self) -> RTPCodecType {
        RTPCodecType::Audio
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::opus_capability;

    fn params(mime: &str, pt: u8, channels: u16) -> RTCRtpCodecParameters {
        RTCRtpCodecParameters {
            capability: RTCRtpCodecCapability {
                mime_type: mime.into(),
                clock_rate: 48_000,
                channels,
                ..Default::default()
            },
            payload_type: pt,
            ..Default::default()
        }
    }

    #[test]
    fn picks_the_negotiated_opus_payload_type() {
        let offered = [params("audio/PCMU", 0, 1), params("audio/opus", 109, 2)];
        let c = matching_codec(&opus_capability(), &offered).unwrap();
        assert_eq!(c.payload_type, 109);
        // A mono Opus line still matches, as a fallback.
        let c = matching_codec(&opus_capability(), &[params("audio/OPUS", 96, 1)]).unwrap();
        assert_eq!(c.payload_type, 96);
        assert!(matching_codec(&opus_capability(), &[params("audio/PCMU", 0, 1)]).is_none());
    }
}
