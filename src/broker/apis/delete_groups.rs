//! DeleteGroups (key 42): drops groups without members, with their committed offsets.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use super::super::coordinator::GroupDeletion;
use super::super::state::BrokerState;
use crate::Error;

fn delete(state: &BrokerState, group: &str) -> i16 {
    if group.is_empty() {
        return ResponseError::InvalidGroupId.code();
    }
    let known = match state.coordinator().delete(group) {
        GroupDeletion::NonEmpty => return ResponseError::NonEmptyGroup.code(),
        GroupDeletion::Removed => true,
        GroupDeletion::Unknown => false,
    };
    match state.engine().groups().delete(group) {
        Ok(()) => 0,
        Err(Error::GroupNotFound(_)) if known => 0,
        Err(e) => e.code(),
    }
}

/// The response.
pub fn handle(
    state: &BrokerState,
    req: DeleteGroupsRequest,
    _version: i16,
) -> DeleteGroupsResponse {
    let mut resp = DeleteGroupsResponse::default();
    resp.results = req
        .groups_names
        .into_iter()
        .map(|g| {
            let mut r = DeletableGroupResult::default();
            r.error_code = delete(state, &g.0);
            r.group_id = g;
            r
        })
        .collect();
    resp
}
