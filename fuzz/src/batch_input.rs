//! The `record_batch` target's harness (see `fuzz_targets/record_batch.rs`). Depends on
//! streamlog, `bytes` and `crc32c` only, so the main crate's tests include it with `#[path]`.

use bytes::Bytes;
use streamlog::log::batch::{self, BatchHeader, BatchIter};
use streamlog::log::codec::decode_batches;

/// Runs the target on one input.
pub fn run(data: &[u8]) {
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
}
