//! DescribeTransactions (key 65): one transactional id's state, producer, timeout, start time
//! and partitions (`kafka-transactions describe`).

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId,
};
use kafka_protocol::protocol::StrBytes;

use super::super::state::BrokerState;
use super::topic_name;

/// The response.
pub fn handle(
    state: &BrokerState,
    req: DescribeTransactionsRequest,
    _version: i16,
) -> DescribeTransactionsResponse {
    let mut r = DescribeTransactionsResponse::default();
    for id in req.transactional_ids {
        let mut t = TransactionState::default();
        t.transactional_id = id.clone();
        match state.transactions().describe(&id.0) {
            None => {
                t.error_code = ResponseError::TransactionalIdNotFound.code();
                t.transaction_state = StrBytes::from_static_str("");
                t.producer_id = ProducerId(-1);
                t.producer_epoch = -1;
                t.transaction_start_time_ms = -1;
            }
            Some(m) => {
                t.transaction_state = StrBytes::from_static_str(m.state.as_str());
                t.transaction_timeout_ms = m.timeout_ms;
                t.transaction_start_time_ms = m.start_ms;
                t.producer_id = ProducerId(m.producer_id);
                t.producer_epoch = m.producer_epoch;
                let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
                for (topic, p) in &m.partitions {
                    by_topic.entry(topic).or_default().push(*p);
                }
                for (topic, partitions) in by_topic {
                    let mut td = TopicData::default();
                    td.topic = topic_name(topic);
                    td.partitions = partitions;
                    t.topics.push(td);
                }
            }
        }
        r.transaction_states.push(t);
    }
    r
}
