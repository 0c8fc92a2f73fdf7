//! ICE servers for clients: STUN as configured, and TURN with time-limited
//! credentials in coturn's REST-API format (`use-auth-secret`):
//! username `"<expiry unix time>:<user id>"`, credential
//! `base64(HMAC-SHA1(secret, username))`.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::config::SignalingConfig;
use crate::protocol::IceServer;

/// The ICE servers to hand `user_id`, with TURN credentials valid until
/// `now_unix + turn_ttl`.
pub fn ice_servers(config: &SignalingConfig, user_id: &str, now_unix: u64) -> Vec<IceServer> {
    let mut out = Vec::new();
    if !config.stun_urls.is_empty() {
        out.push(IceServer {
            urls: config.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    if let (false, Some(secret)) = (config.turn_urls.is_empty(), &config.turn_secret) {
        let username = format!("{}:{user_id}", now_unix + config.turn_ttl.as_secs());
        out.push(IceServer {
            urls: config.turn_urls.clone(),
            credential: Some(turn_credential(secret, &username)),
            username: Some(username),
        });
    }
    out
}

/// coturn's REST-API password for `username`.
pub fn turn_credential(secret: &str, username: &str) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac =
        <Hmac<Sha1> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coturn_rest_credentials() {
        // Reference value computed with: printf %s '1700003600:alice' | openssl dgst -sha1 -hmac secret -binary | base64
        assert_eq!(
            turn_credential("secret", "1700003600:alice"),
            "LLPLO4qjdVL2qZhwr3eImhn7J20="
        );
        let config = SignalingConfig {
            stun_urls: vec!["stun:stun.example.org:3478".into()],
            turn_urls: vec!["turn:turn.example.org:3478?transport=udp".into()],
            turn_secret: Some("secret".into()),
            ..SignalingConfig::default()
        };
        let servers = ice_servers(&config, "alice", 1_700_000_000);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[1].username.as_deref(), Some("1700003600:alice"));
        assert!(ice_servers(&SignalingConfig::default(), "alice", 0).is_empty());
    }
}
