//! The remote backend: the client traits over any Kafka cluster (or `server-start`), through
//! librdkafka (the `rdkafka` crate).

mod admin;
mod consumer;
mod native;
mod producer;
pub mod properties;

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;

pub use admin::RemoteAdmin;
pub use consumer::RemoteConsumer;
pub use producer::RemoteProducer;

use crate::error::Error;

/// How long an admin or metadata call may wait for the cluster.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Where the cluster is and how to talk to it.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// Further librdkafka properties (security, client.id, ...).
    pub properties: BTreeMap<String, String>,
}

impl RemoteConfig {
    /// A cluster at `bootstrap_servers`, with client properties in Kafka's Java names or
    /// librdkafka's (see [`properties`]).
    pub fn new(
        bootstrap_servers: String,
        properties: &BTreeMap<String, String>,
    ) -> Result<RemoteConfig, Error> {
        Ok(RemoteConfig {
            bootstrap_servers,
            properties: properties::to_librdkafka(properties)?,
        })
    }

    /// A librdkafka config with the bootstrap servers and the extra properties.
    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers);
        // Fail fast and clearly when nothing answers, rather than retrying for minutes.
        c.set("socket.connection.setup.timeout.ms", "5000");
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c
    }
}

/// Maps a librdkafka error to the library's error, keeping Kafka's code where there is one.
pub(crate) fn kafka_error(what: &str, e: rdkafka::error::KafkaError) -> Error {
    match e.rdkafka_error_code() {
        Some(code) => code_error(what, code, &e.to_string()),
        None => Error::Remote(format!("{what}: {e}")),
    }
}

/// Maps a Kafka error code reported for `what` to the library's error.
pub(crate) fn code_error(what: &str, code: rdkafka::types::RDKafkaErrorCode, text: &str) -> Error {
    use rdkafka::types::RDKafkaErrorCode as C;
    match code {
        C::UnknownTopicOrPartition | C::UnknownTopic => Error::UnknownTopic(what.to_string()),
        C::TopicAlreadyExists => Error::TopicExists(what.to_string()),
        C::InvalidTopic => Error::InvalidTopic(format!("{what}: {text}")),
        C::InvalidPartitions => Error::InvalidPartitions(text.to_string()),
        C::InvalidReplicationFactor => Error::InvalidReplicationFactor(text.to_string()),
        C::InvalidConfig => Error::InvalidConfig(text.to_string()),
        C::GroupIdNotFound => Error::GroupNotFound(what.to_string()),
        C::NonEmptyGroup => Error::NonEmptyGroup(format!("The group '{what}' is not empty.")),
        // librdkafka's codes name these only as "Authentication" or "SSL" (the reason goes to
        // the client context's error callback); say which settings decide them.
        C::Authentication | C::SaslAuthenticationFailed => Error::Remote(format!(
            "{what}: SASL authentication failed: check sasl.mechanism and the username and password in sasl.jaas.config"
        )),
        C::SSL => Error::Remote(format!(
            "{what}: TLS failed: check security.protocol and ssl.truststore.location (the CA that signed the cluster's certificate)"
        )),
        C::TopicAuthorizationFailed
        | C::GroupAuthorizationFailed
        | C::ClusterAuthorizationFailed
        | C::TransactionalIdAuthorizationFailed => {
            Error::Remote(format!("{what}: not authorized ({code})"))
        }
        _ => Error::Remote(format!("{what}: {text}")),
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::error::KafkaError;
    use rdkafka::types::RDKafkaErrorCode as C;

    use super::kafka_error;

    #[test]
    fn security_failures_say_what_to_check() {
        let auth = kafka_error("poll", KafkaError::MessageConsumption(C::Authentication));
        let auth = auth.to_string();
        assert!(
            auth.starts_with("poll: SASL authentication failed: "),
            "{auth}"
        );
        assert!(auth.contains("sasl.jaas.config"), "{auth}");
        let tls = kafka_error("metadata", KafkaError::MetadataFetch(C::SSL)).to_string();
        assert!(tls.starts_with("metadata: TLS failed: "), "{tls}");
        assert!(tls.contains("ssl.truststore.location"), "{tls}");
        let denied = kafka_error("t", KafkaError::MetadataFetch(C::TopicAuthorizationFailed));
        assert!(
            denied.to_string().starts_with("t: not authorized ("),
            "{denied}"
        );
        assert!(!auth.contains('\n') && !tls.contains('\n'));
    }
}
