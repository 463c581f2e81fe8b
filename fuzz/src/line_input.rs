//! The `console_producer` target's harness (see `fuzz_targets/console_producer.rs`). Depends
//! on streamlog and `bytes` only, so the main crate's tests include it with `#[path]`.

use std::collections::BTreeMap;

use bytes::Bytes;
use streamlog::cli::args::parse_key_value;
use streamlog::cli::console_producer::LineFormat;

/// Runs the target on one input.
pub fn run(data: &[u8]) {
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
}

/// Splits at the first empty line: options before it, stdin after.
fn memchr_split(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = data.windows(2).position(|w| w == b"\n\n")?;
    Some((&data[..at], &data[at + 2..]))
}
