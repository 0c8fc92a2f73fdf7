//! The DTLS side of a lean peer: webrtc-rs's DTLS client over the peer's
//! socket (fed the DTLS records the socket reader sorts out), and the SRTP
//! contexts keyed from the handshake (RFC 5764).

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, Mutex};
use webrtc::dtls::config::{ClientAuthType, Config, ExtendedMasterSecretType};
use webrtc::dtls::conn::DTLSConn;
use webrtc::dtls::crypto::Certificate;
use webrtc::dtls::extension::extension_use_srtp::SrtpProtectionProfile;
use webrtc::srtp::config::Config as SrtpConfig;
use webrtc::srtp::context::Context;
use webrtc::srtp::option::{srtcp_no_replay_protection, srtp_no_replay_protection};
use webrtc::srtp::protection_profile::ProtectionProfile;
use webrtc::util::conn::Conn;

/// The DTLS client's view of the socket: records the reader passed on, and
/// sends straight to the server.
pub struct DtlsLink {
    socket: Arc<UdpSocket>,
    remote: SocketAddr,
    records: Mutex<mpsc::Receiver<Vec<u8>>>,
}

impl DtlsLink {
    /// A link and the sender the socket reader feeds DTLS records into.
    pub fn new(socket: Arc<UdpSocket>, remote: SocketAddr) -> (DtlsLink, mpsc::Sender<Vec<u8>>) {
        let (tx, rx) = mpsc::channel(64);
        let link = DtlsLink {
            socket,
            remote,
            records: Mutex::new(rx),
        };
        (link, tx)
    }
}

fn closed() -> webrtc::util::Error {
    webrtc::util::Error::Other("lean peer socket closed".into())
}

#[async_trait]
impl Conn for DtlsLink {
    async fn connect(&self, _addr: SocketAddr) -> webrtc::util::Result<()> {
        Ok(())
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc::util::Result<usize> {
        let record = self.records.lock().await.recv().await.ok_or_else(closed)?;
        let n = record.len().min(buf.len());
        buf[..n].copy_from_slice(&record[..n]);
        Ok(n)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc::util::Result<(usize, SocketAddr)> {
        Ok((self.recv(buf).await?, self.remote))
    }

    async fn send(&self, buf: &[u8]) -> webrtc::util::Result<usize> {
        Ok(self.socket.send_to(buf, self.remote).await?)
    }

    async fn send_to(&self, buf: &[u8], _target: SocketAddr) -> webrtc::util::Result<usize> {
        self.send(buf).await
    }

    fn local_addr(&self) -> webrtc::util::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        Some(self.remote)
    }

    async fn close(&self) -> webrtc::util::Result<()> {
        self.records.lock().await.close();
        Ok(())
    }

    fn as_any(&self) -> &(dyn Any + Send + Sync) {
        self
    }
}

/// SRTP contexts for both directions, and the DTLS connection they came
/// from (kept open for as long as the peer lives).
pub struct Keyed {
    pub conn: DTLSConn,
    pub outbound: Context,
    pub inbound: Context,
}

fn srtp_profile(p: SrtpProtectionProfile) -> Option<ProtectionProfile> {
    Some(match p {
        SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm => ProtectionProfile::AeadAes128Gcm,
        SrtpProtectionProfile::Srtp_Aead_Aes_256_Gcm => ProtectionProfile::AeadAes256Gcm,
        SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80 => {
            ProtectionProfile::Aes128CmHmacSha1_80
        }
        SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_32 => {
            ProtectionProfile::Aes128CmHmacSha1_32
        }
        SrtpProtectionProfile::Unsupported => return None,
    })
}

/// Run the DTLS handshake as the client and derive the SRTP contexts.
/// The server's certificate is not checked against its SDP fingerprint:
/// this peer drives load on loopback, it is not a client to trust.
pub async fn handshake(link: DtlsLink, certificate: Certificate) -> Result<Keyed, String> {
    let conn = DTLSConn::new(Arc::new(link), config(certificate, true), true, None)
        .await
        .map_err(|e| format!("DTLS handshake: {e}"))?;
    keyed(conn, true).await
}

/// Run the DTLS handshake as the server over `conn`, check the client's
/// certificate against the `sha-256` fingerprint its SDP gave (upper-case
/// hex pairs, as SDP writes them), and derive the SRTP contexts.
pub async fn accept(
    conn: Arc<dyn Conn + Send + Sync>,
    certificate: Certificate,
    fingerprint: &str,
) -> Result<Keyed, String> {
    let conn = DTLSConn::new(conn, config(certificate, false), false, None)
        .await
        .map_err(|e| format!("DTLS handshake: {e}"))?;
    let state = conn.connection_state().await;
    let presented = state
        .peer_certificates
        .first()
        .map(|der| sha256_fingerprint(der))
        .ok_or("the client sent no certificate")?;
    if !presented.eq_ignore_ascii_case(fingerprint) {
        let _ = conn.close().await;
        return Err("the client's certificate does not match its fingerprint".into());
    }
    keyed(conn, false).await
}

/// A certificate's SDP fingerprint: SHA-256 of its DER, as `AB:CD:...`.
pub fn sha256_fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(der);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

fn config(certificate: Certificate, is_client: bool) -> Config {
    Config {
        certificates: vec![certificate],
        srtp_protection_profiles: vec![
            SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm,
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
        ],
        extended_master_secret: ExtendedMasterSecretType::Require,
        // Certificates are self-signed: each side checks the other's
        // against the fingerprint its SDP gave, not against a CA.
        insecure_skip_verify: true,
        client_auth: if is_client {
            ClientAuthType::NoClientCert
        } else {
            ClientAuthType::RequireAnyClientCert
        },
        ..Default::default()
    }
}

/// The SRTP contexts keyed from a finished handshake (RFC 5764 §4.2).
///
/// The outbound context keeps no replay window: a sender has nothing to
/// check, and webrtc-srtp builds a fresh detector (a heap allocation) at
/// each of its two stream lookups per packet sent.
async fn keyed(conn: DTLSConn, is_client: bool) -> Result<Keyed, String> {
    let profile =
        srtp_profile(conn.selected_srtpprotection_profile()).ok_or("no SRTP profile negotiated")?;
    let mut srtp = SrtpConfig {
        profile,
        ..Default::default()
    };
    srtp.extract_session_keys_from_dtls(conn.connection_state().await, is_client)
        .await
        .map_err(|e| format!("SRTP keys: {e}"))?;
    let k = &srtp.keys;
    let outbound = Context::new(
        &k.local_master_key,
        &k.local_master_salt,
        profile,
        Some(srtp_no_replay_protection()),
        Some(srtcp_no_replay_protection()),
    )
    .map_err(|e| e.to_string())?;
    let inbound = Context::new(
        &k.remote_master_key,
        &k.remote_master_salt,
        profile,
        None,
        None,
    )
    .map_err(|e| e.to_string())?;
    Ok(Keyed {
        conn,
        outbound,
        inbound,
    })
}
