//! Tests of [`super`]: hand-built packets, error cases, property tests.

use super::*;
use proptest::prelude::*;

/// How a test packet's header extension is written.
#[derive(Debug, Clone)]
enum Ext {
    None,
    OneByte(Vec<(u8, Vec<u8>)>),
    TwoByte(Vec<(u8, Vec<u8>)>),
}

/// The fields of an RTP packet, serialised by hand (not with the parser).
#[derive(Debug, Clone)]
struct Packet {
    marker: bool,
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    csrcs: Vec<u32>,
    ext: Ext,
    payload: Vec<u8>,
    padding: u8,
}

impl Packet {
    fn audio(seq: u16, ts: u32) -> Self {
        Packet {
            marker: false,
            pt: 111,
            seq,
            ts,
            ssrc: 0x1234_5678,
            csrcs: vec![],
            ext: Ext::None,
            payload: vec![0xAA; 40],
            padding: 0,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut b = vec![
            0x80 | (u8::from(self.padding > 0) << 5) | self.csrcs.len() as u8,
            (u8::from(self.marker) << 7) | self.pt,
        ];
        b.extend(self.seq.to_be_bytes());
        b.extend(self.ts.to_be_bytes());
        b.extend(self.ssrc.to_be_bytes());
        for c in &self.csrcs {
            b.extend(c.to_be_bytes());
        }
        let (profile, mut body) = match &self.ext {
            Ext::None => (None, vec![]),
            Ext::OneByte(els) => {
                let mut body = vec![];
                for (id, d) in els {
                    body.push((id << 4) | (d.len() as u8 - 1));
                    body.extend(d);
                }
                (Some(ONE_BYTE_PROFILE), body)
            }
            Ext::TwoByte(els) => {
                let mut body = vec![];
                for (id, d) in els {
                    body.extend([*id, d.len() as u8]);
                    body.extend(d);
                }
                (Some(TWO_BYTE_PROFILE | 0x3), body)
            }
        };
        if let Some(p) = profile {
            b[0] |= 0x10;
            while body.len() % 4 != 0 {
                body.push(0);
            }
            b.extend(p.to_be_bytes());
            b.extend(((body.len() / 4) as u16).to_be_bytes());
            b.extend(body);
        }
        b.extend(&self.payload);
        if self.padding > 0 {
            b.extend(std::iter::repeat_n(0, usize::from(self.padding) - 1));
            b.push(self.padding);
        }
        b
    }
}

#[test]
fn parses_a_plain_opus_packet() {
    let mut p = Packet::audio(513, 0xDEAD_BEEF);
    p.marker = true;
    let bytes = p.bytes();
    let h = RtpHeader::parse(&bytes).unwrap();
    assert_eq!(h.version(), 2);
    assert!(h.marker() && !h.has_padding() && !h.has_extension());
    assert_eq!(h.payload_type(), 111);
    assert_eq!(h.sequence_number(), 513);
    assert_eq!(h.timestamp(), 0xDEAD_BEEF);
    assert_eq!(h.ssrc(), 0x1234_5678);
    assert_eq!(h.header_len(), 12);
    assert_eq!(h.payload(), &[0xAA; 40][..]);
    assert_eq!(h.extension(1), None);
}

#[test]
fn one_byte_extensions_with_padding_between() {
    let mut p = Packet::audio(1, 1);
    p.ext = Ext::OneByte(vec![(1, vec![0x80 | 42]), (3, vec![1, 2, 3])]);
    let mut bytes = p.bytes();
    // Insert a padding byte (id 0) between the two elements: still 8 bytes.
    assert_eq!(&bytes[12..16], &[0xBE, 0xDE, 0, 2]);
    bytes.copy_within(18..22, 19);
    bytes[18] = 0;
    let h = RtpHeader::parse(&bytes).unwrap();
    assert_eq!(h.header_len(), 24);
    assert_eq!(h.extension(1).and_then(audio_level), Some((42, true)));
    assert_eq!(h.extension(3), Some(&[1, 2, 3][..]));
    assert_eq!(h.extension(2), None);
    assert_eq!(h.extension(0), None);
}

#[test]
fn one_byte_id_15_stops_parsing() {
    let mut p = Packet::audio(1, 1);
    p.ext = Ext::OneByte(vec![(1, vec![7]), (15, vec![0]), (2, vec![9])]);
    let bytes = p.bytes();
    let h = RtpHeader::parse(&bytes).unwrap();
    assert_eq!(h.extension(1), Some(&[7][..]));
    assert_eq!(h.extension(2), None);
}

#[test]
fn two_byte_extensions_allow_empty_and_long_values() {
    let mut p = Packet::audio(1, 1);
    p.ext = Ext::TwoByte(vec![(5, vec![]), (200, vec![0x55; 20])]);
    let bytes = p.bytes();
    let h = RtpHeader::parse(&bytes).unwrap();
    assert_eq!(h.extension(5), Some(&[][..]));
    assert_eq!(h.extension(200), Some(&[0x55; 20][..]));
    assert_eq!(h.extension_block().map(|b| b.0), Some(0x1003));
}

#[test]
fn unknown_profile_has_no_elements() {
    let mut bytes = Packet::audio(1, 1).bytes();
    bytes[0] |= 0x10;
    bytes.splice(12..12, [0x12, 0x34, 0, 1, 0x10, 1, 2, 3]);
    let h = RtpHeader::parse(&bytes).unwrap();
    assert_eq!(h.extension_block(), Some((0x1234, &[0x10, 1, 2, 3][..])));
    assert_eq!(h.extensions().count(), 0);
    assert_eq!(h.payload().len(), 40);
}

#[test]
fn csrcs_and_padding() {
    let mut p = Packet::audio(9, 9);
    p.csrcs = vec![1, 2, 0xFFFF_FFFF];
    p.padding = 4;
    let bytes = p.bytes();
    let h = RtpHeader::parse(&bytes).unwrap();
    assert_eq!(h.csrcs().collect::<Vec<_>>(), vec![1, 2, 0xFFFF_FFFF]);
    assert_eq!(h.header_len(), 24);
    assert_eq!(h.padding_len(), 4);
    assert_eq!(h.payload().len(), 40);
}

#[test]
fn typed_errors() {
    let good = Packet::audio(1, 1).bytes();
    assert_eq!(RtpHeader::parse(&[]), Err(RtpError::TooShort(0)));
    assert_eq!(RtpHeader::parse(&good[..11]), Err(RtpError::TooShort(11)));
    let mut v1 = good.clone();
    v1[0] = 0x40;
    assert_eq!(RtpHeader::parse(&v1), Err(RtpError::BadVersion(1)));
    let mut csrc = good[..16].to_vec();
    csrc[0] |= 2;
    assert_eq!(RtpHeader::parse(&csrc), Err(RtpError::TruncatedCsrc));
    let mut ext = good[..20].to_vec();
    ext[0] |= 0x10;
    ext[12..16].copy_from_slice(&[0xBE, 0xDE, 0, 2]);
    assert_eq!(RtpHeader::parse(&ext), Err(RtpError::TruncatedExtension));
    let mut pad = good.clone();
    pad[0] |= 0x20;
    *pad.last_mut().unwrap() = 0;
    assert_eq!(RtpHeader::parse(&pad), Err(RtpError::BadPadding));
    *pad.last_mut().unwrap() = 41;
    assert_eq!(RtpHeader::parse(&pad), Err(RtpError::BadPadding));
    *pad.last_mut().unwrap() = 40;
    assert_eq!(RtpHeader::parse(&pad).map(|h| h.payload().len()), Ok(0));
}

#[test]
fn parses_level_and_voice() {
    assert_eq!(audio_level(&[0x80 | 30]), Some((30, true)));
    assert_eq!(audio_level(&[127]), Some((127, false)));
    assert_eq!(audio_level(&[]), None);
}

fn elements(max_id: u8, max_len: usize) -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
    prop::collection::vec(
        (1..=max_id, prop::collection::vec(any::<u8>(), 1..=max_len)),
        0..5,
    )
}

fn packet() -> impl Strategy<Value = Packet> {
    let ext = prop_oneof![
        Just(Ext::None),
        elements(14, 16).prop_map(Ext::OneByte),
        elements(255, 40).prop_map(Ext::TwoByte),
    ];
    (
        (
            any::<bool>(),
            0..128u8,
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
        ),
        prop::collection::vec(any::<u32>(), 0..=15),
        ext,
        prop::collection::vec(any::<u8>(), 0..200),
        any::<u8>(),
    )
        .prop_map(
            |((marker, pt, seq, ts, ssrc), csrcs, ext, payload, padding)| Packet {
                marker,
                pt,
                seq,
                ts,
                ssrc,
                csrcs,
                ext,
                payload,
                padding,
            },
        )
}

/// Touch every accessor: none may panic.
fn read_all(h: &RtpHeader<'_>) -> usize {
    let mut n = h.header_len() + h.padding_len() + h.payload().len();
    n += usize::from(h.version() + h.csrc_count() + h.payload_type());
    n += h.csrcs().count() + usize::from(h.marker() || h.has_padding() || h.has_extension());
    n += (h.sequence_number() as usize) + (h.timestamp() ^ h.ssrc()) as usize % 7;
    n += h
        .extensions()
        .map(|(id, d)| usize::from(id) + d.len())
        .sum::<usize>();
    n + (0..=255u8).filter_map(|id| h.extension(id)).count()
}

fn rewrite_to(level_id: Option<(u8, Option<u8>)>) -> Rewrite {
    Rewrite {
        payload_type: 109,
        sequence_number: 7,
        timestamp: 9600,
        ssrc: 0xCAFE,
        level_id,
    }
}

#[test]
fn a_forwarded_packet_gets_the_subscribers_numbers_and_only_its_audio_level() {
    let mut p = Packet::audio(1, 1);
    p.marker = true;
    // The publisher's level is id 1; id 3 is its mid, id 5 something else.
    p.ext = Ext::OneByte(vec![
        (3, b"0".to_vec()),
        (1, vec![0x80 | 30]),
        (5, vec![1, 2]),
    ]);
    let mut bytes = p.bytes();
    rewrite(&mut bytes, &rewrite_to(Some((1, Some(4))))).unwrap();
    let h = RtpHeader::parse(&bytes).unwrap();
    assert_eq!(bytes.len(), p.bytes().len(), "the packet keeps its length");
    assert_eq!(
        (
            h.marker(),
            h.payload_type(),
            h.sequence_number(),
            h.timestamp(),
            h.ssrc()
        ),
        (true, 109, 7, 9600, 0xCAFE)
    );
    let ext: Vec<(u8, Vec<u8>)> = h.extensions().map(|(i, d)| (i, d.to_vec())).collect();
    assert_eq!(ext, vec![(4, vec![0x80 | 30])]);
    assert_eq!(h.payload(), &p.payload[..]);
}

#[test]
fn a_subscriber_without_the_level_extension_gets_none_and_two_byte_elements_are_renumbered() {
    let mut p = Packet::audio(1, 1);
    p.ext = Ext::OneByte(vec![(1, vec![42])]);
    let mut bytes = p.bytes();
    rewrite(&mut bytes, &rewrite_to(Some((1, None)))).unwrap();
    assert_eq!(RtpHeader::parse(&bytes).unwrap().extensions().count(), 0);

    p.ext = Ext::TwoByte(vec![(20, vec![1, 2, 3]), (1, vec![42])]);
    let mut bytes = p.bytes();
    rewrite(&mut bytes, &rewrite_to(Some((1, Some(2))))).unwrap();
    let h = RtpHeader::parse(&bytes).unwrap();
    let ext: Vec<(u8, Vec<u8>)> = h.extensions().map(|(i, d)| (i, d.to_vec())).collect();
    assert_eq!(ext, vec![(2, vec![42])]);
}

#[test]
fn bytes_that_are_not_rtp_are_left_alone() {
    let mut bytes = vec![0x40; 20];
    assert_eq!(
        rewrite(&mut bytes, &rewrite_to(None)),
        Err(RtpError::BadVersion(1))
    );
    assert_eq!(bytes, vec![0x40; 20]);
}

proptest! {
    #[test]
    fn rewriting_never_panics_and_keeps_a_parseable_packet(p in packet(), at in any::<usize>(), byte in any::<u8>(), from in 0u8..16, to in proptest::option::of(0u8..16)) {
        let mut bytes = p.bytes();
        let at = at % bytes.len();
        bytes[at] = byte;
        let before = bytes.clone();
        let r = rewrite_to(Some((from, to)));
        if rewrite(&mut bytes, &r).is_ok() {
            let h = RtpHeader::parse(&bytes).unwrap();
            prop_assert_eq!(h.header_len(), RtpHeader::parse(&before).unwrap().header_len());
            prop_assert_eq!(h.ssrc(), 0xCAFE);
            for (id, _) in h.extensions() {
                prop_assert_eq!(Some(id), to);
            }
        } else {
            prop_assert_eq!(bytes, before);
        }
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(h) = RtpHeader::parse(&bytes) {
            prop_assert!(h.header_len() + h.padding_len() <= bytes.len());
            read_all(&h);
        }
        let _ = audio_level(&bytes);
    }

    #[test]
    fn never_panics_on_mangled_valid_packets(p in packet(), at in any::<usize>(), byte in any::<u8>(), cut in any::<usize>()) {
        let mut bytes = p.bytes();
        let at = at % bytes.len();
        bytes[at] = byte;
        bytes.truncate(cut % (bytes.len() + 1));
        if let Ok(h) = RtpHeader::parse(&bytes) {
            read_all(&h);
        }
    }

    #[test]
    fn round_trips_hand_built_headers(p in packet()) {
        let bytes = p.bytes();
        let h = RtpHeader::parse(&bytes).unwrap();
        prop_assert_eq!(h.marker(), p.marker);
        prop_assert_eq!(h.payload_type(), p.pt);
        prop_assert_eq!(h.sequence_number(), p.seq);
        prop_assert_eq!(h.timestamp(), p.ts);
        prop_assert_eq!(h.ssrc(), p.ssrc);
        prop_assert_eq!(h.csrcs().collect::<Vec<_>>(), p.csrcs.clone());
        prop_assert_eq!(h.payload(), &p.payload[..]);
        prop_assert_eq!(h.padding_len(), usize::from(p.padding));
        match &p.ext {
            Ext::None => prop_assert!(!h.has_extension()),
            Ext::OneByte(els) | Ext::TwoByte(els) => {
                // Trailing zero bytes are padding, so elements come back exactly.
                let got: Vec<(u8, Vec<u8>)> = h.extensions().map(|(i, d)| (i, d.to_vec())).collect();
                prop_assert_eq!(&got, els);
                for (id, _) in els {
                    let first = els.iter().find(|(i, _)| i == id).map(|(_, d)| &d[..]);
                    prop_assert_eq!(h.extension(*id), first);
                }
            }
        }
    }
}
