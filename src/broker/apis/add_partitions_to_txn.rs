//! AddPartitionsToTxn (key 24), the client versions (v0–3): partitions join the producer's
//! open transaction before it writes to them. Unknown partitions fail the whole request, the
//! others answered OPERATION_NOT_ATTEMPTED, as Kafka does.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};

use super::super::state::BrokerState;
use super::fenced_as;

/// The response.
pub fn handle(
    state: &BrokerState,
    req: AddPartitionsToTxnRequest,
    version: i16,
) -> AddPartitionsToTxnResponse {
    let mut wanted = Vec::new();
    let mut unknown = Vec::new();
    for t in &req.v3_and_below_topics {
        let meta = state.engine().topic(&t.name.0).ok();
        for &p in &t.partitions {
            let tp = (t.name.0.to_string(), p);
            if meta
                .as_ref()
                .is_some_and(|m| (0..m.partitions).contains(&p))
            {
                wanted.push(tp);
            } else {
                unknown.push(tp);
            }
        }
    }
    let outcome = if !unknown.is_empty() {
        Err(ResponseError::UnknownTopicOrPartition)
    } else {
        state.transactions().add_partitions(
            &req.v3_and_below_transactional_id.0,
            req.v3_and_below_producer_id.0,
            req.v3_and_below_producer_epoch,
            &wanted,
        )
    };
    let code_of = |tp: &(String, i32)| match &outcome {
        Ok(()) => 0,
        Err(ResponseError::UnknownTopicOrPartition) if unknown.contains(tp) => {
            ResponseError::UnknownTopicOrPartition.code()
        }
        Err(ResponseError::UnknownTopicOrPartition) => ResponseError::OperationNotAttempted.code(),
        Err(e) => fenced_as(*e, version < 2),
    };
    let mut r = AddPartitionsToTxnResponse::default();
    for t in &req.v3_and_below_topics {
        let mut tr = AddPartitionsToTxnTopicResult::default();
        tr.name = t.name.clone();
        for &p in &t.partitions {
            let mut pr = AddPartitionsToTxnPartitionResult::default();
            pr.partition_index = p;
            pr.partition_error_code = code_of(&(t.name.0.to_string(), p));
            tr.results_by_partition.push(pr);
        }
        r.results_by_topic_v3_and_below.push(tr);
    }
    r
}
