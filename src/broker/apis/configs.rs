//! DescribeConfigs (key 32), AlterConfigs (key 33), IncrementalAlterConfigs (key 44) for topics,
//! and a read-only view of the broker's own settings.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::super::state::BrokerState;
use super::message;
use crate::error::Error;

/// Kafka's ConfigResource types.
const TOPIC: i8 = 2;
const BROKER: i8 = 4;
/// Kafka's ConfigSource values.
const DYNAMIC_TOPIC_CONFIG: i8 = 1;
const STATIC_BROKER_CONFIG: i8 = 4;
const DEFAULT_CONFIG: i8 = 5;

fn entry(name: &str, value: &str, source: i8, read_only: bool) -> DescribeConfigsResourceResult {
    let mut c = DescribeConfigsResourceResult::default();
    c.name = StrBytes::from_string(name.to_string());
    c.value = Some(StrBytes::from_string(value.to_string()));
    c.config_source = source;
    c.read_only = read_only;
    c
}

fn topic_configs(
    state: &BrokerState,
    name: &str,
) -> Result<Vec<DescribeConfigsResourceResult>, Error> {
    let meta = state.engine().topic(name)?;
    let broker = &state.config().log_defaults;
    Ok(crate::log::config::known_names()
        .map(|k| match (meta.configs.get(k), broker.get(k)) {
            (Some(v), _) => entry(k, v, DYNAMIC_TOPIC_CONFIG, false),
            (None, Some(v)) => entry(k, v, STATIC_BROKER_CONFIG, false),
            (None, None) => entry(
                k,
                crate::log::config::default_of(k).unwrap_or_default(),
                DEFAULT_CONFIG,
                false,
            ),
        })
        .collect())
}

fn broker_configs(state: &BrokerState) -> Vec<DescribeConfigsResourceResult> {
    let c = state.config();
    let mut out = vec![
        entry(
            "node.id",
            &c.node_id.to_string(),
            STATIC_BROKER_CONFIG,
            true,
        ),
        entry(
            "num.partitions",
            &c.num_partitions.to_string(),
            STATIC_BROKER_CONFIG,
            true,
        ),
        entry(
            "auto.create.topics.enable",
            &c.auto_create_topics.to_string(),
            STATIC_BROKER_CONFIG,
            true,
        ),
        entry(
            "socket.request.max.bytes",
            &c.socket_request_max_bytes.to_string(),
            STATIC_BROKER_CONFIG,
            true,
        ),
    ];
    for (k, v) in &c.log_defaults {
        out.push(entry(&format!("log.{k}"), v, STATIC_BROKER_CONFIG, true));
    }
    out
}

/// DescribeConfigs: every topic config with its value and where it comes from.
pub fn describe(
    state: &BrokerState,
    req: DescribeConfigsRequest,
    _version: i16,
) -> DescribeConfigsResponse {
    let mut r = DescribeConfigsResponse::default();
    for res in req.resources {
        let mut out = DescribeConfigsResult::default();
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name.clone();
        let configs = match res.resource_type {
            TOPIC => topic_configs(state, &res.resource_name),
            BROKER => Ok(broker_configs(state)),
            other => Err(Error::InvalidRequest(format!(
                "config resource type {other} is not supported"
            ))),
        };
        match configs {
            Ok(mut list) => {
                if let Some(keys) = &res.configuration_keys {
                    list.retain(|c| keys.contains(&c.name));
                }
                out.configs = list;
            }
            Err(e) => {
                out.error_code = e.code();
                out.error_message = message(&e);
            }
        }
        r.results.push(out);
    }
    r
}

fn alter_topic(
    state: &BrokerState,
    name: &str,
    set: BTreeMap<String, String>,
    delete: Vec<String>,
    replace: bool,
    validate_only: bool,
) -> Result<(), Error> {
    let meta = state.engine().topic(name)?;
    for (k, v) in &set {
        crate::log::config::validate_entry(k, v)?;
    }
    for k in &delete {
        crate::log::config::validate_name(k)?;
    }
    if validate_only {
        return Ok(());
    }
    let delete: Vec<String> = if replace {
        meta.configs
            .keys()
            .filter(|k| !set.contains_key(*k))
            .cloned()
            .collect()
    } else {
        delete
    };
    state.engine().alter_topic_configs(name, &set, &delete)?;
    // Open logs keep their config: reopen them with the new one.
    state.forget_logs(name);
    Ok(())
}

/// AlterConfigs: replaces a topic's overrides with the given set.
pub fn alter(state: &BrokerState, req: AlterConfigsRequest, _version: i16) -> AlterConfigsResponse {
    use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
    let mut r = AlterConfigsResponse::default();
    for res in req.resources {
        let mut out = AlterConfigsResourceResponse::default();
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name.clone();
        let outcome = if res.resource_type == TOPIC {
            let set = res
                .configs
                .iter()
                .filter_map(|c| {
                    c.value
                        .as_ref()
                        .map(|v| (c.name.to_string(), v.to_string()))
                })
                .collect();
            alter_topic(
                state,
                &res.resource_name,
                set,
                Vec::new(),
                true,
                req.validate_only,
            )
        } else {
            Err(Error::InvalidRequest(
                "only topic configs can be altered".into(),
            ))
        };
        if let Err(e) = outcome {
            out.error_code = e.code();
            out.error_message = message(&e);
        }
        r.responses.push(out);
    }
    r
}

/// IncrementalAlterConfigs: SET (0) and DELETE (1) operations on topic configs.
pub fn incremental_alter(
    state: &BrokerState,
    req: IncrementalAlterConfigsRequest,
    _version: i16,
) -> IncrementalAlterConfigsResponse {
    use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
    let mut r = IncrementalAlterConfigsResponse::default();
    for res in req.resources {
        let mut out = AlterConfigsResourceResponse::default();
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name.clone();
        let mut set = BTreeMap::new();
        let mut delete = Vec::new();
        let mut bad = None;
        for c in &res.configs {
            match (c.config_operation, &c.value) {
                (0, Some(v)) => {
                    set.insert(c.name.to_string(), v.to_string());
                }
                (1, _) => delete.push(c.name.to_string()),
                (op, _) => {
                    bad = Some(Error::InvalidConfig(format!(
                        "config operation {op} on {} is not supported for topic configs",
                        &*c.name
                    )))
                }
            }
        }
        let outcome = match (bad, res.resource_type) {
            (Some(e), _) => Err(e),
            (None, TOPIC) => alter_topic(
                state,
                &res.resource_name,
                set,
                delete,
                false,
                req.validate_only,
            ),
            (None, _) => Err(Error::InvalidRequest(
                "only topic configs can be altered".into(),
            )),
        };
        if let Err(e) = outcome {
            out.error_code = e.code();
            out.error_message = message(&e);
        }
        r.responses.push(out);
    }
    r
}
