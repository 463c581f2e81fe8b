//! InitProducerId (key 22): ids for idempotent producers, and for transactional ones the id
//! bound to their `transactional.id` with its epoch bumped (fencing older producers of the same
//! id; see `broker::transaction_coordinator`).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::super::state::BrokerState;
use super::fenced_as;

/// The response: a new id at epoch 0, or the same id with the epoch bumped when a producer
/// re-initializes (v3+); for a transactional id, the coordinator's answer.
pub fn handle(
    state: &BrokerState,
    req: InitProducerIdRequest,
    version: i16,
) -> InitProducerIdResponse {
    let mut r = InitProducerIdResponse::default();
    r.producer_id = ProducerId(-1);
    r.producer_epoch = -1;
    if let Some(id) = req.transactional_id.as_ref() {
        if id.0.is_empty() {
            r.error_code = ResponseError::InvalidRequest.code();
            return r;
        }
        match state.transactions().init_producer_id(
            state,
            &id.0,
            req.producer_id.0,
            req.producer_epoch,
            req.transaction_timeout_ms,
        ) {
            Ok((pid, epoch)) => {
                r.producer_id = ProducerId(pid);
                r.producer_epoch = epoch;
            }
            // Before v4 clients knew no PRODUCER_FENCED.
            Err(e) => r.error_code = fenced_as(e, version < 4),
        }
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
            }
        }
    }
    r
}
