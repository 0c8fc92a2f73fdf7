//! The peer-connection media engine never sends STUN to addresses a client
//! names in its candidates (it would let any user make the server send
//! packets to hosts of their choice, inside its own network too): like the
//! direct engine, it is an ICE-lite agent that only answers the checks a
//! client's packets bring, at the address they came from.

mod common;

use std::time::Duration;

use common::peer::media_peer;
use common::relay::strip_candidates;
use common::TestServer;
use serde_json::json;
use tokio::net::UdpSocket;

/// `sdp` with one host candidate for `port` on 127.0.0.1 in its first media section.
fn with_candidate(sdp: &str, port: u16) -> String {
    let mut out = vec![];
    let mut added = false;
    for line in sdp.split("\r\n") {
        out.push(line.to_string());
        if !added && line.starts_with("a=mid:") {
            out.push(format!(
                "a=candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host"
            ));
            added = true;
        }
    }
    assert!(added, "the offer has a media section");
    out.join("\r\n")
}

#[tokio::test]
async fn no_checks_go_to_addresses_a_client_names() {
    let server = TestServer::with(|c| c.media_engine = earshot_sfu::Engine::PeerConnection).await;
    server.room("r1", "amira", &[]).await;
    let mut amira = server.client("amira", "applicant").await;
    let started = amira
        .request(json!({"type": "start_call", "room_id": "r1", "mode": "sfu"}))
        .await;
    let call = started["call"]["id"].as_str().unwrap().to_string();
    let joined = amira
        .request(json!({"type": "join_call", "call_id": call}))
        .await;
    assert_eq!(joined["type"], "call_joined", "{joined}");

    // Two "victims": one named in the offer, one trickled after it.
    let in_offer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let trickled = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer = media_peer().await;
    let offer = strip_candidates(&peer.full_offer().await.unwrap());
    let offer = with_candidate(&offer, in_offer.local_addr().unwrap().port());
    amira
        .send(json!({"type": "sfu_offer", "call_id": call, "sdp": offer}))
        .await;
    let answer = amira.recv_type("sfu_answer").await;
    assert!(
        answer["sdp"].as_str().unwrap().contains("a=ice-lite"),
        "{answer}"
    );
    let port = trickled.local_addr().unwrap().port();
    amira
        .send(
            json!({"type": "ice_candidate", "call_id": call, "candidate": {
            "candidate": format!("candidate:2 1 udp 2130706431 127.0.0.1 {port} typ host"),
            "sdpMid": "0", "sdpMLineIndex": 0}}),
        )
        .await;

    // A full ICE agent checks every remote candidate within a few hundred
    // milliseconds of the answer; give it several check rounds.
    let listen = |victim: UdpSocket| async move {
        let mut buf = [0u8; 1500];
        tokio::time::timeout(Duration::from_secs(2), victim.recv_from(&mut buf))
            .await
            .ok()
            .map(|r| r.unwrap().0)
    };
    let (offer_got, trickle_got) = tokio::join!(listen(in_offer), listen(trickled));
    assert_eq!(
        offer_got, None,
        "bytes sent to the address named in the offer"
    );
    assert_eq!(trickle_got, None, "bytes sent to the trickled address");
    server.stop().await;
}
