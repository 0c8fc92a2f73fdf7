//! Attachments and voice notes: `POST /api/uploads` (multipart) and the
//! downloads, for the uploader and for whoever may read a room where a
//! message shared the file.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
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
    state.config.data_dir.join("uploads")
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

/// Stream the field to `path`, keeping its first bytes for sniffing.
async fn save(field: &mut Field<'_>, path: &Path, max: u64) -> Result<(u64, Vec<u8>), AppError> {
    let io = |e: std::io::Error| AppError::Internal(format!("writing upload: {e}"));
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut size: u64 = 0;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, max))? {
        size += chunk.len() as u64;
        if size > max {
            return Err(too_large(max));
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
    responses((status = 201, body = UploadResponse), (status = 401), (status = 413, description = "over `upload_max_bytes`"),
              (status = 415, description = "type outside `upload_mime_types`")),
    security(("bearer" = [])))]
/// `POST /api/uploads`: store one file (multipart field `file`).
pub async fn upload(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<UploadResponse>), AppError> {
    receive(&state, &me.user_id, multipart).await
}

/// Store the multipart field `file` as an upload of `uploader_id` (who alone
/// may attach it to a message).
pub async fn receive(
    state: &AppState,
    uploader_id: &str,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<UploadResponse>), AppError> {
    let max = state.config.upload_max_bytes;
    let mut multipart = multipart.map_err(|r| AppError::BadRequest(r.body_text()))?;
    let dir = dir(state);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| AppError::Internal(format!("uploads dir: {e}")))?;
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
        let (size, head) = save(&mut field, &path, max).await?;
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
        let has_thumbnail = files::has_thumbnail(mime);
        if has_thumbnail {
            let thumb_path = thumbnail_path(&dir, &id);
            cleanup.0.push(thumb_path.clone());
            make_thumbnail(&path, &thumb_path, mime).await?;
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

fn thumbnail_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.thumb.png"))
}

async fn make_thumbnail(src: &Path, dst: &Path, mime: &'static str) -> Result<(), AppError> {
    let io = |e: std::io::Error| AppError::Internal(format!("thumbnail: {e}"));
    let bytes = tokio::fs::read(src).await.map_err(io)?;
    let png = tokio::task::spawn_blocking(move || files::thumbnail(&bytes, mime))
        .await
        .map_err(|e| AppError::Internal(format!("thumbnail task: {e}")))?
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    tokio::fs::write(dst, png).await.map_err(io)
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
    Err(AppError::Forbidden(
        "only the uploader and members of a room where the file was shared may download it".into(),
    ))
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
    responses((status = 200, description = "the file, with its sniffed Content-Type"), (status = 401), (status = 403), (status = 404)),
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
    responses((status = 200, description = "PNG thumbnail", content_type = "image/png"), (status = 401), (status = 403), (status = 404)),
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
