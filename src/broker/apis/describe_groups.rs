//! DescribeGroups (key 15): state, protocol and members of each group. Metadata and
//! assignments are shown only while Stable, as Kafka does. A group known only to the data dir's
//! group store is Empty (committed offsets) or Stable with its embedded consumers as members.

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse, GroupId};
use kafka_protocol::protocol::StrBytes;

use super::super::coordinator::{
    CONSUMER_PROTOCOL, ClassicGroupState, GroupDescription, MemberDescription,
};
use super::super::state::BrokerState;
use crate::engine::group::GroupState;

/// READ, DELETE and DESCRIBE: what anyone may do to a group on a broker without ACLs.
const GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

/// The group as the store sees it, for one the coordinator holds as Empty or not at all.
fn from_store(state: &BrokerState, group: &str) -> Result<Option<GroupDescription>, i16> {
    let store = state.engine().groups();
    match store.state(group).map_err(|e| e.code())? {
        GroupState::Dead => Ok(None),
        GroupState::Empty => Ok(Some(GroupDescription {
            state: ClassicGroupState::Empty,
            protocol_type: CONSUMER_PROTOCOL.to_string(),
            protocol_name: String::new(),
            members: Vec::new(),
        })),
        GroupState::Stable => {
            let members = store.live_members(group).map_err(|e| e.code())?;
            Ok(Some(GroupDescription {
                state: ClassicGroupState::Stable,
                protocol_type: CONSUMER_PROTOCOL.to_string(),
                protocol_name: String::new(),
                members: members
                    .into_iter()
                    .map(|m| MemberDescription {
                        member_id: m.member_id,
                        group_instance_id: None,
                        client_id: m.client_id,
                        client_host: m.host,
                        metadata: Default::default(),
                        assignment: Default::default(),
                    })
                    .collect(),
            }))
        }
    }
}

fn describe(state: &BrokerState, group: &str) -> Result<Option<GroupDescription>, i16> {
    match state.coordinator().describe(group) {
        Some(d) if d.state != ClassicGroupState::Empty => Ok(Some(d)),
        Some(empty) => Ok(Some(from_store(state, group)?.unwrap_or(empty))),
        None => from_store(state, group),
    }
}

/// The response.
pub fn handle(
    state: &BrokerState,
    req: DescribeGroupsRequest,
    version: i16,
) -> DescribeGroupsResponse {
    let mut resp = DescribeGroupsResponse::default();
    resp.groups = req
        .groups
        .into_iter()
        .map(|id| {
            let mut g = DescribedGroup::default();
            match describe(state, &id.0) {
                Ok(Some(d)) => {
                    g.group_state = StrBytes::from_static_str(d.state.as_str());
                    g.protocol_type = StrBytes::from_string(d.protocol_type);
                    g.protocol_data = StrBytes::from_string(d.protocol_name);
                    g.members = d
                        .members
                        .into_iter()
                        .map(|m| {
                            let mut member = DescribedGroupMember::default();
                            member.member_id = StrBytes::from_string(m.member_id);
                            if version >= 4 {
                                member.group_instance_id =
                                    m.group_instance_id.map(StrBytes::from_string);
                            }
                            member.client_id = StrBytes::from_string(m.client_id);
                            member.client_host = StrBytes::from_string(m.client_host);
                            member.member_metadata = m.metadata;
                            member.member_assignment = m.assignment;
                            member
                        })
                        .collect();
                }
                // Kafka describes an unknown group as Dead, without an error, before v6.
                Ok(None) => {
                    g.group_state = StrBytes::from_static_str(ClassicGroupState::Dead.as_str());
                }
                Err(e) => {
                    g.error_code = e;
                    g.group_state = StrBytes::from_static_str(ClassicGroupState::Dead.as_str());
                }
            }
            if version >= 3 && req.include_authorized_operations && g.error_code == 0 {
                g.authorized_operations = GROUP_OPERATIONS;
            }
            g.group_id = GroupId(id.0);
            g
        })
        .collect();
    resp
}
