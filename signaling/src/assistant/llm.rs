//! The optional backend: an OpenAI-compatible chat-completions endpoint.

use std::time::Duration;

use serde_json::{json, Value};

/// What the model replies when it cannot answer from what it was given.
pub const NO_ANSWER: &str = "NO_ANSWER";

/// Where and how to reach the endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// The full chat-completions URL, e.g. `https://host/v1/chat/completions`.
    pub url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer`, when set.
    pub api_key: Option<String>,
    /// The whole request, connect to last byte.
    pub timeout: Duration,
}

/// Why the endpoint gave no usable answer (the assistant falls back to the FAQ).
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("endpoint answered {0}")]
    Status(u16),
    #[error("response has no choices[0].message.content")]
    Shape,
}

/// A chat-completions client.
#[derive(Debug, Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    config: LlmConfig,
}

/// Language names for the instruction to the model.
fn language_name(lang: &str) -> &str {
    match lang {
        "ar" => "Arabic",
        "en" => "English",
        "fr" => "French",
        "es" => "Spanish",
        "de" => "German",
        "ru" => "Russian",
        "ur" => "Urdu",
        "hi" => "Hindi",
        other => other,
    }
}

impl LlmClient {
    pub fn new(config: LlmConfig) -> Result<LlmClient, LlmError> {
        let http = reqwest::Client::builder().timeout(config.timeout).build()?;
        Ok(LlmClient { http, config })
    }

    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// The request body for `question` in `lang`, with FAQ entries
    /// (question, answer) as reference.
    pub fn request_body(
        &self,
        question: &str,
        lang: &str,
        reference: &[(String, String)],
    ) -> Value {
        let mut system = format!(
            "You are the assistant of a support chat where applicants talk to professionals. \
             Answer the user's question briefly and factually, in {} only. \
             If you cannot answer it from the reference below or general knowledge of the process, \
             reply exactly {NO_ANSWER}.",
            language_name(lang)
        );
        if !reference.is_empty() {
            system.push_str("\n\nReference (frequently asked questions):");
            for (q, a) in reference {
                system.push_str(&format!("\nQ: {q}\nA: {a}"));
            }
        }
        json!({
            "model": self.config.model,
            "temperature": 0.2,
            "max_tokens": 400,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": question},
            ],
        })
    }

    /// The model's answer; `Ok(None)` when it declined (`NO_ANSWER` or empty).
    pub async fn answer(
        &self,
        question: &str,
        lang: &str,
        reference: &[(String, String)],
    ) -> Result<Option<String>, LlmError> {
        let mut req = self
            .http
            .post(&self.config.url)
            .json(&self.request_body(question, lang, reference));
        if let Some(key) = &self.config.api_key {
            req = req.bearer_auth(key);
        }
        let res = req.send().await?;
        if !res.status().is_success() {
            return Err(LlmError::Status(res.status().as_u16()));
        }
        let body: Value = res.json().await?;
        let content = body
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or(LlmError::Shape)?
            .trim();
        if content.is_empty() || content.contains(NO_ANSWER) {
            return Ok(None);
        }
        Ok(Some(content.to_string()))
    }
}
