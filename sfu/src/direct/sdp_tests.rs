use super::*;
use proptest::prelude::*;

fn local() -> Local {
    Local {
        ufrag: "srvufrag".into(),
        pwd: "server-password-22char".into(),
        fingerprint: "AA:BB".into(),
        candidates: vec!["127.0.0.1:40000".parse().unwrap()],
    }
}

/// What Chromium offers for one microphone and a data channel.
const BROWSER_OFFER: &str = "v=0\r\no=- 46117314 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
    a=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS mic\r\n\
    m=audio 9 UDP/TLS/RTP/SAVPF 111 63 0\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n\
    a=ice-ufrag:cli1\r\na=ice-pwd:client-password-22char\r\na=ice-options:trickle\r\n\
    a=fingerprint:sha-256 0a:1b:2c\r\na=setup:actpass\r\na=mid:0\r\n\
    a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
    a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=sendrecv\r\na=msid:mic t1\r\n\
    a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n\
    a=rtpmap:63 red/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=ssrc:1111 cname:x\r\n\
    m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
    a=ice-ufrag:cli1\r\na=ice-pwd:client-password-22char\r\na=fingerprint:sha-256 0a:1b:2c\r\n\
    a=setup:actpass\r\na=mid:1\r\na=sctp-port:5000\r\n";

fn sections(text: &str) -> Vec<(String, u16, &'static str)> {
    let sd = parse(text).unwrap();
    sd.media_descriptions
        .iter()
        .map(|m| {
            (
                attr(m, "mid").unwrap().to_string(),
                m.media_name.port.value as u16,
                direction(m),
            )
        })
        .collect()
}

#[test]
fn a_browser_offer_is_answered_ice_lite_passive_receiving_opus_and_rejecting_the_rest() {
    let mut n = Negotiation::new(local(), 7);
    let answer = n.answer(BROWSER_OFFER).unwrap();
    assert_eq!(
        sections(&answer),
        vec![("0".into(), 9, "recvonly"), ("1".into(), 0, "sendrecv")]
    );
    for line in [
        "a=ice-lite",
        "a=group:BUNDLE 0\r\n",
        "a=setup:passive",
        "a=ice-ufrag:srvufrag",
        "a=fingerprint:sha-256 AA:BB",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host",
        "m=application 0 UDP/DTLS/SCTP webrtc-datachannel",
    ] {
        assert!(answer.contains(line), "no {line:?} in\n{answer}");
    }
    assert!(
        !answer.contains("sdes:mid"),
        "only the audio level is taken"
    );
    assert_eq!(n.codec(), (111, Some(1)));
    let r = n.remote().unwrap();
    assert_eq!(
        (r.ufrag.as_str(), r.fingerprint.as_str()),
        ("cli1", "0A:1B:2C")
    );
}

#[test]
fn tracks_are_offered_sendonly_with_their_ssrc_and_leave_as_inactive() {
    let mut n = Negotiation::new(local(), 7);
    n.answer(BROWSER_OFFER).unwrap();
    n.add_track(42, "p-2".into(), "audio-2".into());
    n.add_track(43, "p-3".into(), "audio-3".into());
    let offer = n.offer();
    assert_eq!(
        sections(&offer),
        vec![
            ("0".into(), 9, "recvonly"),
            ("1".into(), 0, "sendrecv"),
            ("2".into(), 9, "sendonly"),
            ("3".into(), 9, "sendonly"),
        ]
    );
    assert!(offer.contains("a=setup:actpass"), "{offer}");
    assert!(offer.contains("a=ssrc:42 msid:p-2 audio-2"), "{offer}");
    assert!(offer.contains("a=group:BUNDLE 0 2 3\r\n"), "{offer}");

    assert!(n.remove_track(42));
    assert!(!n.remove_track(42), "already gone");
    let offer = n.offer();
    assert_eq!(sections(&offer)[2], ("2".into(), 9, "inactive"));
    assert!(!offer.contains("a=ssrc:42"), "{offer}");
}

/// The browser's answer to `offer`: every m-line kept, directions flipped.
fn browser_answer(offer: &str) -> String {
    offer
        .replace("a=ice-lite\r\n", "")
        .replace("a=ice-ufrag:srvufrag", "a=ice-ufrag:cli1")
        .replace(
            "a=fingerprint:sha-256 AA:BB",
            "a=fingerprint:sha-256 0a:1b:2c",
        )
        .replace("a=setup:actpass", "a=setup:active")
        .replace("a=sendonly", "a=recvonly")
}

#[test]
fn an_answer_must_keep_the_offered_m_lines() {
    let mut n = Negotiation::new(local(), 7);
    n.answer(BROWSER_OFFER).unwrap();
    n.add_track(42, "p-2".into(), "audio-2".into());
    let offer = n.offer();
    n.accept_answer(&browser_answer(&offer)).unwrap();
    // One m-line short.
    let cut = offer.find("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:srvufrag\r\na=ice-pwd:server-password-22char\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=mid:2").unwrap();
    let err = n.accept_answer(&browser_answer(&offer[..cut])).unwrap_err();
    assert!(err.contains("m-lines"), "{err}");
}

#[test]
fn tracks_added_while_an_exchange_is_under_way_wait_for_the_next_offer() {
    let mut n = Negotiation::new(local(), 7);
    n.answer(BROWSER_OFFER).unwrap();
    n.add_track(42, "p-2".into(), "audio-2".into());
    let first = n.offer();
    // Another publisher joins before the client has answered.
    n.add_track(43, "p-3".into(), "audio-3".into());
    n.accept_answer(&browser_answer(&first)).unwrap();
    let second = n.offer();
    assert_eq!(sections(&second).len(), 4, "{second}");
    assert!(second.contains("a=ssrc:43 msid:p-3 audio-3"), "{second}");
    n.accept_answer(&browser_answer(&second)).unwrap();

    // A client offer made before it saw a pending track keeps that track
    // pending; it is offered afterwards.
    n.add_track(44, "p-4".into(), "audio-4".into());
    let again = browser_answer(&second).replace("a=setup:active", "a=setup:actpass");
    let answer = n.answer(&again).unwrap();
    assert_eq!(
        sections(&answer).len(),
        4,
        "the answer keeps the offer's m-lines"
    );
    assert!(!answer.contains("a=ssrc:44"), "{answer}");
    assert!(n.offer().contains("a=ssrc:44 msid:p-4 audio-4"));
}

#[test]
fn a_re_offer_from_the_client_is_answered_with_the_tracks_it_receives() {
    let mut n = Negotiation::new(local(), 7);
    n.answer(BROWSER_OFFER).unwrap();
    n.add_track(42, "p-2".into(), "audio-2".into());
    let offer = n.offer();
    n.accept_answer(&browser_answer(&offer)).unwrap();
    // The client offers again (an ICE restart, say), our track included.
    let again = browser_answer(&offer).replace("a=setup:active", "a=setup:actpass");
    let answer = n.answer(&again).unwrap();
    assert_eq!(sections(&answer)[2], ("2".into(), 9, "sendonly"));
    assert!(answer.contains("a=ssrc:42 cname:earshot"), "{answer}");
}

#[test]
fn offers_the_server_cannot_take_are_refused_with_a_reason() {
    let mut n = Negotiation::new(local(), 7);
    for (offer, reason) in [
        ("garbage", "unreadable"),
        (
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
            "without m-lines",
        ),
        (
            &BROWSER_OFFER.replace("a=setup:actpass", "a=setup:passive"),
            "DTLS server",
        ),
        (&BROWSER_OFFER.replace("sha-256", "sha-1"), "only sha-256"),
        (
            &BROWSER_OFFER.replace("a=ice-pwd:client-password-22char\r\n", ""),
            "ice-pwd",
        ),
        (
            &BROWSER_OFFER.replace("opus/48000/2", "ISAC/16000"),
            "no audio m-line with Opus",
        ),
        (&BROWSER_OFFER.replace("a=mid:1", "a=mid:0"), "twice"),
    ] {
        let err = n.answer(offer).unwrap_err();
        assert!(err.contains(reason), "{reason}: {err}");
    }
    // Nothing was taken from the refused offers.
    assert!(n.remote().is_none());
    n.answer(BROWSER_OFFER).unwrap();
    let moved = BROWSER_OFFER.replace("a=mid:0", "a=mid:9");
    assert!(n.answer(&moved).unwrap_err().contains("was mid 0"));
}

proptest! {
    #[test]
    fn no_description_makes_it_panic(text in "(?s).{0,600}", lines in proptest::collection::vec("[a-z]=[ -~]{0,40}", 0..20)) {
        let mut n = Negotiation::new(local(), 7);
        let _ = n.answer(&text);
        let _ = n.accept_answer(&text);
        let joined = lines.join("\r\n");
        let _ = n.answer(&joined);
        let mutated = format!("{BROWSER_OFFER}{joined}\r\n");
        let _ = n.answer(&mutated);
        let _ = n.accept_answer(&mutated);
    }
}
