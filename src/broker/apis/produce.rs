//! Produce (key 0): append the request's record batches to partition logs.

use bytes::BytesMut;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};

use super::super::state::BrokerState;
use super::{code, message};
use crate::broker::producers::{ProducerBatch, Verdict};
use crate::error::Error;
use crate::log::AppendInfo;
use crate::log::batch::BatchHeader;

/// A batch refused by the idempotence checks, with Kafka's error code.
#[derive(Debug)]
struct Rejected(i16);

/// Why a partition's records were not appended.
enum Failure {
    Engine(Error),
    Sequence(i16),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Engine(e)
    }
}

impl From<Rejected> for Failure {
    fn from(r: Rejected) -> Self {
        Failure::Sequence(r.0)
    }
}

/// Appends every batch of one partition's records; the first batch's placement is reported.
fn append_all(
    state: &BrokerState,
    topic: &str,
    partition: i32,
    records: Option<bytes::Bytes>,
) -> Result<AppendInfo, Failure> {
    let meta = state.engine().topic(topic)?;
    let log = state.log(&meta, partition)?;
    let data = records.unwrap_or_default();
    // Every batch is checked before any is appended, as Kafka validates the whole request:
    // a bad batch after a good one must not leave the good one half-acknowledged in the log.
    let mut batches = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let corrupt = |reason: String| Error::CorruptRecord {
            path: format!("produce request for {topic}-{partition}").into(),
            position: pos as u64,
            reason,
        };
        let header = BatchHeader::parse(&data[pos..]).map_err(|e| corrupt(format!("{e:?}")))?;
        let end = pos + header.size();
        if end > data.len() {
            return Err(corrupt("batch runs past the end of the request".into()).into());
        }
        log.check_batch(&data[pos..end])?;
        batches.push((pos..end, header));
        pos = end;
    }
    let mut first: Option<AppendInfo> = None;
    for (range, header) in batches {
        let idempotent = ProducerBatch::of(&header);
        if let Some(b) = &idempotent {
            match state.producers().check(topic, partition, b) {
                Verdict::Append => {}
                Verdict::Duplicate(base_offset) => {
                    // A retry of a batch already in the log: acknowledge it again.
                    first.get_or_insert(AppendInfo {
                        base_offset,
                        last_offset: base_offset + header.last_offset_delta as i64,
                        log_append_time: -1,
                        log_start_offset: log.log_start_offset()?,
                    });
                    continue;
                }
                Verdict::Reject(code) => return Err(Rejected(code).into()),
            }
        }
        let mut batch = BytesMut::from(&data[range]);
        let info = log.append(&mut batch)?;
        if let Some(b) = &idempotent {
            state
                .producers()
                .record(topic, partition, b, info.base_offset);
        }
        first.get_or_insert(info);
    }
    first.ok_or_else(|| {
        Error::InvalidRequest(format!("empty records for {topic}-{partition}")).into()
    })
}

/// The response, or None for acks=0 (Kafka sends nothing back).
pub fn handle(state: &BrokerState, req: ProduceRequest, version: i16) -> Option<ProduceResponse> {
    let mut r = ProduceResponse::default();
    let mut appended = false;
    for t in req.topic_data {
        let mut tr = TopicProduceResponse::default();
        tr.name = t.name.clone();
        tr.topic_id = t.topic_id;
        for p in t.partition_data {
            let mut pr = PartitionProduceResponse::default();
            pr.index = p.index;
            if version < 3 {
                pr.error_code = code::UNSUPPORTED_VERSION;
            } else {
                match append_all(state, &t.name.0, p.index, p.records) {
                    Ok(info) => {
                        appended = true;
                        pr.base_offset = info.base_offset;
                        pr.log_append_time_ms = info.log_append_time;
                        if version >= 5 {
                            pr.log_start_offset = info.log_start_offset;
                        }
                    }
                    Err(Failure::Engine(e)) => {
                        tracing::debug!(topic = %t.name.0, partition = p.index, error = %e, "produce failed");
                        pr.error_code = e.code();
                        if version >= 8 {
                            pr.error_message = message(&e);
                        }
                        pr.base_offset = -1;
                    }
                    Err(Failure::Sequence(code)) => {
                        pr.error_code = code;
                        pr.base_offset = -1;
                    }
                }
            }
            tr.partition_responses.push(pr);
        }
        r.responses.push(tr);
    }
    if appended {
        state.notify_appended();
    }
    (req.acks != 0).then_some(r)
}
