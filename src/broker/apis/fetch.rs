//! Fetch (key 1): whole batches from partition logs, long-polling until `min_bytes` arrived or
//! `max_wait_ms` passed. Fetch sessions are answered sessionless (session id 0), which every
//! client accepts.

use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};

use super::super::state::BrokerState;
use super::{code, topic_name};
use crate::engine::TopicMetadata;
use crate::error::Error;

fn read_partition(
    state: &BrokerState,
    version: i16,
    meta: &TopicMetadata,
    partition: i32,
    offset: i64,
    max_bytes: usize,
) -> Result<(PartitionData, usize), Error> {
    let log = state.log(meta, partition)?;
    let pos = match state.cached_position(&meta.name, partition, offset) {
        Some(p) => p,
        None => log.locate(offset)?,
    };
    let data = log.read(pos, max_bytes)?;
    state.cache_position(&meta.name, partition, data.next);
    let mut pd = PartitionData::default();
    pd.partition_index = partition;
    pd.high_watermark = data.log_end_offset;
    pd.last_stable_offset = data.log_end_offset;
    if version >= 5 {
        pd.log_start_offset = data.log_start_offset;
    }
    let n = data.records.len();
    pd.records = Some(data.records);
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
fn fetch_once(state: &BrokerState, req: &FetchRequest, version: i16) -> (FetchResponse, usize) {
    let mut r = FetchResponse::default();
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
                    code::UNKNOWN_TOPIC_ID
                } else {
                    code::UNKNOWN_TOPIC_OR_PARTITION
                };
                tr.partitions.push(pd);
                continue;
            };
            // Like Kafka, the first partition with data may exceed max_bytes by one batch.
            let limit = (p.partition_max_bytes.max(0) as usize).min(budget.max(1));
            match read_partition(state, version, meta, p.partition, p.fetch_offset, limit) {
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
    (r, total)
}

/// The response, after waiting up to `max_wait_ms` for `min_bytes`.
pub async fn handle(state: &BrokerState, req: FetchRequest, version: i16) -> FetchResponse {
    let deadline = Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    loop {
        let appended = state.appended();
        tokio::pin!(appended);
        appended.as_mut().enable();
        let (resp, bytes) = fetch_once(state, &req, version);
        let now = Instant::now();
        if bytes >= req.min_bytes.max(1) as usize || now >= deadline {
            return resp;
        }
        tokio::select! {
            _ = appended => {}
            _ = tokio::time::sleep(deadline - now) => {}
        }
    }
}
