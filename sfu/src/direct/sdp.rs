//! The server's side of the offer/answer exchange (JSEP, unified plan, one
//! BUNDLE): a [`Negotiation`] per participant keeps the m-lines both sides
//! have agreed on, answers the client's offers and writes the server's own
//! offers when tracks come and go.
//!
//! The server is an ICE-lite agent (RFC 8445 §2.5: it answers checks and
//! sends none) and the DTLS server (`a=setup:passive` in answers,
//! `actpass` in its offers, where the client keeps the role it has). Only
//! Opus and the RFC 6464 audio-level extension are accepted; every other
//! m-line (video, data channels) is rejected with port 0.

use std::fmt::Write;
use std::io::Cursor;
use std::net::SocketAddr;

use webrtc::sdp::description::media::MediaDescription;
use webrtc::sdp::description::session::SessionDescription;

use crate::engine::AUDIO_LEVEL_URI;
use crate::lean::sdp::extmap_id;

/// What the server puts in every description to one participant.
#[derive(Debug, Clone)]
pub(crate) struct Local {
    pub ufrag: String,
    pub pwd: String,
    /// `sha-256` fingerprint of the server's DTLS certificate.
    pub fingerprint: String,
    /// The server's host candidates for this participant.
    pub candidates: Vec<SocketAddr>,
}

/// What the participant's offer says about its end of the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteIce {
    pub ufrag: String,
    pub pwd: String,
    /// The `sha-256` fingerprint of the client's DTLS certificate (upper case).
    pub fingerprint: String,
}

/// One m-line of the session, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Section {
    /// The client's own audio m-line; `sends` when it offered to send on it.
    Client { mid: String, sends: bool },
    /// One publisher's audio, sent by the server; no longer `live` once the
    /// publisher has left (m-lines are never removed, only made inactive).
    Track {
        mid: String,
        ssrc: u32,
        stream_id: String,
        track_id: String,
        live: bool,
    },
    /// An m-line the server does not take (video, data channel, no Opus).
    Rejected {
        mid: String,
        media: String,
        proto: String,
        formats: String,
    },
}

impl Section {
    fn mid(&self) -> &str {
        match self {
            Section::Client { mid, .. }
            | Section::Track { mid, .. }
            | Section::Rejected { mid, .. } => mid,
        }
    }
}

/// One participant's negotiated session.
#[derive(Debug)]
pub(crate) struct Negotiation {
    local: Local,
    sections: Vec<Section>,
    /// How many of `sections` both sides have agreed on (the rest are
    /// tracks added since, not yet in a completed exchange)...
    agreed: usize,
    /// ...and how many the outstanding server offer carries.
    offered: usize,
    session_id: u64,
    version: u64,
    /// The Opus payload type the client chose.
    opus_pt: u8,
    /// The client's id for the audio-level extension, if it offered one.
    level_id: Option<u8>,
    remote: Option<RemoteIce>,
}

type Parsed = SessionDescription;

fn parse(text: &str) -> Result<Parsed, String> {
    SessionDescription::unmarshal(&mut Cursor::new(text.as_bytes()))
        .map_err(|e| format!("unreadable SDP: {e}"))
}

fn attr<'a>(m: &'a MediaDescription, key: &str) -> Option<&'a str> {
    m.attribute(key).flatten()
}

/// A media-level attribute, else the session-level one.
fn either<'a>(sd: &'a Parsed, m: &'a MediaDescription, key: &str) -> Option<&'a str> {
    attr(m, key).or(sd.attribute(key).map(String::as_str))
}

/// The payload type an `a=rtpmap` line gives Opus at 48 kHz.
fn opus_pt(m: &MediaDescription) -> Option<u8> {
    m.attributes
        .iter()
        .filter(|a| a.key == "rtpmap")
        .filter_map(|a| a.value.as_deref())
        .find_map(|v| {
            let (pt, codec) = v.split_once(' ')?;
            codec
                .to_ascii_lowercase()
                .starts_with("opus/48000")
                .then(|| pt.parse().ok())
                .flatten()
        })
        .filter(|pt: &u8| *pt < 128)
}

fn direction(m: &MediaDescription) -> &'static str {
    ["sendrecv", "sendonly", "recvonly", "inactive"]
        .into_iter()
        .find(|d| m.has_attribute(d))
        .unwrap_or("sendrecv")
}

fn is_audio_rtp(m: &MediaDescription) -> bool {
    m.media_name.media == "audio"
        && m.media_name.protos.iter().any(|p| p.contains("SAVPF"))
        && m.media_name.port.value != 0
}

/// The client's ICE credentials and DTLS fingerprint, from its description.
/// An offer must leave the DTLS server role to us; in answers to our
/// re-offers the role was settled by the first exchange, and some clients
/// (webrtc-rs) answer `passive` there while they stay the DTLS client.
fn remote_ice(sd: &Parsed, offer: bool) -> Result<RemoteIce, String> {
    let m = sd
        .media_descriptions
        .iter()
        .find(|m| m.media_name.port.value != 0)
        .ok_or("no m-line is accepted")?;
    let get = |key: &str| either(sd, m, key).ok_or(format!("no a={key}"));
    let (ufrag, pwd) = (get("ice-ufrag")?.to_string(), get("ice-pwd")?.to_string());
    let fp = get("fingerprint")?;
    let (algorithm, value) = fp.split_once(' ').ok_or("a malformed a=fingerprint")?;
    if !algorithm.eq_ignore_ascii_case("sha-256") {
        return Err(format!("fingerprint {algorithm}: only sha-256 is taken"));
    }
    if offer && either(sd, m, "setup") == Some("passive") {
        return Err("a=setup:passive: the server is the DTLS server".into());
    }
    Ok(RemoteIce {
        ufrag,
        pwd,
        fingerprint: value.trim().to_ascii_uppercase(),
    })
}

impl Negotiation {
    pub fn new(local: Local, session_id: u64) -> Self {
        Negotiation {
            local,
            sections: vec![],
            agreed: 0,
            offered: 0,
            session_id,
            version: 1,
            opus_pt: 111,
            level_id: None,
            remote: None,
        }
    }

    /// The client's credentials and fingerprint, once it has offered.
    pub fn remote(&self) -> Option<&RemoteIce> {
        self.remote.as_ref()
    }

    /// The client's Opus payload type and audio-level extension id.
    pub fn codec(&self) -> (u8, Option<u8>) {
        (self.opus_pt, self.level_id)
    }

    pub fn local(&self) -> &Local {
        &self.local
    }

    /// The mid of the first accepted m-line (where candidates belong).
    pub fn first_mid(&self) -> Option<&str> {
        self.sections
            .iter()
            .find(|s| !matches!(s, Section::Rejected { .. }))
            .map(Section::mid)
    }

    /// Take the client's offer and return the answer.
    pub fn answer(&mut self, offer: &str) -> Result<String, String> {
        let sd = parse(offer)?;
        if sd.media_descriptions.is_empty() {
            return Err("an offer without m-lines".into());
        }
        let remote = remote_ice(&sd, true)?;
        if sd.media_descriptions.len() < self.agreed {
            return Err(format!(
                "the offer has {} m-lines, the session has {}: m-lines are never removed",
                sd.media_descriptions.len(),
                self.agreed
            ));
        }
        let mut next = Vec::with_capacity(sd.media_descriptions.len());
        let mut offered = Vec::with_capacity(sd.media_descriptions.len());
        for (i, m) in sd.media_descriptions.iter().enumerate() {
            let mid = attr(m, "mid").ok_or("an m-line without a=mid")?.to_string();
            if next.iter().any(|s: &Section| s.mid() == mid) {
                return Err(format!("mid {mid} appears twice"));
            }
            let section = match self.sections.get(i).filter(|_| i < self.agreed) {
                Some(known) if known.mid() != mid => {
                    return Err(format!("m-line {i} was mid {}, now {mid}", known.mid()))
                }
                Some(Section::Client { .. }) | None if is_audio_rtp(m) && opus_pt(m).is_some() => {
                    Section::Client {
                        mid,
                        sends: matches!(direction(m), "sendrecv" | "sendonly"),
                    }
                }
                Some(track @ Section::Track { .. }) => track.clone(),
                _ => Section::Rejected {
                    mid,
                    media: m.media_name.media.clone(),
                    proto: m.media_name.protos.join("/"),
                    formats: m.media_name.formats.join(" "),
                },
            };
            offered.push((direction(m), m.media_name.port.value == 0));
            next.push(section);
        }
        let first_audio = sd
            .media_descriptions
            .iter()
            .zip(&next)
            .find(|(_, s)| matches!(s, Section::Client { .. }))
            .map(|(m, _)| m)
            .ok_or("no audio m-line with Opus")?;
        if self.sections.is_empty() {
            self.opus_pt = opus_pt(first_audio).unwrap_or(111);
            self.level_id = extmap_id(first_audio, AUDIO_LEVEL_URI);
        }
        // Tracks added since the last exchange stay pending, after the
        // client's m-lines (with a new mid where one of those took theirs).
        let pending: Vec<Section> = self
            .sections
            .drain(self.agreed.min(self.sections.len())..)
            .collect();
        self.agreed = next.len();
        self.offered = next.len();
        self.sections = next;
        for p in pending {
            if let Section::Track {
                ssrc,
                stream_id,
                track_id,
                live: true,
                ..
            } = p
            {
                self.add_track(ssrc, stream_id, track_id);
            }
        }
        self.remote = Some(remote);
        self.version += 1;
        let mut body = String::new();
        for (section, (their, stopped)) in self.sections.iter().zip(offered) {
            let ours = match section {
                _ if stopped => None,
                Section::Client { sends: true, .. } => Some("recvonly"),
                Section::Client { sends: false, .. } => Some("inactive"),
                Section::Track { live: true, .. } if matches!(their, "recvonly" | "sendrecv") => {
                    Some("sendonly")
                }
                Section::Track { .. } => Some("inactive"),
                Section::Rejected { .. } => None,
            };
            self.write_section(&mut body, section, ours, "passive");
        }
        Ok(self.session(&body, self.offered))
    }

    /// Add an m-line carrying one publisher's audio; negotiated by the next offer.
    pub fn add_track(&mut self, ssrc: u32, stream_id: String, track_id: String) {
        let mid = (self.sections.len()..)
            .map(|n| n.to_string())
            .find(|m| self.sections.iter().all(|s| s.mid() != m))
            .unwrap_or_default();
        self.sections.push(Section::Track {
            mid,
            ssrc,
            stream_id,
            track_id,
            live: true,
        });
    }

    /// Make the m-line of the track `ssrc` inactive. Returns whether it was live.
    pub fn remove_track(&mut self, gone: u32) -> bool {
        for s in &mut self.sections {
            if let Section::Track { ssrc, live, .. } = s {
                if *ssrc == gone && *live {
                    *live = false;
                    return true;
                }
            }
        }
        false
    }

    /// The server's offer of the current sections.
    pub fn offer(&mut self) -> String {
        self.version += 1;
        self.offered = self.sections.len();
        let mut body = String::new();
        for section in &self.sections {
            let ours = match section {
                Section::Client { sends: true, .. } => Some("recvonly"),
                Section::Client { sends: false, .. } => Some("inactive"),
                Section::Track { live: true, .. } => Some("sendonly"),
                Section::Track { .. } => Some("inactive"),
                Section::Rejected { .. } => None,
            };
            self.write_section(&mut body, section, ours, "actpass");
        }
        self.session(&body, self.offered)
    }

    /// Take the client's answer to [`Negotiation::offer`].
    pub fn accept_answer(&mut self, answer: &str) -> Result<(), String> {
        let sd = parse(answer)?;
        if sd.media_descriptions.len() != self.offered {
            return Err(format!(
                "the answer has {} m-lines, the offer had {}",
                sd.media_descriptions.len(),
                self.offered
            ));
        }
        for (m, s) in sd.media_descriptions.iter().zip(&self.sections) {
            if attr(m, "mid") != Some(s.mid()) {
                return Err(format!(
                    "the answer's m-lines do not match the offer's ({})",
                    s.mid()
                ));
            }
        }
        let remote = remote_ice(&sd, false)?;
        self.remote = Some(remote);
        self.agreed = self.offered;
        Ok(())
    }

    /// The session of the first `count` sections around their m-lines.
    fn session(&self, body: &str, count: usize) -> String {
        let bundle: Vec<&str> = self
            .sections
            .iter()
            .take(count)
            .filter(|s| !matches!(s, Section::Rejected { .. }))
            .map(Section::mid)
            .collect();
        format!(
            "v=0\r\no=earshot {} {} IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
             a=group:BUNDLE {}\r\na=ice-lite\r\na=msid-semantic: WMS *\r\n{body}",
            self.session_id,
            self.version,
            bundle.join(" ")
        )
    }

    /// One m-line; `direction` None means rejected (port 0).
    fn write_section(&self, out: &mut String, s: &Section, direction: Option<&str>, setup: &str) {
        let Some(direction) = direction else {
            let (media, proto, formats) = match s {
                Section::Rejected {
                    media,
                    proto,
                    formats,
                    ..
                } => (media.as_str(), proto.as_str(), formats.as_str()),
                _ => ("audio", "UDP/TLS/RTP/SAVPF", "111"),
            };
            let _ = write!(
                out,
                "m={media} 0 {proto} {formats}\r\nc=IN IP4 0.0.0.0\r\na=mid:{}\r\n",
                s.mid()
            );
            return;
        };
        let (l, pt) = (&self.local, self.opus_pt);
        let _ = write!(
            out,
            "m=audio 9 UDP/TLS/RTP/SAVPF {pt}\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n\
             a=ice-ufrag:{}\r\na=ice-pwd:{}\r\na=fingerprint:sha-256 {}\r\na=setup:{setup}\r\n\
             a=mid:{}\r\n",
            l.ufrag,
            l.pwd,
            l.fingerprint,
            s.mid()
        );
        if let Some(id) = self.level_id {
            let _ = write!(out, "a=extmap:{id} {AUDIO_LEVEL_URI}\r\n");
        }
        let _ = write!(
            out,
            "a={direction}\r\na=rtcp-mux\r\na=rtpmap:{pt} opus/48000/2\r\n\
             a=fmtp:{pt} minptime=10;useinbandfec=1\r\n"
        );
        if let (
            Section::Track {
                ssrc,
                stream_id,
                track_id,
                ..
            },
            "sendonly",
        ) = (s, direction)
        {
            let _ = write!(
                out,
                "a=msid:{stream_id} {track_id}\r\na=ssrc:{ssrc} cname:earshot\r\n\
                 a=ssrc:{ssrc} msid:{stream_id} {track_id}\r\n"
            );
        }
        if self.first_mid() == Some(s.mid()) {
            for (i, c) in l.candidates.iter().enumerate() {
                let _ = write!(out, "a=candidate:{}\r\n", candidate(i, *c));
            }
            let _ = write!(out, "a=end-of-candidates\r\n");
        }
    }
}

/// Host candidate priority (type preference 126, local preference by order).
pub(crate) fn candidate(index: usize, addr: SocketAddr) -> String {
    let local_pref = 65_535u32.saturating_sub(index as u32);
    let priority = (126u32 << 24) | (local_pref << 8) | 255;
    format!(
        "{} 1 udp {priority} {} {} typ host generation 0",
        index + 1,
        addr.ip(),
        addr.port()
    )
}

#[cfg(test)]
#[path = "sdp_tests.rs"]
mod tests;
