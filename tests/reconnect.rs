//! Reconnect recovery: `join_room` with `since_seq` returns exactly the
//! messages missed while away, then live delivery continues with no gap and
//! no duplicate, even while others keep sending during the rejoin.

mod common;

use common::{Client, TestServer};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

async fn rejoin(c: &mut Client, room: &str, since: i64) -> Value {
    let r = c
        .request(json!({"type": "join_room", "room_id": room, "since_seq": since}))
        .await;
    assert_eq!(r["type"], "room_joined", "{r}");
    r
}

fn seqs(messages: &Value) -> Vec<i64> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect()
}

/// Read `message` events in `room` until one with `seq`; returns their seqs.
async fn live_until(c: &mut Client, room: &str, seq: i64) -> Vec<i64> {
    let mut got = vec![];
    loop {
        let m = c.recv_type("message").await;
        assert_eq!(m["message"]["room_id"], room);
        let s = m["message"]["seq"].as_i64().unwrap();
        got.push(s);
        if s >= seq {
            return got;
        }
    }
}

#[tokio::test]
async fn rejoin_with_since_seq_returns_exactly_what_was_missed() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    amira.join("r").await;
    omar.join("r").await;
    for i in 1..=3 {
        amira
            .say("r", &format!("before-{i}"), &format!("before {i}"))
            .await;
    }
    assert_eq!(live_until(&mut omar, "r", 3).await, [1, 2, 3]);
    omar.ws.close(None).await.unwrap();
    amira.recv_type("member_left").await;

    for i in 4..=8 {
        amira
            .say("r", &format!("away-{i}"), &format!("while away {i}"))
            .await;
    }

    let mut omar = server.client("omar", "professional").await;
    let joined = rejoin(&mut omar, "r", 3).await;
    assert_eq!(seqs(&joined["missed"]), [4, 5, 6, 7, 8]);
    let texts: Vec<_> = joined["missed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts[0], "while away 4");
    assert_eq!(texts[4], "while away 8");
    assert_eq!(joined["has_more"], false);
    assert_eq!(joined["last_seq"], 8);

    // Live delivery resumes at 9, with nothing from `missed` repeated.
    amira.say("r", "after-9", "after 9").await;
    amira.say("r", "after-10", "after 10").await;
    assert_eq!(live_until(&mut omar, "r", 10).await, [9, 10]);
    let rest = omar.sync().await;
    assert!(!rest.iter().any(|m| m["type"] == "message"), "{rest:?}");

    // Caught up: nothing is missed, and a since_seq past the end is harmless.
    let mut tablet = server.client("omar", "professional").await;
    let joined = rejoin(&mut tablet, "r", 10).await;
    assert_eq!(joined["missed"], json!([]));
    let joined = rejoin(&mut tablet, "r", 50).await;
    assert_eq!(
        (joined["missed"].clone(), &joined["last_seq"]),
        (json!([]), &json!(10))
    );
}

/// Send messages to `room` without pause until `stop`; returns the last
/// seq acked. (Each `say` skips what arrived before its ack, so this
/// sender's queue never grows.)
fn keep_sending(
    mut c: Client,
    room: &'static str,
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicI64>,
) -> JoinHandle<i64> {
    tokio::spawn(async move {
        let (mut last, mut i) = (0, 0);
        while !stop.load(Ordering::Relaxed) {
            i += 1;
            let ack = c.say(room, &format!("{}-{i}", c.user), "busy").await;
            last = ack["seq"].as_i64().unwrap();
            acked.fetch_max(last, Ordering::Relaxed);
        }
        last
    })
}

/// One of Omar's devices coming back: rejoins with `since_seq`, then reads
/// live messages until it has everything up to the final seq (sent on
/// `last` once the senders stop). Returns (missed, live).
fn come_back(
    url: String,
    since: i64,
    mut last: watch::Receiver<i64>,
) -> JoinHandle<(Vec<i64>, Vec<i64>)> {
    tokio::spawn(async move {
        let mut c = Client::connect(&url).await.unwrap();
        c.user = "omar".into();
        c.recv_type("welcome").await;
        let joined = rejoin(&mut c, "r", since).await;
        assert_eq!(joined["has_more"], false);
        let missed = seqs(&joined["missed"]);
        assert_eq!(missed.last().copied(), joined["last_seq"].as_i64());
        let mut live = vec![];
        loop {
            let upto = live.last().or(missed.last()).copied().unwrap_or(since);
            if upto >= *last.borrow_and_update() {
                return (missed, live);
            }
            tokio::select! {
                m = c.recv_type("message") => live.push(m["message"]["seq"].as_i64().unwrap()),
                _ = last.changed() => {}
            }
        }
    })
}

#[tokio::test]
async fn rejoin_while_others_keep_sending_has_every_seq_exactly_once() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar", "lina"]).await;
    let mut omar = server.client("omar", "professional").await;
    omar.join("r").await;
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicI64::new(0));
    let mut senders = vec![];
    for user in ["amira", "lina"] {
        let mut c = server.client(user, "applicant").await;
        c.join("r").await;
        senders.push(keep_sending(c, "r", stop.clone(), acked.clone()));
    }

    // Omar reads some, drops off mid-stream, and comes back on several
    // devices, one after another, while the messages keep coming.
    let read = live_until(&mut omar, "r", 10).await;
    let seen = *read.last().unwrap();
    omar.ws.close(None).await.unwrap();
    let (last_tx, last_rx) = watch::channel(i64::MAX);
    let url = format!("{}?token={}", server.ws_url(), omar.token);
    let mut devices = vec![];
    for _ in 0..8 {
        let before = acked.load(Ordering::Relaxed);
        while acked.load(Ordering::Relaxed) < before + 3 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        devices.push(come_back(url.clone(), seen, last_rx.clone()));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    let mut last = 0;
    for s in senders {
        last = last.max(s.await.unwrap());
    }
    last_tx.send(last).unwrap();

    let expected: Vec<i64> = (seen + 1..=last).collect();
    for (i, device) in devices.into_iter().enumerate() {
        let (missed, live) = device.await.unwrap();
        assert!(
            !missed.is_empty() && !live.is_empty(),
            "device {i} rejoined mid-stream: missed {missed:?}, live {live:?}"
        );
        let mut all = missed.clone();
        all.extend(&live);
        let unique: BTreeSet<i64> = all.iter().copied().collect();
        assert_eq!(
            unique.len(),
            all.len(),
            "device {i} got a seq twice: {all:?}"
        );
        assert_eq!(
            all, expected,
            "device {i}: every seq after {seen}, in order, no gap"
        );
    }
}

#[tokio::test]
async fn more_missed_than_recovery_allows_sets_has_more() {
    // The cap (`max_recovery`, 500 by default) is not a server setting, so
    // this test misses more than that and checks the rest can be paged.
    const TOTAL: i64 = 520;
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join("r").await;
    let mut next = 1;
    while next <= TOTAL {
        // Pipelined in batches small enough for her queue (ack + echo each).
        let batch: Vec<i64> = (next..=TOTAL.min(next + 99)).collect();
        for i in &batch {
            amira
                .send(json!({"type": "send_message", "room_id": "r", "client_msg_id": format!("m{i}"), "text": format!("m{i}")}))
                .await;
        }
        for _ in &batch {
            let ack = amira.recv_type("message_ack").await;
            assert_eq!(ack["duplicate"], false);
        }
        next += batch.len() as i64;
    }

    let mut omar = server.client("omar", "professional").await;
    let joined = rejoin(&mut omar, "r", 0).await;
    assert_eq!(joined["has_more"], true);
    assert_eq!(joined["last_seq"], TOTAL);
    let missed = seqs(&joined["missed"]);
    let got = missed.len() as i64;
    assert!(got > 0 && got < TOTAL, "{got} of {TOTAL}");
    assert_eq!(
        missed,
        (1..=got).collect::<Vec<_>>(),
        "oldest first, no gap"
    );

    // The rest comes from history.
    let page = omar
        .request(json!({"type": "get_messages", "room_id": "r", "after": got, "limit": 200}))
        .await;
    assert_eq!(page["type"], "messages", "{page}");
    assert_eq!(
        seqs(&page["messages"]),
        (got + 1..=TOTAL).collect::<Vec<_>>()
    );
    assert_eq!(page["has_more"], false);
}
