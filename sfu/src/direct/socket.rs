//! [`MediaSocket`]: a UDP socket of the direct engine and the one task that
//! reads it. It sorts each datagram by its first byte (RFC 7983): STUN
//! checks are answered for the [`Link`] whose username fragment they name
//! (which maps the sender's address to that link), DTLS records go to the
//! link's handshake, and SRTP/SRTCP is handled right there, in this task.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use webrtc::dtls::crypto::Certificate;

use crate::lean::stun;
use crate::routes::lock;

use super::link::{Link, Scratch};

/// One UDP socket and the links reachable on it.
pub(crate) struct MediaSocket {
    pub socket: Arc<UdpSocket>,
    /// Links by the server's username fragment. A std mutex: the reader
    /// looks a link up here once per new client address, the room task
    /// adds and removes links; neither holds it across `.await`.
    links: Mutex<HashMap<String, Arc<Link>>>,
    /// A link was removed: the reader drops the addresses mapped to it.
    removed: AtomicBool,
    pub stop: CancellationToken,
}

impl MediaSocket {
    pub fn new(socket: UdpSocket) -> Arc<MediaSocket> {
        Arc::new(MediaSocket {
            socket: Arc::new(socket),
            links: Mutex::default(),
            removed: AtomicBool::new(false),
            stop: CancellationToken::new(),
        })
    }

    pub fn register(&self, link: Arc<Link>) {
        lock(&self.links).insert(link.ufrag.clone(), link);
    }

    pub fn unregister(&self, ufrag: &str) {
        lock(&self.links).remove(ufrag);
        self.removed.store(true, Ordering::Relaxed);
    }

    /// Read the socket until `stop` (or the socket fails).
    pub async fn read_loop(self: Arc<Self>, certificate: Certificate) {
        let mut by_addr: HashMap<SocketAddr, Arc<Link>> = HashMap::new();
        let mut scratch = Scratch::default();
        let mut buf = vec![0u8; 2048];
        loop {
            let (n, from) = tokio::select! {
                biased;
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok(r) => r,
                    // An ICMP error for an earlier send: the socket is fine.
                    Err(e) if matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset) => continue,
                    Err(err) => {
                        tracing::warn!(%err, "media socket failed");
                        return;
                    }
                },
                _ = self.stop.cancelled() => return,
            };
            if self.removed.swap(false, Ordering::Relaxed) {
                by_addr.retain(|_, l| !l.is_closed());
            }
            let bytes = &buf[..n];
            // The parsers below are webrtc-rs's and ours, none known to
            // panic; should one ever do on a crafted datagram, that
            // datagram is lost, not every call on this socket.
            let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.on_datagram(bytes, from, &mut by_addr, &mut scratch, &certificate)
            }));
            if handled.is_err() {
                tracing::warn!(%from, len = n, "a media datagram made a parser panic; dropped");
            }
        }
    }

    /// Sort one datagram by its first byte (RFC 7983); an empty one has
    /// none and falls to the last arm.
    fn on_datagram(
        &self,
        bytes: &[u8],
        from: SocketAddr,
        by_addr: &mut HashMap<SocketAddr, Arc<Link>>,
        scratch: &mut Scratch,
        certificate: &Certificate,
    ) {
        let now = Instant::now();
        match bytes.first().copied().unwrap_or(255) {
            0..=3 => self.on_stun(bytes, from, by_addr, now),
            20..=63 => {
                if let Some(link) = by_addr.get(&from) {
                    link.on_dtls(bytes, from, certificate);
                }
            }
            128..=191 => {
                if let Some(link) = by_addr.get(&from) {
                    link.on_media(bytes, scratch, now);
                }
            }
            _ => {}
        }
    }

    /// An ICE check: answered when it names a link and proves the link's
    /// password; its sender's address then belongs to that link.
    fn on_stun(
        &self,
        bytes: &[u8],
        from: SocketAddr,
        by_addr: &mut HashMap<SocketAddr, Arc<Link>>,
        now: Instant,
    ) {
        let Some(check) = stun::check(bytes) else {
            return;
        };
        let Some(link) = lock(&self.links).get(&check.local_ufrag).cloned() else {
            return;
        };
        if !link.is_remote_ufrag(&check.remote_ufrag) {
            return;
        }
        let nominated = check.nominated;
        let Some(response) = check.respond(&link.pwd, from) else {
            return;
        };
        let _ = self.socket.try_send_to(&response, from);
        link.checked(from, nominated, now);
        by_addr.insert(from, link);
    }
}
