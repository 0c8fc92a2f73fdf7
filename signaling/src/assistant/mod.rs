//! The assistant: automatic answers to common questions in rooms that
//! enable it, when no professional has answered within a delay.
//!
//! - [`text`]: normalisation, tokens and language detection.
//! - [`faq`]: the built-in backend, a FAQ matched by TF-IDF cosine plus keywords.
//! - [`llm`]: the optional OpenAI-compatible backend (falls back to the FAQ).
//! - [`state`]: [`RoomAssistant`], when a room's assistant speaks, as a plain type.

pub mod faq;
pub mod llm;
pub mod state;
pub mod text;

use std::time::Duration;

use serde_json::{json, Value};
use tracing::{debug, warn};

pub use faq::{Faq, FaqError, FaqMatcher};
pub use llm::{LlmClient, LlmConfig};
pub use state::{Question, RoomAssistant};

use crate::protocol::UserRef;

/// The assistant's sender on every message it writes.
pub fn sender() -> UserRef {
    UserRef {
        id: "assistant".into(),
        name: Some("Assistant".into()),
        role: Some("assistant".into()),
    }
}

/// The assistant's typed configuration.
#[derive(Debug, Clone)]
pub struct AssistantConfig {
    /// How long a question waits for a professional before the assistant answers.
    pub delay: Duration,
    pub faq: Faq,
    pub llm: Option<LlmConfig>,
}

impl Default for AssistantConfig {
    fn default() -> Self {
        AssistantConfig {
            delay: Duration::from_secs(30),
            faq: Faq::default(),
            llm: None,
        }
    }
}

/// An answer to post.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub text: String,
    /// The language it is written in.
    pub lang: String,
    /// Where it came from, stored as the message's metadata.
    pub metadata: Value,
}

/// The backends, shared by every room.
#[derive(Debug)]
pub struct Assistant {
    matcher: FaqMatcher,
    llm: Option<LlmClient>,
    delay: Duration,
}

impl Assistant {
    pub fn new(config: AssistantConfig) -> Assistant {
        let llm = config.llm.and_then(|c| match LlmClient::new(c) {
            Ok(client) => Some(client),
            Err(err) => {
                warn!(%err, "assistant: cannot build the LLM client; FAQ only");
                None
            }
        });
        Assistant {
            matcher: FaqMatcher::new(config.faq),
            llm,
            delay: config.delay,
        }
    }

    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// The language to answer in: the message's tag, else its script.
    pub fn language(q: &Question) -> String {
        match &q.lang {
            Some(tag) if !text::primary_lang(tag).is_empty() => text::primary_lang(tag),
            _ => text::detect_lang(&q.text).to_string(),
        }
    }

    /// An answer from the FAQ alone, if it recognises the question.
    pub fn faq_answer(&self, q: &Question) -> Option<Answer> {
        let lang = Self::language(q);
        let m = self.matcher.best(&q.text)?;
        let (used, text) = self.matcher.answer(m.entry, &lang)?;
        Some(Answer {
            text,
            lang: used,
            metadata: json!({"source": "faq", "faq_id": m.id, "score": (m.score * 1000.0).round() / 1000.0}),
        })
    }

    /// Answer `q`: through the LLM when configured (with the closest FAQ
    /// entries as reference), falling back to the FAQ when it fails, times
    /// out or declines; `None` when nothing recognises the question.
    pub async fn answer(&self, q: &Question) -> Option<Answer> {
        let Some(llm) = &self.llm else {
            return self.faq_answer(q);
        };
        let lang = Self::language(q);
        let reference: Vec<(String, String)> = self
            .matcher
            .scores(&q.text)
            .into_iter()
            .take(3)
            .filter_map(|m| {
                let question = self.matcher.question(m.entry, &lang)?.to_string();
                let (_, answer) = self.matcher.answer(m.entry, &lang)?;
                Some((question, answer))
            })
            .collect();
        match llm.answer(&q.text, &lang, &reference).await {
            Ok(Some(text)) => Some(Answer {
                text,
                lang,
                metadata: json!({"source": "llm", "model": llm.model()}),
            }),
            Ok(None) => {
                debug!("assistant: the model declined; trying the FAQ");
                self.faq_answer(q)
            }
            Err(err) => {
                warn!(%err, "assistant: LLM backend failed; answering from the FAQ");
                self.faq_answer(q)
            }
        }
    }
}
