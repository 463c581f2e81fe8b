//! Transaction markers: the control batches a transaction coordinator writes to end a
//! transaction on each of its partitions (Kafka's `EndTransactionMarker`).
//!
//! A marker is a RecordBatch v2 with the control and transactional attribute bits, the
//! transaction's producer id and epoch, no sequence, and one record: key = version (i16 0) +
//! type (i16: 0 abort, 1 commit), value = version (i16 0) + coordinator epoch (i32). It takes an
//! offset like any record; consumers never show it.

use super::batch::{BatchHeader, HEADER_LEN};

/// Attribute bit of transactional batches.
pub const TRANSACTIONAL: i16 = 1 << 4;
/// Attribute bit of control batches.
pub const CONTROL: i16 = 1 << 5;

/// Which way a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    /// The transaction's records are discarded by `read_committed` readers.
    Abort,
    /// The transaction's records become visible.
    Commit,
}

impl ControlType {
    fn code(self) -> i16 {
        match self {
            ControlType::Abort => 0,
            ControlType::Commit => 1,
        }
    }
}

/// True for a batch written by a transactional producer (data or marker).
pub fn is_transactional(h: &BatchHeader) -> bool {
    h.attributes & TRANSACTIONAL != 0
}

/// An encoded marker batch (base offset 0: the log assigns it).
pub fn encode_marker(
    producer_id: i64,
    producer_epoch: i16,
    kind: ControlType,
    coordinator_epoch: i32,
    timestamp: i64,
) -> Vec<u8> {
    // The one record: attributes, timestamp delta, offset delta, key, value, no headers; every
    // varint below is a single byte (zigzag of small numbers).
    let mut record = vec![0u8, 0, 0, 8];
    record.extend_from_slice(&0i16.to_be_bytes());
    record.extend_from_slice(&kind.code().to_be_bytes());
    record.push(12);
    record.extend_from_slice(&0i16.to_be_bytes());
    record.extend_from_slice(&coordinator_epoch.to_be_bytes());
    record.push(0);
    let mut out = Vec::with_capacity(HEADER_LEN + 1 + record.len());
    out.extend_from_slice(&0i64.to_be_bytes());
    let batch_length = (HEADER_LEN - 12 + 1 + record.len()) as i32;
    out.extend_from_slice(&batch_length.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch
    out.push(2); // magic
    out.extend_from_slice(&0u32.to_be_bytes()); // CRC, below
    out.extend_from_slice(&(TRANSACTIONAL | CONTROL).to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&producer_id.to_be_bytes());
    out.extend_from_slice(&producer_epoch.to_be_bytes());
    out.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    out.extend_from_slice(&1i32.to_be_bytes()); // records
    out.push((record.len() as u8) << 1);
    out.extend_from_slice(&record);
    let crc = crc32c::crc32c(&out[21..]);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    out
}

/// The marker type of a control batch (the whole batch, or at least its header and first
/// record); None for a batch that is not a well-formed marker.
pub fn marker_type(batch: &[u8], h: &BatchHeader) -> Option<ControlType> {
    marker(batch, h).map(|(kind, _)| kind)
}

/// The marker type and coordinator epoch of a control batch, as [`marker_type`].
pub fn marker(batch: &[u8], h: &BatchHeader) -> Option<(ControlType, i32)> {
    if !h.is_control() || h.compression() != 0 || batch.len() <= HEADER_LEN {
        return None;
    }
    let mut found = None;
    let _ = super::records::for_each_record(&batch[HEADER_LEN..], 1, |r| {
        let kind =
            r.key
                .filter(|k| k.len() >= 4)
                .and_then(|k| match i16::from_be_bytes([k[2], k[3]]) {
                    0 => Some(ControlType::Abort),
                    1 => Some(ControlType::Commit),
                    _ => None,
                });
        // After the 4-byte key: the value's length (6, as a varint: 12), version i16 and
        // coordinator epoch i32.
        let epoch = r
            .tail
            .get(5..12)
            .filter(|v| v[0] == 12)
            .map(|v| i32::from_be_bytes([v[3], v[4], v[5], v[6]]))
            .unwrap_or(-1);
        found = kind.map(|k| (k, epoch));
    });
    found
}

/// Bytes of a marker batch: enough to read its type from the file after the header.
pub const MARKER_LEN: usize = HEADER_LEN + 17;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch;

    #[test]
    fn markers_round_trip_and_pass_the_batch_checks() {
        for kind in [ControlType::Abort, ControlType::Commit] {
            let b = encode_marker(42, 7, kind, 3, 1_700_000_000_000);
            assert_eq!(b.len(), MARKER_LEN);
            let h = batch::validate(&b).expect("a valid batch");
            assert!(h.is_control() && is_transactional(&h));
            assert_eq!(
                (h.producer_id, h.producer_epoch, h.records_count),
                (42, 7, 1)
            );
            assert_eq!(h.base_sequence, -1);
            assert_eq!(marker_type(&b, &h), Some(kind));
            assert_eq!(marker(&b, &h), Some((kind, 3)));
        }
        let data = crate::log::codec::encode_batch(
            &[crate::log::ProducerRecord {
                value: Some("x".into()),
                ..Default::default()
            }],
            kafka_protocol::records::Compression::None,
        )
        .unwrap();
        let h = batch::validate(&data).unwrap();
        assert_eq!(marker_type(&data, &h), None);
    }

    #[test]
    fn kafka_protocol_reads_our_marker_as_a_control_record() {
        let b = encode_marker(5, 1, ControlType::Commit, 0, 1_000);
        let mut bytes = bytes::Bytes::from(b);
        let records = kafka_protocol::records::RecordBatchDecoder::decode(&mut bytes).unwrap();
        assert_eq!(records.records.len(), 1);
        let r = &records.records[0];
        assert!(r.control && r.transactional);
        assert_eq!(r.key.as_deref(), Some(&[0u8, 0, 0, 1][..]));
        assert_eq!(r.value.as_deref(), Some(&[0u8, 0, 0, 0, 0, 0][..]));
    }
}
