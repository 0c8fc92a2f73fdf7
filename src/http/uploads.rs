//! Attachments and voice notes: `POST /api/uploads` (multipart) and the
//! downloads, for the uploader and for whoever may read a room where a
//! message shared the file.
//!
//! A user's upload is checked against their rate, quota and the disk floor
//! before its body is read; a refused body is drained so the client reads
//! its typed answer (see [`body`]). Thumbnails are decoded by a small pool
//! of workers under a memory bound (see [`crate::upload_limits`]).

mod body;

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;

use super::ApiPath;
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::files::{self, SNIFF_BYTES};
use crate::upload_limits::{thumbnail_path, uploads_dir};
use crate::AppState;
use earshot_signaling::store::{now_ms, UploadRecord};
use earshot_signaling::Identity;

/// Multipart framing allowed on top of the file itself.
pub const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// `POST /api/uploads` answer.
#[derive(Serialize, ToSchema)]
pub struct UploadResponse {
    pub id: String,
    /// Download path (send `Authorization: Bearer`).
    pub url: String,
    /// The sanitized file name.
    pub name: String,
    /// Sniffed from the content.
    pub mime_type: String,
    pub size: i64,
    /// For images: a server-made PNG thumbnail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

fn dir(state: &AppState) -> PathBuf {
    uploads_dir(&state.config)
}

fn too_large(max: u64) -> AppError {
    AppError::PayloadTooLarge(format!("the upload exceeds the limit of {max} bytes"))
}

fn multipart_error(err: MultipartError, max: u64) -> AppError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(max)
    } else {
        AppError::BadRequest(format!("bad multipart body: {}", err.body_text()))
    }
}

/// Removes the temporary files of an upload that did not make it.
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Stream the field to `path`, keeping its first bytes for sniffing; at
/// most `max` bytes, and at most `quota_left` when the uploader has a quota.
async fn save(
    state: &AppState,
    field: &mut Field<'_>,
    path: &Path,
    max: u64,
    quota_left: Option<u64>,
) -> Result<(u64, Vec<u8>), AppError> {
    let io = |e: std::io::Error| AppError::Internal(format!("writing upload: {e}"));
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut size: u64 = 0;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, max))? {
        size += chunk.len() as u64;
        if size > max {
            return Err(too_large(max));
        }
        if quota_left.is_some_and(|left| size > left) {
            return Err(state.uploads.over_quota());
        }
        if head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    // Durable before the record that points to it is committed.
    file.sync_all().await.map_err(io)?;
    Ok((size, head))
}

#[utoipa::path(post, path = "/api/uploads", tag = "uploads",
    request_body(content_type = "multipart/form-data", description = "one field `file`"),
    responses((status = 201, body = UploadResponse, description = "stored; an image too large to decode within `thumbnail_max_decode_bytes` has no `thumbnail_url`"),
              (status = 401), (status = 413, description = "over `upload_max_bytes` (`PAYLOAD_TOO_LARGE`) or the uploader's `upload_quota_bytes` (`QUOTA_EXCEEDED`)"),
              (status = 415, description = "type outside `upload_mime_types`"),
              (status = 429, description = "over `upload_rate_per_minute` (`Retry-After`)"),
              (status = 503, description = "every thumbnail worker busy past `thumbnail_queue_wait` (`Retry-After`)"),
              (status = 507, description = "free disk below `upload_min_free_bytes`")),
    security(("bearer" = [])))]
/// `POST /api/uploads`: store one file (multipart field `file`).
pub async fn upload(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    req: Request,
) -> Result<(StatusCode, Json<UploadResponse>), AppError> {
    let limit = state.config.upload_max_bytes + MULTIPART_OVERHEAD;
    let (parts, body) = req.into_parts();
    let admitted = admit(&state, &me.user_id, &parts.headers).await;
    let quota_left = match admitted {
        Ok(left) => left,
        Err(err) => {
            // A client waiting for `100 Continue` has not sent the body and
            // will not; anyone else is sending it, so read it away.
            if !expects_continue(&parts.headers) {
                body::drain(body.into_data_stream(), limit).await;
            }
            return Err(err);
        }
    };
    let (body, leftover) = body::capped(body, limit);
    let multipart = Multipart::from_request(Request::from_parts(parts, body), &()).await;
    let result = receive_within(&state, &me.user_id, multipart, quota_left).await;
    let result = match result {
        Err(_) if leftover.overflowed() => Err(too_large(state.config.upload_max_bytes)),
        other => other,
    };
    // The multipart reader is gone: what it left of the body is parked.
    leftover.drain(limit).await;
    result
}

fn expects_continue(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// The checks made before a user's upload is read: rate, quota, disk floor.
/// Returns the bytes left in the uploader's quota (`None`: no quota).
async fn admit(
    state: &AppState,
    user: &str,
    headers: &axum::http::HeaderMap,
) -> Result<Option<u64>, AppError> {
    state.uploads.check_rate(user)?;
    let left = state
        .uploads
        .quota_left(&state.signaling.store, user)
        .await?;
    let incoming = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(0);
    let dir = dir(state);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| AppError::Internal(format!("uploads dir: {e}")))?;
    state.uploads.check_disk(&dir, incoming)?;
    Ok(left)
}

/// Store the multipart field `file` as an upload of `uploader_id` (who alone
/// may attach it to a message). For the server API: no rate or quota, but
/// the disk floor holds.
pub async fn receive(
    state: &AppState,
    uploader_id: &str,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<UploadResponse>), AppError> {
    let dir = dir(state);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| AppError::Internal(format!("uploads dir: {e}")))?;
    state.uploads.check_disk(&dir, 0)?;
    receive_within(state, uploader_id, multipart, None).await
}

/// [`receive`], with at most `quota_left` bytes.
async fn receive_within(
    state: &AppState,
    uploader_id: &str,
    multipart: Result<Multipart, MultipartRejection>,
    quota_left: Option<u64>,
) -> Result<(StatusCode, Json<UploadResponse>), AppError> {
    let max = state.config.upload_max_bytes;
    let mut multipart = multipart.map_err(|r| AppError::BadRequest(r.body_text()))?;
    let dir = dir(state);
    loop {
        let Some(mut field) = multipart
            .next_field()
            .await
            .map_err(|e| multipart_error(e, max))?
        else {
            return Err(AppError::BadRequest("no multipart field `file`".into()));
        };
        if field.name() != Some("file") {
            continue;
        }
        // The stored name is ours alone; the client's only becomes a label.
        let id = uuid::Uuid::now_v7().to_string();
        let name = files::sanitize_name(field.file_name().unwrap_or(""));
        let path = dir.join(&id);
        let mut cleanup = Cleanup(vec![path.clone()]);
        let (size, head) = save(state, &mut field, &path, max, quota_left).await?;
        if size == 0 {
            return Err(AppError::BadRequest("the file is empty".into()));
        }
        let mime = match files::sniff(&head) {
            Some(m) if state.config.upload_mime_types.iter().any(|a| a == m) => m,
            Some(m) => {
                return Err(AppError::UnsupportedMedia(format!(
                    "files of type {m} are not accepted"
                )))
            }
            None => {
                return Err(AppError::UnsupportedMedia(
                    "the file type is not recognised or not accepted".into(),
                ))
            }
        };
        let mut has_thumbnail = false;
        if files::has_thumbnail(mime) {
            let thumb_path = thumbnail_path(&dir, &id);
            cleanup.0.push(thumb_path.clone());
            has_thumbnail = make_thumbnail(state, &path, &thumb_path, mime).await?;
        }
        if quota_left.is_some() {
            // Again, now that it is stored: the user's other uploads may
            // have landed meanwhile.
            state
                .uploads
                .check_quota(&state.signaling.store, uploader_id, size)
                .await?;
        }
        let rec = UploadRecord {
            id: id.clone(),
            uploader_id: uploader_id.to_owned(),
            name,
            mime_type: mime.to_string(),
            size: size as i64,
            has_thumbnail,
            created_at: now_ms(),
        };
        state.signaling.store.insert_upload(&rec).await?;
        cleanup.0.clear();
        tracing::info!(upload = %id, user = %uploader_id, mime, size, "file uploaded");
        let view = rec.view();
        return Ok((
            StatusCode::CREATED,
            Json(UploadResponse {
                id,
                url: view.url,
                name: view.name,
                mime_type: view.mime_type,
                size: view.size,
                thumbnail_url: view.thumbnail_url,
            }),
        ));
    }
}

/// Make the thumbnail on one of the `thumbnail_workers`: `false` when the
/// image is too large to decode within `thumbnail_max_decode_bytes` (it is
/// stored without one); 503 when no worker frees up in time; 400 when the
/// image cannot be decoded at all.
async fn make_thumbnail(
    state: &AppState,
    src: &Path,
    dst: &Path,
    mime: &'static str,
) -> Result<bool, AppError> {
    let io = |e: std::io::Error| AppError::Internal(format!("thumbnail: {e}"));
    // Owned, and moved into the blocking task: the worker stays taken until
    // the decode is over, even if this request is dropped meanwhile.
    let worker = state.uploads.thumbnail_worker().await?;
    let max_decode = state.config.thumbnail_max_decode_bytes;
    let bytes = tokio::fs::read(src).await.map_err(io)?;
    let made = tokio::task::spawn_blocking(move || {
        let _worker = worker;
        files::thumbnail(&bytes, mime, max_decode)
    })
    .await
    .map_err(|e| AppError::Internal(format!("thumbnail task: {e}")))?;
    match made {
        Ok(png) => {
            tokio::fs::write(dst, png).await.map_err(io)?;
            Ok(true)
        }
        Err(err) if err.over_limit() => {
            tracing::info!(%err, "image stored without a thumbnail");
            Ok(false)
        }
        Err(err) => Err(AppError::BadRequest(err.to_string())),
    }
}

/// The upload, if `me` uploaded it or may read a room where it was shared.
async fn authorized(state: &AppState, me: &Identity, id: &str) -> Result<UploadRecord, AppError> {
    // Ids are UUIDs: anything else cannot name a stored file.
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(AppError::NotFound("upload"));
    }
    let sig = &state.signaling;
    let rec = sig
        .store
        .upload(id)
        .await?
        .ok_or(AppError::NotFound("upload"))?;
    if rec.uploader_id == me.user_id {
        return Ok(rec);
    }
    for room in sig.store.upload_rooms(id).await? {
        if sig.authorize(me, &room).await.is_ok() {
            return Ok(rec);
        }
    }
    // Exactly the answer for an id that does not exist: whether someone
    // else's file exists is not for the caller to learn.
    Err(AppError::NotFound("upload"))
}

async fn serve_file(path: PathBuf, mime: &str, disposition: String) -> Result<Response, AppError> {
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| AppError::Internal(format!("open upload: {e}")))?;
    let len = file
        .metadata()
        .await
        .map_err(|e| AppError::Internal(format!("stat upload: {e}")))?
        .len();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut res = body.into_response();
    let h = res.headers_mut();
    let value = |s: &str| {
        HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static("application/octet-stream"))
    };
    h.insert(header::CONTENT_TYPE, value(mime));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    if let Ok(d) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    Ok(res)
}

#[utoipa::path(get, path = "/api/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "upload id")),
    responses((status = 200, description = "the file, with its sniffed Content-Type"), (status = 401), (status = 404, description = "no such upload, or not one the caller may read")),
    security(("bearer" = [])))]
/// `GET /api/uploads/{id}`: the file.
pub async fn download(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, AppError> {
    let rec = authorized(&state, &me, &id).await?;
    let disposition = files::content_disposition(&rec.name, &rec.mime_type);
    serve_file(dir(&state).join(&rec.id), &rec.mime_type, disposition).await
}

#[utoipa::path(get, path = "/api/uploads/{id}/thumbnail", tag = "uploads",
    params(("id" = String, Path, description = "upload id")),
    responses((status = 200, description = "PNG thumbnail", content_type = "image/png"), (status = 401), (status = 404, description = "no such upload, or not one the caller may read")),
    security(("bearer" = [])))]
/// `GET /api/uploads/{id}/thumbnail`: an image's PNG thumbnail.
pub async fn thumbnail(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, AppError> {
    let rec = authorized(&state, &me, &id).await?;
    if !rec.has_thumbnail {
        return Err(AppError::NotFound("thumbnail"));
    }
    let stem = rec
        .name
        .rsplit_once('.')
        .map_or(rec.name.as_str(), |(s, _)| s);
    let disposition = files::content_disposition(&format!("{stem}-thumbnail.png"), "image/png");
    serve_file(
        thumbnail_path(&dir(&state), &rec.id),
        "image/png",
        disposition,
    )
    .await
}
