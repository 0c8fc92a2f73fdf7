//! RTP header helpers that never panic on untrusted bytes.

/// The RFC 6464 audio level extension body: (level in -dBov 0..=127, voice flag).
pub fn audio_level(ext: &[u8]) -> Option<(u8, bool)> {
    let b = *ext.first()?;
    Some((b & 0x7f, b & 0x80 != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_level_and_voice() {
        assert_eq!(audio_level(&[0x80 | 30]), Some((30, true)));
        assert_eq!(audio_level(&[127]), Some((127, false)));
        assert_eq!(audio_level(&[]), None);
    }
}
