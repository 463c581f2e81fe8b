//! ListTransactions (key 66): the transactional ids this coordinator knows, filtered by state,
//! producer id and (v1) how long their transaction has been open, as `kafka-transactions list`
//! shows them.

use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{
    ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use super::super::state::BrokerState;
use super::super::transaction_state::TxnState;

const STATES: [TxnState; 8] = [
    TxnState::Empty,
    TxnState::Ongoing,
    TxnState::PrepareCommit,
    TxnState::PrepareAbort,
    TxnState::CompleteCommit,
    TxnState::CompleteAbort,
    TxnState::Dead,
    TxnState::PrepareEpochFence,
];

/// The response.
pub fn handle(
    state: &BrokerState,
    req: ListTransactionsRequest,
    version: i16,
) -> ListTransactionsResponse {
    let mut r = ListTransactionsResponse::default();
    let mut states = Vec::new();
    for f in &req.state_filters {
        match STATES.iter().find(|s| s.as_str() == f.as_str()) {
            Some(s) => states.push(*s),
            None => r.unknown_state_filters.push(f.clone()),
        }
    }
    let now = crate::log::unified::now_ms();
    let min_duration = if version >= 1 {
        req.duration_filter
    } else {
        -1
    };
    for (id, m) in state.transactions().snapshot() {
        if !states.is_empty() && !states.contains(&m.state) {
            continue;
        }
        if !req.producer_id_filters.is_empty()
            && !req.producer_id_filters.contains(&ProducerId(m.producer_id))
        {
            continue;
        }
        if min_duration >= 0 && (m.start_ms < 0 || now - m.start_ms < min_duration) {
            continue;
        }
        let mut t = TransactionState::default();
        t.transactional_id = TransactionalId(StrBytes::from_string(id));
        t.producer_id = ProducerId(m.producer_id);
        t.transaction_state = StrBytes::from_static_str(m.state.as_str());
        r.transaction_states.push(t);
    }
    r
}
