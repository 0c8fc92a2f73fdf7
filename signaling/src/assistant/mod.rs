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

use crate::limit::KeyedLimit;
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
    /// LLM requests one tenant may cause per minute (rooms without a
    /// tenant share one budget); past it the FAQ answers.
    pub llm_per_minute: u32,
}

impl Default for AssistantConfig {
    fn default() -> Self {
        AssistantConfig {
            delay: Duration::from_secs(30),
            faq: Faq::default(),
            llm: None,
            llm_per_minute: 60,
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
    /// The LLM budget, keyed by tenant (`""` for rooms without one).
    llm_budget: KeyedLimit<String>,
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
            // At least one a minute: 0 does not switch the budget off.
            llm_budget: KeyedLimit::per_minute(config.llm_per_minute.max(1), 0),
            delay: config.delay,
        }
    }

    /// Whether `tenant` may make one more LLM request now (and counts it).
    fn llm_allowed(&self, tenant: Option<&str>) -> bool {
        self.llm_budget
            .check(&tenant.unwrap_or_default().to_string())
            .is_ok()
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

    /// Answer `q`, asked in a room of `tenant`: through the LLM when
    /// configured (with the closest FAQ entries as reference), falling back
    /// to the FAQ when it fails, times out or declines, or when the tenant
    /// spent its LLM budget for the minute; `None` when nothing recognises
    /// the question.
    pub async fn answer(&self, tenant: Option<&str>, q: &Question) -> Option<Answer> {
        let Some(llm) = &self.llm else {
            return self.faq_answer(q);
        };
        if !self.llm_allowed(tenant) {
            debug!(
                tenant = tenant.unwrap_or_default(),
                "assistant: LLM budget spent for this minute; answering from the FAQ"
            );
            return self.faq_answer(q);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn faq() -> Faq {
        Faq::from_json(
            r#"{"entries": [{"id": "fees", "questions": {"en": ["How much is the visa fee?"], "ar": ["كم رسوم التأشيرة؟"]},
                "answers": {"en": "300 AED.", "ar": "300 درهم."}}]}"#,
        )
        .unwrap()
    }

    fn question(text: &str, lang: Option<&str>) -> Question {
        Question {
            message_id: "m".into(),
            text: text.into(),
            lang: lang.map(str::to_string),
        }
    }

    #[tokio::test]
    async fn faq_backend_answers_in_the_question_language() {
        let a = Assistant::new(AssistantConfig {
            faq: faq(),
            ..Default::default()
        });
        let en = a
            .answer(None, &question("what is the visa fee", None))
            .await
            .unwrap();
        assert_eq!((en.text.as_str(), en.lang.as_str()), ("300 AED.", "en"));
        assert_eq!(en.metadata["faq_id"], "fees");
        let ar = a
            .answer(None, &question("كم رسوم التأشيرة", None))
            .await
            .unwrap();
        assert_eq!(ar.lang, "ar");
        let tagged = a
            .answer(None, &question("visa fee?", Some("ar-SA")))
            .await
            .unwrap();
        assert_eq!(tagged.text, "300 درهم.");
        assert!(a
            .answer(None, &question("good morning", None))
            .await
            .is_none());
    }

    /// An endpoint that accepts connections and never answers: under paused
    /// time the timeout passes at once, and the FAQ answers.
    #[tokio::test(start_paused = true)]
    async fn an_llm_that_never_answers_times_out_to_the_faq() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let mut held = vec![];
            while let Ok((sock, _)) = listener.accept().await {
                held.push(sock);
            }
        });
        let a = Assistant::new(AssistantConfig {
            faq: faq(),
            delay: Duration::from_secs(30),
            llm: Some(LlmConfig {
                url: format!("http://{addr}/v1/chat/completions"),
                model: "m".into(),
                api_key: None,
                timeout: Duration::from_secs(10),
            }),
            ..Default::default()
        });
        let started = tokio::time::Instant::now();
        let answer = a
            .answer(None, &question("what is the visa fee", None))
            .await
            .unwrap();
        assert_eq!(answer.metadata["source"], "faq");
        assert!(
            started.elapsed() >= Duration::from_secs(10),
            "waited for the timeout"
        );
        hold.abort();
    }
}
