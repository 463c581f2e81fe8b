//! What the remote backend needs of librdkafka itself: its client config, an error callback
//! that keeps what blocking calls cannot see, metadata that fails fast with the real reason, and
//! librdkafka's errors as the library's.

use std::sync::Mutex;
use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, ClientContext};

use super::RemoteConfig;
use crate::error::Error;

/// How long an admin or metadata call may wait for the cluster.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How long a tool waits to reach the cluster at all before saying it cannot: short enough
/// that an unreachable broker is reported within 10 s.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(8);

/// How many queued events `metadata_watched` serves between two metadata attempts.
const PUMP_EVENTS: usize = 64;

/// What librdkafka reports only through its error callback, which a blocking call cannot see:
/// the first authentication or TLS failure, and the last reason a broker could not be reached.
#[derive(Debug, Default)]
pub struct Watch {
    security: Mutex<Option<(RDKafkaErrorCode, String)>>,
    transport: Mutex<Option<String>>,
}

impl Watch {
    /// Records one error callback.
    pub fn note(&self, error: &KafkaError, reason: &str) {
        use RDKafkaErrorCode as C;
        match error.rdkafka_error_code() {
            Some(
                code @ (C::Authentication
                | C::SaslAuthenticationFailed
                | C::SSL
                | C::UnsupportedSASLMechanism
                | C::IllegalSASLState),
            ) => {
                let mut s = self.security.lock().unwrap_or_else(|p| p.into_inner());
                s.get_or_insert_with(|| (code, reason.to_string()));
            }
            // "n/n brokers are down" says less than the connect failure before it.
            Some(C::AllBrokersDown) => {}
            _ => {
                *self.transport.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(reason.to_string());
            }
        }
    }

    /// The security failure seen, as the error to report for `what`.
    fn security_error(&self, what: &str) -> Option<Error> {
        let s = self.security.lock().unwrap_or_else(|p| p.into_inner());
        s.as_ref().map(|(code, reason)| {
            let hint = code_error(what, *code, reason);
            Error::Remote(format!("{hint} ({})", one_line(reason)))
        })
    }

    fn transport_reason(&self) -> Option<String> {
        self.transport
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_deref()
            .map(one_line)
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A client context that keeps a [`Watch`].
#[derive(Debug, Default)]
pub struct Watched {
    /// What the error callback reported.
    pub watch: Watch,
}

impl ClientContext for Watched {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "librdkafka");
        self.watch.note(&error, reason);
    }
}

impl rdkafka::consumer::ConsumerContext for Watched {}

/// Metadata, failing fast with the real reason: librdkafka's `fetch_metadata` would wait out
/// its whole timeout on a wrong password or an untrusted certificate, and then only say
/// "transport failure". Asks in short slices, serving the error callback (`pump`) between
/// them, and gives up after [`CONNECT_TIMEOUT`] with the last reason a broker was unreachable.
pub(crate) fn metadata_watched<C: ClientContext>(
    client: &rdkafka::client::Client<C>,
    watch: &Watch,
    topic: Option<&str>,
    bootstrap: &str,
    pump: impl Fn(),
) -> Result<rdkafka::metadata::Metadata, Error> {
    let what = topic.unwrap_or("metadata");
    let deadline = std::time::Instant::now() + CONNECT_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let slice = left
            .min(Duration::from_millis(250))
            .max(Duration::from_millis(1));
        let err = match client.fetch_metadata(topic, slice) {
            Ok(md) => return Ok(md),
            Err(e) => e,
        };
        // rdkafka serves one event per poll, and a failing connection queues a log event and
        // an error event every retry: serve what has piled up, not just the oldest.
        for _ in 0..PUMP_EVENTS {
            pump();
        }
        if let Some(e) = watch.security_error(what) {
            return Err(e);
        }
        let transient = matches!(
            err.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::BrokerTransportFailure
                    | RDKafkaErrorCode::AllBrokersDown
                    | RDKafkaErrorCode::OperationTimedOut
                    | RDKafkaErrorCode::RequestTimedOut
            )
        );
        if !transient {
            return Err(kafka_error(what, err));
        }
        if left.is_zero() {
            let why = watch.transport_reason().unwrap_or_else(|| err.to_string());
            return Err(Error::Remote(format!(
                "cannot reach the Kafka cluster at {bootstrap} within {} s ({why}); check --bootstrap-server and that the brokers are up",
                CONNECT_TIMEOUT.as_secs()
            )));
        }
    }
}

impl RemoteConfig {
    /// A librdkafka config with the bootstrap servers and the extra properties.
    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers);
        // Fail fast and clearly when nothing answers, rather than retrying for minutes.
        c.set("socket.connection.setup.timeout.ms", "5000");
        // librdkafka (2.10 and later) drops the bootstrap connection once the first metadata
        // names the brokers, and then waits reconnect.backoff.ms / 2 (50 ms by default) before
        // it connects to one of them: every tool start paid that. At 20 ms the wait is
        // librdkafka's minimum, 11 ms; the backoff still doubles up to 10 s for a broker
        // that stays down.
        c.set("reconnect.backoff.ms", "20");
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
