//! console-producer's line reader (Kafka's LineMessageReader) with its options taken from the
//! input too.
//!
//! Input: a flags byte (bit 0: keep repeated header keys, as against a remote cluster), then
//! `--property` values one per line (`parse.key=true`, `key.separator=:`, `parse.headers=true`,
//! `headers.delimiter`, `headers.separator`, `headers.key.separator`, `null.marker`,
//! `ignore.error`) up to an empty line, then the standard input. Entry points:
//! `config::parse_key_value` (the `--property` parser), `LineFormat::from_properties` and
//! `LineFormat::parse_block` (what the stdin reader thread runs on each block).
//!
//! There is no JSON input mode in console-producer yet, so none is fuzzed.
//!
//! Invariants: nothing panics; each line gives one record or stops the block with an error;
//! without key and header parsing a record's value is the line (null only for the null marker).

#![no_main]

use std::collections::BTreeMap;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use streamlog::cli::console_producer::LineFormat;
use streamlog::config::parse_key_value;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (options, stdin) = match memchr_split(rest) {
        Some(split) => split,
        None => (rest, &[][..]),
    };
    let mut props = BTreeMap::new();
    for line in String::from_utf8_lossy(options).lines() {
        match parse_key_value(line) {
            Ok((k, v)) => {
                props.insert(k, v);
            }
            Err(e) => {
                assert!(
                    !e.is_empty(),
                    "an empty error message for --property {line:?}"
                );
                return;
            }
        }
    }
    let Ok(mut format) = LineFormat::from_properties(&props) else {
        return;
    };
    format.unique_header_keys = flags & 1 == 0;
    let block = Bytes::copy_from_slice(stdin);
    let mut number = 0;
    let mut lines = 0;
    let (records, bad) = format.parse_block(&block, &mut number, 7, || lines += 1);
    assert_eq!(lines, records.len() as u64, "one prompt per parsed line");
    assert_eq!(
        number,
        records.len() as u64 + bad.is_some() as u64,
        "each line gives a record or the error that stops the block"
    );
    if let Some(msg) = &bad {
        assert!(!msg.is_empty());
    }
    if !format.parse_key && !format.parse_headers {
        let mut expected = block
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        for r in &records {
            let line = expected.next().unwrap_or_default();
            assert!(r.key.is_none() && r.headers.is_empty());
            match &r.value {
                Some(v) => assert_eq!(&v[..], line),
                None => assert_eq!(format.null_marker.as_deref(), Some(line)),
            }
        }
    }
});

/// Splits at the first empty line: options before it, stdin after.
fn memchr_split(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = data.windows(2).position(|w| w == b"\n\n")?;
    Some((&data[..at], &data[at + 2..]))
}
