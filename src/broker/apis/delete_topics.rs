//! DeleteTopics (key 20): by name, or by id from v6.

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};

use super::super::state::BrokerState;
use super::{message, topic_name};

fn delete(state: &BrokerState, name: &str, version: i16) -> DeletableTopicResult {
    let mut res = DeletableTopicResult::default();
    res.name = Some(topic_name(name));
    match state.engine().topic(name) {
        Ok(meta) => {
            if version >= 6 {
                res.topic_id = meta.topic_id;
            }
            state.forget_topic(name);
            if let Err(e) = state.engine().delete_topic(name) {
                res.error_code = e.code();
                if version >= 5 {
                    res.error_message = message(&e);
                }
            }
        }
        Err(e) => {
            res.error_code = e.code();
            if version >= 5 {
                res.error_message = message(&e);
            }
        }
    }
    res
}

/// The response.
pub fn handle(state: &BrokerState, req: DeleteTopicsRequest, version: i16) -> DeleteTopicsResponse {
    let mut r = DeleteTopicsResponse::default();
    if version >= 6 {
        for t in req.topics {
            let res = match (&t.name, t.topic_id.is_nil()) {
                (Some(name), _) => delete(state, name, version),
                (None, false) => match state.topic_by_id(t.topic_id) {
                    Ok(Some(meta)) => delete(state, &meta.name, version),
                    _ => {
                        let mut res = DeletableTopicResult::default();
                        res.topic_id = t.topic_id;
                        res.error_code = kafka_protocol::ResponseError::UnknownTopicId.code();
                        res
                    }
                },
                (None, true) => {
                    let mut res = DeletableTopicResult::default();
                    res.error_code = kafka_protocol::ResponseError::InvalidRequest.code();
                    res
                }
            };
            r.responses.push(res);
        }
    } else {
        for name in req.topic_names {
            r.responses.push(delete(state, &name.0, version));
        }
    }
    r
}
