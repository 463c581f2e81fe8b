//! The RecordBatch v2 header parser and the record decoder on arbitrary bytes.
//!
//! Input: the bytes of a fetch response's records field or of a segment file (any number of
//! batches, any garbage). Entry points: `log::batch::{BatchHeader::parse, validate, BatchIter}`
//! and `log::codec::decode_batches`.
//!
//! Invariants: nothing panics; a header that parses has a size of at least the header; every
//! batch the CRC-checking iterator yields passes `validate`, and the iterator's position ends on
//! a batch boundary; `decode_batches` only returns records from batches whose CRC holds.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use streamlog::log::batch::{self, BatchHeader, BatchIter};
use streamlog::log::codec::decode_batches;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = BatchHeader::parse(data) {
        assert!(
            h.size() >= batch::HEADER_LEN,
            "parsed header smaller than a header"
        );
    }
    if let Ok(h) = batch::validate(data) {
        assert!(h.size() <= data.len());
        let crc = crc32c::crc32c(&data[21..h.size()]);
        assert_eq!(
            crc, h.crc,
            "validate accepted a batch whose CRC does not hold"
        );
    }

    // The CRC-checking walk: every yielded batch is whole and valid, in order, back to back.
    let mut iter = BatchIter::new(data, true);
    let mut expect_at = 0;
    let mut whole = Vec::new();
    for (at, h) in iter.by_ref() {
        assert_eq!(at, expect_at, "batches are not contiguous");
        let one = &data[at..at + h.size()];
        assert_eq!(batch::validate(one).ok(), Some(h));
        whole.push((at, h));
        expect_at = at + h.size();
    }
    assert_eq!(iter.position(), expect_at);

    // The unchecked walk sees the same batches, and maybe more (it does not read CRCs).
    let mut unchecked = BatchIter::new(data, false);
    for (i, (at, h)) in unchecked.by_ref().enumerate() {
        if let Some(&(w_at, w_h)) = whole.get(i) {
            assert_eq!((at, h), (w_at, w_h));
        }
    }

    // Records only ever come out of batches that pass their CRC.
    let mut records = Vec::new();
    let _ = decode_batches(Bytes::copy_from_slice(data), &mut records);
    let mut unchecked = BatchIter::new(data, false);
    for (at, h) in unchecked.by_ref() {
        let one = &data[at..at + h.size()];
        let mut out = Vec::new();
        if decode_batches(Bytes::copy_from_slice(one), &mut out).is_ok() && !out.is_empty() {
            assert!(
                batch::validate(one).is_ok(),
                "decode_batches returned records from a batch that fails its CRC"
            );
        }
    }
});
