//! WriteTxnMarkers (key 27): markers written straight to partitions, as Kafka's admin client
//! sends them to abort a hanging transaction (`kafka-transactions abort`) that its coordinator
//! no longer tracks. A marker older than the producer's epoch on the partition is refused.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};

use super::super::state::BrokerState;
use crate::error::Error;
use crate::log::control::{ControlType, encode_marker};

fn write_one(
    state: &BrokerState,
    topic: &str,
    partition: i32,
    producer_id: i64,
    epoch: i16,
    kind: ControlType,
    coordinator_epoch: i32,
) -> Result<(), i16> {
    let log = state
        .engine()
        .topic(topic)
        .and_then(|meta| state.log(&meta, partition))
        .map_err(|e| e.code())?;
    let known = log.producer_entries().map_err(|e| e.code())?;
    if known
        .iter()
        .any(|e| e.producer_id == producer_id && e.epoch > epoch)
    {
        return Err(ResponseError::InvalidProducerEpoch.code());
    }
    let marker = encode_marker(
        producer_id,
        epoch,
        kind,
        coordinator_epoch,
        crate::log::unified::now_ms(),
    );
    log.append_records(&marker).map_err(|e: Error| e.code())?;
    Ok(())
}

/// The response.
pub fn handle(
    state: &BrokerState,
    req: WriteTxnMarkersRequest,
    _version: i16,
) -> WriteTxnMarkersResponse {
    let mut r = WriteTxnMarkersResponse::default();
    for m in req.markers {
        let kind = if m.transaction_result {
            ControlType::Commit
        } else {
            ControlType::Abort
        };
        let mut mr = WritableTxnMarkerResult::default();
        mr.producer_id = m.producer_id;
        for t in m.topics {
            let mut tr = WritableTxnMarkerTopicResult::default();
            tr.name = t.name.clone();
            for p in t.partition_indexes {
                let mut pr = WritableTxnMarkerPartitionResult::default();
                pr.partition_index = p;
                if let Err(code) = write_one(
                    state,
                    &t.name.0,
                    p,
                    m.producer_id.0,
                    m.producer_epoch,
                    kind,
                    m.coordinator_epoch,
                ) {
                    pr.error_code = code;
                }
                tr.partitions.push(pr);
            }
            mr.topics.push(tr);
        }
        r.markers.push(mr);
    }
    state.notify_appended();
    r
}
