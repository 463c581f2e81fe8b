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

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| streamlog_fuzz::batch_input::run(data));
