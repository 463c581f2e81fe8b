//! EndTxn (key 26): commit or abort the producer's open transaction. The markers are written
//! to every partition of the transaction (and its offsets committed) before the answer.

use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse};

use super::super::state::BrokerState;
use super::fenced_as;

/// The response.
pub fn handle(state: &BrokerState, req: EndTxnRequest, version: i16) -> EndTxnResponse {
    let mut r = EndTxnResponse::default();
    r.producer_id = kafka_protocol::messages::ProducerId(-1);
    r.producer_epoch = -1;
    if let Err(e) = state.transactions().end_txn(
        state,
        &req.transactional_id.0,
        req.producer_id.0,
        req.producer_epoch,
        req.committed,
    ) {
        r.error_code = fenced_as(e, version < 2);
    }
    r
}
