//! Shared helpers: boot the real server on 127.0.0.1:0 and talk to it over
//! real WebSockets and HTTP.
#![allow(dead_code)]

pub mod api;
pub mod peer;
pub mod relay;
pub mod tenancy;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use earshot::auth::{now_secs, Auth, Claims};
use earshot::Config;

pub const SECRET: &str = "test-secret-0123456789abcdef";
/// How long a test waits for an expected event before failing.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addr: SocketAddr,
    pub config: Config,
    pub shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::with(|_| {}).await
    }

    /// Boot with a fresh data dir and the test secret; `f` adjusts the config.
    pub async fn with(f: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            jwt_secret: Some(SECRET.into()),
            dev: true,
            rate_per_sec: 1000,
            rate_burst: 1000,
            // Media stays on loopback: one UDP port, 127.0.0.1 candidates only.
            media_bind: "127.0.0.1:0".parse().unwrap(),
            media_include_loopback: true,
            media_candidate_ips: vec!["127.0.0.1".parse().unwrap()],
            // Most tests create rooms as an applicant naming other applicants;
            // the creation policy's own tests (tests/room_policy.rs) set it.
            room_creation: earshot::config::RoomCreation::Open,
            ..Config::default()
        };
        f(&mut config);
        let mut server = Self::boot(config).await;
        server._dir = Some(dir);
        server
    }

    /// Boot with exactly this config (its data dir is kept by the caller).
    pub async fn boot(config: Config) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn({
            let (config, shutdown) = (config.clone(), shutdown.clone());
            async move {
                earshot::run(listener, config, shutdown)
                    .await
                    .expect("server run");
            }
        });
        TestServer {
            addr,
            config,
            shutdown,
            handle,
            _dir: None,
        }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(WAIT, self.handle).await;
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A valid token for `user` with `role`.
    pub fn token(&self, user: &str, role: &str) -> String {
        self.token_with(claims(user, role))
    }

    pub fn token_with(&self, claims: Claims) -> String {
        let auth = Auth::from_config(&self.config).expect("auth");
        auth.mint(&claims).expect("mint")
    }

    /// Connect as `user` and wait for `welcome`.
    pub async fn client(&self, user: &str, role: &str) -> Client {
        let token = self.token(user, role);
        let url = format!("{}?token={}", self.ws_url(), token);
        let mut c = Client::connect(&url).await.expect("connect");
        let w = c.recv_type("welcome").await;
        assert_eq!(w["user"]["id"], user);
        c.user = user.into();
        c.token = token;
        c
    }

    /// `POST /api/rooms` as `token`; panics unless 201.
    pub async fn create_room(&self, token: &str, body: Value) -> Value {
        let res = reqwest::Client::new()
            .post(self.http("/api/rooms"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("create room");
        assert_eq!(res.status(), 201, "create room: {:?}", res.text().await);
        res.json().await.unwrap()
    }

    /// A room of type `application` with `owner` and `others` as members,
    /// made under its id the way a product backend makes it: with a token
    /// of a service role (users who are not staff cannot choose room ids)
    /// in the owner's name, so `owner` is its creator.
    pub async fn room(&self, id: &str, owner: &str, others: &[&str]) -> Value {
        let token = self.token(owner, "service");
        self.create_room(&token, json!({"id": id, "type": "application", "title": format!("Room {id}"), "participants": others})).await
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let res = reqwest::Client::new()
            .get(self.http(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub user: String,
    pub token: String,
    next_request: u64,
}

impl Client {
    pub async fn connect(url: &str) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        Ok(Client {
            ws,
            user: String::new(),
            token: String::new(),
            next_request: 0,
        })
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::text(v.to_string()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_string()))
            .await
            .expect("send");
    }

    /// The next JSON message, or None if the socket closed.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??;
            match next {
                Ok(Message::Text(t)) => {
                    return Some(serde_json::from_str(&t).expect("server sent JSON"))
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    pub async fn recv(&mut self) -> Value {
        self.try_recv(WAIT).await.expect("expected a message")
    }

    /// Skip messages until one of type `t` arrives.
    pub async fn recv_type(&mut self, t: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let m = self
                .try_recv(left)
                .await
                .unwrap_or_else(|| panic!("no `{t}` for {}", self.user));
            if m["type"] == t {
                return m;
            }
        }
    }

    /// Skip messages until one matching `pred` arrives.
    pub async fn recv_where(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let m = self
                .try_recv(left)
                .await
                .unwrap_or_else(|| panic!("no {what} for {}", self.user));
            if pred(&m) {
                return m;
            }
        }
    }

    /// Collect messages for `wait`, returning those of type `t`.
    pub async fn collect_type(&mut self, t: &str, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut out = vec![];
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return out;
            }
            match self.try_recv(left).await {
                Some(m) if m["type"] == t => out.push(m),
                Some(_) => {}
                None => return out,
            }
        }
    }

    /// Send `v` with a fresh `request_id` and return the reply carrying it
    /// (a response or an `error`).
    pub async fn request(&mut self, mut v: Value) -> Value {
        self.next_request += 1;
        let id = format!("{}-{}", self.user, self.next_request);
        v["request_id"] = json!(id);
        self.send(v).await;
        self.recv_where(&format!("reply to {id}"), |m| {
            m["request_id"] == id.as_str()
        })
        .await
    }

    /// `start_call` in `room` (`mode` p2p or sfu): the reply (`call_started` or an error).
    pub async fn start_call(&mut self, room: &str, mode: &str) -> Value {
        self.request(json!({"type": "start_call", "room_id": room, "mode": mode}))
            .await
    }

    /// `join_call`: the reply (`call_joined` or an error).
    pub async fn join_call(&mut self, call_id: &str) -> Value {
        self.request(json!({"type": "join_call", "call_id": call_id}))
            .await
    }

    pub async fn join(&mut self, room: &str) -> Value {
        let r = self
            .request(json!({"type": "join_room", "room_id": room}))
            .await;
        assert_eq!(r["type"], "room_joined", "join {room}: {r}");
        r
    }

    /// Send a text message and wait for its ack.
    pub async fn say(&mut self, room: &str, client_msg_id: &str, text: &str) -> Value {
        let r = self
            .request(json!({"type": "send_message", "room_id": room, "client_msg_id": client_msg_id, "text": text}))
            .await;
        assert_eq!(r["type"], "message_ack", "send: {r}");
        r
    }

    /// Wait for the socket to close; returns the close code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => panic!("socket did not close"),
                Ok(None) => return (1006, String::new()),
                Ok(Some(Err(_))) => return (1006, String::new()),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()))
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}

pub fn close_code(code: u16) -> CloseCode {
    CloseCode::from(code)
}

impl Client {
    /// Send without panicking (for tests that expect the server to vanish).
    pub async fn ws_send(&mut self, v: Value) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.ws.send(Message::text(v.to_string())).await
    }
}

/// Claims for `user` with `role`, valid for an hour, no tenant or grants.
pub fn claims(user: &str, role: &str) -> Claims {
    Claims {
        sub: user.into(),
        name: Some(capitalize(user)),
        role: role.into(),
        tenant: None,
        rooms: vec![],
        exp: now_secs() + 3600,
        iat: now_secs(),
        iss: None,
        aud: None,
    }
}

impl TestServer {
    /// Connect with a token carrying exactly `claims` and wait for `welcome`.
    pub async fn client_with(&self, claims: Claims) -> Client {
        let user = claims.sub.clone();
        let token = self.token_with(claims);
        let url = format!("{}?token={}", self.ws_url(), token);
        let mut c = Client::connect(&url).await.expect("connect");
        let w = c.recv_type("welcome").await;
        assert_eq!(w["user"]["id"], user.as_str());
        c.user = user;
        c.token = token;
        c
    }

    /// Any REST call; `token` None sends no `Authorization`. Returns the
    /// status and the JSON body (Null if none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = reqwest::Client::new().request(method, self.http(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("http request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

impl Client {
    /// The frames of type `kind` that reached this client so far (see `sync`).
    pub async fn frames_of(&mut self, kind: &str) -> Vec<Value> {
        self.sync()
            .await
            .into_iter()
            .filter(|m| m["type"] == kind)
            .collect()
    }

    /// Send a `ping` and return everything that arrived before its `pong`.
    /// Replies and events queued for this connection before the ping are
    /// all included, so this shows what was (and was not) delivered so far.
    pub async fn sync(&mut self) -> Vec<Value> {
        self.next_request += 1;
        let ts = 1_000_000 + self.next_request as i64;
        self.send(json!({"type": "ping", "ts": ts})).await;
        let mut before = vec![];
        loop {
            let m = self.recv().await;
            if m["type"] == "pong" && m["ts"] == ts {
                return before;
            }
            before.push(m);
        }
    }
}

impl Client {
    /// Connect with a prepared request (e.g. with an `Authorization` header).
    pub async fn connect_request(
        req: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Client {
            ws,
            user: String::new(),
            token: String::new(),
            next_request: 0,
        })
    }
}

impl Client {
    /// Send any WebSocket message (binary, oversized text, ...) as is.
    pub async fn send_ws(
        &mut self,
        m: Message,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.ws.send(m).await
    }
}

impl TestServer {
    /// Cancel the shutdown token and wait for `earshot::run` to return;
    /// panics if it does not within `limit` or if it failed. Returns how
    /// long it took.
    pub async fn stop_within(self, limit: Duration) -> Duration {
        let started = tokio::time::Instant::now();
        self.shutdown.cancel();
        match tokio::time::timeout(limit, self.handle).await {
            Err(_) => panic!("server still running {limit:?} after shutdown"),
            Ok(Err(e)) => panic!("server task failed: {e}"),
            Ok(Ok(())) => started.elapsed(),
        }
    }
}

/// Every sample of a Prometheus text page as (name with labels, value).
pub fn metric_samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').expect("sample line");
            (name.to_string(), value.parse::<f64>().expect("number"))
        })
        .collect()
}

/// The value of the sample named exactly `name`; panics if it is missing.
pub fn metric_value(samples: &[(String, f64)], name: &str) -> f64 {
    samples
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("{name} not exposed"))
}

/// A typed 429: `Retry-After` in whole seconds (1 to 60) and a
/// `RATE_LIMITED` body with `retry_after_ms`.
pub async fn assert_rate_limited(res: reqwest::Response) {
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMITED", "{body}");
    assert!(body["retry_after_ms"].as_u64().unwrap() > 0, "{body}");
}
