//! A zero-copy RTP header view (RFC 3550 §5.1) with RFC 8285 header
//! extensions and the RFC 6464 audio level. Never allocates, never panics on
//! untrusted bytes: every length is checked against the buffer.

use thiserror::Error;

/// Fixed part of every RTP header (before CSRCs).
pub const FIXED_HEADER_LEN: usize = 12;
/// RFC 8285 §4.2 one-byte header extension profile.
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// RFC 8285 §4.3 two-byte header extension profile (low 4 bits: app bits).
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// Why bytes are not a valid RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RtpError {
    /// Shorter than the 12-byte fixed header.
    #[error("RTP packet of {0} bytes is shorter than the 12-byte header")]
    TooShort(usize),
    /// The version field is not 2.
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    /// The CSRC list runs past the end of the packet.
    #[error("RTP CSRC list truncated")]
    TruncatedCsrc,
    /// The header extension block runs past the end of the packet.
    #[error("RTP header extension truncated")]
    TruncatedExtension,
    /// The padding count is zero or longer than the payload.
    #[error("RTP padding count invalid")]
    BadPadding,
}

/// A validated view of one RTP packet's header; borrows the packet bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader<'a> {
    buf: &'a [u8],
    header_len: usize,
    padding_len: usize,
    /// Profile and data of the header extension block, if any.
    ext: Option<(u16, &'a [u8])>,
}

fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[x, y]) => u16::from_be_bytes([x, y]),
        _ => 0,
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[w, x, y, z]) => u32::from_be_bytes([w, x, y, z]),
        _ => 0,
    }
}

impl<'a> RtpHeader<'a> {
    /// Validate `buf` as an RTP packet: version 2, CSRCs, extension block
    /// and padding all within the buffer.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        let (&b0, _) = buf.split_first().ok_or(RtpError::TooShort(0))?;
        if buf.len() < FIXED_HEADER_LEN {
            return Err(RtpError::TooShort(buf.len()));
        }
        if b0 >> 6 != 2 {
            return Err(RtpError::BadVersion(b0 >> 6));
        }
        let mut len = FIXED_HEADER_LEN + 4 * usize::from(b0 & 0x0f);
        if len > buf.len() {
            return Err(RtpError::TruncatedCsrc);
        }
        let mut ext = None;
        if b0 & 0x10 != 0 {
            let words = buf.get(len..len + 4).ok_or(RtpError::TruncatedExtension)?;
            let profile = be16(words, 0);
            let data_len = 4 * usize::from(be16(words, 2));
            let data = buf
                .get(len + 4..len + 4 + data_len)
                .ok_or(RtpError::TruncatedExtension)?;
            ext = Some((profile, data));
            len += 4 + data_len;
        }
        let mut padding_len = 0;
        if b0 & 0x20 != 0 {
            padding_len = usize::from(buf.last().copied().unwrap_or(0));
            if padding_len == 0 || padding_len > buf.len() - len {
                return Err(RtpError::BadPadding);
            }
        }
        Ok(Self {
            buf,
            header_len: len,
            padding_len,
            ext,
        })
    }

    /// Always 2 for a parsed header.
    pub fn version(&self) -> u8 {
        self.first() >> 6
    }

    fn first(&self) -> u8 {
        self.buf.first().copied().unwrap_or(0)
    }

    /// The P bit: the packet ends with padding.
    pub fn has_padding(&self) -> bool {
        self.first() & 0x20 != 0
    }

    /// The X bit: a header extension block follows the CSRCs.
    pub fn has_extension(&self) -> bool {
        self.first() & 0x10 != 0
    }

    /// Number of CSRC identifiers (0..=15).
    pub fn csrc_count(&self) -> u8 {
        self.first() & 0x0f
    }

    /// The M bit (for audio: first packet of a talk spurt).
    pub fn marker(&self) -> bool {
        self.buf.get(1).is_some_and(|b| b & 0x80 != 0)
    }

    /// The 7-bit payload type.
    pub fn payload_type(&self) -> u8 {
        self.buf.get(1).map_or(0, |b| b & 0x7f)
    }

    /// The 16-bit sequence number.
    pub fn sequence_number(&self) -> u16 {
        be16(self.buf, 2)
    }

    /// The 32-bit media timestamp (clock-rate units).
    pub fn timestamp(&self) -> u32 {
        be32(self.buf, 4)
    }

    /// The synchronisation source identifier.
    pub fn ssrc(&self) -> u32 {
        be32(self.buf, 8)
    }

    /// The contributing source identifiers, in order.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        let buf = self.buf;
        (0..usize::from(self.csrc_count())).map(move |i| be32(buf, FIXED_HEADER_LEN + 4 * i))
    }

    /// Bytes before the payload: fixed header, CSRCs and extension block.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// Bytes of padding at the end of the packet (0 without the P bit).
    pub fn padding_len(&self) -> usize {
        self.padding_len
    }

    /// The payload, without header and padding.
    pub fn payload(&self) -> &'a [u8] {
        let end = self.buf.len().saturating_sub(self.padding_len);
        self.buf.get(self.header_len..end).unwrap_or(&[])
    }

    /// The extension block's profile (0xBEDE, 0x100x or another) and data.
    pub fn extension_block(&self) -> Option<(u16, &'a [u8])> {
        self.ext
    }

    /// The RFC 8285 extension elements as `(id, data)`, one-byte or
    /// two-byte form. Iteration stops at the first malformed element; other
    /// profiles yield nothing.
    pub fn extensions(&self) -> Extensions<'a> {
        match self.ext {
            Some((ONE_BYTE_PROFILE, data)) => Extensions {
                data,
                two_byte: false,
            },
            Some((p, data)) if p & 0xfff0 == TWO_BYTE_PROFILE => Extensions {
                data,
                two_byte: true,
            },
            _ => Extensions {
                data: &[],
                two_byte: false,
            },
        }
    }

    /// The data of the first RFC 8285 extension element with this id.
    pub fn extension(&self, id: u8) -> Option<&'a [u8]> {
        if id == 0 {
            return None;
        }
        self.extensions().find(|(i, _)| *i == id).map(|(_, d)| d)
    }
}

/// Iterator over RFC 8285 extension elements; see [`RtpHeader::extensions`].
#[derive(Debug, Clone)]
pub struct Extensions<'a> {
    data: &'a [u8],
    two_byte: bool,
}

impl<'a> Iterator for Extensions<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (&first, rest) = self.data.split_first()?;
            let (id, len, rest) = if self.two_byte {
                if first == 0 {
                    self.data = rest; // padding byte
                    continue;
                }
                let Some((&len, rest)) = rest.split_first() else {
                    self.data = &[];
                    return None;
                };
                (first, usize::from(len), rest)
            } else {
                let id = first >> 4;
                if id == 0 {
                    self.data = rest; // padding byte
                    continue;
                }
                if id == 15 {
                    self.data = &[]; // reserved: stop parsing (RFC 8285 §4.2)
                    return None;
                }
                (id, usize::from(first & 0x0f) + 1, rest)
            };
            let Some((value, rest)) = rest.split_at_checked(len) else {
                self.data = &[];
                return None;
            };
            self.data = rest;
            return Some((id, value));
        }
    }
}

/// How a forwarded packet's header changes for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrite {
    pub payload_type: u8,
    pub sequence_number: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// The publisher's audio-level extension id and the subscriber's: the
    /// element is renumbered (dropped when the subscriber has none).
    pub level_id: Option<(u8, Option<u8>)>,
}

/// Rewrite a plain RTP packet in place for one subscriber. Of its RFC 8285
/// extension elements only the audio level survives, renumbered: the
/// others (the publisher's mid, transport-wide sequence numbers, ...) mean
/// nothing, or something else, in the subscriber's session, so they are
/// overwritten with padding bytes (id 0), which every parser skips. The
/// packet keeps its length. Returns the parse error for bytes that are not
/// RTP (then nothing is written).
pub fn rewrite(buf: &mut [u8], r: &Rewrite) -> Result<(), RtpError> {
    let h = RtpHeader::parse(buf)?;
    let (header_len, ext) = (h.header_len(), h.extension_block());
    let ext = ext.map(|(profile, data)| (profile, header_len - data.len()));
    buf[1] = (buf[1] & 0x80) | (r.payload_type & 0x7f);
    buf[2..4].copy_from_slice(&r.sequence_number.to_be_bytes());
    buf[4..8].copy_from_slice(&r.timestamp.to_be_bytes());
    buf[8..12].copy_from_slice(&r.ssrc.to_be_bytes());
    let Some((profile, start)) = ext else {
        return Ok(());
    };
    let data = &mut buf[start..header_len];
    let two_byte = match profile {
        ONE_BYTE_PROFILE => false,
        p if p & 0xfff0 == TWO_BYTE_PROFILE => true,
        // An unknown profile: blank it all (its bytes are skipped as a block).
        _ => {
            data.fill(0);
            return Ok(());
        }
    };
    let mut at = 0;
    while at < data.len() {
        let first = data[at];
        if first == 0 {
            at += 1; // padding
            continue;
        }
        let (id, head, len) = if two_byte {
            match data.get(at + 1) {
                Some(&len) => (first, 2, usize::from(len)),
                None => (first, 1, 0),
            }
        } else {
            (first >> 4, 1, usize::from(first & 0x0f) + 1)
        };
        let end = (at + head + len).min(data.len());
        let keep = match r.level_id {
            Some((from, Some(to))) if id == from && (1..=14).contains(&to) && id != 15 => Some(to),
            _ => None,
        };
        match keep {
            Some(to) if two_byte => data[at] = to,
            Some(to) => data[at] = (to << 4) | (first & 0x0f),
            None => data[at..end].fill(0),
        }
        if !two_byte && id == 15 {
            // Reserved: the rest is not parsed (RFC 8285 §4.2); blank it.
            data[at..].fill(0);
            break;
        }
        at = end;
    }
    Ok(())
}

/// The RFC 6464 audio level extension body: (level in -dBov 0..=127, voice flag).
pub fn audio_level(ext: &[u8]) -> Option<(u8, bool)> {
    let b = *ext.first()?;
    Some((b & 0x7f, b & 0x80 != 0))
}

#[cfg(test)]
#[path = "rtp_tests.rs"]
mod tests;
