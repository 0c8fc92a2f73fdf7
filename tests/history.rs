//! History: paging a room's messages over the socket (`get_messages`) and
//! REST (`GET /api/rooms/{id}/messages`), newest page first with `before`,
//! forwards with `after`; every message exactly once, pages ascending.

mod common;

use common::{Client, TestServer};
use serde_json::{json, Value};

/// Room `h` (amira and omar) with `n` messages `m1..mn` from amira;
/// returns omar, connected but not joined (members read history without joining).
async fn room_with(server: &TestServer, n: i64) -> Client {
    server.room("h", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join("h").await;
    for i in 1..=n {
        let msg = json!({"type": "send_message", "room_id": "h", "client_msg_id": format!("c{i}"), "text": format!("m{i}")});
        amira.send(msg).await;
    }
    for i in 1..=n {
        let ack = amira.recv_type("message_ack").await;
        assert_eq!(ack["seq"], i, "acks arrive in storage order");
    }
    server.client("omar", "professional").await
}

fn seqs(page: &Value) -> Vec<i64> {
    page["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect()
}

/// A page's messages are consecutive, ascending, and carry their own text.
fn check_page(page: &Value) -> Vec<i64> {
    let s = seqs(page);
    assert!(
        s.windows(2).all(|w| w[1] == w[0] + 1),
        "ascending, no gaps: {s:?}"
    );
    for m in page["messages"].as_array().unwrap() {
        assert_eq!(m["text"], format!("m{}", m["seq"]), "{m}");
        assert_eq!(m["room_id"], "h");
    }
    s
}

async fn socket_page(c: &mut Client, params: Value) -> Value {
    let mut req = json!({"type": "get_messages", "room_id": "h"});
    req.as_object_mut()
        .unwrap()
        .extend(params.as_object().unwrap().clone());
    let page = c.request(req.clone()).await;
    assert_eq!(page["type"], "messages", "{req}: {page}");
    assert_eq!(page["room_id"], "h");
    page
}

async fn rest_page(server: &TestServer, token: &str, query: &str) -> Value {
    let (status, page) = server
        .get(token, &format!("/api/rooms/h/messages?{query}"))
        .await;
    assert_eq!(status, 200, "{query}: {page}");
    page
}

/// Where pages come from: the socket or REST.
enum Via<'a> {
    Socket(&'a mut Client),
    Rest(&'a TestServer, String),
}

impl Via<'_> {
    async fn page(&mut self, params: Value) -> Value {
        match self {
            Via::Socket(c) => socket_page(c, params).await,
            Via::Rest(server, token) => {
                let query: Vec<String> = params
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let page = rest_page(server, token, &query.join("&")).await;
                assert_eq!(page["room_id"], "h");
                page
            }
        }
    }

    /// Page back from the newest message, 10 at a time, until `has_more`
    /// is false; returns the pages' seqs and has_more flags.
    async fn page_back(&mut self) -> (Vec<Vec<i64>>, Vec<bool>) {
        let (mut pages, mut more) = (vec![], vec![]);
        let mut before = None;
        loop {
            let params = match before {
                Some(b) => json!({"before": b, "limit": 10}),
                None => json!({"limit": 10}),
            };
            let page = self.page(params).await;
            let s = check_page(&page);
            if let Some(b) = before {
                assert_eq!(s.last(), Some(&(b - 1)), "page ends just before {b}");
            }
            let has_more = page["has_more"].as_bool().expect("has_more");
            before = s.first().copied();
            pages.push(s);
            more.push(has_more);
            if !has_more {
                return (pages, more);
            }
            assert!(pages.len() < 20, "paging does not end");
        }
    }
}

fn assert_each_once(pages: &[Vec<i64>], n: i64) {
    let mut all: Vec<i64> = pages.concat();
    all.sort();
    assert_eq!(
        all,
        (1..=n).collect::<Vec<_>>(),
        "every message exactly once"
    );
}

#[tokio::test]
async fn socket_pages_back_from_the_newest_with_before() {
    let server = TestServer::start().await;
    let mut omar = room_with(&server, 25).await;

    let newest = socket_page(&mut omar, json!({"limit": 10})).await;
    assert_eq!(check_page(&newest), (16..=25).collect::<Vec<_>>());
    assert_eq!(newest["has_more"], true);

    let (pages, more) = Via::Socket(&mut omar).page_back().await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(more, [true, true, false]);
    assert_each_once(&pages, 25);

    // A page that exactly reaches the start says there is nothing more.
    let first = socket_page(&mut omar, json!({"before": 11, "limit": 10})).await;
    assert_eq!(check_page(&first), (1..=10).collect::<Vec<_>>());
    assert_eq!(first["has_more"], false);
    let none = socket_page(&mut omar, json!({"before": 1})).await;
    assert_eq!((seqs(&none).len(), &none["has_more"]), (0, &json!(false)));
}

#[tokio::test]
async fn new_messages_do_not_shift_older_pages() {
    let server = TestServer::start().await;
    let mut omar = room_with(&server, 25).await;
    let newest = socket_page(&mut omar, json!({"limit": 10})).await;
    let cursor = seqs(&newest)[0];
    omar.join("h").await;
    for i in 26..=28 {
        omar.say("h", &format!("o{i}"), &format!("m{i}")).await;
    }
    let older = socket_page(&mut omar, json!({"before": cursor, "limit": 10})).await;
    assert_eq!(check_page(&older), (6..=15).collect::<Vec<_>>());
    let latest = socket_page(&mut omar, json!({"limit": 10})).await;
    assert_eq!(check_page(&latest), (19..=28).collect::<Vec<_>>());
}

#[tokio::test]
async fn socket_pages_forward_with_after() {
    let server = TestServer::start().await;
    let mut omar = room_with(&server, 25).await;
    let mut after = 0;
    let mut pages = vec![];
    let mut more = vec![];
    loop {
        let page = socket_page(&mut omar, json!({"after": after, "limit": 10})).await;
        let s = check_page(&page);
        assert_eq!(
            s.first(),
            Some(&(after + 1)),
            "page starts just after {after}"
        );
        more.push(page["has_more"].as_bool().unwrap());
        after = *s.last().unwrap();
        pages.push(s);
        if !more.last().unwrap() {
            break;
        }
        assert!(pages.len() < 20, "paging does not end");
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    assert_eq!(more, [true, true, false]);
    assert_each_once(&pages, 25);

    let exact = socket_page(&mut omar, json!({"after": 15, "limit": 10})).await;
    assert_eq!(check_page(&exact), (16..=25).collect::<Vec<_>>());
    assert_eq!(exact["has_more"], false, "exactly the rest: nothing more");
    let past_end = socket_page(&mut omar, json!({"after": 25})).await;
    assert_eq!(seqs(&past_end), Vec::<i64>::new());
    assert_eq!(past_end["has_more"], false);
}

#[tokio::test]
async fn rest_pages_the_same_history_as_the_socket() {
    let server = TestServer::start().await;
    let mut omar = room_with(&server, 25).await;
    let token = omar.token.clone();

    let (pages, more) = Via::Rest(&server, token.clone()).page_back().await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    assert_eq!(more, [true, true, false]);
    assert_each_once(&pages, 25);

    // Same messages, same fields, whichever way they are read.
    for params in [
        json!({"before": 16, "limit": 10}),
        json!({"after": 20, "limit": 10}),
        json!({"after": 0, "limit": 7}),
    ] {
        let rest = Via::Rest(&server, token.clone()).page(params.clone()).await;
        let socket = socket_page(&mut omar, params.clone()).await;
        assert_eq!(rest["messages"], socket["messages"], "{params}");
        assert_eq!(rest["has_more"], socket["has_more"], "{params}");
        check_page(&rest);
    }
    let fwd = rest_page(&server, &token, "after=20&limit=10").await;
    assert_eq!(seqs(&fwd), [21, 22, 23, 24, 25]);
    assert_eq!(fwd["has_more"], false);
    let m = &fwd["messages"][0];
    assert_eq!(m["sender"]["id"], "amira");
    assert_eq!(m["client_msg_id"], "c21");
}

#[tokio::test]
async fn limit_has_a_default_a_floor_and_a_ceiling() {
    let server = TestServer::start().await;
    let mut omar = room_with(&server, 205).await;
    let token = omar.token.clone();

    let default = socket_page(&mut omar, json!({})).await;
    assert_eq!(
        check_page(&default),
        (156..=205).collect::<Vec<_>>(),
        "50 newest"
    );
    assert_eq!(default["has_more"], true);

    let floor = socket_page(&mut omar, json!({"limit": 0})).await;
    assert_eq!(seqs(&floor), [205], "limit 0 still returns one");
    assert_eq!(floor["has_more"], true);

    // Asking for more than the largest page gets the largest page (200).
    let big = socket_page(&mut omar, json!({"limit": 100000})).await;
    assert_eq!(check_page(&big), (6..=205).collect::<Vec<_>>());
    assert_eq!(big["has_more"], true);
    let rest = rest_page(&server, &token, "limit=100000").await;
    assert_eq!(rest["messages"], big["messages"]);
    let tail = rest_page(&server, &token, "before=6&limit=100000").await;
    assert_eq!(check_page(&tail), [1, 2, 3, 4, 5]);
    assert_eq!(tail["has_more"], false);
    let fwd = socket_page(&mut omar, json!({"after": 0, "limit": 100000})).await;
    assert_eq!(check_page(&fwd), (1..=200).collect::<Vec<_>>());
    assert_eq!(fwd["has_more"], true);
}

#[tokio::test]
async fn before_and_after_together_or_bad_values_are_bad_requests() {
    let server = TestServer::start().await;
    let mut omar = room_with(&server, 3).await;
    let token = omar.token.clone();

    for bad in [
        json!({"before": 3, "after": 1}),
        json!({"limit": -1}),
        json!({"before": "soon"}),
    ] {
        let mut req = json!({"type": "get_messages", "room_id": "h"});
        req.as_object_mut()
            .unwrap()
            .extend(bad.as_object().unwrap().clone());
        let r = omar.request(req).await;
        assert_eq!(r["type"], "error", "{bad}: {r}");
        assert_eq!(r["code"], "BAD_REQUEST", "{bad}");
    }
    for q in ["before=3&after=1", "limit=-1", "before=soon", "after=1.5"] {
        let (status, body) = server
            .get(&token, &format!("/api/rooms/h/messages?{q}"))
            .await;
        assert_eq!(status, 400, "{q}: {body}");
        assert_eq!(body["code"], "BAD_REQUEST", "{q}");
        assert!(body["messages"].is_null(), "no history with an error");
    }
    // The connection still works after the errors.
    let ok = socket_page(&mut omar, json!({})).await;
    assert_eq!(check_page(&ok), [1, 2, 3]);
}
