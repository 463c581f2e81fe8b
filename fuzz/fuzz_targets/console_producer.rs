//! console-producer's line reader (Kafka's LineMessageReader) with its options taken from the
//! input too.
//!
//! Input: a flags byte (bit 0: keep repeated header keys, as against a remote cluster), then
//! `--property` values one per line (`parse.key=true`, `key.separator=:`, `parse.headers=true`,
//! `headers.delimiter`, `headers.separator`, `headers.key.separator`, `null.marker`,
//! `ignore.error`) up to an empty line, then the standard input. Entry points:
//! `cli::args::parse_key_value` (the `--property` parser), `LineFormat::from_properties` and
//! `LineFormat::parse_block` (what the stdin reader thread runs on each block).
//!
//! There is no JSON input mode in console-producer yet, so none is fuzzed.
//!
//! Invariants: nothing panics; each line gives one record or stops the block with an error;
//! without key and header parsing a record's value is the line (null only for the null marker).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| streamlog_fuzz::line_input::run(data));
