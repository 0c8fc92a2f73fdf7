//! What keeps uploads from exhausting the server: a decompression bomb is
//! stored without decoding it; thumbnails are made by a bounded pool (the
//! rest wait briefly, then get a typed 503); per-user rate and quota;
//! a free-disk floor; never-attached uploads are swept after a grace
//! period; a body far over the limit still reads its 413.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::api::{pdf, png};
use common::{TestServer, WAIT};
use serde_json::{json, Value};

const BOUNDARY: &str = "limits-test-boundary-3kq9";

fn multipart(filename: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// `POST /api/uploads`: status, `Retry-After` and the JSON body.
async fn upload(
    server: &TestServer,
    token: &str,
    filename: &str,
    bytes: &[u8],
) -> (u16, Option<String>, Value) {
    let res = reqwest::Client::new()
        .post(server.http("/api/uploads"))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(filename, bytes))
        .send()
        .await
        .expect("upload");
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry_after, res.json().await.unwrap_or(Value::Null))
}

fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, slot) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *slot = c;
    }
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc = table[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc ^ 0xFFFF_FFFF
}

/// Bits written least significant first, as deflate wants them.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code goes in most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        let reversed = code.reverse_bits() >> (32 - len);
        self.put(reversed, len);
    }
}

/// A valid 8-bit PNG of `w` × `h` black pixels, RGBA (`rgba`) or grey,
/// compressed by hand (fixed Huffman, every byte after the first a 258-byte
/// copy of the one before): a 10,000 × 10,000 RGBA image, 400 MB decoded,
/// is a 2.5 MB file.
fn black_png(w: u32, h: u32, rgba: bool) -> Vec<u8> {
    let channels = if rgba { 4 } else { 1 };
    let raw = u64::from(h) * (1 + u64::from(w) * channels);
    let mut bits = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // the last block
    bits.put(1, 2); // fixed Huffman codes
    bits.code(0x30, 8); // literal 0
    let mut left = raw - 1;
    while left >= 258 {
        bits.code(0xC5, 8); // length 258 (symbol 285)
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0x30, 8);
    }
    bits.code(0, 7); // end of block
    if bits.n > 0 {
        bits.put(0, 8 - bits.n);
    }
    let mut zlib = bits.out;
    let adler = ((raw % 65521) << 16) as u32 | 1;
    zlib.extend_from_slice(&adler.to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut typed = kind.to_vec();
        typed.extend_from_slice(data);
        png.extend_from_slice(&typed);
        png.extend_from_slice(&crc32(&typed).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    let color_type = if rgba { 6 } else { 0 };
    ihdr.extend_from_slice(&[8, color_type, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &zlib);
    chunk(b"IEND", &[]);
    png
}

/// Peak resident memory of this process (the server runs in it), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[tokio::test]
async fn a_decompression_bomb_is_stored_without_decoding_it() {
    // The hand-made PNG is real: a small one decodes and gets a thumbnail.
    let small = black_png(64, 48, true);
    let decoded = image::load_from_memory(&small).expect("a valid PNG");
    assert_eq!((decoded.width(), decoded.height()), (64, 48));

    let server = TestServer::start().await;
    assert_eq!(server.config.thumbnail_max_decode_bytes, 96 * 1024 * 1024);
    let token = server.token("amira", "applicant");
    let (status, _, up) = upload(&server, &token, "small.png", &small).await;
    assert_eq!(status, 201, "{up}");
    assert!(up["thumbnail_url"].is_string(), "{up}");

    // 10,000 × 10,000 RGBA: 400 MB to decode from a 2.5 MB file.
    let bomb = black_png(10_000, 10_000, true);
    assert!(bomb.len() < 3 * 1024 * 1024, "{}", bomb.len());
    let (status, _, up) = upload(&server, &token, "bomb.png", &bomb).await;
    assert_eq!(status, 201, "the file itself is accepted: {up}");
    assert_eq!(up["mime_type"], "image/png");
    assert!(
        up.get("thumbnail_url").is_none(),
        "no thumbnail was decoded: {up}"
    );
    let id = up["id"].as_str().unwrap();
    let (status, _, bytes) = server
        .fetch(Some(&token), &format!("/api/uploads/{id}"))
        .await;
    assert_eq!((status, bytes.len()), (200, bomb.len()));
    let (status, _, _) = server
        .fetch(Some(&token), &format!("/api/uploads/{id}/thumbnail"))
        .await;
    assert_eq!(status, 404);
    // 20,000 × 20,000 grey (400 MB too): over the side limit, likewise
    // stored without a thumbnail.
    let (status, _, up) = upload(
        &server,
        &token,
        "wide.png",
        &black_png(20_000, 20_000, false),
    )
    .await;
    assert_eq!(status, 201, "{up}");
    assert!(up.get("thumbnail_url").is_none(), "{up}");
    let peak = peak_rss();
    assert!(
        peak < 300 * 1024 * 1024,
        "peak memory {} MiB: the bomb was decoded",
        peak >> 20
    );
}

#[tokio::test]
async fn thumbnails_beyond_the_pool_wait_then_get_a_typed_503() {
    // One worker and no waiting: of several images at once, one is decoded
    // and the others are refused with a typed 503 and Retry-After.
    let server = TestServer::with(|c| {
        c.thumbnail_workers = 1;
        c.thumbnail_queue_wait = Duration::ZERO;
    })
    .await;
    let token = server.token("amira", "applicant");
    let image = png(2000, 2000);
    let names: Vec<String> = (0..6).map(|i| format!("scan-{i}.png")).collect();
    let results =
        futures_util::future::join_all(names.iter().map(|n| upload(&server, &token, n, &image)))
            .await;
    let made = results
        .iter()
        .filter(|(s, _, up)| *s == 201 && up["thumbnail_url"].is_string())
        .count();
    let busy: Vec<_> = results.iter().filter(|(s, _, _)| *s == 503).collect();
    assert!(made >= 1, "{results:?}");
    assert!(!busy.is_empty(), "some found the pool taken: {results:?}");
    assert_eq!(made + busy.len(), 6, "{results:?}");
    for (_, retry_after, err) in &busy {
        assert_eq!(err["code"], "UNAVAILABLE", "{err}");
        assert_eq!(retry_after.as_deref(), Some("1"));
    }
    // Refused uploads leave nothing behind; the pool is free again after.
    let stored = std::fs::read_dir(server.config.data_dir.join("uploads"))
        .unwrap()
        .count();
    assert_eq!(
        stored,
        made * 2,
        "each kept upload has a file and a thumbnail"
    );
    let (status, _, up) = upload(&server, &token, "later.png", &png(300, 200)).await;
    assert_eq!(status, 201);
    assert!(up["thumbnail_url"].is_string());

    // With a wait, uploads queue for the worker instead and all succeed.
    let server = TestServer::with(|c| {
        c.thumbnail_workers = 1;
        c.thumbnail_queue_wait = WAIT * 3;
    })
    .await;
    let image = png(800, 800);
    let names: Vec<String> = (0..4).map(|i| format!("q-{i}.png")).collect();
    let results =
        futures_util::future::join_all(names.iter().map(|n| upload(&server, &token, n, &image)))
            .await;
    for (status, _, up) in &results {
        assert_eq!(*status, 201, "{up}");
        assert!(up["thumbnail_url"].is_string(), "{up}");
    }
}

fn padded_pdf(len: usize) -> Vec<u8> {
    let mut doc = pdf();
    doc.resize(len, b' ');
    doc
}

#[tokio::test]
async fn each_user_has_a_byte_quota() {
    let server = TestServer::with(|c| c.upload_quota_bytes = 10_000).await;
    let amira = server.token("amira", "applicant");
    let (status, _, _) = upload(&server, &amira, "a.pdf", &padded_pdf(6_000)).await;
    assert_eq!(status, 201);
    // 6,000 + 6,000 is over: refused while streaming, nothing kept.
    let (status, _, err) = upload(&server, &amira, "b.pdf", &padded_pdf(6_000)).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (413, Some("QUOTA_EXCEEDED")),
        "{err}"
    );
    assert!(err["message"].as_str().unwrap().contains("10000"), "{err}");
    // Exactly up to the quota is fine; then nothing more, however small.
    let (status, _, _) = upload(&server, &amira, "c.pdf", &padded_pdf(4_000)).await;
    assert_eq!(status, 201);
    let (status, _, err) = upload(&server, &amira, "d.pdf", &pdf()).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (413, Some("QUOTA_EXCEEDED"))
    );
    let stored = std::fs::read_dir(server.config.data_dir.join("uploads"))
        .unwrap()
        .count();
    assert_eq!(stored, 2);
    // Someone else's quota is their own.
    let omar = server.token("omar", "applicant");
    let (status, _, _) = upload(&server, &omar, "e.pdf", &padded_pdf(6_000)).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn each_user_has_an_upload_rate() {
    let server = TestServer::with(|c| c.upload_rate_per_minute = 3).await;
    let amira = server.token("amira", "applicant");
    for i in 0..3 {
        let (status, _, _) = upload(&server, &amira, &format!("{i}.pdf"), &pdf()).await;
        assert_eq!(status, 201);
    }
    let (status, retry_after, err) = upload(&server, &amira, "3.pdf", &pdf()).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (429, Some("RATE_LIMITED")),
        "{err}"
    );
    let secs: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=20).contains(&secs), "one upload every 20 s: {secs}");
    let omar = server.token("omar", "applicant");
    let (status, _, _) = upload(&server, &omar, "o.pdf", &pdf()).await;
    assert_eq!(status, 201, "another user's rate is their own");
}

#[tokio::test]
async fn uploads_stop_at_the_disk_floor_and_messages_carry_on() {
    // No disk has this much free: the floor is always reached.
    let server = TestServer::with(|c| {
        c.upload_min_free_bytes = u64::MAX / 4;
        c.api_keys = vec![common::api::API_KEY.into()];
    })
    .await;
    server.room("floor", "amira", &[]).await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join("floor").await;
    let (status, _, err) = upload(&server, &amira.token, "a.pdf", &pdf()).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (507, Some("INSUFFICIENT_STORAGE")),
        "{err}"
    );
    // The server API's uploads stop too.
    let (status, _) = server
        .api_upload("/api/server/uploads", "r.pdf", &pdf())
        .await;
    assert_eq!(status, 507);
    amira.say("floor", "m1", "messages still go through").await;

    // The default floor leaves uploads on.
    let server = TestServer::start().await;
    assert_eq!(server.config.upload_min_free_bytes, 1024 * 1024 * 1024);
}

#[tokio::test]
async fn uploads_never_attached_are_swept_after_the_grace_period() {
    let server = TestServer::with(|c| c.upload_orphan_grace = Duration::from_secs(1)).await;
    server.room("sweep", "amira", &[]).await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join("sweep").await;
    let (_, _, kept) = upload(&server, &amira.token, "kept.png", &png(64, 64)).await;
    let (_, _, orphan) = upload(&server, &amira.token, "orphan.png", &png(64, 64)).await;
    let ack = amira
        .request(
            json!({"type": "send_message", "room_id": "sweep", "client_msg_id": "k",
                        "attachments": [kept["id"]]}),
        )
        .await;
    assert_eq!(ack["type"], "message_ack", "{ack}");

    let dir = server.config.data_dir.join("uploads");
    let orphan_id = orphan["id"].as_str().unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, _, _) = server
            .fetch(Some(&amira.token), orphan["url"].as_str().unwrap())
            .await;
        if status == 404 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the orphan was never swept"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!dir.join(orphan_id).exists(), "its file is gone");
    assert!(!dir.join(format!("{orphan_id}.thumb.png")).exists());
    // The attached one stays, file and thumbnail, well past the grace.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let kept_id = kept["id"].as_str().unwrap();
    let (status, _, _) = server
        .fetch(Some(&amira.token), kept["url"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    assert!(dir.join(kept_id).exists());
    assert!(dir.join(format!("{kept_id}.thumb.png")).exists());
    // And it can still be quoted in a new message.
    let ack = amira
        .request(
            json!({"type": "send_message", "room_id": "sweep", "client_msg_id": "k2",
                        "attachments": [kept["id"]]}),
        )
        .await;
    assert_eq!(ack["type"], "message_ack", "{ack}");
}

/// Read one HTTP answer with a JSON or text body from `sock`.
fn read_answer(sock: &mut std::net::TcpStream) -> std::io::Result<String> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = sock.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= len {
                return Ok(text.into_owned());
            }
        }
    }
}

/// Send a body of `total` bytes as fast as possible on a raw socket,
/// ignoring write errors, and read the answer; then ask `GET /healthz` on
/// the same connection and read that answer too.
fn post_raw(
    addr: std::net::SocketAddr,
    token: &str,
    total: usize,
) -> (std::io::Result<String>, std::io::Result<String>) {
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    let head = format!(
        "POST /api/uploads HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {total}\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).unwrap();
    let mut body = multipart("big.pdf", &padded_pdf(total));
    body.truncate(total);
    for chunk in body.chunks(64 * 1024) {
        if sock.write_all(chunk).is_err() {
            break;
        }
    }
    let answer = read_answer(&mut sock);
    let next = sock
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .and_then(|()| read_answer(&mut sock));
    (answer, next)
}

#[tokio::test]
async fn a_body_over_the_limit_reads_its_413_and_the_connection_survives() {
    // The server reads a refused body to its end (within a bound) before
    // answering, so the client is never reset while still sending: it reads
    // the 413, and the connection even serves the next request.
    let server = TestServer::with(|c| c.upload_max_bytes = 1024 * 1024).await;
    let token = server.token("amira", "applicant");
    let addr = server.addr;
    // Twice the limit.
    for round in 0..3 {
        let token = token.clone();
        let (answer, next) =
            tokio::task::spawn_blocking(move || post_raw(addr, &token, 2 * 1024 * 1024))
                .await
                .unwrap();
        let answer = answer.unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "round {round}: {answer}"
        );
        assert!(answer.contains("\"PAYLOAD_TOO_LARGE\""), "{answer}");
        let next = next.unwrap_or_else(|e| panic!("round {round}: connection lost: {e}"));
        assert!(next.starts_with("HTTP/1.1 200"), "{next}");
    }
    // Refused before reading (over the rate): the same.
    let server = TestServer::with(|c| c.upload_rate_per_minute = 1).await;
    let token = server.token("amira", "applicant");
    let (status, _, _) = upload(&server, &token, "a.pdf", &pdf()).await;
    assert_eq!(status, 201);
    let addr = server.addr;
    let (answer, next) =
        tokio::task::spawn_blocking(move || post_raw(addr, &token, 5 * 1024 * 1024))
            .await
            .unwrap();
    let answer = answer.expect("an answer, not a reset");
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(next
        .expect("the connection survives")
        .starts_with("HTTP/1.1 200"));
}
