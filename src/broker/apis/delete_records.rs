//! DeleteRecords (key 21): move partitions' log start offsets forward.

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use super::super::state::BrokerState;

/// The response, with each partition's new low watermark.
pub fn handle(
    state: &BrokerState,
    req: DeleteRecordsRequest,
    _version: i16,
) -> DeleteRecordsResponse {
    let mut r = DeleteRecordsResponse::default();
    for t in req.topics {
        let mut tr = DeleteRecordsTopicResult::default();
        tr.name = t.name.clone();
        for p in t.partitions {
            let mut pr = DeleteRecordsPartitionResult::default();
            pr.partition_index = p.partition_index;
            let outcome = state
                .engine()
                .topic(&t.name.0)
                .and_then(|meta| state.log(&meta, p.partition_index))
                .and_then(|log| log.delete_records_before(p.offset));
            match outcome {
                Ok(low) => pr.low_watermark = low,
                Err(e) => {
                    pr.error_code = e.code();
                    pr.low_watermark = -1;
                }
            }
            tr.partitions.push(pr);
        }
        r.topics.push(tr);
    }
    r
}
