//! FindCoordinator (key 10): this broker coordinates every group.

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::super::state::BrokerState;

/// The response: us, for the one key (v0–3) or each of the batched keys (v4+).
pub fn handle(
    state: &BrokerState,
    req: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let c = state.config();
    let host = StrBytes::from_string(c.advertised_host.clone());
    let mut r = FindCoordinatorResponse::default();
    if version >= 4 {
        r.coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let mut co = Coordinator::default();
                co.key = key;
                co.node_id = BrokerId(c.node_id);
                co.host = host.clone();
                co.port = c.advertised_port as i32;
                co
            })
            .collect();
    } else {
        r.node_id = BrokerId(c.node_id);
        r.host = host;
        r.port = c.advertised_port as i32;
    }
    r
}
