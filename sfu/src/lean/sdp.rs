//! SDP for a lean peer: its first offer (one sendrecv Opus m-line), answers
//! to the server's renegotiation offers (one m-line per offered one), and
//! what it needs from the server's descriptions.

use std::fmt::Write;
use std::io::Cursor;
use std::net::SocketAddr;

use webrtc::sdp::description::media::MediaDescription;
use webrtc::sdp::description::session::SessionDescription;

use crate::engine::AUDIO_LEVEL_URI;

/// What the peer puts in every description of its own.
#[derive(Debug, Clone)]
pub struct Local {
    pub ufrag: String,
    pub pwd: String,
    /// `sha-256` fingerprint of the DTLS certificate, as SDP writes it.
    pub fingerprint: String,
    pub ssrc: u32,
    pub addr: SocketAddr,
}

/// What the server's description tells the peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Remote {
    pub ufrag: String,
    pub pwd: String,
    /// UDP IPv4 host candidates listed in the description.
    pub candidates: Vec<SocketAddr>,
    /// The negotiated audio-level extension id, if any.
    pub audio_level_id: Option<u8>,
}

const OPUS: &str = "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n";

fn media_section(out: &mut String, local: &Local, mid: &str, port: u16, direction: &str, ext: u8) {
    let _ = write!(
        out,
        "m=audio {port} UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 {ip}\r\n\
         a=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\na=fingerprint:sha-256 {fp}\r\n\
         a=setup:active\r\na=mid:{mid}\r\na=extmap:{ext} {AUDIO_LEVEL_URI}\r\n\
         a={direction}\r\na=rtcp-mux\r\n{OPUS}",
        ip = local.addr.ip(),
        ufrag = local.ufrag,
        pwd = local.pwd,
        fp = local.fingerprint,
    );
}

fn session_header(out: &mut String, mids: &[String]) {
    let _ = write!(
        out,
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE {}\r\n\
         a=msid-semantic: WMS lean\r\n",
        mids.join(" ")
    );
}

/// The first offer: one Opus m-line the peer publishes on and receives on,
/// with its host candidate (no trickle needed from this side).
pub fn offer(local: &Local) -> String {
    let mut out = String::new();
    session_header(&mut out, &["0".to_string()]);
    media_section(&mut out, local, "0", local.addr.port(), "sendrecv", 1);
    let _ = write!(
        out,
        "a=msid:lean mic\r\na=ssrc:{ssrc} cname:lean\r\na=ssrc:{ssrc} msid:lean mic\r\n\
         a=candidate:1 1 udp {prio} {ip} {port} typ host\r\na=end-of-candidates\r\n",
        ssrc = local.ssrc,
        prio = super::stun::HOST_PRIORITY,
        ip = local.addr.ip(),
        port = local.addr.port(),
    );
    out
}

fn parse(text: &str) -> Result<SessionDescription, String> {
    SessionDescription::unmarshal(&mut Cursor::new(text.as_bytes())).map_err(|e| e.to_string())
}

fn media_attr<'a>(m: &'a MediaDescription, key: &str) -> Option<&'a str> {
    m.attribute(key).flatten()
}

/// The id an `a=extmap` line gives `uri` (a one-byte header id, 1-14).
pub(crate) fn extmap_id(m: &MediaDescription, uri: &str) -> Option<u8> {
    m.attributes
        .iter()
        .filter(|a| a.key == "extmap")
        .filter_map(|a| a.value.as_deref())
        .find(|v| v.split_whitespace().nth(1) == Some(uri))
        .and_then(|v| v.split(['/', ' ']).next()?.parse().ok())
        .filter(|id| (1..=14).contains(id))
}

/// A UDP IPv4 address from an `a=candidate` value (`foundation component
/// transport priority ip port typ ...`).
pub fn candidate_addr(value: &str) -> Option<SocketAddr> {
    let value = value.strip_prefix("candidate:").unwrap_or(value);
    let f: Vec<&str> = value.split_whitespace().collect();
    if f.len() < 6 || !f[2].eq_ignore_ascii_case("udp") {
        return None;
    }
    let addr: SocketAddr = format!("{}:{}", f[4], f[5]).parse().ok()?;
    addr.is_ipv4().then_some(addr)
}

/// ICE credentials, candidates and the audio-level id of a server description.
pub fn remote(text: &str) -> Result<Remote, String> {
    let sd = parse(text)?;
    let first = sd.media_descriptions.first();
    let cred = |key: &str| {
        first
            .and_then(|m| media_attr(m, key))
            .or(sd.attribute(key).map(String::as_str))
            .map(str::to_string)
            .ok_or(format!("no {key}"))
    };
    let candidates = sd
        .media_descriptions
        .iter()
        .flat_map(|m| m.attributes.iter())
        .filter(|a| a.key == "candidate")
        .filter_map(|a| candidate_addr(a.value.as_deref()?))
        .collect();
    Ok(Remote {
        ufrag: cred("ice-ufrag")?,
        pwd: cred("ice-pwd")?,
        candidates,
        audio_level_id: first.and_then(|m| extmap_id(m, AUDIO_LEVEL_URI)),
    })
}

/// The answer to a server offer: every m-line keeps its mid; the first is
/// the one the peer publishes on, the others only receive.
pub fn answer(local: &Local, offer_text: &str) -> Result<String, String> {
    let sd = parse(offer_text)?;
    let mut sections = String::new();
    let mut bundle = Vec::new();
    for (i, m) in sd.media_descriptions.iter().enumerate() {
        let mid = media_attr(m, "mid")
            .ok_or("an m-line without a mid")?
            .to_string();
        let rejected = m.media_name.port.value == 0;
        let offered = ["sendrecv", "sendonly", "recvonly", "inactive"]
            .into_iter()
            .find(|d| m.has_attribute(d))
            .unwrap_or("sendrecv");
        let direction = match (offered, i == 0) {
            _ if rejected => "inactive",
            ("sendrecv", true) => "sendrecv",
            ("sendrecv" | "sendonly", _) => "recvonly",
            ("recvonly", true) => "sendonly",
            _ => "inactive",
        };
        let ext = extmap_id(m, AUDIO_LEVEL_URI).unwrap_or(1);
        let port = if rejected { 0 } else { 9 };
        media_section(&mut sections, local, &mid, port, direction, ext);
        if i == 0 {
            let _ = write!(
                sections,
                "a=msid:lean mic\r\na=ssrc:{s} cname:lean\r\na=ssrc:{s} msid:lean mic\r\n",
                s = local.ssrc
            );
        }
        if !rejected {
            bundle.push(mid);
        }
    }
    let mut out = String::new();
    session_header(&mut out, &bundle);
    out.push_str(&sections);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> Local {
        Local {
            ufrag: "lean".into(),
            pwd: "a-password-of-22-chars".into(),
            fingerprint: "AB:CD".into(),
            ssrc: 42,
            addr: "127.0.0.1:5000".parse().unwrap(),
        }
    }

    const SERVER_OFFER: &str = "v=0\r\no=- 2 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
        a=group:BUNDLE 0 1\r\na=ice-ufrag:srv\r\na=ice-pwd:server-password\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
        a=extmap:3 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\na=recvonly\r\n\
        a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n\
        a=candidate:2 1 tcp 2130706431 127.0.0.1 40001 typ host\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n\
        a=extmap:3 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\na=sendonly\r\n";

    #[test]
    fn the_offer_parses_and_carries_the_candidate_and_credentials() {
        let text = offer(&local());
        let r = remote(&text).unwrap();
        assert_eq!(
            (r.ufrag.as_str(), r.pwd.as_str()),
            ("lean", "a-password-of-22-chars")
        );
        assert_eq!(
            r.candidates,
            vec!["127.0.0.1:5000".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(r.audio_level_id, Some(1));
    }

    #[test]
    fn the_server_description_gives_credentials_udp_candidates_and_the_extension_id() {
        let r = remote(SERVER_OFFER).unwrap();
        assert_eq!(
            (r.ufrag.as_str(), r.pwd.as_str()),
            ("srv", "server-password")
        );
        assert_eq!(
            r.candidates,
            vec!["127.0.0.1:40000".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(r.audio_level_id, Some(3));
    }

    #[test]
    fn an_answer_publishes_on_the_first_m_line_and_receives_on_the_others() {
        let text = answer(&local(), SERVER_OFFER).unwrap();
        let sd = parse(&text).unwrap();
        let dirs: Vec<(&str, bool, bool)> = sd
            .media_descriptions
            .iter()
            .map(|m| {
                (
                    media_attr(m, "mid").unwrap(),
                    m.has_attribute("sendonly"),
                    m.has_attribute("recvonly"),
                )
            })
            .collect();
        assert_eq!(dirs, vec![("0", true, false), ("1", false, true)]);
        assert_eq!(
            sd.attribute("group").map(String::as_str),
            Some("BUNDLE 0 1")
        );
        assert!(text.contains("a=extmap:3 "), "{text}");
        assert!(text.contains("a=ssrc:42 cname:lean"), "{text}");
    }

    #[test]
    fn candidates_other_than_udp_ipv4_are_skipped() {
        assert_eq!(
            candidate_addr("candidate:1 1 udp 1 10.0.0.1 9 typ host"),
            Some("10.0.0.1:9".parse::<SocketAddr>().unwrap())
        );
        assert_eq!(
            candidate_addr("candidate:1 1 tcp 1 10.0.0.1 9 typ host"),
            None
        );
        assert_eq!(candidate_addr("candidate:1 1 udp 1 ::1 9 typ host"), None);
        assert_eq!(candidate_addr("garbage"), None);
    }
}
