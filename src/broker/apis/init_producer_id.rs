//! InitProducerId (key 22): ids for idempotent producers. Transactions are not served yet.

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::super::state::BrokerState;
use super::code;

/// The response: a new id at epoch 0, or the same id with the epoch bumped when a producer
/// re-initializes (v3+).
pub fn handle(
    state: &BrokerState,
    req: InitProducerIdRequest,
    _version: i16,
) -> InitProducerIdResponse {
    let mut r = InitProducerIdResponse::default();
    if req.transactional_id.is_some() {
        r.error_code = code::INVALID_REQUEST;
        return r;
    }
    if req.producer_id.0 >= 0 && req.producer_epoch >= 0 && req.producer_epoch < i16::MAX {
        r.producer_id = req.producer_id;
        r.producer_epoch = req.producer_epoch + 1;
    } else {
        match state.producers().next_id() {
            Ok(id) => {
                r.producer_id = ProducerId(id);
                r.producer_epoch = 0;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot reserve producer ids");
                r.error_code = e.code();
                r.producer_id = ProducerId(-1);
                r.producer_epoch = -1;
            }
        }
    }
    r
}
