//! DescribeCluster (key 60): the one broker.

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use super::super::listener::Endpoint;
use super::super::state::BrokerState;

/// The response; the broker is described by the request's listener's advertised endpoint.
pub fn handle(
    state: &BrokerState,
    endpoint: &Endpoint,
    req: DescribeClusterRequest,
    version: i16,
) -> DescribeClusterResponse {
    let c = state.config();
    let mut r = DescribeClusterResponse::default();
    r.cluster_id = StrBytes::from_string(state.cluster_id().to_string());
    r.controller_id = BrokerId(c.node_id);
    if version >= 1 {
        r.endpoint_type = req.endpoint_type.max(1);
    }
    let mut b = DescribeClusterBroker::default();
    b.broker_id = BrokerId(c.node_id);
    b.host = StrBytes::from_string(endpoint.host.clone());
    b.port = endpoint.port as i32;
    r.brokers = vec![b];
    r
}
