//! Produce (key 0): append the request's record batches to partition logs. The log checks
//! idempotent producers' sequences against its durable producer state and answers a retry with
//! the original offsets (see `log::producer_state`).

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};

use super::super::state::BrokerState;
use super::message;
use crate::error::Error;
use crate::log::AppendInfo;
use crate::log::batch::BatchHeader;
use crate::log::control::is_transactional;

/// Appends one partition's records (one write for all its batches).
fn append(
    state: &BrokerState,
    topic: &str,
    partition: i32,
    records: Option<bytes::Bytes>,
) -> Result<AppendInfo, Error> {
    let meta = state.engine().topic(topic)?;
    let log = state.log(&meta, partition)?;
    let records = records.unwrap_or_default();
    check_transactional(state, topic, partition, &records)?;
    log.append_records(&records)
}

/// What Kafka checks of transactional producers before an append: clients never write control
/// batches (markers come from the coordinator), and a transactional batch belongs to an open
/// transaction of its producer that holds this partition (protocol version 1: the producer
/// added it with AddPartitionsToTxn first).
fn check_transactional(
    state: &BrokerState,
    topic: &str,
    partition: i32,
    records: &[u8],
) -> Result<(), Error> {
    let mut at = 0;
    let mut checked = None;
    while at < records.len() {
        let Ok(h) = BatchHeader::parse(&records[at..]) else {
            return Ok(()); // the log refuses it with the reason
        };
        if h.is_control() {
            return Err(Error::InvalidRecord(
                "Clients are not allowed to write control records".to_string(),
            ));
        }
        if is_transactional(&h) && checked != Some((h.producer_id, h.producer_epoch)) {
            let tp = (topic.to_string(), partition);
            state
                .transactions()
                .check_produce(h.producer_id, h.producer_epoch, &tp)
                .map_err(|e| Error::Transaction(e.code(), e.to_string()))?;
            checked = Some((h.producer_id, h.producer_epoch));
        }
        at += h.size().max(1);
    }
    Ok(())
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
                pr.error_code = kafka_protocol::ResponseError::UnsupportedVersion.code();
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
