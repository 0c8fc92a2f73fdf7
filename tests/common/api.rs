//! Helpers for the server API, uploads and the assistant's tests.

use serde_json::Value;

use super::TestServer;

/// The API key the server API tests configure.
pub const API_KEY: &str = "test-api-key-0123456789";

impl TestServer {
    /// A request to the server API with `X-Api-Key`.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = reqwest::Client::new()
            .request(method, self.http(path))
            .header("x-api-key", API_KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("api request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// `POST /api/uploads` with one multipart field `file` built by hand, so
    /// the test controls the raw filename.
    pub async fn upload(&self, token: Option<&str>, filename: &str, bytes: &[u8]) -> (u16, Value) {
        let token = token.map(str::to_owned);
        self.post_file("/api/uploads", filename, bytes, move |req| match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        })
        .await
    }

    /// The server API's upload (`path` carries the query), with the API key.
    pub async fn api_upload(&self, path: &str, filename: &str, bytes: &[u8]) -> (u16, Value) {
        self.post_file(path, filename, bytes, |req| {
            req.header("x-api-key", API_KEY)
        })
        .await
    }

    async fn post_file(
        &self,
        path: &str,
        filename: &str,
        bytes: &[u8],
        auth: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> (u16, Value) {
        let boundary = "earshot-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::with_capacity(bytes.len() + 256);
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = reqwest::Client::new()
            .post(self.http(path))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        match auth(req).send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                (status, res.json().await.unwrap_or(Value::Null))
            }
            Err(e) => panic!("upload request failed: {e}"),
        }
    }

    /// `GET` a path with a bearer token (or none), returning status, headers and bytes.
    pub async fn fetch(
        &self,
        token: Option<&str>,
        path: &str,
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let mut req = reqwest::Client::new().get(self.http(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("fetch");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (
            status,
            headers,
            res.bytes().await.unwrap_or_default().to_vec(),
        )
    }
}

/// A PNG of `w` x `h` pixels.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// The first bytes of an Ogg Opus file (enough for sniffing).
pub fn ogg_opus() -> Vec<u8> {
    // Page header (27 bytes) and a one-entry segment table, then OpusHead.
    let mut v = b"OggS".to_vec();
    v.extend([0u8, 2]);
    v.extend([0u8; 20]);
    v.extend([1u8, 19]);
    v.extend_from_slice(b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00");
    v.extend(std::iter::repeat_n(0u8, 200));
    v
}

/// A minimal PDF.
pub fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}
