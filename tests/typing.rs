//! Typing indicators: shown to the other members (never echoed to the
//! typer's own devices), cleared by an explicit stop, by sending a message,
//! by disconnecting, or by expiring server-side when not refreshed.

mod common;

use common::{Client, TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A room `r` with Amira on two devices and Omar on one, all joined.
async fn setup(typing_timeout: Duration) -> (TestServer, Client, Client, Client) {
    let server = TestServer::with(|c| c.typing_timeout = typing_timeout).await;
    server.room("r", "amira", &["omar"]).await;
    let mut laptop = server.client("amira", "applicant").await;
    let mut phone = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    for c in [&mut laptop, &mut phone, &mut omar] {
        c.join("r").await;
    }
    (server, laptop, phone, omar)
}

async fn typing(c: &mut Client, is_typing: bool) {
    c.send(json!({"type": "typing", "room_id": "r", "is_typing": is_typing}))
        .await;
}

fn typing_events(msgs: &[Value]) -> Vec<&Value> {
    msgs.iter().filter(|m| m["type"] == "typing").collect()
}

/// Everything `observer` receives until a command `sender` sends after its
/// earlier ones has passed through the room: a message, which the same room
/// task broadcasts once stored, after anything it did before.
async fn through_room(sender: &mut Client, observer: &mut Client) -> Vec<Value> {
    BARRIER.with(|n| n.set(n.get() + 1));
    let id = format!("barrier-{}", BARRIER.with(|n| n.get()));
    sender
        .send(json!({"type": "send_message", "room_id": "r", "client_msg_id": id, "text": id}))
        .await;
    let mut before = vec![];
    loop {
        let m = observer.recv().await;
        if m["type"] == "message" && m["message"]["text"] == id.as_str() {
            return before;
        }
        before.push(m);
    }
}

thread_local! {
    static BARRIER: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The next `message` or `typing` event.
async fn next_chat_event(c: &mut Client) -> Value {
    c.recv_where("message or typing", |m| {
        m["type"] == "message" || m["type"] == "typing"
    })
    .await
}

#[tokio::test]
async fn start_and_stop_are_shown_to_others_but_not_to_the_typer() {
    // Long timeout: nothing here can be an expiry.
    let (_server, mut laptop, mut phone, mut omar) = setup(Duration::from_secs(60)).await;

    typing(&mut laptop, true).await;
    let t = omar.recv_type("typing").await;
    assert_eq!(t["room_id"], "r");
    assert_eq!(t["user_id"], "amira");
    assert_eq!(t["name"], "Amira");
    assert_eq!(t["is_typing"], true);

    // The event was fanned out to every subscriber at once; Amira's own
    // devices got nothing.
    assert!(typing_events(&laptop.sync().await).is_empty());
    assert!(typing_events(&phone.sync().await).is_empty());

    // A second device saying "typing" while she already is: no news.
    typing(&mut phone, true).await;
    assert!(typing_events(&through_room(&mut phone, &mut omar).await).is_empty());

    typing(&mut laptop, false).await;
    let t = omar.recv_type("typing").await;
    assert_eq!(t["user_id"], "amira");
    assert_eq!(t["is_typing"], false);
    assert!(typing_events(&laptop.sync().await).is_empty());
    assert!(typing_events(&phone.sync().await).is_empty());

    // Stopping again is not news either.
    typing(&mut laptop, false).await;
    assert!(typing_events(&through_room(&mut laptop, &mut omar).await).is_empty());
}

#[tokio::test]
async fn an_indicator_without_refresh_expires_after_the_timeout() {
    let timeout = Duration::from_millis(300);
    let (_server, mut laptop, mut phone, mut omar) = setup(timeout).await;

    let started = Instant::now();
    typing(&mut laptop, true).await;
    assert_eq!(omar.recv_type("typing").await["is_typing"], true);

    // Amira never sends a stop; the server expires it on its own.
    let t = omar.recv_type("typing").await;
    let after = started.elapsed();
    assert_eq!(t["user_id"], "amira");
    assert_eq!(t["is_typing"], false);
    assert!(
        after >= timeout,
        "expired after {after:?}, before {timeout:?}"
    );
    assert!(
        after < Duration::from_secs(5),
        "expired only after {after:?}"
    );

    assert!(typing_events(&laptop.sync().await).is_empty());
    assert!(typing_events(&phone.sync().await).is_empty());

    // Typing again after the expiry is news again.
    typing(&mut phone, true).await;
    assert_eq!(omar.recv_type("typing").await["is_typing"], true);
}

#[tokio::test]
async fn refreshing_keeps_the_indicator_alive_without_repeats() {
    let timeout = Duration::from_millis(600);
    let (_server, mut laptop, _phone, mut omar) = setup(timeout).await;

    // Refresh every 100 ms for 2.5 timeouts.
    let mut seen = vec![];
    let refreshing = Instant::now();
    while refreshing.elapsed() < timeout * 5 / 2 {
        typing(&mut laptop, true).await;
        seen.extend(
            omar.collect_type("typing", Duration::from_millis(100))
                .await,
        );
    }
    let last_refresh = Instant::now();
    assert_eq!(seen.len(), 1, "one start, no repeats, no expiry: {seen:?}");
    assert_eq!(seen[0]["is_typing"], true);

    // Once the refreshes stop, it expires.
    let t = omar.recv_type("typing").await;
    assert_eq!(t["is_typing"], false);
    assert!(
        last_refresh.elapsed() >= timeout * 2 / 3,
        "expired {:?} after the last refresh",
        last_refresh.elapsed()
    );
}

#[tokio::test]
async fn sending_a_message_clears_the_indicator() {
    let (_server, mut laptop, mut phone, mut omar) = setup(Duration::from_secs(60)).await;
    typing(&mut laptop, true).await;
    assert_eq!(omar.recv_type("typing").await["is_typing"], true);

    laptop.say("r", "m1", "Here are my documents").await;
    let m = next_chat_event(&mut omar).await;
    assert_eq!(m["type"], "message");
    assert_eq!(m["message"]["text"], "Here are my documents");
    let t = next_chat_event(&mut omar).await;
    assert_eq!(
        t["type"], "typing",
        "indicator cleared right after the message"
    );
    assert_eq!(t["user_id"], "amira");
    assert_eq!(t["is_typing"], false);

    assert!(typing_events(&laptop.sync().await).is_empty());
    assert!(typing_events(&phone.sync().await).is_empty());

    // A message from someone who is not typing clears nothing.
    omar.say("r", "o1", "Thanks").await;
    omar.sync().await;
    assert!(typing_events(&phone.sync().await).is_empty());
}

#[tokio::test]
async fn a_typer_disconnecting_clears_the_indicator() {
    let server = TestServer::with(|c| c.typing_timeout = Duration::from_secs(60)).await;
    server.room("r", "amira", &["omar", "lina"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let mut lina = server.client("lina", "applicant").await;
    for c in [&mut amira, &mut omar, &mut lina] {
        c.join("r").await;
    }
    typing(&mut amira, true).await;
    typing(&mut lina, true).await;
    for _ in 0..2 {
        assert_eq!(omar.recv_type("typing").await["is_typing"], true);
    }

    amira.ws.close(None).await.unwrap();
    let t = omar.recv_type("typing").await;
    assert_eq!(t["user_id"], "amira");
    assert_eq!(t["is_typing"], false);
    let left = omar.recv_type("member_left").await;
    assert_eq!(left["user_id"], "amira");

    // Only Amira's indicator went: Lina is still typing.
    let events = omar.sync().await;
    assert!(typing_events(&events).is_empty(), "{events:?}");
    typing(&mut lina, false).await;
    let t = omar.recv_type("typing").await;
    assert_eq!(
        (&t["user_id"], &t["is_typing"]),
        (&json!("lina"), &json!(false))
    );
}
