//! The built-in backend: a FAQ (questions, keywords and answers per
//! language) matched by TF-IDF cosine similarity over normalised tokens,
//! plus a boost per keyword found in the question, against a threshold.
//!
//! Each FAQ question (in every language) is one document. A user's question
//! scores against an entry as the best cosine between it and any of the
//! entry's questions, plus [`KEYWORD_BOOST`] per keyword phrase it contains
//! (at most [`MAX_BOOST`] in all). The best entry answers if it reaches
//! `min_score`.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;

use super::text::{primary_lang, tokens};

/// Added to an entry's score for each of its keywords in the question.
pub const KEYWORD_BOOST: f64 = 0.15;
/// The most keywords can add.
pub const MAX_BOOST: f64 = 0.45;

fn default_min_score() -> f64 {
    0.35
}

/// A FAQ file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Faq {
    /// Below this score the assistant stays silent.
    #[serde(default = "default_min_score")]
    pub min_score: f64,
    pub entries: Vec<FaqEntry>,
}

impl Default for Faq {
    fn default() -> Self {
        Faq {
            min_score: default_min_score(),
            entries: vec![],
        }
    }
}

/// One question the assistant knows, asked in several ways and languages.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaqEntry {
    pub id: String,
    /// Ways to ask it, by language (`en`, `ar`, ...).
    pub questions: BTreeMap<String, Vec<String>>,
    /// Phrases that point to this entry in any language.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The answer, by language.
    pub answers: BTreeMap<String, String>,
}

/// A FAQ file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FaqError {
    #[error("FAQ is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("FAQ: {0}")]
    Invalid(String),
}

impl Faq {
    /// Parse and check a FAQ document.
    pub fn from_json(text: &str) -> Result<Faq, FaqError> {
        let faq: Faq = serde_json::from_str(text)?;
        faq.validate()?;
        Ok(faq)
    }

    fn validate(&self) -> Result<(), FaqError> {
        if !(self.min_score.is_finite() && self.min_score > 0.0) {
            return Err(FaqError::Invalid(
                "min_score must be a positive number".into(),
            ));
        }
        let mut ids = HashSet::new();
        for e in &self.entries {
            if e.id.is_empty() || !ids.insert(e.id.as_str()) {
                return Err(FaqError::Invalid(format!(
                    "entry ids must be unique and non-empty: `{}`",
                    e.id
                )));
            }
            if e.answers.values().all(|a| a.trim().is_empty()) {
                return Err(FaqError::Invalid(format!("entry `{}` has no answer", e.id)));
            }
            if e.questions.values().flatten().all(|q| tokens(q).is_empty()) {
                return Err(FaqError::Invalid(format!(
                    "entry `{}` has no usable question",
                    e.id
                )));
            }
        }
        Ok(())
    }
}

/// The best entry for a question and how well it matched.
#[derive(Debug, Clone, PartialEq)]
pub struct FaqMatch {
    /// Index into the FAQ's entries.
    pub entry: usize,
    pub id: String,
    pub score: f64,
}

/// A sparse, unit-length TF-IDF vector.
type Vector = HashMap<String, f64>;

/// A FAQ ready to match: document frequencies and question vectors.
#[derive(Debug, Clone)]
pub struct FaqMatcher {
    faq: Faq,
    idf: HashMap<String, f64>,
    /// Weight of a term no question contains.
    unseen_idf: f64,
    questions: Vec<(usize, Vector)>,
    keywords: Vec<(usize, Vec<String>)>,
}

fn unit(mut v: Vector) -> Vector {
    let norm = v.values().map(|w| w * w).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.values_mut().for_each(|w| *w /= norm);
    }
    v
}

fn contains_phrase(haystack: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && haystack.windows(phrase.len()).any(|w| w == phrase)
}

impl FaqMatcher {
    pub fn new(faq: Faq) -> FaqMatcher {
        let docs: Vec<(usize, Vec<String>)> = faq
            .entries
            .iter()
            .enumerate()
            .flat_map(|(i, e)| e.questions.values().flatten().map(move |q| (i, tokens(q))))
            .filter(|(_, t)| !t.is_empty())
            .collect();
        let n = docs.len() as f64;
        let mut df: HashMap<String, usize> = HashMap::new();
        for (_, toks) in &docs {
            for t in toks.iter().collect::<HashSet<_>>() {
                *df.entry(t.clone()).or_default() += 1;
            }
        }
        // Smoothed idf: ln((N + 1) / (df + 1)) + 1, always positive.
        let idf: HashMap<String, f64> = df
            .into_iter()
            .map(|(t, d)| (t, ((n + 1.0) / (d as f64 + 1.0)).ln() + 1.0))
            .collect();
        let unseen_idf = (n + 1.0).ln() + 1.0;
        let mut matcher = FaqMatcher {
            keywords: faq
                .entries
                .iter()
                .enumerate()
                .flat_map(|(i, e)| e.keywords.iter().map(move |k| (i, tokens(k))))
                .filter(|(_, t)| !t.is_empty())
                .collect(),
            faq,
            idf,
            unseen_idf,
            questions: vec![],
        };
        matcher.questions = docs
            .iter()
            .map(|(i, toks)| (*i, matcher.vector(toks)))
            .collect();
        matcher
    }

    pub fn faq(&self) -> &Faq {
        &self.faq
    }

    fn vector(&self, toks: &[String]) -> Vector {
        let mut v: Vector = HashMap::new();
        for t in toks {
            let idf = self.idf.get(t).copied().unwrap_or(self.unseen_idf);
            *v.entry(t.clone()).or_default() += idf;
        }
        unit(v)
    }

    /// Every entry's score for `question`, best first (only scores above 0).
    pub fn scores(&self, question: &str) -> Vec<FaqMatch> {
        let toks = tokens(question);
        if toks.is_empty() {
            return vec![];
        }
        let q = self.vector(&toks);
        let mut best: HashMap<usize, f64> = HashMap::new();
        for (entry, v) in &self.questions {
            let cos: f64 = q.iter().filter_map(|(t, w)| v.get(t).map(|x| w * x)).sum();
            let slot = best.entry(*entry).or_default();
            *slot = slot.max(cos);
        }
        let mut boosts: HashMap<usize, f64> = HashMap::new();
        for (entry, phrase) in &self.keywords {
            if contains_phrase(&toks, phrase) {
                *boosts.entry(*entry).or_default() += KEYWORD_BOOST;
            }
        }
        for (entry, boost) in boosts {
            *best.entry(entry).or_default() += boost.min(MAX_BOOST);
        }
        let mut out: Vec<FaqMatch> = best
            .into_iter()
            .filter(|(_, s)| *s > 0.0)
            .map(|(entry, score)| FaqMatch {
                entry,
                id: self.faq.entries[entry].id.clone(),
                score,
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
        out
    }

    /// The best entry if it reaches the FAQ's `min_score`.
    pub fn best(&self, question: &str) -> Option<FaqMatch> {
        self.scores(question)
            .into_iter()
            .next()
            .filter(|m| m.score >= self.faq.min_score)
    }

    /// An entry's answer in `lang` (its primary subtag), else English, else
    /// any; with the language actually used.
    pub fn answer(&self, entry: usize, lang: &str) -> Option<(String, String)> {
        let answers = &self.faq.entries.get(entry)?.answers;
        let want = primary_lang(lang);
        [want.as_str(), "en"]
            .iter()
            .find_map(|l| {
                answers
                    .get(*l)
                    .filter(|a| !a.trim().is_empty())
                    .map(|a| (l.to_string(), a.clone()))
            })
            .or_else(|| {
                answers
                    .iter()
                    .find(|(_, a)| !a.trim().is_empty())
                    .map(|(l, a)| (l.clone(), a.clone()))
            })
    }

    /// An entry's first question in `lang` (else any), for LLM context.
    pub fn question(&self, entry: usize, lang: &str) -> Option<&str> {
        let qs = &self.faq.entries.get(entry)?.questions;
        qs.get(&primary_lang(lang))
            .and_then(|v| v.first())
            .or_else(|| qs.values().flatten().next())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = r#"{"min_score": 0.35, "entries": [
      {"id": "processing-time",
       "questions": {"en": ["How long does visa processing take?", "When will my visa be ready?"],
                     "ar": ["كم تستغرق معالجة التأشيرة؟"]},
       "keywords": ["processing time", "مدة المعالجة"],
       "answers": {"en": "Processing takes 5 to 10 working days.", "ar": "تستغرق المعالجة من 5 إلى 10 أيام عمل."}},
      {"id": "documents",
       "questions": {"en": ["What documents do I need for the visa?"], "ar": ["ما هي الوثائق المطلوبة للتأشيرة؟"]},
       "keywords": ["documents", "passport copy"],
       "answers": {"en": "A passport copy, a photo and a bank statement.", "ar": "نسخة من جواز السفر وصورة وكشف حساب بنكي."}},
      {"id": "fees",
       "questions": {"en": ["How much is the visa fee?"]},
       "answers": {"en": "The fee is 300 AED."}}
    ]}"#;

    fn matcher() -> FaqMatcher {
        FaqMatcher::new(Faq::from_json(SAMPLE).unwrap())
    }

    #[test]
    fn paraphrases_match_their_entry() {
        let m = matcher();
        assert_eq!(
            m.best("how long will the processing of my visa take")
                .unwrap()
                .id,
            "processing-time"
        );
        assert_eq!(
            m.best("Which documents are needed?").unwrap().id,
            "documents"
        );
        assert_eq!(m.best("what is the fee for a visa").unwrap().id, "fees");
        assert_eq!(
            m.best("كم تستغرق معالجة تأشيرتي").unwrap().id,
            "processing-time"
        );
        assert_eq!(m.best("ما الوثائق المطلوبه").unwrap().id, "documents");
    }

    #[test]
    fn unrelated_text_stays_below_the_threshold() {
        let m = matcher();
        assert_eq!(m.best("thanks, see you tomorrow"), None);
        assert_eq!(m.best("the weather is nice"), None);
        assert_eq!(m.best(""), None);
        assert_eq!(m.best("?!"), None);
    }

    #[test]
    fn keywords_boost_short_questions() {
        let m = matcher();
        let with = m.scores("processing time?")[0].clone();
        assert_eq!(with.id, "processing-time");
        assert!(with.score >= 0.35 + KEYWORD_BOOST - 0.35, "{with:?}");
        assert_eq!(
            m.best("do you need a passport copy?").unwrap().id,
            "documents"
        );
        // A keyword alone is not enough to answer.
        assert_eq!(m.best("passport copy"), None);
    }

    #[test]
    fn answers_follow_the_language_with_english_fallback() {
        let m = matcher();
        assert_eq!(m.answer(0, "ar-AE").unwrap().0, "ar");
        assert_eq!(
            m.answer(0, "en").unwrap().1,
            "Processing takes 5 to 10 working days."
        );
        assert_eq!(
            m.answer(2, "ar").unwrap(),
            ("en".to_string(), "The fee is 300 AED.".to_string())
        );
        assert_eq!(m.answer(99, "en"), None);
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(Faq::from_json("{").is_err());
        assert!(Faq::from_json(
            r#"{"entries": [{"id": "a", "questions": {"en": ["the a"]}, "answers": {"en": "x"}}]}"#
        )
        .is_err());
        assert!(Faq::from_json(
            r#"{"entries": [{"id": "a", "questions": {"en": ["visa"]}, "answers": {}}]}"#
        )
        .is_err());
        assert!(Faq::from_json(r#"{"min_score": -1, "entries": []}"#).is_err());
        assert!(Faq::from_json(r#"{"entries": [], "extra": 1}"#).is_err());
    }

    proptest! {
        #[test]
        fn scores_are_finite_bounded_and_never_panic(q in "\\PC{0,200}") {
            let m = matcher();
            for s in m.scores(&q) {
                prop_assert!(s.score.is_finite());
                prop_assert!(s.score > 0.0 && s.score <= 1.0 + MAX_BOOST + 1e-9, "{:?}", s);
            }
        }

        #[test]
        fn every_faq_question_finds_its_own_entry(pick in 0usize..5) {
            let m = matcher();
            let qs: Vec<(usize, String)> = m.faq().entries.iter().enumerate()
                .flat_map(|(i, e)| e.questions.values().flatten().map(move |q| (i, q.clone())))
                .collect();
            let (entry, q) = &qs[pick % qs.len()];
            let best = m.best(q).expect("a FAQ question matches");
            prop_assert_eq!(best.entry, *entry);
        }

        #[test]
        fn arbitrary_faq_documents_never_panic(doc in "\\PC{0,300}") {
            if let Ok(faq) = Faq::from_json(&doc) {
                let m = FaqMatcher::new(faq);
                let _ = m.best(&doc);
            }
        }
    }
}
