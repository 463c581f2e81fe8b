//! ListGroups (key 16): the groups the coordinator runs, plus those the data dir's group store
//! knows (committed offsets, or members of embedded consumers). v4+ filters by state, v5+ by
//! type (every group here is `classic`).

use std::collections::BTreeMap;

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use super::super::coordinator::{CONSUMER_PROTOCOL, ClassicGroupState};
use super::super::state::BrokerState;
use crate::engine::group::GroupState;

/// Every group's (protocol type, state), the coordinator's view first; a group it holds as
/// Empty is Stable while embedded consumers are members.
pub fn all_groups(state: &BrokerState) -> BTreeMap<String, (String, &'static str)> {
    let store = state.engine().groups();
    let mut out: BTreeMap<String, (String, &'static str)> = state
        .coordinator()
        .list()
        .into_iter()
        .map(|g| (g.group_id, (g.protocol_type, g.state.as_str())))
        .collect();
    for name in store.list().unwrap_or_default() {
        let stored = match store.state(&name) {
            Ok(GroupState::Stable) => ClassicGroupState::Stable,
            Ok(GroupState::Empty) => ClassicGroupState::Empty,
            _ => continue,
        };
        let entry = out
            .entry(name)
            .or_insert_with(|| (CONSUMER_PROTOCOL.to_string(), stored.as_str()));
        if entry.1 == ClassicGroupState::Empty.as_str() {
            entry.1 = stored.as_str();
            if entry.0.is_empty() {
                entry.0 = CONSUMER_PROTOCOL.to_string();
            }
        }
    }
    out
}

/// The response.
pub fn handle(state: &BrokerState, req: ListGroupsRequest, version: i16) -> ListGroupsResponse {
    let states: Vec<String> = if version >= 4 {
        req.states_filter
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect()
    } else {
        Vec::new()
    };
    let classic_wanted = version < 5
        || req.types_filter.is_empty()
        || req
            .types_filter
            .iter()
            .any(|t| t.eq_ignore_ascii_case("classic"));
    let mut resp = ListGroupsResponse::default();
    if !classic_wanted {
        return resp;
    }
    resp.groups = all_groups(state)
        .into_iter()
        .filter(|(_, (_, s))| states.is_empty() || states.contains(&s.to_ascii_lowercase()))
        .map(|(id, (protocol_type, s))| {
            let mut g = ListedGroup::default();
            g.group_id = GroupId(StrBytes::from_string(id));
            g.protocol_type = StrBytes::from_string(protocol_type);
            if version >= 4 {
                g.group_state = StrBytes::from_static_str(s);
            }
            if version >= 5 {
                g.group_type = StrBytes::from_static_str("classic");
            }
            g
        })
        .collect();
    resp
}
