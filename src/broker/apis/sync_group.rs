//! SyncGroup (key 14): the leader hands out the assignment; every member waits for its share.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::super::coordinator::{self, SyncResult};
use super::super::state::BrokerState;

/// The response, once the leader has synced.
pub async fn handle(state: &BrokerState, req: SyncGroupRequest, version: i16) -> SyncGroupResponse {
    let sync = coordinator::SyncGroup {
        group_id: req.group_id.0.to_string(),
        generation_id: req.generation_id,
        member_id: req.member_id.to_string(),
        group_instance_id: if version >= 3 {
            req.group_instance_id.map(|s| s.to_string())
        } else {
            None
        },
        protocol_type: if version >= 5 {
            req.protocol_type.map(|s| s.to_string())
        } else {
            None
        },
        protocol_name: if version >= 5 {
            req.protocol_name.map(|s| s.to_string())
        } else {
            None
        },
        assignments: req
            .assignments
            .into_iter()
            .map(|a| (a.member_id.to_string(), a.assignment))
            .collect(),
    };
    let r = state
        .coordinator()
        .sync(sync)
        .wait(|| SyncResult::error(ResponseError::NotCoordinator))
        .await;
    let mut resp = SyncGroupResponse::default();
    resp.error_code = r.error;
    if version >= 5 {
        resp.protocol_type = r.protocol_type.map(StrBytes::from_string);
        resp.protocol_name = r.protocol_name.map(StrBytes::from_string);
    }
    resp.assignment = r.assignment;
    resp
}
