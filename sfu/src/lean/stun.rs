//! The ICE side of a lean peer: the controlling agent's nominating binding
//! request, and success responses to the far end's checks (RFC 8445 with
//! aggressive nomination, one host candidate each side).

use std::net::SocketAddr;

use webrtc::ice::control::AttrControlling;
use webrtc::ice::priority::PriorityAttr;
use webrtc::ice::use_candidate::UseCandidateAttr;
use webrtc::stun::agent::TransactionId;
use webrtc::stun::attributes::{ATTR_USERNAME, ATTR_USE_CANDIDATE};
use webrtc::stun::fingerprint::FINGERPRINT;
use webrtc::stun::integrity::MessageIntegrity;
use webrtc::stun::message::{Message, Setter, BINDING_REQUEST, BINDING_SUCCESS, CLASS_REQUEST};
use webrtc::stun::textattrs::Username;
use webrtc::stun::xoraddr::XorMappedAddress;

/// Host candidate priority (type preference 126, one component).
pub const HOST_PRIORITY: u32 = 2_130_706_431;

/// Each side's ICE username fragment and password.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub local_ufrag: String,
    pub local_pwd: String,
    pub remote_ufrag: String,
    pub remote_pwd: String,
}

/// What an inbound STUN message asks of us.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A check from the far end: send this response back to where it came from.
    Request(Vec<u8>),
    /// A success response (to one of our checks, or a stray one).
    Success,
    /// Anything else (indications, error responses, undecodable bytes).
    Other,
}

/// A binding request that nominates the pair it travels on.
pub fn nominating_request(creds: &Credentials, tie_breaker: u64) -> Result<Vec<u8>, String> {
    let mut m = Message::new();
    let setters: Vec<Box<dyn Setter>> = vec![
        Box::new(BINDING_REQUEST),
        Box::new(TransactionId::new()),
        Box::new(Username::new(
            ATTR_USERNAME,
            format!("{}:{}", creds.remote_ufrag, creds.local_ufrag),
        )),
        Box::new(AttrControlling(tie_breaker)),
        Box::new(UseCandidateAttr),
        Box::new(PriorityAttr(HOST_PRIORITY)),
        Box::new(MessageIntegrity::new_short_term_integrity(
            creds.remote_pwd.clone(),
        )),
        Box::new(FINGERPRINT),
    ];
    m.build(&setters).map_err(|e| e.to_string())?;
    Ok(m.raw)
}

/// Read one inbound STUN message that came from `from`.
pub fn handle(bytes: &[u8], from: SocketAddr, creds: &Credentials) -> Inbound {
    let mut m = Message::new();
    m.raw = bytes.to_vec();
    if m.decode().is_err() {
        return Inbound::Other;
    }
    if m.typ == BINDING_SUCCESS {
        return Inbound::Success;
    }
    if m.typ != BINDING_REQUEST || m.typ.class != CLASS_REQUEST {
        return Inbound::Other;
    }
    // Only the far end knows our password: answer checks that prove it.
    let integrity = MessageIntegrity::new_short_term_integrity(creds.local_pwd.clone());
    if integrity.check(&mut m).is_err() {
        return Inbound::Other;
    }
    match success(&m, integrity, from) {
        Some(response) => Inbound::Request(response),
        None => Inbound::Other,
    }
}

/// The success response to the binding request `m` from `from`.
fn success(m: &Message, integrity: MessageIntegrity, from: SocketAddr) -> Option<Vec<u8>> {
    let mut out = Message::new();
    let setters: Vec<Box<dyn Setter>> = vec![
        Box::new(m.clone()),
        Box::new(BINDING_SUCCESS),
        Box::new(XorMappedAddress {
            ip: from.ip(),
            port: from.port(),
        }),
        Box::new(integrity),
        Box::new(FINGERPRINT),
    ];
    out.build(&setters).ok()?;
    Some(out.raw)
}

/// A binding request to an ICE-lite agent (the server), before its
/// integrity is checked: `local_ufrag` says whose password signs it.
pub struct Check {
    pub local_ufrag: String,
    pub remote_ufrag: String,
    /// It carries USE-CANDIDATE: the controlling agent picked this pair.
    pub nominated: bool,
    message: Message,
}

/// Read a binding request (`None` for anything else, undecodable bytes included).
pub fn check(bytes: &[u8]) -> Option<Check> {
    let mut m = Message::new();
    m.raw = bytes.to_vec();
    m.decode().ok()?;
    if m.typ != BINDING_REQUEST {
        return None;
    }
    let username = Username::get_from_as(&m, ATTR_USERNAME).ok()?;
    let (local, remote) = username.text.split_once(':')?;
    let (local, remote) = (local.to_string(), remote.to_string());
    Some(Check {
        local_ufrag: local,
        remote_ufrag: remote,
        nominated: m.contains(ATTR_USE_CANDIDATE),
        message: m,
    })
}

impl Check {
    /// The response to send back to `from`, when the request is signed with `local_pwd`.
    pub fn respond(mut self, local_pwd: &str, from: SocketAddr) -> Option<Vec<u8>> {
        let integrity = MessageIntegrity::new_short_term_integrity(local_pwd.to_string());
        integrity.check(&mut self.message).ok()?;
        success(&self.message, integrity, from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> (Credentials, Credentials) {
        let a = Credentials {
            local_ufrag: "aaaa".into(),
            local_pwd: "a-password-of-22-chars".into(),
            remote_ufrag: "bbbb".into(),
            remote_pwd: "b-password-of-22-chars".into(),
        };
        let b = Credentials {
            local_ufrag: a.remote_ufrag.clone(),
            local_pwd: a.remote_pwd.clone(),
            remote_ufrag: a.local_ufrag.clone(),
            remote_pwd: a.local_pwd.clone(),
        };
        (a, b)
    }

    #[test]
    fn a_check_with_the_right_password_is_answered_and_the_answer_reads_as_success() {
        let (a, b) = creds();
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let request = nominating_request(&a, 7).unwrap();
        let Inbound::Request(response) = handle(&request, from, &b) else {
            panic!("the check was not answered");
        };
        assert_eq!(handle(&response, from, &a), Inbound::Success);
    }

    #[test]
    fn a_check_with_a_wrong_password_or_garbage_is_not_answered() {
        let (a, _) = creds();
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let request = nominating_request(&a, 7).unwrap();
        // `a` checking itself: signed with the far end's password, not ours.
        assert_eq!(handle(&request, from, &a), Inbound::Other);
        assert_eq!(handle(&[0, 1, 0, 0], from, &a), Inbound::Other);
    }

    #[test]
    fn an_ice_lite_server_answers_checks_signed_with_its_password_only() {
        let (client, server) = creds();
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let request = nominating_request(&client, 7).unwrap();
        let c = check(&request).unwrap();
        assert_eq!(
            (c.local_ufrag.as_str(), c.remote_ufrag.as_str()),
            ("bbbb", "aaaa")
        );
        assert!(c.nominated);
        let response = c.respond(&server.local_pwd, from).unwrap();
        assert_eq!(handle(&response, from, &client), Inbound::Success);
        assert!(check(&request)
            .unwrap()
            .respond("not-the-password", from)
            .is_none());
        assert!(check(&response).is_none(), "a response is no check");
        assert!(check(&[0, 1, 0, 0]).is_none());
    }

    proptest::proptest! {
        #[test]
        fn no_datagram_makes_the_stun_reader_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let (_, server) = creds();
            let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
            if let Some(c) = check(&bytes) {
                let _ = c.respond(&server.local_pwd, from);
            }
            let _ = handle(&bytes, from, &server);
        }
    }
}
