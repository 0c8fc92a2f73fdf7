//! Call lifecycle and p2p signaling: ring, join, relay of offers, answers
//! and candidates between members only, end by a professional, empty
//! timeout, and the stored record. The p2p test carries real media between
//! two webrtc-rs peers that only ever talk through the server's relay.

mod common;

use std::time::Duration;

use common::peer::{media_peer, Packets};
use common::TestServer;
use serde_json::{json, Value};

#[tokio::test]
async fn start_rings_every_member_device_and_join_lists_participants() {
    let server = TestServer::start().await;
    server.room("visa-9", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar_laptop = server.client("omar", "professional").await;
    let mut omar_phone = server.client("omar", "professional").await;
    let mut stranger = server.client("eve", "applicant").await;

    let started = amira.start_call("visa-9", "p2p").await;
    assert_eq!(started["type"], "call_started", "{started}");
    let call_id = started["call"]["id"].as_str().unwrap().to_string();
    assert_eq!(started["call"]["initiator"]["id"], "amira");
    assert_eq!(started["call"]["mode"], "p2p");
    for c in [&mut omar_laptop, &mut omar_phone] {
        let ring = c.recv_type("call_started").await;
        assert_eq!(ring["call"]["id"], call_id.as_str());
    }
    assert!(
        stranger
            .collect_type("call_started", Duration::from_millis(300))
            .await
            .is_empty(),
        "non-members are not rung"
    );

    // One call per room.
    let again = omar_laptop
        .request(json!({"type": "start_call", "room_id": "visa-9"}))
        .await;
    assert_eq!(again["code"], "CONFLICT");

    let a = amira.join_call(&call_id).await;
    assert_eq!(a["type"], "call_joined");
    let o = omar_laptop.join_call(&call_id).await;
    assert_eq!(o["call"]["participants"].as_array().unwrap().len(), 2);
    let joined = amira.recv_type("call_participant_joined").await;
    assert_eq!(joined["participant"]["user"]["id"], "omar");
    assert_eq!(joined["participant"]["participant_id"], o["participant_id"]);

    // A non-member can neither join nor signal.
    let denied = stranger.join_call(&call_id).await;
    assert_eq!(denied["code"], "ACCESS_DENIED");
    let denied = stranger
        .request(json!({"type": "call_signal", "call_id": call_id, "to": a["participant_id"], "signal": {"type": "offer", "sdp": "x"}}))
        .await;
    assert_eq!(denied["code"], "ACCESS_DENIED");
    let unknown = amira
        .request(json!({"type": "join_call", "call_id": "no-such-call"}))
        .await;
    assert_eq!(unknown["code"], "NOT_FOUND");
}

#[tokio::test]
async fn p2p_call_relays_signals_and_media_flows_peer_to_peer() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let started = amira.start_call("r", "p2p").await;
    let call_id = started["call"]["id"].as_str().unwrap().to_string();
    let a = amira.join_call(&call_id).await;
    let o = omar.join_call(&call_id).await;
    let (a_id, o_id) = (a["participant_id"].clone(), o["participant_id"].clone());

    // Signals to an unknown participant are refused.
    let lost = amira
        .request(json!({"type": "call_signal", "call_id": call_id, "to": "999999", "signal": {}}))
        .await;
    assert_eq!(lost["code"], "NOT_FOUND");

    let peer_a = media_peer().await;
    let peer_o = media_peer().await;
    let offer = peer_a.full_offer().await.unwrap();
    amira.send(json!({"type": "call_signal", "call_id": call_id, "to": o_id, "signal": {"type": "offer", "sdp": offer}})).await;
    let got = omar.recv_type("call_signal").await;
    assert_eq!(got["from"], a_id);
    assert_eq!(got["from_user"], "amira");
    let answer = peer_o
        .full_answer(got["signal"]["sdp"].as_str().unwrap().to_string())
        .await
        .unwrap();
    omar.send(json!({"type": "call_signal", "call_id": call_id, "to": a_id, "signal": {"type": "answer", "sdp": answer}})).await;
    let got = amira.recv_type("call_signal").await;
    assert_eq!(got["from"], o_id);
    peer_a
        .accept_answer(got["signal"]["sdp"].as_str().unwrap().to_string())
        .await
        .unwrap();

    let _stop_a = peer_a.publish(0xA);
    let _stop_o = peer_o.publish(0x0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (to_o, to_a) = (peer_o.packets_from("local"), peer_a.packets_from("local"));
        if to_o.len() >= 25 && to_a.len() >= 25 {
            assert!(to_o.iter().all(|(_, p)| p[0] == 0xA), "omar hears amira");
            assert!(to_a.iter().all(|(_, p)| p[0] == 0x0), "amira hears omar");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "media did not flow: {} / {}",
            to_o.len(),
            to_a.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Peer to peer: the server's SFU forwarded nothing.
    let admin = server.token("root", "admin");
    let (_, status) = server.get(&admin, "/api/status").await;
    assert_eq!(status["sfu"]["forwarded_packets"], 0, "{status}");
    let _ = peer_a.pc.close().await;
    let _ = peer_o.pc.close().await;
}

#[tokio::test]
async fn end_by_professional_tells_the_room_and_is_stored() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar", "lina"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let mut lina = server.client("lina", "applicant").await;
    let started = amira.start_call("r", "p2p").await;
    let call_id = started["call"]["id"].as_str().unwrap().to_string();
    amira.join_call(&call_id).await;
    omar.join_call(&call_id).await;
    lina.join_call(&call_id).await;

    // Another applicant cannot end it.
    let denied = lina
        .request(json!({"type": "end_call", "call_id": call_id}))
        .await;
    assert_eq!(denied["code"], "ACCESS_DENIED");
    tokio::time::sleep(Duration::from_millis(50)).await;
    lina.request(json!({"type": "leave_call", "call_id": call_id}))
        .await;

    let ok = omar
        .request(json!({"type": "end_call", "call_id": call_id}))
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
    for c in [&mut amira, &mut omar, &mut lina] {
        let ended = c.recv_type("call_ended").await;
        assert_eq!(ended["call_id"], call_id.as_str());
        assert_eq!(ended["reason"], "ended");
        assert_eq!(ended["ended_by"], "omar");
    }
    let after = amira.join_call(&call_id).await;
    assert_eq!(after["code"], "NOT_FOUND");

    let (status, record) = server
        .get(&amira.token, &format!("/api/calls/{call_id}"))
        .await;
    assert_eq!(status, 200);
    let call = &record["call"];
    assert_eq!(call["mode"], "p2p");
    assert_eq!(call["end_reason"], "ended");
    assert_eq!(call["ended_by"], "omar");
    let parts = call["participants"].as_array().unwrap();
    let users: Vec<_> = parts
        .iter()
        .map(|p| p["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(users.len(), 3, "{parts:?}");
    for u in ["amira", "omar", "lina"] {
        assert!(users.contains(&u));
    }
    for p in parts {
        assert!(p["left_at"].as_i64().unwrap() >= p["joined_at"].as_i64().unwrap());
    }
    let eve = server.token("eve", "applicant");
    let (status, _) = server.get(&eve, &format!("/api/calls/{call_id}")).await;
    assert_eq!(
        status, 404,
        "non-members cannot read the record (nor learn it exists)"
    );
    // A new call may start now.
    let again = amira.start_call("r", "p2p").await;
    assert_eq!(again["type"], "call_started");
}

#[tokio::test]
async fn a_call_nobody_is_in_ends_by_itself() {
    // A call that rings nobody (a room of one) and that nobody joins.
    let server = TestServer::with(|c| c.call_empty_timeout = Duration::from_millis(300)).await;
    server.room("solo", "amira", &[]).await;
    let mut amira = server.client("amira", "applicant").await;
    let started = amira.start_call("solo", "p2p").await;
    let call_id = started["call"]["id"].as_str().unwrap().to_string();
    let ended = amira.recv_type("call_ended").await;
    assert_eq!(ended["call_id"], call_id.as_str());
    assert_eq!(ended["reason"], "empty");
    assert_eq!(ended["outcome"], "cancelled");
}

#[tokio::test]
async fn ice_servers_carry_time_limited_turn_credentials() {
    let server = TestServer::with(|c| {
        c.stun_urls = vec!["stun:stun.example.test:3478".into()];
        c.turn_urls = vec!["turn:turn.example.test:3478?transport=udp".into()];
        c.turn_secret = Some("coturn-shared-secret".into());
    })
    .await;
    server.room("r", "amira", &[]).await;
    let mut amira = server.client("amira", "applicant").await;
    let started = amira.start_call("r", "p2p").await;
    let joined = amira
        .request(json!({"type": "join_call", "call_id": started["call"]["id"]}))
        .await;
    let servers = joined["ice_servers"].as_array().unwrap();
    assert_eq!(servers[0]["urls"][0], "stun:stun.example.test:3478");
    let user = servers[1]["username"].as_str().unwrap();
    let (expiry, who) = user.split_once(':').unwrap();
    assert_eq!(who, "amira");
    let expiry: u64 = expiry.parse().unwrap();
    let now = earshot::auth::now_secs();
    assert!(expiry > now && expiry <= now + 3600 + 5);
    assert_eq!(
        servers[1]["credential"].as_str().unwrap(),
        earshot_signaling::call::ice::turn_credential("coturn-shared-secret", user)
    );
}

#[tokio::test]
async fn staff_of_another_tenant_cannot_end_or_moderate_a_call() {
    let server = TestServer::start().await;
    let acme = server.token_with(earshot::auth::Claims {
        tenant: Some("acme".into()),
        ..common::claims("amira", "applicant")
    });
    // Made under its id by acme's product, in Amira's name.
    let product = server.token_with(earshot::auth::Claims {
        tenant: Some("acme".into()),
        ..common::claims("amira", "service")
    });
    server
        .create_room(
            &product,
            json!({"id": "acme-room", "type": "ticket", "title": "Acme", "participants": []}),
        )
        .await;
    let mut amira = common::Client::connect(&format!("{}?token={acme}", server.ws_url()))
        .await
        .unwrap();
    amira.user = "amira".into();
    amira.recv_type("welcome").await;
    let started = amira.start_call("acme-room", "p2p").await;
    let call_id = started["call"]["id"].as_str().unwrap().to_string();
    let joined = amira.join_call(&call_id).await;

    let mut globex_admin = server
        .client_with(earshot::auth::Claims {
            tenant: Some("globex".into()),
            ..common::claims("gus", "admin")
        })
        .await;
    let r = globex_admin
        .request(json!({"type": "end_call", "call_id": call_id}))
        .await;
    assert_eq!(r["code"], "ACCESS_DENIED");
    let r = globex_admin
        .request(json!({"type": "mute_participant", "call_id": call_id, "participant_id": joined["participant_id"], "muted": true}))
        .await;
    assert_eq!(r["code"], "ACCESS_DENIED");

    // Staff of the room's own tenant may.
    let mut acme_admin = server
        .client_with(earshot::auth::Claims {
            tenant: Some("acme".into()),
            ..common::claims("ada", "admin")
        })
        .await;
    let r = acme_admin
        .request(json!({"type": "end_call", "call_id": call_id}))
        .await;
    assert_eq!(r["type"], "ok", "{r}");
    assert_eq!(amira.recv_type("call_ended").await["ended_by"], "ada");
}

#[tokio::test]
async fn a_device_that_leaves_and_comes_back_has_a_record_per_stay() {
    let server = TestServer::start().await;
    server.room("back", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let started = amira.start_call("back", "p2p").await;
    let call_id = started["call"]["id"].as_str().unwrap().to_string();
    amira.join_call(&call_id).await;
    let joined = omar.join_call(&call_id).await;
    let pid = joined["participant_id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(30)).await;
    omar.request(json!({"type": "leave_call", "call_id": call_id}))
        .await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    omar.join_call(&call_id).await;

    // While omar is back in the call, his second stay is open.
    let (_, record) = server
        .get(&amira.token, &format!("/api/calls/{call_id}"))
        .await;
    let stays: Vec<&Value> = record["call"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["participant_id"] == pid.as_str())
        .collect();
    assert_eq!(stays.len(), 2, "{record}");
    let (first, second) = (stays[0], stays[1]);
    let left = first["left_at"].as_i64().expect("first stay ended");
    assert!(left >= first["joined_at"].as_i64().unwrap());
    assert!(second["joined_at"].as_i64().unwrap() >= left);
    assert!(second["left_at"].is_null(), "{second}");
    // The call still counts two devices.
    amira
        .request(json!({"type": "end_call", "call_id": call_id}))
        .await;
    amira.recv_type("call_ended").await;
    let (_, list) = server.get(&amira.token, "/api/calls").await;
    assert_eq!(list["calls"][0]["participants"], 2, "{list}");
}

#[tokio::test]
async fn a_device_back_from_a_dropped_connection_replaces_its_old_participant() {
    let server = TestServer::start().await;
    server.room("phone", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let started = amira.start_call("phone", "p2p").await;
    let call_id = started["call"]["id"].as_str().unwrap().to_string();
    let first = amira.join_call(&call_id).await;
    let old = first["participant_id"].as_str().unwrap().to_string();
    let o = omar.join_call(&call_id).await;
    let omar_pid = o["participant_id"].as_str().unwrap().to_string();

    // Amira's phone changes networks: its old socket is half-open (still
    // connected as far as the server knows) and a new one joins again.
    let mut back = server.client("amira", "applicant").await;

    // Naming someone else's participant is refused, and changes nothing.
    let denied = back
        .request(json!({"type": "join_call", "call_id": call_id, "replaces": omar_pid}))
        .await;
    assert_eq!(denied["code"], "ACCESS_DENIED", "{denied}");
    let bad = back
        .request(json!({"type": "join_call", "call_id": call_id, "replaces": ""}))
        .await;
    assert_eq!(bad["code"], "BAD_REQUEST", "{bad}");

    let rejoined = back
        .request(json!({"type": "join_call", "call_id": call_id, "replaces": old}))
        .await;
    assert_eq!(rejoined["type"], "call_joined", "{rejoined}");
    let new = rejoined["participant_id"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    let mut present: Vec<&str> = rejoined["call"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["participant_id"].as_str().unwrap())
        .collect();
    present.sort();
    let mut want = vec![new.as_str(), omar_pid.as_str()];
    want.sort();
    assert_eq!(present, want, "the old participant is gone: {rejoined}");
    // Omar sees the old one leave and the new one join, once each.
    let left = omar.recv_type("call_participant_left").await;
    assert_eq!(left["participant_id"], old.as_str(), "{left}");
    let joined = omar.recv_type("call_participant_joined").await;
    assert_eq!(joined["participant"]["participant_id"], new.as_str());
    // The old socket (if anyone still reads it) is told why.
    let gone = amira
        .recv_where("call_left", |m| m["type"] == "call_left")
        .await;
    assert_eq!(gone["reason"], "replaced", "{gone}");
    // The record closes the old stay.
    let (_, record) = server
        .get(&back.token, &format!("/api/calls/{call_id}"))
        .await;
    let stay = record["call"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["participant_id"] == old.as_str())
        .cloned()
        .expect("the old stay is recorded");
    assert!(stay["left_at"].is_i64(), "{stay}");

    // A participant id already gone is ignored: a second rejoin just joins.
    let mut again = server.client("amira", "applicant").await;
    let third = again
        .request(json!({"type": "join_call", "call_id": call_id, "replaces": old}))
        .await;
    assert_eq!(third["type"], "call_joined", "{third}");
    assert_eq!(
        third["call"]["participants"].as_array().unwrap().len(),
        3,
        "{third}"
    );
}
