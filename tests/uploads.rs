//! Attachments and voice notes: uploads with a size limit, MIME sniffing
//! against the allowlist, harmless names, real thumbnails; messages that
//! carry uploads; downloads only for the uploader and room members (anyone
//! else gets exactly the answer for an upload that does not exist).

mod common;

use common::api::{ogg_opus, pdf, png};
use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn an_image_upload_gets_a_real_thumbnail_and_safe_headers() {
    let server = TestServer::start().await;
    let token = server.token("amira", "applicant");
    let bytes = png(1200, 600);
    let (status, up) = server
        .upload(Some(&token), "passport scan.png", &bytes)
        .await;
    assert_eq!(status, 201, "{up}");
    let id = up["id"].as_str().unwrap();
    assert_eq!(up["url"], format!("/api/uploads/{id}"));
    assert_eq!(up["name"], "passport scan.png");
    assert_eq!(up["mime_type"], "image/png");
    assert_eq!(up["size"], bytes.len());
    assert_eq!(up["thumbnail_url"], format!("/api/uploads/{id}/thumbnail"));

    let (status, headers, body) = server
        .fetch(Some(&token), up["url"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, bytes);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.contains("filename=\"passport scan.png\""),
        "{disposition}"
    );

    let (status, headers, thumb) = server
        .fetch(Some(&token), up["thumbnail_url"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    let decoded = image::load_from_memory_with_format(&thumb, image::ImageFormat::Png)
        .expect("a PNG thumbnail");
    assert_eq!((decoded.width(), decoded.height()), (320, 160));

    // A PDF has no thumbnail.
    let (status, up) = server.upload(Some(&token), "form.pdf", &pdf()).await;
    assert_eq!(status, 201);
    assert_eq!(up["mime_type"], "application/pdf");
    assert!(up.get("thumbnail_url").is_none());
    let (status, headers, _) = server
        .fetch(Some(&token), up["url"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    let (status, _, _) = server
        .fetch(
            Some(&token),
            &format!("{}/thumbnail", up["url"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn uploads_over_the_limit_get_a_typed_413() {
    let server = TestServer::start().await;
    let token = server.token("amira", "applicant");
    assert_eq!(
        server.config.upload_max_bytes,
        10 * 1024 * 1024,
        "the default limit"
    );
    // A PDF of exactly the limit is fine; one byte more is not.
    let mut big = pdf();
    big.resize(10 * 1024 * 1024, b' ');
    let (status, _) = server.upload(Some(&token), "big.pdf", &big).await;
    assert_eq!(status, 201);
    big.push(b' ');
    let (status, err) = server.upload(Some(&token), "big.pdf", &big).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE")),
        "{err}"
    );
    // Far over: axum's own body limit answers, with the same typed body.
    big.resize(12 * 1024 * 1024, b' ');
    let (status, err) = server.upload(Some(&token), "bigger.pdf", &big).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE")),
        "{err}"
    );
    // Nothing half-written is left behind.
    let files: Vec<_> = std::fs::read_dir(server.config.data_dir.join("uploads"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1);
}

#[tokio::test]
async fn a_smaller_configured_limit_applies() {
    let server = TestServer::with(|c| c.upload_max_bytes = 1000).await;
    let token = server.token("amira", "applicant");
    let (status, err) = server.upload(Some(&token), "a.png", &png(200, 200)).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
}

#[tokio::test]
async fn types_are_sniffed_from_the_content_and_checked() {
    let server = TestServer::start().await;
    let token = server.token("amira", "applicant");
    // A script named like an image, sent with an image content type.
    let (status, err) = server
        .upload(Some(&token), "photo.png", b"#!/bin/sh\nrm -rf /\n")
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (415, Some("UNSUPPORTED_MEDIA_TYPE")),
        "{err}"
    );
    // A Windows executable.
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    exe.resize(512, 0);
    let (status, err) = server.upload(Some(&token), "setup.pdf", &exe).await;
    assert_eq!(status, 415, "{err}");
    // An HTML page cannot come back as something a browser would run.
    let (status, _) = server
        .upload(
            Some(&token),
            "x.html",
            b"<html><script>alert(1)</script></html>",
        )
        .await;
    assert_eq!(status, 415);
    // A corrupt image is refused rather than stored without a thumbnail.
    let (status, err) = server
        .upload(
            Some(&token),
            "broken.png",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDRgarbage",
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("BAD_REQUEST")),
        "{err}"
    );
    // A voice note is welcome; so is an allowlist that excludes PDFs.
    let (status, up) = server.upload(Some(&token), "note.ogg", &ogg_opus()).await;
    assert_eq!(
        (status, up["mime_type"].as_str()),
        (201, Some("audio/opus")),
        "{up}"
    );
    let strict = TestServer::with(|c| c.upload_mime_types = vec!["image/png".into()]).await;
    let (status, _) = strict
        .upload(Some(&strict.token("a", "applicant")), "f.pdf", &pdf())
        .await;
    assert_eq!(status, 415);
    // No token, no file field, an empty file.
    let (status, _) = server.upload(None, "a.pdf", &pdf()).await;
    assert_eq!(status, 401);
    let (status, _) = server.upload(Some(&token), "empty.pdf", b"").await;
    assert_eq!(status, 400);
    let res = reqwest::Client::new()
        .post(server.http("/api/uploads"))
        .bearer_auth(&token)
        .header("content-type", "multipart/form-data; boundary=b")
        .body("--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--b--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn traversal_in_file_names_is_harmless() {
    let server = TestServer::start().await;
    let token = server.token("amira", "applicant");
    for raw in [
        "../../etc/passwd",
        "..\\..\\boot.ini",
        "/absolute/../x.pdf",
        "..",
    ] {
        let (status, up) = server.upload(Some(&token), raw, &pdf()).await;
        assert_eq!(status, 201, "{raw}: {up}");
        let name = up["name"].as_str().unwrap();
        assert!(
            !name.contains('/') && !name.contains('\\') && name != "..",
            "{raw} -> {name}"
        );
        let (status, headers, body) = server
            .fetch(Some(&token), up["url"].as_str().unwrap())
            .await;
        assert_eq!((status, body), (200, pdf()));
        assert!(!headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".."));
    }
    let (_, up) = server
        .upload(Some(&token), "../../etc/passwd", &pdf())
        .await;
    assert_eq!(up["name"], "passwd");
    // Stored files are named by id only, all inside the uploads directory.
    let dir = server.config.data_dir.join("uploads");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            uuid::Uuid::parse_str(&name).is_ok(),
            "unexpected file {name}"
        );
    }
    assert!(!server.config.data_dir.join("etc").exists());
    assert!(!server
        .config
        .data_dir
        .parent()
        .unwrap()
        .join("etc/passwd")
        .exists());
    // Ids that are not ours name nothing.
    for bad in ["..%2F..%2Fetc%2Fpasswd", "not-a-uuid"] {
        let (status, _, _) = server
            .fetch(Some(&token), &format!("/api/uploads/{bad}"))
            .await;
        assert_eq!(status, 404, "{bad}");
    }
}

#[tokio::test]
async fn messages_carry_uploads_and_downloads_follow_room_access() {
    let server = TestServer::start().await;
    server.room("visa-5", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    amira.join("visa-5").await;
    omar.join("visa-5").await;
    let (_, photo) = server
        .upload(Some(&amira.token), "passport.png", &png(64, 64))
        .await;
    let (_, voice) = server
        .upload(Some(&amira.token), "note.ogg", &ogg_opus())
        .await;
    let photo_id = photo["id"].as_str().unwrap();

    // Files only, no text: the type follows the file.
    let ack = amira
        .request(json!({"type": "send_message", "room_id": "visa-5", "client_msg_id": "f1", "attachments": [photo_id]}))
        .await;
    assert_eq!(ack["type"], "message_ack", "{ack}");
    let m = omar.recv_type("message").await;
    assert_eq!(m["message"]["message_type"], "image");
    assert_eq!(m["message"]["text"], "");
    let att = &m["message"]["attachments"][0];
    assert_eq!(att["id"], photo_id);
    assert_eq!(att["name"], "passport.png");
    assert_eq!(att["mime_type"], "image/png");
    assert_eq!(att["url"], photo["url"]);
    assert_eq!(att["thumbnail_url"], photo["thumbnail_url"]);

    let ack = amira
        .request(json!({"type": "send_message", "room_id": "visa-5", "client_msg_id": "v1", "message_type": "voice",
                        "text": "listen", "attachments": [voice["id"]]}))
        .await;
    assert_eq!(ack["type"], "message_ack", "{ack}");
    let m = omar
        .recv_where("voice note", |m| {
            m["type"] == "message" && m["message"]["seq"] == 2
        })
        .await;
    assert_eq!(m["message"]["message_type"], "voice");
    assert!(m["message"]["attachments"][0]
        .get("thumbnail_url")
        .is_none());

    // History carries them too.
    let (_, page) = server.get(&omar.token, "/api/rooms/visa-5/messages").await;
    assert_eq!(page["messages"][0]["attachments"][0]["id"], photo_id);

    // A member downloads; a stranger may not; nobody without a token.
    let url = photo["url"].as_str().unwrap();
    let (status, _, _) = server.fetch(Some(&omar.token), url).await;
    assert_eq!(status, 200);
    let (status, _, _) = server
        .fetch(Some(&omar.token), photo["thumbnail_url"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    let lina = server.token("lina", "applicant");
    let (status, _, body) = server.fetch(Some(&lina), url).await;
    assert_eq!(status, 404, "as if it did not exist");
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["code"], "NOT_FOUND");
    let (status, _, _) = server.fetch(None, url).await;
    assert_eq!(status, 401);
    // Staff in scope may read the room, so they may download.
    let (status, _, _) = server
        .fetch(Some(&server.token("boss", "admin")), url)
        .await;
    assert_eq!(status, 200);

    // Bad attachments: typed errors, and the socket carries on.
    let (_, not_shared) = server
        .upload(Some(&amira.token), "secret.pdf", &pdf())
        .await;
    let omar_tries = omar
        .request(json!({"type": "send_message", "room_id": "visa-5", "client_msg_id": "x1", "attachments": [not_shared["id"]]}))
        .await;
    assert_eq!(
        (omar_tries["type"].as_str(), omar_tries["code"].as_str()),
        (Some("error"), Some("ACCESS_DENIED")),
        "{omar_tries}"
    );
    let (status, _, _) = server
        .fetch(Some(&omar.token), not_shared["url"].as_str().unwrap())
        .await;
    assert_eq!(status, 404, "attaching failed, so it was never shared");
    for (msg, code) in [
        (json!({"client_msg_id": "e1", "text": ""}), "BAD_REQUEST"),
        (
            json!({"client_msg_id": "e2", "attachments": ["0193a7c4-0000-7000-8000-000000000000"]}),
            "NOT_FOUND",
        ),
        (
            json!({"client_msg_id": "e3", "message_type": "image", "text": "no file"}),
            "BAD_REQUEST",
        ),
        (
            json!({"client_msg_id": "e4", "message_type": "image", "attachments": [voice["id"]]}),
            "BAD_REQUEST",
        ),
        (
            json!({"client_msg_id": "e5", "attachments": [photo_id, photo_id]}),
            "BAD_REQUEST",
        ),
        (
            json!({"client_msg_id": "e6", "attachments": vec![photo_id; 11]}),
            "BAD_REQUEST",
        ),
    ] {
        let mut msg = msg;
        msg["type"] = json!("send_message");
        msg["room_id"] = json!("visa-5");
        let r = amira.request(msg.clone()).await;
        assert_eq!(
            (r["type"].as_str(), r["code"].as_str()),
            (Some("error"), Some(code)),
            "{msg} -> {r}"
        );
    }
    amira.say("visa-5", "ok", "still here").await;

    // Once the message is deleted, the file is no longer shared through it.
    let first_id = page["messages"][0]["id"].as_str().unwrap();
    let r = amira
        .request(json!({"type": "delete_message", "room_id": "visa-5", "message_id": first_id}))
        .await;
    assert_eq!(r["type"], "ok", "{r}");
    let (status, _, _) = server.fetch(Some(&omar.token), url).await;
    assert_eq!(status, 404);
    let (status, _, _) = server.fetch(Some(&amira.token), url).await;
    assert_eq!(status, 200, "the uploader keeps access");
}

#[tokio::test]
async fn an_upload_you_may_not_read_answers_like_one_that_does_not_exist() {
    let server = TestServer::start().await;
    let amira = server.token("amira", "applicant");
    let (status, up) = server
        .upload(Some(&amira), "passport.png", &png(64, 64))
        .await;
    assert_eq!(status, 201);
    let id = up["id"].as_str().unwrap();
    let missing = "0193a7c4-0000-7000-8000-000000000000";
    let eve = server.token("eve", "applicant");
    for suffix in ["", "/thumbnail"] {
        let (status_real, headers_real, body_real) = server
            .fetch(Some(&eve), &format!("/api/uploads/{id}{suffix}"))
            .await;
        let (status_none, headers_none, body_none) = server
            .fetch(Some(&eve), &format!("/api/uploads/{missing}{suffix}"))
            .await;
        assert_eq!(status_real, 404, "{suffix}");
        assert_eq!(
            (status_real, &body_real),
            (status_none, &body_none),
            "{suffix}: {}",
            String::from_utf8_lossy(&body_real)
        );
        assert_eq!(headers_real["content-type"], headers_none["content-type"]);
    }
    let (status, _, _) = server
        .fetch(Some(&amira), &format!("/api/uploads/{id}"))
        .await;
    assert_eq!(status, 200, "the uploader still reads it");
}
