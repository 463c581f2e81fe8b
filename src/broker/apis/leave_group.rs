//! LeaveGroup (key 13): members leave (v3+: several at once, static ones by instance id) and
//! the rest rebalance.

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use super::super::state::BrokerState;

/// The response.
pub fn handle(state: &BrokerState, req: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
    let members: Vec<(String, Option<String>)> = if version >= 3 {
        req.members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(|s| s.to_string()),
                )
            })
            .collect()
    } else {
        vec![(req.member_id.to_string(), None)]
    };
    let (error, errors) = state.coordinator().leave(&req.group_id.0, &members);
    let mut resp = LeaveGroupResponse::default();
    if version >= 3 {
        resp.error_code = error;
        resp.members = req
            .members
            .into_iter()
            .zip(errors)
            .map(|(m, e)| {
                let mut r = MemberResponse::default();
                r.member_id = m.member_id;
                r.group_instance_id = m.group_instance_id;
                r.error_code = e;
                r
            })
            .collect();
    } else {
        // One member: its error is the response's.
        resp.error_code = if error != 0 {
            error
        } else {
            errors.first().copied().unwrap_or(error)
        };
    }
    resp
}
