//! Text normalisation, tokens and script-based language detection for the
//! FAQ matcher. Plain functions over `&str`; they never panic on any input.

/// Words too common to tell questions apart (already normalised).
const STOPWORDS: &[&str] = &[
    // English
    "a",
    "an",
    "the",
    "is",
    "are",
    "am",
    "be",
    "was",
    "were",
    "i",
    "me",
    "my",
    "we",
    "our",
    "you",
    "your",
    "it",
    "its",
    "this",
    "that",
    "to",
    "of",
    "in",
    "on",
    "at",
    "for",
    "and",
    "or",
    "do",
    "doe",
    "did",
    "can",
    "could",
    "would",
    "should",
    "will",
    "please",
    "hi",
    "hello",
    "there",
    "with",
    "about",
    "any",
    "some",
    "so",
    "just",
    "also",
    "u",
    // Arabic (normalised: alef forms folded, taa marbuta as haa)
    "في",
    "من",
    "على",
    "الى",
    "عن",
    "ما",
    "هل",
    "هذا",
    "هذه",
    "انا",
    "انت",
    "هو",
    "هي",
    "و",
    "او",
    "ان",
    "لو",
    "يا",
    "مرحبا",
    "لي",
    "عندي",
    "مع",
    "ذلك",
    "تلك",
    "التي",
    "الذي",
];

/// Lower-case, fold Arabic letter variants, drop Arabic diacritics and
/// tatweel, and map Arabic-Indic digits to ASCII.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            // Harakat, superscript alef, tatweel.
            '\u{064B}'..='\u{0652}' | '\u{0670}' | '\u{0640}' => {}
            'أ' | 'إ' | 'آ' | 'ٱ' => out.push('ا'),
            'ة' => out.push('ه'),
            'ى' => out.push('ي'),
            'ؤ' => out.push('و'),
            'ئ' => out.push('ي'),
            '\u{0660}'..='\u{0669}' => {
                out.push(char::from(b'0' + (c as u32 - 0x0660) as u8));
            }
            '\u{06F0}'..='\u{06F9}' => {
                out.push(char::from(b'0' + (c as u32 - 0x06F0) as u8));
            }
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// A light stem: English plural/possessive endings, the Arabic article.
fn stem(word: &str) -> String {
    let chars = word.chars().count();
    if word.is_ascii() {
        if let Some(w) = word.strip_suffix("'s") {
            return w.to_string();
        }
        if chars > 4 {
            if let Some(w) = word.strip_suffix("ies") {
                return format!("{w}y");
            }
        }
        if chars > 3 && word.ends_with('s') && !word.ends_with("ss") && !word.ends_with("us") {
            return word[..word.len() - 1].to_string();
        }
        return word.to_string();
    }
    for prefix in ["وال", "بال", "لل", "ال"] {
        if let Some(rest) = word.strip_prefix(prefix) {
            if rest.chars().count() >= 2 {
                return rest.to_string();
            }
        }
    }
    word.to_string()
}

/// The tokens of `text`: normalised, split on anything that is not a letter
/// or digit, stemmed, without stopwords.
pub fn tokens(text: &str) -> Vec<String> {
    normalize(text)
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(stem)
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// The language of `text` from its script: `ar` (Arabic script), `ru`
/// (Cyrillic), `hi` (Devanagari), else `en`.
pub fn detect_lang(text: &str) -> &'static str {
    let (mut arabic, mut cyrillic, mut devanagari, mut latin) = (0usize, 0, 0, 0);
    for c in text.chars() {
        match c {
            '\u{0600}'..='\u{06FF}'
            | '\u{0750}'..='\u{077F}'
            | '\u{FB50}'..='\u{FDFF}'
            | '\u{FE70}'..='\u{FEFF}' => arabic += 1,
            '\u{0400}'..='\u{04FF}' => cyrillic += 1,
            '\u{0900}'..='\u{097F}' => devanagari += 1,
            c if c.is_ascii_alphabetic() => latin += 1,
            _ => {}
        }
    }
    let best = [
        (arabic, "ar"),
        (cyrillic, "ru"),
        (devanagari, "hi"),
        (latin, "en"),
    ]
    .into_iter()
    .max_by_key(|(n, _)| *n)
    .filter(|(n, _)| *n > 0);
    best.map_or("en", |(_, lang)| lang)
}

/// The primary subtag of a BCP 47 tag, lower-cased: `ar-EG` → `ar`.
pub fn primary_lang(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn english_tokens_drop_stopwords_and_plurals() {
        assert_eq!(
            tokens("What documents do I need for the visa?"),
            vec!["what", "document", "need", "visa"]
        );
        assert_eq!(tokens("Visa's fees!!"), vec!["visa", "fee"]);
    }

    #[test]
    fn arabic_is_folded_and_loses_the_article() {
        // With and without diacritics, hamza forms and the article: the same tokens.
        assert_eq!(
            tokens("ما هي الوثائق المطلوبة للتأشيرة؟"),
            tokens("وثائق مطلوبه تاشيره")
        );
        assert_eq!(normalize("أَهْلاً"), "اهلا");
        assert_eq!(normalize("٢٠٢٤"), "2024");
    }

    #[test]
    fn language_follows_the_script() {
        assert_eq!(detect_lang("كم تستغرق معالجة التأشيرة؟"), "ar");
        assert_eq!(detect_lang("How long does it take?"), "en");
        assert_eq!(detect_lang("Сколько стоит виза?"), "ru");
        assert_eq!(detect_lang("123 ?!"), "en");
        // Mostly Arabic with a Latin word.
        assert_eq!(detect_lang("ما هي رسوم visa"), "ar");
        assert_eq!(primary_lang("ar-EG"), "ar");
    }

    proptest! {
        #[test]
        fn tokenizer_never_panics_and_yields_clean_tokens(s in "\\PC{0,200}") {
            for t in tokens(&s) {
                prop_assert!(!t.is_empty());
                prop_assert!(t.chars().all(|c| c.is_alphanumeric() || c == '\''));
                prop_assert!(!STOPWORDS.contains(&t.as_str()));
            }
            let _ = detect_lang(&s);
        }

        #[test]
        fn normalising_twice_changes_nothing(s in "\\PC{0,200}") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
        }

        #[test]
        fn arabic_and_mixed_text_tokenizes(s in "[\u{0600}-\u{06FF} a-zA-Z0-9?.,]{0,120}") {
            let t = tokens(&s);
            prop_assert!(t.iter().all(|w| !w.contains(' ')));
        }
    }
}
