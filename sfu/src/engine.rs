//! The SFU engine: the settings every peer connection shares (each gets an
//! API of its own, whose chain ends in its [`StreamTaps`]), one UDP port
//! shared by every peer (UDP mux) or a port per peer from a range, and
//! counters of live resources.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::UdpSocket;
use webrtc::api::interceptor_registry::configure_rtcp_reports;
use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_OPUS};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{APIBuilder, API};
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice::udp_mux::{UDPMux, UDPMuxDefault, UDPMuxParams};
use webrtc::ice::udp_network::{EphemeralUDP, UDPNetwork};
use webrtc::ice_transport::ice_candidate_type::RTCIceCandidateType;
use webrtc::interceptor::registry::Registry;
use webrtc::rtp_transceiver::rtp_codec::{
    RTCRtpCodecCapability, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability, RTPCodecType,
};

use crate::direct::Transport;
use crate::tap::StreamTaps;

/// The RFC 6464 client-to-mixer audio level header extension.
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// How the SFU moves media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// The SFU's own ICE-lite/DTLS/SRTP transport, every packet handled in
    /// the task that reads its socket (see [`crate::direct`]).
    #[default]
    Direct,
    /// A webrtc-rs peer connection per participant.
    PeerConnection,
}

/// Typed configuration: the server binary fills it; this crate reads no files or env.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// Which transport carries the media.
    pub engine: Engine,
    /// Address the shared UDP socket binds to (port 0: any free port).
    pub bind: SocketAddr,
    /// Instead of the shared socket: every peer connection gets a UDP
    /// socket of its own on a port in this inclusive range, on each
    /// candidate IP (`bind`'s IP is then unused). Each packet then skips the
    /// shared socket's demultiplexing, and the range must hold a port per
    /// concurrent participant; see `docs/BENCHMARKS.md`.
    pub port_range: Option<(u16, u16)>,
    /// Only offer host candidates on these IPs (empty: every interface IP).
    pub candidate_ips: Vec<IpAddr>,
    /// Offer loopback candidates (tests, or a server used from the same host).
    pub include_loopback: bool,
    /// Public IPs to advertise instead of the host's (1:1 NAT).
    pub public_ips: Vec<String>,
    /// Kernel receive and send buffer of the shared UDP socket, bytes (0:
    /// the system default). Every participant's packets queue in this one
    /// socket, so a short stall of the media task overflows a default-sized
    /// buffer; the kernel caps it at `net.core.rmem_max` / `wmem_max`.
    pub socket_buffer: usize,
    /// A peer that has not been heard from for this long is disconnected...
    pub ice_disconnected_timeout: std::time::Duration,
    /// ...and for this long, failed: it is removed from its call.
    pub ice_failed_timeout: std::time::Duration,
}

impl Default for SfuConfig {
    fn default() -> Self {
        SfuConfig {
            engine: Engine::default(),
            bind: SocketAddr::from(([0, 0, 0, 0], 3478)),
            port_range: None,
            candidate_ips: vec![],
            include_loopback: false,
            public_ips: vec![],
            socket_buffer: 4 << 20,
            ice_disconnected_timeout: std::time::Duration::from_secs(5),
            ice_failed_timeout: std::time::Duration::from_secs(25),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    #[error("cannot bind the media socket {addr}: {err}")]
    Bind {
        addr: SocketAddr,
        err: std::io::Error,
    },
    #[error("bad media port range {0}-{1}")]
    PortRange(u16, u16),
    #[error("webrtc: {0}")]
    Webrtc(#[from] webrtc::Error),
    #[error("unknown participant")]
    UnknownPeer,
    #[error("bad session description: {0}")]
    BadSdp(String),
}

/// Live resource counts, exposed in server status so leaks show.
#[derive(Debug, Default)]
pub struct LiveCounters {
    pub peers: AtomicUsize,
    pub tracks: AtomicUsize,
    pub tasks: AtomicUsize,
    pub forwarded_packets: AtomicU64,
    pub received_packets: AtomicU64,
}

/// A snapshot of [`LiveCounters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SfuStats {
    pub peers: usize,
    pub tracks: usize,
    pub tasks: usize,
    pub forwarded_packets: u64,
    pub received_packets: u64,
}

/// The engine. Cheap to clone.
#[derive(Clone)]
pub struct Sfu {
    pub(crate) inner: Arc<SfuInner>,
}

pub(crate) struct SfuInner {
    config: SfuConfig,
    pub(crate) ports: Ports,
    pub(crate) live: LiveCounters,
}

/// Where peers' media goes.
pub(crate) enum Ports {
    /// The direct engine's sockets.
    Direct(Arc<Transport>),
    /// One socket for everyone.
    Muxed {
        mux: Arc<UDPMuxDefault>,
        local: SocketAddr,
    },
    /// A socket per peer, on a port in this range.
    Range(EphemeralUDP),
}

/// Ask the kernel for `size`-byte receive and send buffers on a media
/// socket (0: keep the system default). Best effort: a smaller buffer than
/// asked is still a buffer, so a cap is only logged.
pub(crate) fn set_buffers(sock: socket2::SockRef<'_>, size: usize) {
    if size == 0 {
        return;
    }
    let _ = sock.set_recv_buffer_size(size);
    let _ = sock.set_send_buffer_size(size);
    // Linux reports twice what it grants (bookkeeping overhead).
    let rcv = sock.recv_buffer_size().ok();
    let snd = sock.send_buffer_size().ok();
    if rcv.is_some_and(|n| n < size) {
        tracing::warn!(asked = size, got = ?rcv,
            "media socket receive buffer capped; raise net.core.rmem_max");
    }
    tracing::debug!(receive = ?rcv, send = ?snd, "media socket buffers");
}

/// A random value for ICE tie-breakers, SSRCs and SDP session ids (not a secret).
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// The only codec: Opus, 48 kHz stereo signalling as browsers expect.
pub fn opus_capability() -> RTCRtpCodecCapability {
    RTCRtpCodecCapability {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// A webrtc-rs API for audio-only Opus with the audio-level extension, with
/// ICE restricted as configured. Also used by test peers.
pub fn build_api(settings: SettingEngine) -> Result<API, SfuError> {
    build_api_with(settings, None)
}

/// [`build_api`], with `tap` last in every peer connection's chain.
fn build_api_with(settings: SettingEngine, tap: Option<&Arc<StreamTaps>>) -> Result<API, SfuError> {
    let mut media = MediaEngine::default();
    media.register_codec(
        RTCRtpCodecParameters {
            capability: opus_capability(),
            payload_type: 111,
            ..Default::default()
        },
        RTPCodecType::Audio,
    )?;
    media.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL_URI.to_owned(),
        },
        RTPCodecType::Audio,
        None,
    )?;
    // Only RTCP sender/receiver reports: NACK buffers a copy of every sent
    // packet and TWCC stamps every packet, and neither helps Opus audio,
    // which carries its own loss concealment (FEC).
    let mut registry = configure_rtcp_reports(Registry::new());
    if let Some(tap) = tap {
        registry.add(tap.builder());
    }
    Ok(APIBuilder::new()
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(settings)
        .build())
}

impl Sfu {
    /// Bind the shared media socket (none with a port range).
    pub async fn bind(config: SfuConfig) -> Result<Sfu, SfuError> {
        if let Some((min, max)) = config.port_range {
            // Port 0 would mean "any port".
            if min == 0 || min > max {
                return Err(SfuError::PortRange(min, max));
            }
        }
        let ports = match (config.engine, config.port_range) {
            (Engine::Direct, _) => Ports::Direct(Arc::new(Transport::bind(&config).await?)),
            (Engine::PeerConnection, Some((min, max))) => {
                let range =
                    EphemeralUDP::new(min, max).map_err(|_| SfuError::PortRange(min, max))?;
                tracing::info!(min, max, "SFU media on a port per peer");
                Ports::Range(range)
            }
            (Engine::PeerConnection, None) => {
                let socket = UdpSocket::bind(config.bind)
                    .await
                    .map_err(|err| SfuError::Bind {
                        addr: config.bind,
                        err,
                    })?;
                let local = socket.local_addr().map_err(|err| SfuError::Bind {
                    addr: config.bind,
                    err,
                })?;
                set_buffers(socket2::SockRef::from(&socket), config.socket_buffer);
                let mux = UDPMuxDefault::new(UDPMuxParams::new(socket));
                tracing::info!(addr = %local, "SFU media socket bound");
                Ports::Muxed { mux, local }
            }
        };
        Ok(Sfu {
            inner: Arc::new(SfuInner {
                config,
                ports,
                live: LiveCounters::default(),
            }),
        })
    }

    /// The settings every peer connection shares: the UDP mux, the ICE
    /// filters and timeouts.
    fn settings(&self) -> SettingEngine {
        let config = &self.inner.config;
        let mut settings = SettingEngine::default();
        settings.set_udp_network(match &self.inner.ports {
            Ports::Muxed { mux, .. } => UDPNetwork::Muxed(mux.clone()),
            Ports::Range(range) => UDPNetwork::Ephemeral(range.clone()),
            // Not used: a direct engine makes no peer connections.
            Ports::Direct(_) => UDPNetwork::Ephemeral(EphemeralUDP::default()),
        });
        settings.set_network_types(vec![NetworkType::Udp4]);
        // ICE lite, like the direct engine: answer the checks a client's
        // packets bring, at the address they came from, and never send
        // checks of our own to the addresses a client names in its
        // candidates (any user could aim the server's packets at hosts of
        // their choice, inside its own network too). Browsers, as full
        // agents, do the checking; the server offers only host candidates.
        settings.set_lite(true);
        settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
        settings.set_include_loopback_candidate(config.include_loopback);
        settings.set_ice_timeouts(
            Some(config.ice_disconnected_timeout),
            Some(
                config
                    .ice_failed_timeout
                    .max(config.ice_disconnected_timeout),
            ),
            None,
        );
        if !config.candidate_ips.is_empty() {
            let allowed = config.candidate_ips.clone();
            settings.set_ip_filter(Box::new(move |ip: IpAddr| allowed.contains(&ip)));
        }
        if !config.public_ips.is_empty() {
            settings.set_nat_1to1_ips(config.public_ips.clone(), RTCIceCandidateType::Host);
        }
        settings
    }

    /// The API of one peer connection: the shared settings, and `taps`
    /// recording its streams (see [`crate::tap`]).
    pub(crate) fn peer_api(&self, taps: &Arc<StreamTaps>) -> Result<API, SfuError> {
        build_api_with(self.settings(), Some(taps))
    }

    /// The shared UDP socket's address (none with a port per peer).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.inner.ports {
            Ports::Muxed { local, .. } => Some(*local),
            Ports::Range(_) => None,
            Ports::Direct(t) => t.local_addr(),
        }
    }

    pub fn stats(&self) -> SfuStats {
        let l = &self.inner.live;
        SfuStats {
            peers: l.peers.load(Ordering::Relaxed),
            tracks: l.tracks.load(Ordering::Relaxed),
            tasks: l.tasks.load(Ordering::Relaxed),
            forwarded_packets: l.forwarded_packets.load(Ordering::Relaxed),
            received_packets: l.received_packets.load(Ordering::Relaxed),
        }
    }

    /// Stop the shared socket (at shutdown, after every room closed).
    pub async fn close(&self) {
        match &self.inner.ports {
            Ports::Muxed { mux, .. } => {
                if let Err(err) = mux.close().await {
                    tracing::warn!(%err, "closing the media socket");
                }
            }
            Ports::Direct(t) => t.close(),
            Ports::Range(_) => {}
        }
    }

    /// Spawn `fut`, counted in the live task count while it runs.
    pub(crate) fn spawn_counted(
        &self,
        fut: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let sfu = self.clone();
        sfu.inner.live.tasks.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            fut.await;
            sfu.inner.live.tasks.fetch_sub(1, Ordering::Relaxed);
        });
    }
}
