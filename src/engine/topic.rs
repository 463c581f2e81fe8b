//! Topic metadata: names, ids, partition counts and config overrides, kept as one JSON file
//! per topic that is replaced atomically.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Longest topic name Kafka allows.
pub const MAX_NAME_LENGTH: usize = 249;

/// Topics Kafka treats as internal.
pub const INTERNAL_TOPICS: [&str; 3] = [
    "__consumer_offsets",
    "__transaction_state",
    "__share_group_state",
];

/// What the data dir knows about a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicMetadata {
    /// The topic name.
    pub name: String,
    /// Kafka topic id, as a UUID.
    pub topic_id: uuid::Uuid,
    /// Number of partitions, numbered 0..n.
    pub partitions: i32,
    /// Config overrides set on the topic (`--config`).
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
    /// When the topic was created, ms since the epoch.
    #[serde(default)]
    pub created_ms: i64,
}

impl TopicMetadata {
    /// True for `__consumer_offsets` and `__transaction_state`.
    pub fn is_internal(&self) -> bool {
        is_internal(&self.name)
    }

    /// Kafka's textual topic id.
    pub fn topic_id_string(&self) -> String {
        super::fsutil::kafka_uuid_string(&self.topic_id)
    }
}

/// True for Kafka's internal topic names.
pub fn is_internal(name: &str) -> bool {
    INTERNAL_TOPICS.contains(&name)
}

/// Kafka's topic name rules (`org.apache.kafka.common.internals.Topic.validate`).
///
/// # Errors
/// `InvalidTopic` with Kafka's message.
pub fn validate_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "the empty string is not allowed".to_string()
    } else if name == "." {
        "'.' is not allowed".to_string()
    } else if name == ".." {
        "'..' is not allowed".to_string()
    } else if name.len() > MAX_NAME_LENGTH {
        format!("the length of '{name}' is longer than the max allowed length {MAX_NAME_LENGTH}")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        format!(
            "'{name}' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"
        )
    } else {
        return Ok(());
    };
    Err(Error::InvalidTopic(format!(
        "Topic name is invalid: {reason}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_topic_name_rules() {
        for ok in ["a", "quickstart-events", "A.b_c-9", &"x".repeat(249)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a b", "a/b", "ä", &"x".repeat(250)] {
            assert!(
                matches!(validate_name(bad), Err(Error::InvalidTopic(_))),
                "{bad}"
            );
        }
    }
}
