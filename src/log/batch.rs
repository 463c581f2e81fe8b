//! RecordBatch v2 framing: the 61-byte header Kafka writes in front of every batch.
//!
//! The batch codec itself (records, varints, compression) is the `kafka-protocol` crate's; this
//! module only reads the fixed header, which the log needs to index, validate and assign offsets
//! without decoding records.
//!
//! | bytes | field                  | covered by CRC |
//! |-------|------------------------|----------------|
//! | 0..8  | baseOffset             | no             |
//! | 8..12 | batchLength            | no             |
//! | 12..16| partitionLeaderEpoch   | no             |
//! | 16    | magic (2)              | no             |
//! | 17..21| crc (CRC-32C)          | —              |
//! | 21..23| attributes             | yes            |
//! | 23..27| lastOffsetDelta        | yes            |
//! | 27..35| baseTimestamp          | yes            |
//! | 35..43| maxTimestamp           | yes            |
//! | 43..51| producerId             | yes            |
//! | 51..53| producerEpoch          | yes            |
//! | 53..57| baseSequence           | yes            |
//! | 57..61| recordsCount           | yes            |

/// baseOffset + batchLength: the part of a batch not counted in batchLength.
pub const LOG_OVERHEAD: usize = 12;
/// Size of the whole v2 header, up to the first record.
pub const HEADER_LEN: usize = 61;
/// The fewest bytes a v2 record takes.
pub const MIN_RECORD_LEN: u64 = 7;
/// Most records a compressed batch may claim (a batch of Kafka's default 1 MB holds far fewer).
pub const MAX_COMPRESSED_RECORDS: u64 = 1 << 22;
const CRC_START: usize = 21;
const MAGIC_OFFSET: usize = 16;

/// The fixed header of one RecordBatch v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the batchLength field.
    pub batch_length: i32,
    /// Leader epoch the batch was appended in.
    pub partition_leader_epoch: i32,
    /// Format version; only 2 is supported.
    pub magic: i8,
    /// CRC-32C of attributes..end.
    pub crc: u32,
    /// Compression codec, timestamp type, transactional and control bits.
    pub attributes: i16,
    /// lastOffset - baseOffset.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
    /// Idempotent/transactional producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records.
    pub records_count: i32,
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(a)
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

/// Why a buffer does not start with a valid batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// Fewer bytes than the header or the declared length: the rest has not been written (yet).
    Incomplete,
    /// The bytes are a batch but a bad one; the string says which check failed.
    Corrupt(String),
}

impl BatchHeader {
    /// Reads the header at the start of `buf`. Checks structure only, not the CRC.
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, BatchError> {
        if buf.len() < HEADER_LEN {
            return Err(BatchError::Incomplete);
        }
        let header = BatchHeader {
            base_offset: be_i64(buf, 0),
            batch_length: be_i32(buf, 8),
            partition_leader_epoch: be_i32(buf, 12),
            magic: buf[MAGIC_OFFSET] as i8,
            crc: be_i32(buf, 17) as u32,
            attributes: be_i16(buf, 21),
            last_offset_delta: be_i32(buf, 23),
            base_timestamp: be_i64(buf, 27),
            max_timestamp: be_i64(buf, 35),
            producer_id: be_i64(buf, 43),
            producer_epoch: be_i16(buf, 51),
            base_sequence: be_i32(buf, 53),
            records_count: be_i32(buf, 57),
        };
        if header.magic != 2 {
            return Err(BatchError::Corrupt(format!(
                "unsupported magic {} (only RecordBatch v2 is supported)",
                header.magic
            )));
        }
        if (header.batch_length as i64) < (HEADER_LEN - LOG_OVERHEAD) as i64 {
            return Err(BatchError::Corrupt(format!(
                "batch length {} is smaller than the header",
                header.batch_length
            )));
        }
        if header.base_offset < 0 || header.last_offset_delta < 0 || header.records_count < 0 {
            return Err(BatchError::Corrupt(format!(
                "negative offset or count (base offset {}, last offset delta {}, records {})",
                header.base_offset, header.last_offset_delta, header.records_count
            )));
        }
        Ok(header)
    }

    /// Total bytes of the batch on disk, header included.
    pub fn size(&self) -> usize {
        LOG_OVERHEAD + self.batch_length as usize
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    /// Offset the next batch will start at.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    /// True for transaction markers and other control batches, which consumers skip.
    pub fn is_control(&self) -> bool {
        self.attributes & (1 << 5) != 0
    }

    /// The compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression(&self) -> i16 {
        self.attributes & 0x7
    }

    /// Whether the record count the header claims could be true. A record takes at least 7
    /// bytes (a length, attributes, timestamp and offset deltas, key and value lengths and a
    /// header count, each at least one byte), so an uncompressed batch cannot hold more than
    /// its body allows; a compressed one is held to [`MAX_COMPRESSED_RECORDS`]. A decoder
    /// reserves room for the count it is told, and the log hands out that many offsets: a
    /// 70-byte batch claiming 2^31 records must not get either.
    pub fn plausible_count(&self) -> bool {
        let body = self.size().saturating_sub(HEADER_LEN) as u64;
        let count = self.records_count.max(0) as u64;
        if self.compression() == 0 {
            count * MIN_RECORD_LEN <= body
        } else {
            count <= MAX_COMPRESSED_RECORDS
        }
    }

    /// True when timestamps are LogAppendTime rather than CreateTime.
    pub fn log_append_time(&self) -> bool {
        self.attributes & (1 << 3) != 0
    }
}

/// Checks the whole batch at the start of `buf`: structure, length and CRC-32C.
/// Returns its header; `Incomplete` if `buf` ends inside the batch.
pub fn validate(buf: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = BatchHeader::parse(buf)?;
    let size = header.size();
    if buf.len() < size {
        return Err(BatchError::Incomplete);
    }
    let actual = crc32c::crc32c(&buf[CRC_START..size]);
    if actual != header.crc {
        return Err(BatchError::Corrupt(format!(
            "CRC mismatch (stored {:#010x}, computed {:#010x})",
            header.crc, actual
        )));
    }
    Ok(header)
}

/// Rewrites the base offset of an encoded batch in place. The base offset is outside the CRC,
/// so a batch can be encoded before the log knows where it will land.
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Rewrites the partition leader epoch of an encoded batch in place (outside the CRC too).
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
    batch[12..16].copy_from_slice(&epoch.to_be_bytes());
}

/// Walks the complete batches at the start of `buf`, stopping at the first incomplete one.
/// Yields (byte position, header) and validates CRCs when `check_crc` is set.
pub struct BatchIter<'a> {
    buf: &'a [u8],
    pos: usize,
    check_crc: bool,
    /// Set when iteration stopped at a bad batch rather than at the end or an incomplete tail.
    pub error: Option<(usize, String)>,
}

impl<'a> BatchIter<'a> {
    /// Iterates over `buf`, optionally checking each batch's CRC.
    pub fn new(buf: &'a [u8], check_crc: bool) -> Self {
        BatchIter {
            buf,
            pos: 0,
            check_crc,
            error: None,
        }
    }

    /// Byte position just after the last complete batch yielded.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl Iterator for BatchIter<'_> {
    type Item = (usize, BatchHeader);

    fn next(&mut self) -> Option<Self::Item> {
        if self.error.is_some() {
            return None;
        }
        let rest = &self.buf[self.pos..];
        let result = if self.check_crc {
            validate(rest)
        } else {
            BatchHeader::parse(rest).and_then(|h| {
                if rest.len() < h.size() {
                    Err(BatchError::Incomplete)
                } else {
                    Ok(h)
                }
            })
        };
        match result {
            Ok(h) => {
                let at = self.pos;
                self.pos += h.size();
                Some((at, h))
            }
            Err(BatchError::Incomplete) => None,
            Err(BatchError::Corrupt(reason)) => {
                self.error = Some((self.pos, reason));
                None
            }
        }
    }
}

/// Marks an encoded batch as LogAppendTime stamped `now` (Kafka's setMaxTimestamp), which
/// changes covered bytes and so recomputes the CRC.
pub fn set_log_append_time(batch: &mut [u8], now: i64) {
    let attributes = i16::from_be_bytes([batch[21], batch[22]]) | (1 << 3);
    batch[21..23].copy_from_slice(&attributes.to_be_bytes());
    batch[35..43].copy_from_slice(&now.to_be_bytes());
    let end = LOG_OVERHEAD + be_i32(batch, 8) as usize;
    let crc = crc32c::crc32c(&batch[CRC_START..end]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::codec::{ProducerRecord, encode_batch};
    use kafka_protocol::records::Compression;

    fn sample() -> Vec<u8> {
        let records = vec![
            ProducerRecord {
                value: Some("a".into()),
                timestamp: 10,
                ..Default::default()
            },
            ProducerRecord {
                value: Some("b".into()),
                timestamp: 12,
                ..Default::default()
            },
        ];
        encode_batch(&records, Compression::None).unwrap().to_vec()
    }

    #[test]
    fn encoded_batch_has_kafka_header_fields() {
        let b = sample();
        let h = validate(&b).unwrap();
        assert_eq!(h.magic, 2);
        assert_eq!(h.records_count, 2);
        assert_eq!(h.last_offset_delta, 1);
        assert_eq!(h.base_timestamp, 10);
        assert_eq!(h.max_timestamp, 12);
        assert_eq!(h.producer_id, -1);
        assert_eq!(h.base_sequence, -1);
        assert_eq!(h.size(), b.len());
    }

    #[test]
    fn base_offset_is_outside_the_crc_but_every_other_byte_is_checked() {
        let mut b = sample();
        set_base_offset(&mut b, 1234);
        assert_eq!(validate(&b).unwrap().base_offset, 1234);
        for i in CRC_START..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x40;
            assert!(
                matches!(validate(&c), Err(BatchError::Corrupt(_))),
                "byte {i}"
            );
        }
        assert_eq!(validate(&b[..b.len() - 1]), Err(BatchError::Incomplete));
    }

    #[test]
    fn log_append_time_keeps_the_batch_valid() {
        let mut b = sample();
        set_log_append_time(&mut b, 99);
        let h = validate(&b).unwrap();
        assert!(h.log_append_time());
        assert_eq!(h.max_timestamp, 99);
    }
}
