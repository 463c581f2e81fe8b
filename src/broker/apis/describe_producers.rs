//! DescribeProducers (key 61): the producers a partition's log knows, with their epoch, last
//! sequence and open transaction (`kafka-transactions describe-producers`, and how its `abort`
//! finds a hanging transaction's producer).

use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};

use super::super::state::BrokerState;
use super::message;

/// The response.
pub fn handle(
    state: &BrokerState,
    req: DescribeProducersRequest,
    _version: i16,
) -> DescribeProducersResponse {
    let mut r = DescribeProducersResponse::default();
    for t in req.topics {
        let mut tr = TopicResponse::default();
        tr.name = t.name.clone();
        for p in t.partition_indexes {
            let mut pr = PartitionResponse::default();
            pr.partition_index = p;
            let producers = state
                .engine()
                .topic(&t.name.0)
                .and_then(|meta| state.log(&meta, p))
                .and_then(|log| log.producer_entries());
            match producers {
                Ok(entries) => {
                    for e in entries {
                        let mut ps = ProducerState::default();
                        ps.producer_id = ProducerId(e.producer_id);
                        ps.producer_epoch = e.epoch as i32;
                        ps.last_sequence = e.last_seq().unwrap_or(-1);
                        ps.last_timestamp = e.last_timestamp;
                        ps.coordinator_epoch = e.coordinator_epoch;
                        ps.current_txn_start_offset = e.current_txn_first_offset.unwrap_or(-1);
                        pr.active_producers.push(ps);
                    }
                }
                Err(e) => {
                    pr.error_code = e.code();
                    pr.error_message = message(&e);
                }
            }
            tr.partitions.push(pr);
        }
        r.topics.push(tr);
    }
    r
}
