//! The records inside a RecordBatch v2, read and rewritten in place: what the cleaner and the
//! keyless-record check need without decoding records into owned values.
//!
//! A record (after the batch header, or after decompressing the records section):
//!
//! | field          | type                                   |
//! |----------------|----------------------------------------|
//! | length         | varint (zigzag): bytes after this field |
//! | attributes     | int8 (unused, 0)                       |
//! | timestampDelta | varlong: timestamp − batch baseTimestamp |
//! | offsetDelta    | varint: offset − batch baseOffset      |
//! | keyLength      | varint, −1 for a null key              |
//! | key            | bytes                                  |
//! | valueLength    | varint, −1 for a null value (a tombstone) |
//! | value          | bytes                                  |
//! | headers        | varint count, then key/value pairs     |
//!
//! The batch header's attribute bit 6 says baseTimestamp holds the delete horizon (KIP-534):
//! the time after which the cleaner may remove the batch's tombstones.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::compression::{self as cmpr, Compressor, Decompressor};

use super::batch::{self, BatchHeader};

/// Attribute bit: baseTimestamp is the delete horizon.
pub const DELETE_HORIZON_BIT: i16 = 1 << 6;
/// Attribute bits of the compression codec.
const COMPRESSION_MASK: i16 = 0x07;

/// One record of a batch, borrowed from the records section.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    /// Offset minus the batch's base offset.
    pub offset_delta: i32,
    /// Timestamp minus the batch's base timestamp.
    pub timestamp_delta: i64,
    /// The key, None when null.
    pub key: Option<&'a [u8]>,
    /// False for a tombstone (null value).
    pub has_value: bool,
    /// The record's attributes byte.
    pub attributes: u8,
    /// Everything after the offset delta (key length onwards), copied as is on a rewrite.
    pub tail: &'a [u8],
}

fn varint(buf: &[u8], at: &mut usize) -> Result<i64, String> {
    let mut raw: u64 = 0;
    for shift in (0..70).step_by(7) {
        let Some(&b) = buf.get(*at) else {
            return Err("record runs past the end of its batch".to_string());
        };
        *at += 1;
        raw |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    Err("varint longer than 10 bytes".to_string())
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut raw = ((v << 1) ^ (v >> 63)) as u64;
    while raw >= 0x80 {
        out.push((raw as u8) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
}

fn bytes_field<'a>(buf: &'a [u8], at: &mut usize) -> Result<Option<&'a [u8]>, String> {
    let len = varint(buf, at)?;
    if len < 0 {
        return Ok(None);
    }
    let end = at
        .checked_add(len as usize)
        .filter(|&e| e <= buf.len())
        .ok_or_else(|| "record field runs past the end of its record".to_string())?;
    let field = &buf[*at..end];
    *at = end;
    Ok(Some(field))
}

/// Calls `f` for each of the `count` records in an (uncompressed) records section.
///
/// # Errors
/// A description of the first malformed record.
pub fn for_each_record<'a>(
    section: &'a [u8],
    count: i32,
    mut f: impl FnMut(RawRecord<'a>),
) -> Result<(), String> {
    let mut at = 0usize;
    for _ in 0..count.max(0) {
        let len = varint(section, &mut at)?;
        let end = (len >= 0)
            .then(|| at.checked_add(len as usize))
            .flatten()
            .filter(|&e| e <= section.len())
            .ok_or_else(|| format!("record length {len} runs past the end of its batch"))?;
        let body = &section[at..end];
        let mut p = 0usize;
        let attributes = *body.first().ok_or("empty record")?;
        p += 1;
        let timestamp_delta = varint(body, &mut p)?;
        let offset_delta = varint(body, &mut p)?;
        let tail_at = p;
        let key = bytes_field(body, &mut p)?;
        let value_len = varint(body, &mut p)?;
        f(RawRecord {
            offset_delta: offset_delta as i32,
            timestamp_delta,
            key,
            has_value: value_len >= 0,
            attributes,
            tail: &body[tail_at..],
        });
        at = end;
    }
    Ok(())
}

/// The records section of a whole batch: borrowed as is, or decompressed if the batch is
/// compressed.
///
/// # Errors
/// A description of why it cannot be decompressed.
pub fn records_section<'a>(
    batch: &'a [u8],
    header: &BatchHeader,
) -> Result<std::borrow::Cow<'a, [u8]>, String> {
    let raw = &batch[batch::HEADER_LEN..header.size().min(batch.len())];
    let codec = header.attributes & COMPRESSION_MASK;
    if codec == 0 {
        return Ok(std::borrow::Cow::Borrowed(raw));
    }
    let mut input = Bytes::copy_from_slice(raw);
    let done = |b: &mut Bytes| -> anyhow::Result<Bytes> { Ok(b.copy_to_bytes(b.remaining())) };
    let out = match codec {
        1 => cmpr::Gzip::decompress(&mut input, done),
        2 => cmpr::Snappy::decompress(&mut input, done),
        3 => cmpr::Lz4::decompress(&mut input, done),
        4 => cmpr::Zstd::decompress(&mut input, done),
        c => return Err(format!("unknown compression codec {c}")),
    }
    .map_err(|e| {
        format!(
            "cannot decompress the batch at offset {}: {e:#}",
            header.base_offset
        )
    })?;
    Ok(std::borrow::Cow::Owned(out.to_vec()))
}

/// True when any record of the batch has a null key (a compacted topic refuses the batch).
///
/// # Errors
/// A description of a malformed or undecompressable batch.
pub fn has_keyless_record(batch: &[u8], header: &BatchHeader) -> Result<bool, String> {
    if header.is_control() {
        return Ok(false);
    }
    let section = records_section(batch, header)?;
    let mut keyless = false;
    for_each_record(&section, header.records_count, |r| {
        keyless |= r.key.is_none()
    })?;
    Ok(keyless)
}

/// Writes a batch made from `original`'s header and a subset of its records.
///
/// Kafka's rules for a rewritten batch (MemoryRecords.filterTo): the base offset and the last
/// offset stay the original's (so a producer's last sequence survives), the compression codec
/// stays; the base timestamp is the delete horizon when one is set (attribute bit 6), else
/// the first kept record's timestamp, and every record's timestamp delta is redone against it.
pub struct BatchRewrite<'a> {
    /// The batch the records come from.
    pub original: &'a BatchHeader,
    /// Each kept record with its absolute timestamp.
    pub kept: Vec<(i64, RawRecord<'a>)>,
    /// The delete horizon to store, if any.
    pub delete_horizon: Option<i64>,
}

impl BatchRewrite<'_> {
    /// Appends the new batch to `out`.
    ///
    /// # Errors
    /// A description of a compression failure.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), String> {
        let h = self.original;
        let base_timestamp = match self.delete_horizon {
            Some(horizon) => horizon,
            None => self.kept.first().map_or(-1, |(ts, _)| *ts),
        };
        let mut section = Vec::with_capacity(
            self.kept
                .iter()
                .map(|(_, r)| r.tail.len() + 24)
                .sum::<usize>(),
        );
        let mut body = Vec::with_capacity(64);
        let mut max_timestamp = -1i64;
        for (ts, r) in &self.kept {
            max_timestamp = max_timestamp.max(*ts);
            body.clear();
            body.push(r.attributes);
            put_varint(&mut body, ts - base_timestamp);
            put_varint(&mut body, r.offset_delta as i64);
            body.extend_from_slice(r.tail);
            put_varint(&mut section, body.len() as i64);
            section.extend_from_slice(&body);
        }
        if h.log_append_time() {
            max_timestamp = h.max_timestamp;
        }
        let codec = h.attributes & COMPRESSION_MASK;
        let records: Vec<u8> = if codec == 0 {
            section
        } else {
            let mut dst = BytesMut::new();
            let fill = |b: &mut BytesMut| -> anyhow::Result<()> {
                b.extend_from_slice(&section);
                Ok(())
            };
            match codec {
                1 => cmpr::Gzip::compress(&mut dst, fill),
                2 => cmpr::Snappy::compress(&mut dst, fill),
                3 => cmpr::Lz4::compress(&mut dst, fill),
                _ => cmpr::Zstd::compress(&mut dst, fill),
            }
            .map_err(|e| format!("cannot compress a cleaned batch: {e:#}"))?;
            dst.to_vec()
        };
        let mut attributes = h.attributes & !DELETE_HORIZON_BIT;
        if self.delete_horizon.is_some() {
            attributes |= DELETE_HORIZON_BIT;
        }
        write_header(
            out,
            &BatchHeader {
                attributes,
                base_timestamp,
                max_timestamp,
                records_count: self.kept.len() as i32,
                batch_length: (batch::HEADER_LEN - batch::LOG_OVERHEAD + records.len()) as i32,
                ..*h
            },
            &records,
        );
        Ok(())
    }
}

/// Appends a batch with no records that keeps `h`'s offsets and producer fields (Kafka's
/// `writeEmptyHeader`): what the cleaner leaves of a producer's last batch so that the
/// producer's sequence and epoch survive.
pub fn write_empty(out: &mut Vec<u8>, h: &BatchHeader) {
    write_header(
        out,
        &BatchHeader {
            attributes: h.attributes & !(COMPRESSION_MASK | DELETE_HORIZON_BIT),
            base_timestamp: -1,
            records_count: 0,
            batch_length: (batch::HEADER_LEN - batch::LOG_OVERHEAD) as i32,
            ..*h
        },
        &[],
    );
}

/// Appends header `h` (its length and CRC computed here) and `records`.
fn write_header(out: &mut Vec<u8>, h: &BatchHeader, records: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&h.base_offset.to_be_bytes());
    out.extend_from_slice(
        &((batch::HEADER_LEN - batch::LOG_OVERHEAD + records.len()) as i32).to_be_bytes(),
    );
    out.extend_from_slice(&h.partition_leader_epoch.to_be_bytes());
    out.push(2);
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&h.attributes.to_be_bytes());
    out.extend_from_slice(&h.last_offset_delta.to_be_bytes());
    out.extend_from_slice(&h.base_timestamp.to_be_bytes());
    out.extend_from_slice(&h.max_timestamp.to_be_bytes());
    out.extend_from_slice(&h.producer_id.to_be_bytes());
    out.extend_from_slice(&h.producer_epoch.to_be_bytes());
    out.extend_from_slice(&h.base_sequence.to_be_bytes());
    out.extend_from_slice(&h.records_count.to_be_bytes());
    out.extend_from_slice(records);
    let crc = crc32c::crc32c(&out[start + 21..]);
    out[start + 17..start + 21].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::codec::{self, ProducerRecord, StoredRecord};

    fn rec(key: Option<&str>, value: Option<&str>, ts: i64) -> ProducerRecord {
        ProducerRecord {
            key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            headers: vec![("h".to_string(), Some(Bytes::from_static(b"x")))],
            timestamp: ts,
        }
    }

    fn decode(batch: &[u8]) -> Vec<StoredRecord> {
        let mut out = Vec::new();
        codec::decode_batches(Bytes::copy_from_slice(batch), &mut out).unwrap();
        out
    }

    #[test]
    fn a_subset_of_records_is_rewritten_with_the_same_offsets_and_a_delete_horizon() {
        for compression in [
            kafka_protocol::records::Compression::None,
            kafka_protocol::records::Compression::Zstd,
            kafka_protocol::records::Compression::Gzip,
        ] {
            let mut b = codec::encode_batch(
                &[
                    rec(Some("a"), Some("1"), 1000),
                    rec(Some("b"), None, 1005),
                    rec(Some("c"), Some("3"), 1010),
                ],
                compression,
            )
            .unwrap();
            batch::set_base_offset(&mut b, 40);
            let h = BatchHeader::parse(&b).unwrap();
            let section = records_section(&b, &h).unwrap();
            let mut all = Vec::new();
            for_each_record(&section, h.records_count, |r| all.push(r)).unwrap();
            assert_eq!(all.len(), 3);
            assert!(!all[1].has_value);
            let kept: Vec<_> = all
                .iter()
                .skip(1)
                .map(|r| (h.base_timestamp + r.timestamp_delta, *r))
                .collect();
            let mut out = Vec::new();
            BatchRewrite {
                original: &h,
                kept,
                delete_horizon: Some(99_999),
            }
            .write_to(&mut out)
            .unwrap();
            let nh = batch::validate(&out).expect("valid CRC");
            assert_eq!(nh.base_offset, 40);
            assert_eq!(nh.last_offset(), 42, "the last offset stays");
            assert_eq!(nh.base_timestamp, 99_999);
            assert_ne!(nh.attributes & DELETE_HORIZON_BIT, 0);
            let got = decode(&out);
            let seen: Vec<_> = got
                .iter()
                .map(|r| (r.offset, r.timestamp, r.value.is_some()))
                .collect();
            assert_eq!(seen, vec![(41, 1005, false), (42, 1010, true)]);
            assert_eq!(got[1].headers.len(), 1);
        }
    }

    #[test]
    fn keyless_records_are_found_and_empty_batches_are_valid() {
        let b = codec::encode_batch(
            &[rec(Some("a"), Some("1"), 5), rec(None, Some("2"), 6)],
            kafka_protocol::records::Compression::Lz4,
        )
        .unwrap();
        let h = BatchHeader::parse(&b).unwrap();
        assert!(has_keyless_record(&b, &h).unwrap());
        let mut out = Vec::new();
        write_empty(&mut out, &h);
        let e = batch::validate(&out).unwrap();
        assert_eq!((e.records_count, e.last_offset()), (0, 1));
        assert!(decode(&out).is_empty());
    }
}
