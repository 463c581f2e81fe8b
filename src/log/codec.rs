//! Records ↔ RecordBatch v2 bytes, through the `kafka-protocol` crate's batch codec.

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record as WireRecord, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType,
};

use crate::error::{Error, Result};

/// A record as a producer hands it to the log: offsets are assigned on append.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerRecord {
    /// Optional key; decides the partition when none is given.
    pub key: Option<Bytes>,
    /// Optional value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Headers in order. Keys are strings, values optional bytes.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// CreateTime in milliseconds since the epoch.
    pub timestamp: i64,
}

/// A record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Offset in the partition.
    pub offset: i64,
    /// Timestamp in milliseconds since the epoch.
    pub timestamp: i64,
    /// True when the timestamp is LogAppendTime, false for CreateTime.
    pub log_append_time: bool,
    /// Key bytes, if any.
    pub key: Option<Bytes>,
    /// Value bytes, if any.
    pub value: Option<Bytes>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// Compression codecs Kafka knows, by their `compression.type` names.
pub fn parse_compression(name: &str) -> Option<Compression> {
    match name.to_ascii_lowercase().as_str() {
        "none" | "uncompressed" | "producer" => Some(Compression::None),
        "gzip" => Some(Compression::Gzip),
        "snappy" => Some(Compression::Snappy),
        "lz4" => Some(Compression::Lz4),
        "zstd" => Some(Compression::Zstd),
        _ => None,
    }
}

/// Encodes `records` as one RecordBatch v2 with base offset 0 (the log rewrites it on append).
pub fn encode_batch(records: &[ProducerRecord], compression: Compression) -> Result<BytesMut> {
    let wire: Vec<WireRecord> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut headers = IndexMap::with_capacity(r.headers.len());
            for (k, v) in &r.headers {
                headers.insert(StrBytes::from_string(k.clone()), v.clone());
            }
            WireRecord {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                // The codec groups records into one batch while (offset - sequence) is constant
                // and derives baseSequence from the first; this keeps it at Kafka's -1.
                sequence: (i as i32).wrapping_sub(1),
                timestamp: r.timestamp,
                key: r.key.clone(),
                value: r.value.clone(),
                headers,
            }
        })
        .collect();
    let mut buf = BytesMut::with_capacity(
        64 + records
            .iter()
            .map(|r| {
                r.key.as_ref().map_or(0, |k| k.len()) + r.value.as_ref().map_or(0, |v| v.len()) + 16
            })
            .sum::<usize>(),
    );
    RecordBatchEncoder::encode(
        &mut buf,
        wire.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .map_err(|e| Error::Codec(format!("cannot encode record batch: {e:#}")))?;
    Ok(buf)
}

/// Decodes every record of the whole batches in `data` (CRC-checked by the codec).
/// Control batches (transaction markers) are skipped, as consumers do.
pub fn decode_batches(mut data: Bytes, out: &mut Vec<StoredRecord>) -> Result<()> {
    use bytes::Buf;
    while data.has_remaining() {
        let header = super::batch::BatchHeader::parse(&data)
            .map_err(|e| Error::Codec(format!("cannot decode record batch: {e:?}")))?;
        let size = header.size();
        if data.len() < size {
            break;
        }
        let mut one = data.split_to(size);
        if header.is_control() {
            continue;
        }
        if !header.plausible_count() {
            return Err(Error::Codec(format!(
                "cannot decode record batch at offset {}: it claims {} records in {} bytes",
                header.base_offset,
                header.records_count,
                header.size()
            )));
        }
        let set = RecordBatchDecoder::decode(&mut one)
            .map_err(|e| Error::Codec(format!("cannot decode record batch: {e:#}")))?;
        out.reserve(set.records.len());
        let append_time = header.log_append_time().then_some(header.max_timestamp);
        for r in set.records {
            out.push(StoredRecord {
                offset: r.offset,
                timestamp: append_time.unwrap_or(r.timestamp),
                log_append_time: r.timestamp_type == TimestampType::LogAppend,
                key: r.key,
                value: r.value,
                headers: r
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            });
        }
    }
    Ok(())
}
