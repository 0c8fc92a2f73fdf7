//! The socket protocol: one serde enum per direction, tagged by `type`.

mod client;
mod quality;
mod server;
mod types;

pub use client::{ClientFrame, ClientMessage, SendMessage};
pub use quality::*;
pub use server::{Frame, ServerMessage};
pub use types::*;

use crate::error::ErrorCode;

/// Why a client frame could not be understood.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub code: ErrorCode,
    pub message: String,
    /// The frame's `request_id`, when the frame was at least a JSON object with one.
    pub request_id: Option<String>,
}

/// Parse one text frame from a client. Never panics, whatever the input.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, ParseError> {
    match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => Ok(frame),
        Err(err) => {
            #[derive(serde::Deserialize)]
            struct RequestIdOnly {
                #[serde(default)]
                request_id: Option<serde_json::Value>,
                #[serde(default, rename = "type")]
                kind: Option<serde_json::Value>,
            }
            let probe = serde_json::from_str::<RequestIdOnly>(text).ok();
            let request_id = probe
                .as_ref()
                .and_then(|p| p.request_id.as_ref())
                .and_then(|v| v.as_str().map(str::to_owned));
            let message = match (&probe, err.classify()) {
                (_, serde_json::error::Category::Syntax | serde_json::error::Category::Eof) => {
                    format!("malformed JSON: {err}")
                }
                (Some(p), _) if p.kind.is_none() => "missing field `type`".to_string(),
                (None, _) => "expected a JSON object".to_string(),
                _ => format!("invalid message: {err}"),
            };
            Err(ParseError {
                code: ErrorCode::BadRequest,
                message,
                request_id,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_send_message_with_request_id() {
        let f = parse_client_frame(
            r#"{"type":"send_message","request_id":"r1","room_id":"a","client_msg_id":"c1","text":"hi","lang":"ar"}"#,
        )
        .unwrap();
        assert_eq!(f.request_id.as_deref(), Some("r1"));
        match f.message {
            ClientMessage::SendMessage(m) => {
                assert_eq!(m.text, "hi");
                assert_eq!(m.lang.as_deref(), Some("ar"));
                assert_eq!(m.message_type, MessageType::Text);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn classifies_errors() {
        let e = parse_client_frame("{not json").unwrap_err();
        assert!(e.message.starts_with("malformed JSON"), "{}", e.message);
        let e = parse_client_frame(r#"{"request_id":"x"}"#).unwrap_err();
        assert_eq!(e.message, "missing field `type`");
        assert_eq!(e.request_id.as_deref(), Some("x"));
        let e = parse_client_frame(r#"{"type":"fly","request_id":"y"}"#).unwrap_err();
        assert!(e.message.contains("unknown variant"), "{}", e.message);
        let e = parse_client_frame(r#"{"type":"join_room"}"#).unwrap_err();
        assert!(e.message.contains("room_id"), "{}", e.message);
        let e = parse_client_frame("[1,2]").unwrap_err();
        assert_eq!(e.code, ErrorCode::BadRequest);
    }

    #[test]
    fn server_messages_round_trip() {
        let m = ServerMessage::error(ErrorCode::RateLimited, "slow down", Some("r".into()));
        let f = m.to_frame();
        assert!(f.as_str().contains(r#""code":"RATE_LIMITED""#));
        let back: ServerMessage = serde_json::from_str(f.as_str()).unwrap();
        assert_eq!(back, m);
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(s in ".{0,300}") {
            let _ = parse_client_frame(&s);
        }

        #[test]
        fn never_panics_on_json_like_input(
            kind in prop::sample::select(vec!["send_message","join_room","typing","mark_read","get_messages","set_presence","authenticate","x"]),
            key in "[a-z_]{1,12}",
            val in prop_oneof![Just("1".to_string()), Just("null".to_string()), Just("\"s\"".to_string()), Just("[]".to_string()), Just("{}".to_string()), Just("-99999999999999999999".to_string())],
        ) {
            let text = format!(r#"{{"type":"{kind}","{key}":{val},"room_id":"r"}}"#);
            let _ = parse_client_frame(&text);
        }
    }
}
