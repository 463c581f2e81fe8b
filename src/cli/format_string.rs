//! `console-consumer --format`: a record printed through a format string in kcat's spirit.
//!
//! | token | prints |
//! |-------|--------|
//! | `%t` | topic |
//! | `%p` | partition |
//! | `%o` | offset |
//! | `%k` | key (empty when null) |
//! | `%v`, `%s` | value (empty when null) |
//! | `%K`, `%S` | key / value length in bytes, `-1` when null |
//! | `%T` | timestamp, ms since the epoch |
//! | `%D` | timestamp as RFC 3339 in UTC, e.g. `2026-12-02T10:04:05.123Z` |
//! | `%h` | headers as `k=v` separated by `,` |
//! | `%%` | `%` |
//!
//! Escapes: `\n`, `\t`, `\r`, `\0`, `\\`. The string is parsed once; printing a record is a
//! walk over the pieces.

use std::io::{self, Write};

use crate::client::ConsumerRecord;

/// The tokens, for help texts and errors.
pub const TOKENS: &str = "%t %p %o %k %v %s %K %S %T %D %h %%";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(Vec<u8>),
    Topic,
    Partition,
    Offset,
    Key,
    Value,
    KeyLen,
    ValueLen,
    Timestamp,
    Rfc3339,
    Headers,
}

/// A parsed `--format` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatString {
    pieces: Vec<Piece>,
}

impl FormatString {
    /// Parses a format string; an unknown token or escape is an error naming it.
    pub fn parse(s: &str) -> Result<FormatString, String> {
        let mut pieces = Vec::new();
        let mut lit = Vec::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '%' => {
                    let piece = match chars.next() {
                        Some('t') => Piece::Topic,
                        Some('p') => Piece::Partition,
                        Some('o') => Piece::Offset,
                        Some('k') => Piece::Key,
                        Some('v' | 's') => Piece::Value,
                        Some('K') => Piece::KeyLen,
                        Some('S') => Piece::ValueLen,
                        Some('T') => Piece::Timestamp,
                        Some('D') => Piece::Rfc3339,
                        Some('h') => Piece::Headers,
                        Some('%') => {
                            lit.push(b'%');
                            continue;
                        }
                        Some(other) => {
                            return Err(format!(
                                "--format '{s}': unknown token %{other}; known: {TOKENS}"
                            ));
                        }
                        None => {
                            return Err(format!(
                                "--format '{s}' ends in a lone %; write %% for a percent sign"
                            ));
                        }
                    };
                    if !lit.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut lit)));
                    }
                    pieces.push(piece);
                }
                '\\' => match chars.next() {
                    Some('n') => lit.push(b'\n'),
                    Some('t') => lit.push(b'\t'),
                    Some('r') => lit.push(b'\r'),
                    Some('0') => lit.push(0),
                    Some('\\') => lit.push(b'\\'),
                    Some(other) => {
                        return Err(format!(
                            "--format '{s}': unknown escape \\{other}; known: \\n \\t \\r \\0 \\\\"
                        ));
                    }
                    None => lit.push(b'\\'),
                },
                c => {
                    let mut buf = [0u8; 4];
                    lit.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Literal(lit));
        }
        Ok(FormatString { pieces })
    }

    /// Writes one record.
    pub fn write(&self, out: &mut impl Write, r: &ConsumerRecord) -> io::Result<()> {
        let len = |b: &Option<bytes::Bytes>| b.as_ref().map_or(-1, |b| b.len() as i64);
        let mut num = itoa::Buffer::new();
        for p in &self.pieces {
            match p {
                Piece::Literal(l) => out.write_all(l)?,
                Piece::Topic => out.write_all(r.topic.as_bytes())?,
                Piece::Partition => out.write_all(num.format(r.partition).as_bytes())?,
                Piece::Offset => out.write_all(num.format(r.offset).as_bytes())?,
                Piece::Key => out.write_all(r.key.as_deref().unwrap_or_default())?,
                Piece::Value => out.write_all(r.value.as_deref().unwrap_or_default())?,
                Piece::KeyLen => out.write_all(num.format(len(&r.key)).as_bytes())?,
                Piece::ValueLen => out.write_all(num.format(len(&r.value)).as_bytes())?,
                Piece::Timestamp => out.write_all(num.format(r.timestamp).as_bytes())?,
                Piece::Rfc3339 => match jiff::Timestamp::from_millisecond(r.timestamp) {
                    Ok(t) if r.timestamp >= 0 => write!(out, "{t:.3}")?,
                    _ => out.write_all(b"NO_TIMESTAMP")?,
                },
                Piece::Headers => {
                    for (i, (k, v)) in r.headers.iter().enumerate() {
                        if i > 0 {
                            out.write_all(b",")?;
                        }
                        out.write_all(k.as_bytes())?;
                        out.write_all(b"=")?;
                        out.write_all(v.as_deref().unwrap_or_default())?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn record() -> ConsumerRecord {
        ConsumerRecord {
            topic: "orders".into(),
            partition: 3,
            offset: 42,
            timestamp: 1_764_669_845_123,
            log_append_time: false,
            key: Some(Bytes::from_static(b"k1")),
            value: None,
            headers: vec![
                ("a".into(), Some(Bytes::from_static(b"1"))),
                ("b".into(), None),
            ],
        }
    }

    fn render(f: &str) -> String {
        let mut out = Vec::new();
        FormatString::parse(f)
            .unwrap()
            .write(&mut out, &record())
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_token_and_escape_prints_its_field() {
        assert_eq!(
            render("%t/%p@%o %k=%v (%K,%S) %T %h 100%%\\n"),
            "orders/3@42 k1= (2,-1) 1764669845123 a=1,b= 100%\n"
        );
        assert_eq!(render("%D\\t%s"), "2025-12-02T10:04:05.123Z\t");
    }

    #[test]
    fn unknown_tokens_and_escapes_are_named() {
        let e = FormatString::parse("%x").unwrap_err();
        assert!(e.contains("%x") && e.contains("%t"), "{e}");
        assert!(FormatString::parse("50%").unwrap_err().contains("%%"));
        assert!(FormatString::parse("\\q").unwrap_err().contains("\\q"));
    }
}
