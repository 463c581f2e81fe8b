//! Heartbeat (key 12): keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin.

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::super::state::BrokerState;

/// The response.
pub fn handle(state: &BrokerState, req: HeartbeatRequest, version: i16) -> HeartbeatResponse {
    let instance = if version >= 3 {
        req.group_instance_id.as_deref()
    } else {
        None
    };
    let mut resp = HeartbeatResponse::default();
    resp.error_code =
        state
            .coordinator()
            .heartbeat(&req.group_id.0, req.generation_id, &req.member_id, instance);
    resp
}
