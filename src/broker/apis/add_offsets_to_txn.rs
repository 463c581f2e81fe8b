//! AddOffsetsToTxn (key 25): the group whose offsets the open transaction will commit.

use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};

use super::super::state::BrokerState;
use super::fenced_as;

/// The response.
pub fn handle(
    state: &BrokerState,
    req: AddOffsetsToTxnRequest,
    version: i16,
) -> AddOffsetsToTxnResponse {
    let mut r = AddOffsetsToTxnResponse::default();
    if let Err(e) = state.transactions().add_offsets_to_txn(
        &req.transactional_id.0,
        req.producer_id.0,
        req.producer_epoch,
        &req.group_id.0,
    ) {
        r.error_code = fenced_as(e, version < 2);
    }
    r
}
