//! FindCoordinator (key 10): this broker coordinates every group.

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::super::listener::Endpoint;
use super::super::state::BrokerState;

/// The response: us, for the one key (v0–3) or each of the batched keys (v4+).
/// `endpoint` is the advertised endpoint of the listener the request arrived on.
pub fn handle(
    state: &BrokerState,
    endpoint: &Endpoint,
    req: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let c = state.config();
    let host = StrBytes::from_string(endpoint.host.clone());
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
                co.port = endpoint.port as i32;
                co
            })
            .collect();
    } else {
        r.node_id = BrokerId(c.node_id);
        r.host = host;
        r.port = endpoint.port as i32;
    }
    r
}
