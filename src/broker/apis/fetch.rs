//! Fetch (key 1): whole batches from partition logs, long-polling until `min_bytes` arrived or
//! `max_wait_ms` passed. Fetch sessions are answered sessionless (session id 0), which every
//! client accepts.
//!
//! Zero copy: a partition's records of [`COPY_BELOW`] bytes or more stay in the segment file.
//! The response is encoded by kafka-protocol with a unique 16-byte placeholder as those
//! records, then cut at each placeholder: the encoded bytes around it are sent as they are,
//! the placeholder's length prefix is rewritten for the real records, and the records go
//! from the file to the socket with `sendfile` (see [`splice`]).

use std::sync::LazyLock;
use std::time::Duration;

// tokio's clock (the same as std's unless a test pauses it), so the long-poll deadline and the
// sleep that waits for it read one clock.
use tokio::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId};

use super::super::connection::Part;
use super::super::state::BrokerState;
use super::topic_name;
use crate::engine::TopicMetadata;
use crate::error::Error;
use crate::log::{FileRegion, Records};

/// Records smaller than this are read and sent from memory: below it one `pread` costs less
/// than a header walk and a `sendfile`, and latency-bound fetches stay one `write`.
pub const COPY_BELOW: usize = 32 * 1024;

/// A Fetch response and the file regions its placeholders stand for, in order.
pub struct FetchReply {
    /// The response, with [`placeholder`]s as the records of file-backed partitions.
    pub response: FetchResponse,
    /// Region `i` replaces `placeholder(i)`.
    pub regions: Vec<FileRegion>,
}

/// Random per process, so no topic name or other encoded field can contain it by accident.
static PLACEHOLDER_TAG: LazyLock<[u8; 12]> = LazyLock::new(|| {
    let id = uuid::Uuid::new_v4();
    let mut tag = [0u8; 12];
    tag.copy_from_slice(&id.as_bytes()[..12]);
    tag
});

const PLACEHOLDER_LEN: usize = 16;

/// The stand-in records for region `i`.
fn placeholder(i: usize) -> Bytes {
    let mut b = BytesMut::with_capacity(PLACEHOLDER_LEN);
    b.put_slice(&PLACEHOLDER_TAG[..]);
    b.put_u32(i as u32);
    b.freeze()
}

/// Fetch v12+ is a flexible version: records are COMPACT_RECORDS (unsigned varint of length
/// + 1); before that RECORDS (int32 length).
fn length_prefix(version: i16, len: usize) -> Vec<u8> {
    if version >= 12 {
        let mut v = (len as u64) + 1;
        let mut out = Vec::with_capacity(5);
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
        out
    } else {
        (len as i32).to_be_bytes().to_vec()
    }
}

/// Cuts an encoded frame at each region's placeholder and puts the region there.
pub fn splice(encoded: Bytes, regions: Vec<FileRegion>, version: i16) -> Result<Vec<Part>, String> {
    let old_prefix = length_prefix(version, PLACEHOLDER_LEN);
    let mut parts = Vec::with_capacity(regions.len() * 3 + 1);
    let mut from = 0;
    for (i, region) in regions.into_iter().enumerate() {
        let needle = placeholder(i);
        let at = memchr::memmem::find(&encoded[from..], &needle)
            .map(|at| from + at)
            .ok_or_else(|| format!("fetch region {i} missing from the encoded response"))?;
        let start = at
            .checked_sub(old_prefix.len())
            .filter(|&s| s >= from && encoded[s..at] == old_prefix[..])
            .ok_or_else(|| format!("fetch region {i} has an unexpected length prefix"))?;
        parts.push(Part::Bytes(encoded.slice(from..start)));
        parts.push(Part::Bytes(Bytes::from(length_prefix(version, region.len))));
        parts.push(Part::File(region));
        from = at + PLACEHOLDER_LEN;
    }
    parts.push(Part::Bytes(encoded.slice(from..)));
    Ok(parts)
}

/// `read_committed` (isolation level 1): records up to the last stable offset only, with the
/// aborted transactions among them for the consumer to drop.
#[allow(clippy::too_many_arguments)]
fn read_partition(
    state: &BrokerState,
    version: i16,
    meta: &TopicMetadata,
    partition: i32,
    offset: i64,
    max_bytes: usize,
    committed: bool,
    regions: &mut Vec<FileRegion>,
) -> Result<(PartitionData, usize), Error> {
    let log = state.log(meta, partition)?;
    let pos = match state.cached_position(&meta.name, partition, offset) {
        Some(p) => p,
        None => log.locate(offset)?,
    };
    let data = log.read_isolated(pos, max_bytes, COPY_BELOW, committed)?;
    state.cache_position(&meta.name, partition, data.next);
    let mut pd = PartitionData::default();
    pd.partition_index = partition;
    pd.high_watermark = data.log_end_offset;
    pd.last_stable_offset = data.last_stable_offset;
    pd.aborted_transactions = None;
    if committed {
        let aborted = if data.records.is_empty() {
            Vec::new()
        } else {
            log.aborted_transactions(offset, data.next.offset)?
        };
        pd.aborted_transactions = Some(
            aborted
                .into_iter()
                .map(|a| {
                    let mut t = AbortedTransaction::default();
                    t.producer_id = ProducerId(a.producer_id);
                    t.first_offset = a.first_offset;
                    t
                })
                .collect(),
        );
    }
    if version >= 5 {
        pd.log_start_offset = data.log_start_offset;
    }
    let n = data.records.len();
    pd.records = Some(match data.records {
        Records::Memory(b) => b,
        Records::File(region) => {
            regions.push(region);
            placeholder(regions.len() - 1)
        }
    });
    Ok((pd, n))
}

fn error_partition(partition: i32, e: &Error, version: i16) -> PartitionData {
    let mut pd = PartitionData::default();
    pd.partition_index = partition;
    pd.error_code = e.code();
    pd.high_watermark = -1;
    if let Error::OffsetOutOfRange {
        log_start_offset,
        log_end_offset,
        ..
    } = e
    {
        pd.high_watermark = *log_end_offset;
        pd.last_stable_offset = *log_end_offset;
        if version >= 5 {
            pd.log_start_offset = *log_start_offset;
        }
    }
    pd
}

/// One pass over every requested partition; returns the response and the bytes it carries.
fn fetch_once(state: &BrokerState, req: &FetchRequest, version: i16) -> (FetchReply, usize) {
    let mut r = FetchResponse::default();
    let mut regions = Vec::new();
    let mut budget = req.max_bytes.max(0) as usize;
    let mut total = 0;
    for t in &req.topics {
        let mut tr = FetchableTopicResponse::default();
        tr.topic = t.topic.clone();
        tr.topic_id = t.topic_id;
        let meta = if version >= 13 {
            state.topic_by_id(t.topic_id).ok().flatten()
        } else {
            state.engine().topic(&t.topic.0).ok()
        };
        for p in &t.partitions {
            let Some(meta) = meta.as_ref() else {
                let mut pd = PartitionData::default();
                pd.partition_index = p.partition;
                pd.high_watermark = -1;
                pd.error_code = if version >= 13 {
                    kafka_protocol::ResponseError::UnknownTopicId.code()
                } else {
                    kafka_protocol::ResponseError::UnknownTopicOrPartition.code()
                };
                tr.partitions.push(pd);
                continue;
            };
            // Like Kafka, the first partition with data may exceed max_bytes by one batch.
            let limit = (p.partition_max_bytes.max(0) as usize).min(budget.max(1));
            let read = read_partition(
                state,
                version,
                meta,
                p.partition,
                p.fetch_offset,
                limit,
                req.isolation_level == 1,
                &mut regions,
            );
            match read {
                Ok((pd, n)) => {
                    total += n;
                    budget = budget.saturating_sub(n);
                    tr.partitions.push(pd);
                }
                Err(e) => tr
                    .partitions
                    .push(error_partition(p.partition, &e, version)),
            }
        }
        if version >= 13 {
            tr.topic = Default::default();
        } else if let Some(meta) = meta {
            tr.topic = topic_name(&meta.name);
        }
        r.responses.push(tr);
    }
    let reply = FetchReply {
        response: r,
        regions,
    };
    (reply, total)
}

/// The longest a Fetch is parked, whatever `max_wait_ms` it asks for: the broker never waits
/// unboundedly on a number the client chose. Clients ask for 500 ms (Java, librdkafka) to 5 s.
pub const MAX_WAIT_CAP: Duration = Duration::from_secs(30);

/// The response, after waiting up to `max_wait_ms` (at most [`MAX_WAIT_CAP`]) for `min_bytes`.
/// A broker shutting down answers at once with what there is, as Kafka's purgatory does.
pub async fn handle(state: &BrokerState, req: FetchRequest, version: i16) -> FetchReply {
    let wait = Duration::from_millis(req.max_wait_ms.max(0) as u64).min(MAX_WAIT_CAP);
    let deadline = Instant::now() + wait;
    let shutting_down = state.shutting_down();
    tokio::pin!(shutting_down);
    let mut stopping = false;
    loop {
        let appended = state.appended();
        tokio::pin!(appended);
        appended.as_mut().enable();
        let (resp, bytes) = fetch_once(state, &req, version);
        let now = Instant::now();
        if stopping || bytes >= req.min_bytes.max(1) as usize || now >= deadline {
            return resp;
        }
        tokio::select! {
            _ = appended => {}
            _ = tokio::time::sleep(deadline - now) => {}
            _ = &mut shutting_down => stopping = true,
        }
    }
}
