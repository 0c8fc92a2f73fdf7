//! SFU calls with real webrtc-rs peers: every participant receives every
//! other participant's audio (in sequence, right payloads, never its own),
//! renegotiation on join and leave, mute, and clean-up of peers, tracks and
//! tasks after many join/leave cycles.

mod common;

use std::time::Duration;

use common::peer::{Packets, SfuParticipant};
use common::TestServer;
use serde_json::{json, Value};

async fn sfu_call(server: &TestServer, room: &str, members: &[&str]) -> String {
    server.room(room, members[0], &members[1..]).await;
    let mut starter = server.client(members[0], "applicant").await;
    let started = starter
        .request(json!({"type": "start_call", "room_id": room, "mode": "sfu"}))
        .await;
    assert_eq!(started["type"], "call_started", "{started}");
    started["call"]["id"].as_str().unwrap().to_string()
}

/// The payload tags received from `stream`, checking sequence continuity.
fn check_stream(p: &SfuParticipant, stream: &str, tag: u8) -> usize {
    let pkts = p.media.packets_from(stream);
    for w in pkts.windows(2) {
        assert_eq!(
            w[1].0,
            w[0].0.wrapping_add(1),
            "gap or reorder in {stream} at {}",
            w[0].0
        );
    }
    assert!(
        pkts.iter().all(|(_, payload)| payload[0] == tag),
        "{stream} carried someone else's audio"
    );
    pkts.len()
}

async fn status(server: &TestServer) -> Value {
    let admin = server.token("root", "admin");
    server.get(&admin, "/api/status").await.1
}

/// Amira, Omar and Lina in a new SFU call, each publishing audio tagged
/// 1, 2 and 3 for as long as this lives.
struct Trio {
    people: [SfuParticipant; 3],
    _publishing: Vec<tokio::sync::oneshot::Sender<()>>,
}

impl Trio {
    async fn join(server: &TestServer, room: &str) -> Trio {
        let call = sfu_call(server, room, &["amira", "omar", "lina"]).await;
        let mut people = vec![];
        let mut publishing = vec![];
        for (tag, (user, role)) in [
            ("amira", "applicant"),
            ("omar", "professional"),
            ("lina", "applicant"),
        ]
        .into_iter()
        .enumerate()
        {
            let p = SfuParticipant::join(server, user, role, &call).await;
            publishing.push(p.media.publish(tag as u8 + 1));
            people.push(p);
        }
        Trio {
            people: people.try_into().ok().unwrap(),
            _publishing: publishing,
        }
    }

    /// Each participant with the tag of the audio it publishes.
    fn tagged(&self) -> [(&SfuParticipant, u8); 3] {
        let [a, b, c] = &self.people;
        [(a, 1), (b, 2), (c, 3)]
    }

    /// Wait until everyone has `n` packets from each of the other two, then
    /// check those streams are gap-free and carry the right audio.
    async fn hear_each_other(&self, n: usize) {
        let everyone = self.tagged();
        for (me, _) in everyone {
            let others = || {
                everyone
                    .into_iter()
                    .filter(move |(o, _)| o.participant_id != me.participant_id)
            };
            me.wait_for("audio from both others", |m| {
                others().all(|(o, _)| m.packets_from(&o.stream()).len() >= n)
            })
            .await;
            for (other, tag) in others() {
                check_stream(me, &other.stream(), tag);
            }
        }
    }
}

#[tokio::test]
async fn three_party_call_everyone_hears_the_other_two_and_never_themselves() {
    let server = TestServer::start().await;
    let trio = Trio::join(&server, "trio").await;
    trio.hear_each_other(50).await;
    for (me, _) in trio.tagged() {
        assert!(
            me.media.packets_from(&me.stream()).is_empty(),
            "{} hears itself",
            me.participant_id
        );
        assert_eq!(
            me.media.streams().len(),
            2,
            "exactly one track per other participant"
        );
    }
    let s = status(&server).await;
    assert_eq!(s["sfu"]["peers"], 3, "{s}");
    assert_eq!(s["sfu"]["tracks"], 6, "{s}");
    assert!(s["sfu"]["forwarded_packets"].as_u64().unwrap() >= 300);
}

#[tokio::test]
async fn leave_mid_call_renegotiates_and_the_others_carry_on() {
    let server = TestServer::start().await;
    let call = sfu_call(&server, "r", &["amira", "omar", "lina"]).await;
    let mut a = SfuParticipant::join(&server, "amira", "applicant", &call).await;
    let _sa = a.media.publish(1);
    let b = SfuParticipant::join(&server, "omar", "professional", &call).await;
    let _sb = b.media.publish(2);
    a.wait_for("omar's audio", |m| m.packets_from(&b.stream()).len() >= 20)
        .await;

    // A third joins mid-call: the first two get a server offer and hear her.
    let c = SfuParticipant::join(&server, "lina", "applicant", &call).await;
    let _sc = c.media.publish(3);
    a.wait_for("lina's audio", |m| m.packets_from(&c.stream()).len() >= 20)
        .await;
    b.wait_for("lina's audio", |m| m.packets_from(&c.stream()).len() >= 20)
        .await;
    c.wait_for("both", |m| {
        m.packets_from(&a.stream()).len() >= 20 && m.packets_from(&b.stream()).len() >= 20
    })
    .await;

    // Lina leaves: the others are told, and keep hearing each other.
    c.send(json!({"type": "leave_call", "call_id": call}));
    let left = a.next_event("call_participant_left").await;
    assert_eq!(left["participant_id"], c.participant_id.as_str());
    let before = a.media.packets_from(&b.stream()).len();
    a.wait_for("omar still heard", |m| {
        m.packets_from(&b.stream()).len() >= before + 50
    })
    .await;
    check_stream(&a, &b.stream(), 2);
    let s = status(&server).await;
    assert_eq!(s["sfu"]["peers"], 2, "{s}");
    assert_eq!(s["sfu"]["tracks"], 2, "{s}");
}

#[tokio::test]
async fn mute_stops_forwarding_and_unmute_resumes_without_a_gap() {
    let server = TestServer::start().await;
    let call = sfu_call(&server, "r", &["amira", "omar", "lina"]).await;
    let a = SfuParticipant::join(&server, "amira", "applicant", &call).await;
    let _sa = a.media.publish(1);
    let mut b = SfuParticipant::join(&server, "omar", "professional", &call).await;
    let _sb = b.media.publish(2);
    b.wait_for("amira", |m| m.packets_from(&a.stream()).len() >= 20)
        .await;

    a.send(json!({"type": "set_mute", "call_id": call, "muted": true}));
    let muted = b.next_event("participant_muted").await;
    assert_eq!(muted["participant_id"], a.participant_id.as_str());
    assert_eq!(muted["muted"], true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = b.media.packets_from(&a.stream()).len();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        b.media.packets_from(&a.stream()).len() <= during + 1,
        "muted audio still forwarded"
    );

    a.send(json!({"type": "set_mute", "call_id": call, "muted": false}));
    b.wait_for("amira again", |m| {
        m.packets_from(&a.stream()).len() >= during + 20
    })
    .await;
    // Sequence numbers continue across the mute: no gap is reported as loss.
    check_stream(&b, &a.stream(), 1);

    // Server-side mute by a professional; an applicant may not.
    let mut c = SfuParticipant::join(&server, "lina", "applicant", &call).await;
    c.send(json!({"type": "mute_participant", "call_id": call, "participant_id": b.participant_id, "muted": true, "request_id": "m1"}));
    let refused = c.next_event("error").await;
    assert_eq!(refused["code"], "ACCESS_DENIED");
    assert_eq!(refused["request_id"], "m1");
    b.send(json!({"type": "mute_participant", "call_id": call, "participant_id": a.participant_id, "muted": true, "request_id": "m2"}));
    let by = loop {
        let e = c.next_event("participant_muted").await;
        if !e["by"].is_null() {
            break e;
        }
    };
    assert_eq!(by["by"], "omar");
    assert_eq!(by["participant_id"], a.participant_id.as_str());
    // The moderator's mute holds even if the participant unmutes themselves.
    let before = c.media.packets_from(&a.stream()).len();
    a.send(json!({"type": "set_mute", "call_id": call, "muted": false}));
    let still = c.next_event("participant_muted").await;
    assert_eq!(still["participant_id"], a.participant_id.as_str());
    assert_eq!(
        still["muted"], true,
        "the announced state is the effective one"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        c.media.packets_from(&a.stream()).len() <= before + 1,
        "moderator mute bypassed"
    );
}

#[tokio::test]
async fn peers_tracks_and_tasks_return_to_zero_after_join_leave_cycles() {
    let server = TestServer::with(|c| c.call_empty_timeout = Duration::from_secs(60)).await;
    let call = sfu_call(&server, "r", &["amira", "omar"]).await;
    let a = SfuParticipant::join(&server, "amira", "applicant", &call).await;
    let _sa = a.media.publish(1);
    for _ in 0..5 {
        let b = SfuParticipant::join(&server, "omar", "professional", &call).await;
        let _sb = b.media.publish(2);
        b.wait_for("amira", |m| m.packets_from(&a.stream()).len() >= 5)
            .await;
        b.close().await;
    }
    a.send(json!({"type": "leave_call", "call_id": call}));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = status(&server).await;
        if s["sfu"]["peers"] == 0 && s["sfu"]["tracks"] == 0 && s["sfu"]["tasks"] == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "resources not freed: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn non_members_cannot_join_or_signal_an_sfu_call() {
    let server = TestServer::start().await;
    let call = sfu_call(&server, "r", &["amira", "omar"]).await;
    let mut eve = server.client("eve", "applicant").await;
    let r = eve
        .request(json!({"type": "join_call", "call_id": call}))
        .await;
    assert_eq!(r["code"], "ACCESS_DENIED");
    let r = eve
        .request(json!({"type": "sfu_offer", "call_id": call, "sdp": "v=0"}))
        .await;
    assert_eq!(r["code"], "ACCESS_DENIED");
    let r = eve
        .request(json!({"type": "ice_candidate", "call_id": call, "candidate": {"candidate": ""}}))
        .await;
    assert_eq!(r["code"], "ACCESS_DENIED");
}

#[tokio::test]
async fn the_loudest_voice_becomes_the_active_speaker() {
    let server = TestServer::start().await;
    let call = sfu_call(&server, "r", &["amira", "omar", "lina"]).await;
    let a = SfuParticipant::join(&server, "amira", "applicant", &call).await;
    let mut b = SfuParticipant::join(&server, "omar", "professional", &call).await;
    let c = SfuParticipant::join(&server, "lina", "applicant", &call).await;
    // Amira talks (-10 dBov with voice); the others send silence.
    let _sa = a.media.publish_with_level(1, Some(10));
    let _sb = b.media.publish_with_level(2, Some(127));
    let _sc = c.media.publish_with_level(3, Some(127));
    b.wait_for("both tracks", |m| m.streams().len() == 2).await;
    let speaker = loop {
        let e = b.next_event("active_speaker").await;
        if !e["participant_id"].is_null() {
            break e;
        }
    };
    assert_eq!(speaker["participant_id"], a.participant_id.as_str());
    assert_eq!(speaker["call_id"], call.as_str());
    // Muted, Amira is not heard, so nobody is speaking any more.
    a.send(json!({"type": "set_mute", "call_id": call, "muted": true}));
    let quiet = b.next_event("active_speaker").await;
    assert!(quiet["participant_id"].is_null(), "{quiet}");
}

#[tokio::test]
async fn offer_glare_keeps_the_servers_offer_and_the_client_answers_it() {
    glare(TestServer::start().await).await;
}

#[tokio::test]
async fn offer_glare_on_the_peer_connection_engine_too() {
    glare(TestServer::with(|c| c.media_engine = earshot_sfu::Engine::PeerConnection).await).await;
}

async fn glare(server: TestServer) {
    let call = sfu_call(&server, "r", &["amira", "omar", "lina"]).await;
    let a = SfuParticipant::join(&server, "amira", "applicant", &call).await;
    let _sa = a.media.publish(1);

    // Omar negotiates by hand so he can collide with the server.
    let mut omar = server.client("omar", "professional").await;
    omar.request(json!({"type": "join_call", "call_id": call}))
        .await;
    let peer = common::peer::media_peer().await;
    let offer = peer.full_offer().await.unwrap();
    let answer = omar
        .request(json!({"type": "sfu_offer", "call_id": call, "sdp": offer}))
        .await;
    assert_eq!(answer["type"], "sfu_answer", "{answer}");
    peer.accept_answer(answer["sdp"].as_str().unwrap().to_string())
        .await
        .unwrap();
    // The server offers Amira's track to Omar. Its candidates are trickled:
    // Omar adds them, as a browser does (an ICE-lite server never probes
    // the addresses a client names, so without them nothing connects).
    let mut server_offer = None;
    let mut candidates = 0;
    while server_offer.is_none() || candidates == 0 {
        let m = omar.recv().await;
        match m["type"].as_str() {
            Some("sfu_offer") => server_offer = Some(m),
            Some("ice_candidate") => {
                let c = serde_json::from_value(m["candidate"].clone()).unwrap();
                peer.pc.add_ice_candidate(c).await.unwrap();
                candidates += 1;
            }
            _ => {}
        }
    }
    let server_offer = server_offer.unwrap();

    // Omar offers at the same moment: the server keeps its own offer.
    let clash = peer.pc.create_offer(None).await.unwrap();
    let refused = omar
        .request(json!({"type": "sfu_offer", "call_id": call, "sdp": clash.sdp}))
        .await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "CONFLICT");

    // Omar answers the server's offer and hears Amira.
    let reply = peer
        .answer(server_offer["sdp"].as_str().unwrap().to_string())
        .await
        .unwrap();
    omar.send(json!({"type": "sfu_answer", "call_id": call, "sdp": reply}))
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while peer.packets_from(&a.stream()).len() < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no audio after resolving glare: {:?}",
            peer.streams()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_participant_whose_media_dies_is_removed_and_told() {
    let server = TestServer::with(|c| {
        c.media_disconnected_timeout = Duration::from_secs(1);
        c.media_failed_timeout = Duration::from_secs(2);
    })
    .await;
    let call = sfu_call(&server, "flaky", &["amira", "omar"]).await;
    let relay = common::relay::Relay::start(Default::default(), Default::default()).await;
    let mut a =
        SfuParticipant::join_via(&server, "amira", "applicant", &call, Some(relay.route())).await;
    let _sa = a.media.publish(1);
    let mut b = SfuParticipant::join(&server, "omar", "professional", &call).await;
    let _sb = b.media.publish(2);
    b.wait_for("audio from amira", |m| {
        m.packets_from(&a.stream()).len() >= 25
    })
    .await;

    // amira's network goes away without a word on her socket.
    relay.cut();
    let left = a.next_event("call_left").await;
    assert_eq!(left["reason"], "media_failed", "{left}");
    assert_eq!(left["call_id"], call.as_str());
    let gone = b.next_event("call_participant_left").await;
    assert_eq!(gone["participant_id"], a.participant_id.as_str());
    let s = status(&server).await;
    assert_eq!(s["sfu"]["peers"], 1, "{s}");
    // omar's call goes on, and amira may come back.
    a.send(json!({"type": "join_call", "call_id": call, "request_id": "again"}));
    let again = a.next_event("call_joined").await;
    assert_eq!(again["call"]["id"], call.as_str());
}

/// The port of the server's end of `p`'s selected ICE pair.
async fn server_port(p: &SfuParticipant) -> u16 {
    for _ in 0..100 {
        let pair = p
            .media
            .pc
            .sctp()
            .transport()
            .ice_transport()
            .get_selected_candidate_pair()
            .await;
        if let Some(pair) = pair {
            return pair.remote.port;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} never selected a candidate pair", p.participant_id);
}

#[tokio::test]
async fn with_a_port_range_every_participant_gets_a_port_of_its_own() {
    // Pick a free range: the OS's next free port and the 50 above it.
    let first = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port().min(65_000)
    };
    let (lo, hi) = (first, first + 50);
    let server = TestServer::with(|c| c.media_port_range = Some([lo, hi])).await;
    let trio = Trio::join(&server, "ranged").await;
    trio.hear_each_other(30).await;
    let mut ports = vec![];
    for (p, _) in trio.tagged() {
        let port = server_port(p).await;
        assert!((lo..=hi).contains(&port), "port {port} outside {lo}-{hi}");
        ports.push(port);
    }
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 3, "one port per participant: {ports:?}");
    let s = status(&server).await;
    assert_eq!(s["sfu"]["peers"], 3, "{s}");
}

#[tokio::test]
async fn the_peer_connection_engine_still_carries_a_three_party_call() {
    let server = TestServer::with(|c| c.media_engine = earshot_sfu::Engine::PeerConnection).await;
    let trio = Trio::join(&server, "pc").await;
    trio.hear_each_other(30).await;
    let s = status(&server).await;
    assert_eq!(s["sfu"]["peers"], 3, "{s}");
    assert_eq!(s["sfu"]["tracks"], 6, "{s}");
}

/// Junk of every kind the media socket sorts by its first byte: STUN (a
/// check for nobody, a check with a forged password, broken messages),
/// DTLS records, SRTP and SRTCP that do not authenticate, and the rest.
fn junk(i: u32) -> Vec<u8> {
    let mut x = i.wrapping_mul(2_654_435_761) | 1;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    };
    let len = 1 + usize::from(rnd()) * 4;
    let mut b: Vec<u8> = (0..len).map(|_| rnd()).collect();
    b[0] = (i % 256) as u8;
    if i % 7 == 0 && b.len() >= 20 {
        // A STUN binding request header with the magic cookie.
        b[..8].copy_from_slice(&[0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42]);
        let body = (b.len() - 20) as u16;
        b[2..4].copy_from_slice(&body.to_be_bytes());
    }
    b
}

#[tokio::test]
async fn junk_datagrams_on_the_media_port_change_nothing() {
    let server = TestServer::start().await;
    let trio = Trio::join(&server, "noisy").await;
    trio.hear_each_other(20).await;
    let media = std::net::SocketAddr::from(([127, 0, 0, 1], server_port(&trio.people[0]).await));
    let noise = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let _ = noise.send_to(&[], media).await;
    for i in 0..3000 {
        let _ = noise.send_to(&junk(i), media).await;
        if i % 100 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // The call carries on, gap-free, for everyone.
    let before = trio.people[0]
        .media
        .packets_from(&trio.people[1].stream())
        .len();
    trio.hear_each_other(before + 50).await;
    let s = status(&server).await;
    assert_eq!(s["sfu"]["peers"], 3, "{s}");
}

#[tokio::test]
async fn behind_a_1_to_1_nat_the_public_ip_is_advertised_in_place_of_the_hosts() {
    // Nothing is sent there: the client only reads the server's candidates.
    let server = TestServer::with(|c| c.media_public_ips = vec!["203.0.113.7".into()]).await;
    let call = sfu_call(&server, "nat", &["amira", "omar"]).await;
    let mut client = server.client("amira", "applicant").await;
    assert_eq!(client.join_call(&call).await["type"], "call_joined");
    let media = common::peer::media_peer().await;
    let offer = media.full_offer().await.unwrap();
    let answer = client
        .request(json!({"type": "sfu_offer", "call_id": call, "sdp": offer}))
        .await;
    assert_eq!(answer["type"], "sfu_answer", "{answer}");
    let sdp = answer["sdp"].as_str().unwrap();
    let candidates: Vec<&str> = sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .collect();
    assert!(!candidates.is_empty(), "{sdp}");
    for c in &candidates {
        assert!(c.contains(" 203.0.113.7 ") && c.contains("typ host"), "{c}");
    }
    let trickled = client.recv_type("ice_candidate").await;
    let c = trickled["candidate"]["candidate"].as_str().unwrap();
    assert!(
        c.starts_with("candidate:") && c.contains(" 203.0.113.7 "),
        "{c}"
    );
    let _ = media.pc.close().await;
}
