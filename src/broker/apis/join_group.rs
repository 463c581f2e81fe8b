//! JoinGroup (key 11): a member (re)joins its group; answered when the group's rebalance
//! completes (see [`coordinator`](super::super::coordinator)).

use std::net::SocketAddr;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::super::coordinator::{self, JoinResult};
use super::super::state::BrokerState;

fn str_bytes(s: String) -> StrBytes {
    StrBytes::from_string(s)
}

/// The response, once the group has one.
pub async fn handle(
    state: &BrokerState,
    req: JoinGroupRequest,
    version: i16,
    client_id: &str,
    peer: SocketAddr,
) -> JoinGroupResponse {
    if let Some(reason) = req.reason.as_ref().filter(|_| version >= 8) {
        tracing::debug!(group = %req.group_id.0, member = %req.member_id, %reason, "join");
    }
    let join = coordinator::JoinGroup {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        group_instance_id: if version >= 5 {
            req.group_instance_id.map(|s| s.to_string())
        } else {
            None
        },
        client_id: client_id.to_string(),
        client_host: format!("/{}", peer.ip()),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms: if version >= 1 {
            req.rebalance_timeout_ms
        } else {
            req.session_timeout_ms
        },
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        require_known_member_id: version >= 4,
        supports_skip_assignment: version >= 9,
    };
    let member_id = join.member_id.clone();
    let result = state
        .coordinator()
        .join(join)
        .wait(|| JoinResult::error(ResponseError::NotCoordinator, &member_id))
        .await;
    response(result, version)
}

fn response(r: JoinResult, version: i16) -> JoinGroupResponse {
    let mut resp = JoinGroupResponse::default();
    resp.error_code = r.error;
    resp.generation_id = r.generation_id;
    if version >= 7 {
        resp.protocol_type = r.protocol_type.map(str_bytes);
        resp.protocol_name = r.protocol_name.map(str_bytes);
    } else {
        // Not nullable before v7.
        resp.protocol_name = Some(str_bytes(r.protocol_name.unwrap_or_default()));
    }
    resp.leader = str_bytes(r.leader);
    if version >= 9 {
        resp.skip_assignment = r.skip_assignment;
    }
    resp.member_id = str_bytes(r.member_id);
    resp.members = r
        .members
        .into_iter()
        .map(|m| {
            let mut member = JoinGroupResponseMember::default();
            member.member_id = str_bytes(m.member_id);
            if version >= 5 {
                member.group_instance_id = m.group_instance_id.map(str_bytes);
            }
            member.metadata = m.metadata;
            member
        })
        .collect();
    resp
}
