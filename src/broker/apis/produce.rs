//! Produce (key 0): append the request's record batches to partition logs. The log checks
//! idempotent producers' sequences against its durable producer state and answers a retry with
//! the original offsets (see `log::producer_state`).

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};

use super::super::state::BrokerState;
use super::{code, message};
use crate::error::Error;
use crate::log::AppendInfo;

/// Appends one partition's records (one write for all its batches).
fn append(
    state: &BrokerState,
    topic: &str,
    partition: i32,
    records: Option<bytes::Bytes>,
) -> Result<AppendInfo, Error> {
    let meta = state.engine().topic(topic)?;
    let log = state.log(&meta, partition)?;
    log.append_records(&records.unwrap_or_default())
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
                match append(state, &t.name.0, p.index, p.records) {
                    Ok(info) => {
                        appended |= !info.duplicate;
                        pr.base_offset = info.base_offset;
                        pr.log_append_time_ms = info.log_append_time;
                        if version >= 5 {
                            pr.log_start_offset = info.log_start_offset;
                        }
                    }
                    Err(e) => {
                        tracing::debug!(topic = %t.name.0, partition = p.index, error = %e, "produce failed");
                        pr.error_code = e.code();
                        if version >= 8 {
                            pr.error_message = message(&e);
                        }
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
