//! Plain functions for uploaded files: the display name taken from an
//! untrusted multipart filename, the MIME type sniffed from the content,
//! thumbnails, and a safe `Content-Disposition`.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// Longest display name kept, in bytes.
pub const MAX_NAME_BYTES: usize = 200;
/// Thumbnails fit in a square of this many pixels.
pub const THUMBNAIL_SIZE: u32 = 320;
/// Largest image (either side) a thumbnail is made from.
const MAX_IMAGE_SIDE: u32 = 12_000;

/// A display name from a client-supplied filename: the last path component
/// (either separator), without control, bidirectional-override or
/// reserved characters, trimmed of dots and spaces at the ends, at most
/// [`MAX_NAME_BYTES`]; `file` if nothing is left. It is only ever shown and
/// sent back, never used as a path.
pub fn sanitize_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
                && !matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*' | '/' | '\\')
        })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    let mut end = trimmed.len().min(MAX_NAME_BYTES);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    let name = trimmed[..end].trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    if name.is_empty() {
        "file".to_string()
    } else {
        name.to_string()
    }
}

/// The MIME type of `head` (the first bytes of a file), from its content.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    infer::get(head).map(|t| t.mime_type())
}

/// Bytes needed to sniff every type the allowlist can contain.
pub const SNIFF_BYTES: usize = 8192;

/// Why no thumbnail could be made.
#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    #[error("not an image type thumbnails are made for")]
    NotAnImage,
    #[error("the image cannot be decoded: {0}")]
    Decode(#[from] image::ImageError),
    /// Its header asks for more memory than thumbnails may take; nothing
    /// was decoded.
    #[error("a {width}×{height} image needs {needed} bytes to decode, over the limit of {limit}")]
    TooLarge {
        width: u32,
        height: u32,
        needed: u64,
        limit: u64,
    },
}

impl ThumbnailError {
    /// The image is valid as far as was read, but too large to decode
    /// within the limits: it is stored without a thumbnail.
    pub fn over_limit(&self) -> bool {
        matches!(
            self,
            ThumbnailError::TooLarge { .. } | ThumbnailError::Decode(image::ImageError::Limits(_))
        )
    }
}

fn image_format(mime: &str) -> Option<ImageFormat> {
    match mime {
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/png" => Some(ImageFormat::Png),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Whether thumbnails are made for this (sniffed) type.
pub fn has_thumbnail(mime: &str) -> bool {
    image_format(mime).is_some()
}

/// A PNG thumbnail (at most [`THUMBNAIL_SIZE`] on each side, aspect kept)
/// of an image whose type was sniffed as `mime`. The header is read first:
/// an image whose pixels would take more than `max_decode_bytes` (width ×
/// height × bytes per pixel) is refused before anything is decoded, and the
/// decoder itself runs under the same memory limit, so a decompression bomb
/// fails instead of eating the server. CPU-bound: run it on a blocking
/// thread.
pub fn thumbnail(
    bytes: &[u8],
    mime: &str,
    max_decode_bytes: u64,
) -> Result<Vec<u8>, ThumbnailError> {
    let format = image_format(mime).ok_or(ThumbnailError::NotAnImage)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(max_decode_bytes);
    reader.limits(limits);
    // Only the header is parsed here.
    let decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    let needed = decoder.total_bytes();
    if needed > max_decode_bytes {
        return Err(ThumbnailError::TooLarge {
            width,
            height,
            needed,
            limit: max_decode_bytes,
        });
    }
    let image = DynamicImage::from_decoder(decoder)?;
    let thumb = image.thumbnail(THUMBNAIL_SIZE, THUMBNAIL_SIZE);
    let mut out = Cursor::new(Vec::new());
    thumb.write_to(&mut out, ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// `inline` for media a browser shows safely, `attachment` for the rest;
/// with an ASCII fallback name and the exact name RFC 5987-encoded.
pub fn content_disposition(name: &str, mime: &str) -> String {
    const ATTR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let disposition =
        if mime.starts_with("image/") || mime.starts_with("audio/") || mime.starts_with("video/") {
            "inline"
        } else {
            "attachment"
        };
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, ATTR);
    format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn traversal_and_odd_names_become_harmless() {
        assert_eq!(sanitize_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_name("..\\..\\windows\\system.ini"), "system.ini");
        assert_eq!(sanitize_name(".."), "file");
        assert_eq!(sanitize_name(""), "file");
        assert_eq!(sanitize_name("/"), "file");
        assert_eq!(sanitize_name("  .hidden  "), "hidden");
        assert_eq!(sanitize_name("report\u{202E}fdp.exe"), "reportfdp.exe");
        assert_eq!(sanitize_name("a\0b\nc.txt"), "abc.txt");
        assert_eq!(sanitize_name("جواز السفر.pdf"), "جواز السفر.pdf");
        assert_eq!(sanitize_name(&"x".repeat(500)).len(), MAX_NAME_BYTES);
    }

    #[test]
    fn disposition_escapes_the_name() {
        let d = content_disposition("جواز \"x\".pdf", "application/pdf");
        assert!(d.starts_with("attachment; filename=\""), "{d}");
        assert!(d.is_ascii());
        assert!(!d.contains("\"x\""));
        assert!(d.contains("filename*=UTF-8''%D8%AC"));
        assert!(content_disposition("a.png", "image/png").starts_with("inline"));
    }

    #[test]
    fn sniffs_from_content_not_names() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(
            sniff(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]),
            Some("image/png")
        );
        assert_eq!(sniff(b"#!/bin/sh\necho hi"), Some("text/x-shellscript"));
        assert_eq!(sniff(b"just some words"), None);
    }

    #[test]
    fn thumbnails_fit_and_bad_images_fail() {
        let img = image::RgbImage::from_fn(800, 400, |x, _| image::Rgb([(x % 256) as u8, 0, 0]));
        let mut png = Cursor::new(Vec::new());
        img.write_to(&mut png, ImageFormat::Png).unwrap();
        let thumb = thumbnail(png.get_ref(), "image/png", LIMIT).unwrap();
        let decoded = image::load_from_memory(&thumb).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (320, 160));
        assert!(thumbnail(b"\x89PNG\r\n\x1a\nnot really", "image/png", LIMIT).is_err());
        assert!(matches!(
            thumbnail(b"x", "application/pdf", LIMIT),
            Err(ThumbnailError::NotAnImage)
        ));
        // 800 × 400 RGB is 960,000 bytes: refused from the header alone.
        assert!(matches!(
            thumbnail(png.get_ref(), "image/png", 900_000),
            Err(ThumbnailError::TooLarge {
                width: 800,
                height: 400,
                needed: 960_000,
                ..
            })
        ));
    }

    const LIMIT: u64 = 64 * 1024 * 1024;

    proptest! {
        #[test]
        fn sanitized_names_are_plain_file_names(raw in "\\PC{0,300}|[./\\\\a-z]{0,40}") {
            let name = sanitize_name(&raw);
            prop_assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES);
            prop_assert!(!name.contains('/') && !name.contains('\\'));
            prop_assert!(name != "." && name != "..");
            prop_assert!(!name.starts_with('.'));
            prop_assert!(!name.chars().any(char::is_control));
            prop_assert_eq!(sanitize_name(&name), name.clone());
            let d = content_disposition(&name, "application/pdf");
            prop_assert!(d.is_ascii() && !d.contains('\n') && !d.contains('\r'));
        }

        #[test]
        fn sniffing_and_thumbnails_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = sniff(&bytes);
            for mime in ["image/png", "image/jpeg", "image/gif", "image/webp"] {
                let _ = thumbnail(&bytes, mime, LIMIT);
            }
        }
    }
}
