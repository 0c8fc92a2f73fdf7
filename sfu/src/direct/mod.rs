//! The direct engine: the SFU's own transport, with no peer connection.
//!
//! The server is an ICE-lite agent (it answers the client's checks and
//! sends none) and the DTLS server; it builds on webrtc-rs's STUN, DTLS,
//! SRTP and RTCP crates. Every packet is handled in the task that reads its
//! socket: an SRTP packet is decrypted, metered and routed, then rewritten,
//! encrypted and sent to each subscriber with a non-blocking `sendto`, with
//! no hand-off to another task. That is 6.3-10 µs of CPU per forwarded
//! packet, over half of it in the kernel's `sendto`, where a peer
//! connection spends 22-29 (see `docs/BENCHMARKS.md`).
//!
//! What it does not do (yet): ICE-TCP, IPv6 candidates, ICE restarts
//! initiated by the server, recycling inactive m-lines, and more than one
//! source address per socket (a socket bound to `0.0.0.0` answers from
//! the address the kernel picks; bind one IP, or use candidate IPs the
//! kernel routes from).
//!
//! # Layout
//! - this file: [`Transport`], the certificate, the candidate addresses and the shared socket (or a port per peer from a range).
//! - `socket`: [`socket::MediaSocket`], one UDP socket and its reader, which sorts STUN, DTLS and SRTP.
//! - `link`: [`link::Link`], one participant's ICE, DTLS and SRTP state and the per-packet path; [`link::OutTrack`], one forwarded stream.
//! - `room`: [`room::DirectRoom`], one call's links, tracks, renegotiation, RTCP reports and failure detection.
//! - `sdp`: [`sdp::Negotiation`], the server's side of the offer/answer exchange.

mod link;
pub(crate) mod room;
mod sdp;
mod socket;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use webrtc::dtls::crypto::Certificate;

use crate::engine::{set_buffers, SfuConfig, SfuError};
use crate::lean::dtls::sha256_fingerprint;

use socket::MediaSocket;

/// What every direct-engine room shares.
pub(crate) struct Transport {
    certificate: Certificate,
    fingerprint: String,
    /// The IPs of the server's host candidates.
    ips: Vec<IpAddr>,
    sockets: Sockets,
    socket_buffer: usize,
    pub failed_timeout: Duration,
    pub disconnected_timeout: Duration,
}

/// Where participants' media goes.
enum Sockets {
    /// One socket, bound at start, for everyone.
    Shared {
        socket: Arc<MediaSocket>,
        local: SocketAddr,
    },
    /// A socket per participant on a free port of `min..=max`; the next
    /// search starts at offset `next`.
    Range { min: u16, max: u16, next: AtomicU32 },
}

fn bind_error(addr: SocketAddr) -> impl FnOnce(std::io::Error) -> SfuError {
    move |err| SfuError::Bind { addr, err }
}

/// Bind a non-blocking UDP socket with the configured kernel buffers.
fn bind_udp(addr: SocketAddr, buffer: usize) -> Result<UdpSocket, SfuError> {
    let std = std::net::UdpSocket::bind(addr).map_err(bind_error(addr))?;
    std.set_nonblocking(true).map_err(bind_error(addr))?;
    set_buffers(socket2::SockRef::from(&std), buffer);
    UdpSocket::from_std(std).map_err(bind_error(addr))
}

/// The IPs to offer candidates on: the public IPs (1:1 NAT), else the
/// configured ones, else the bind address's, else every IPv4 interface's
/// (loopback only when asked for).
fn candidate_ips(config: &SfuConfig, shared: bool) -> Vec<IpAddr> {
    if !config.public_ips.is_empty() {
        return config
            .public_ips
            .iter()
            .filter_map(|ip| match ip.parse() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    tracing::warn!(ip, "public IP is not an IP address; skipped");
                    None
                }
            })
            .collect();
    }
    if !config.candidate_ips.is_empty() {
        return config.candidate_ips.clone();
    }
    if shared && !config.bind.ip().is_unspecified() {
        return vec![config.bind.ip()];
    }
    let mut ips: Vec<IpAddr> = webrtc::util::ifaces::ifaces()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| i.addr.map(|a| a.ip()))
        .filter(|ip| ip.is_ipv4() && (config.include_loopback || !ip.is_loopback()))
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

impl Transport {
    /// Make the certificate and bind the shared socket (none with a range);
    /// the shared socket's reader is spawned here and stops at [`Transport::close`].
    pub async fn bind(config: &SfuConfig) -> Result<Transport, SfuError> {
        let certificate = Certificate::generate_self_signed(vec!["earshot".to_string()])
            .map_err(webrtc::Error::from)?;
        let fingerprint = certificate
            .certificate
            .first()
            .map(|der| sha256_fingerprint(der.as_ref()))
            .ok_or_else(|| SfuError::BadSdp("no certificate".into()))?;
        let sockets = match config.port_range {
            Some((min, max)) => Sockets::Range {
                min,
                max,
                next: AtomicU32::new(0),
            },
            None => {
                let socket = bind_udp(config.bind, config.socket_buffer)?;
                let local = socket.local_addr().map_err(bind_error(config.bind))?;
                let socket = MediaSocket::new(socket);
                tokio::spawn(socket.clone().read_loop(certificate.clone()));
                tracing::info!(addr = %local, "SFU media socket bound (direct engine)");
                Sockets::Shared { socket, local }
            }
        };
        let shared = matches!(sockets, Sockets::Shared { .. });
        let ips = candidate_ips(config, shared);
        if ips.is_empty() {
            tracing::warn!("no IP to offer media candidates on; set the candidate IPs");
        }
        Ok(Transport {
            certificate,
            fingerprint,
            ips,
            sockets,
            socket_buffer: config.socket_buffer,
            failed_timeout: config.ice_failed_timeout,
            disconnected_timeout: config.ice_disconnected_timeout,
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.sockets {
            Sockets::Shared { local, .. } => Some(*local),
            Sockets::Range { .. } => None,
        }
    }

    /// A socket for a new participant: the shared one, or one of its own on
    /// a free port of the range (`true`: its reader is the caller's to run).
    fn socket(&self) -> Result<(Arc<MediaSocket>, bool), SfuError> {
        let (min, max, next) = match &self.sockets {
            Sockets::Shared { socket, .. } => return Ok((socket.clone(), false)),
            Sockets::Range { min, max, next } => (*min, *max, next),
        };
        let span = u32::from(max - min) + 1;
        let start = next.fetch_add(1, Ordering::Relaxed);
        for i in 0..span {
            let port = min + ((start + i) % span) as u16;
            let addr = SocketAddr::from(([0, 0, 0, 0], port));
            if let Ok(socket) = bind_udp(addr, self.socket_buffer) {
                next.store(start + i + 1, Ordering::Relaxed);
                return Ok((MediaSocket::new(socket), true));
            }
        }
        Err(SfuError::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], min)),
            err: std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "every port of the range is taken",
            ),
        })
    }

    /// The candidates a client reaches `socket` on.
    fn candidates(&self, socket: &MediaSocket) -> Vec<SocketAddr> {
        let port = socket.socket.local_addr().map(|a| a.port()).unwrap_or(0);
        self.ips
            .iter()
            .map(|ip| SocketAddr::new(*ip, port))
            .collect()
    }

    /// Stop the shared socket's reader (at shutdown).
    pub fn close(&self) {
        if let Sockets::Shared { socket, .. } = &self.sockets {
            socket.stop.cancel();
        }
    }
}
