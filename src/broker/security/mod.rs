//! What secures a listener: TLS ([`tls`]) for SSL and SASL_SSL, SASL ([`sasl`]) with PLAIN
//! (users from the listener's JAAS config, [`jaas`]) and SCRAM ([`scram`], credentials in the
//! data dir, [`credentials`]) for SASL_PLAINTEXT and SASL_SSL. Everything is checked when the
//! broker starts: a listener is served with the security it names, or the broker refuses to
//! start with one line saying why.

pub mod credentials;
pub mod jaas;
pub mod sasl;
pub mod scram;
pub mod tls;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::bail;

use super::listener::{ListenerConfig, listener_setting};
use sasl::Mechanism;

/// SASL settings of one listener.
#[derive(Debug, Clone)]
pub struct SaslSettings {
    /// `sasl.enabled.mechanisms`, in the order given.
    pub mechanisms: Vec<Mechanism>,
    /// PLAIN's users and passwords, from `listener.name.<l>.plain.sasl.jaas.config`.
    pub plain_users: BTreeMap<String, String>,
}

/// How one listener's connections are secured.
#[derive(Clone, Default)]
pub struct ListenerSecurity {
    /// TLS, for SSL and SASL_SSL.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// SASL, for SASL_PLAINTEXT and SASL_SSL.
    pub sasl: Option<Arc<SaslSettings>>,
}

/// Whether a key is one of the security settings this module reads or knowingly ignores (so
/// server-start does not list it as ignored).
pub fn is_security_key(key: &str) -> bool {
    key.starts_with("ssl.") || key.starts_with("sasl.") || key.starts_with("listener.name.")
}

/// Security keys that are accepted without effect: they configure clients of other brokers,
/// the JVM, Kerberos (GSSAPI is refused separately) or authorization, which a single embedded
/// node does not have.
fn is_inert(suffix: &str) -> bool {
    matches!(
        suffix,
        "ssl.endpoint.identification.algorithm"
            | "ssl.protocol"
            | "ssl.keymanager.algorithm"
            | "ssl.trustmanager.algorithm"
            | "ssl.secure.random.implementation"
            | "ssl.principal.mapping.rules"
            | "sasl.mechanism.inter.broker.protocol"
            | "sasl.mechanism.controller.protocol"
            | "sasl.server.max.receive.size"
    ) || suffix.starts_with("sasl.kerberos.")
        || suffix.starts_with("sasl.login.")
        || suffix.starts_with("sasl.oauthbearer.")
}

/// Keys we read.
fn is_read(suffix: &str) -> bool {
    matches!(
        suffix,
        "ssl.keystore.type"
            | "ssl.keystore.location"
            | "ssl.keystore.password"
            | "ssl.keystore.key"
            | "ssl.keystore.certificate.chain"
            | "ssl.key.password"
            | "ssl.truststore.type"
            | "ssl.truststore.location"
            | "ssl.truststore.password"
            | "ssl.truststore.certificates"
            | "ssl.client.auth"
            | "ssl.enabled.protocols"
            | "ssl.cipher.suites"
            | "sasl.enabled.mechanisms"
    ) || suffix.ends_with(".sasl.jaas.config")
        || suffix.ends_with(".sasl.server.callback.handler.class")
}

/// Security keys that are neither read nor known to be inert: reported as ignored.
pub fn unknown_security_keys(props: &BTreeMap<String, String>) -> Vec<String> {
    props
        .keys()
        .filter(|k| is_security_key(k))
        .filter(|k| {
            let suffix = match k.strip_prefix("listener.name.") {
                Some(rest) => rest.split_once('.').map(|(_, s)| s).unwrap_or(""),
                None => k.as_str(),
            };
            !is_read(suffix) && !is_inert(suffix) && suffix != "connections.max.reauth.ms"
        })
        .cloned()
        .collect()
}

fn sasl_settings(
    props: &BTreeMap<String, String>,
    listener: &ListenerConfig,
) -> anyhow::Result<SaslSettings> {
    let name = &listener.name;
    let prefix = listener.config_prefix();
    let configured = listener_setting(props, listener, "sasl.enabled.mechanisms");
    // Kafka's default is GSSAPI.
    let list = configured.unwrap_or("GSSAPI");
    let mut mechanisms = Vec::new();
    let mut unservable = Vec::new();
    for m in list.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        match Mechanism::from_name(m) {
            Some(mech) if !mechanisms.contains(&mech) => mechanisms.push(mech),
            Some(_) => {}
            None => unservable.push(m.to_string()),
        }
    }
    if !unservable.is_empty() {
        bail!(
            "listener {name} ({}): SASL mechanism{} {} cannot be served by streamlog{}; set sasl.enabled.mechanisms to PLAIN, SCRAM-SHA-256 and/or SCRAM-SHA-512",
            listener.protocol,
            if unservable.len() > 1 { "s" } else { "" },
            unservable.join(", "),
            if configured.is_none() {
                " (Kafka's default sasl.enabled.mechanisms is GSSAPI)"
            } else {
                ""
            }
        );
    }
    if mechanisms.is_empty() {
        bail!(
            "listener {name}: sasl.enabled.mechanisms is empty; set PLAIN, SCRAM-SHA-256 and/or SCRAM-SHA-512"
        );
    }
    for key in props.keys() {
        if key.ends_with("sasl.server.callback.handler.class")
            && (key.starts_with(&prefix) || !key.starts_with("listener.name."))
        {
            bail!(
                "{key}: custom SASL callback handlers (Java classes) cannot run in streamlog; remove it (PLAIN users come from the JAAS config, SCRAM users from AlterUserScramCredentials)"
            );
        }
    }
    let mut plain_users = BTreeMap::new();
    if mechanisms.contains(&Mechanism::Plain) {
        let key = format!("{prefix}plain.sasl.jaas.config");
        let jaas = props.get(&key).ok_or_else(|| {
            anyhow::anyhow!(
                "listener {name} enables PLAIN but {key} is not set: give {key}={} required user_<name>=\"<password>\" ...;",
                jaas::PLAIN_LOGIN_MODULE
            )
        })?;
        plain_users = jaas::plain_users(jaas).map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
        if plain_users.is_empty() {
            bail!(
                "{key}: no user_<name>=\"<password>\" entries, so no one could log in with PLAIN"
            );
        }
    }
    Ok(SaslSettings {
        mechanisms,
        plain_users,
    })
}

/// Builds and checks the security of one listener.
///
/// # Errors
/// Anything that would serve the listener with less security than its protocol names.
pub fn for_listener(
    props: &BTreeMap<String, String>,
    listener: &ListenerConfig,
) -> anyhow::Result<ListenerSecurity> {
    let tls = if listener.protocol.uses_tls() {
        Some(tls::server_config(props, listener)?)
    } else {
        None
    };
    let sasl = if listener.protocol.uses_sasl() {
        Some(Arc::new(sasl_settings(props, listener)?))
    } else {
        None
    };
    Ok(ListenerSecurity { tls, sasl })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::listener::{Endpoint, SecurityProtocol};
    use crate::properties::props;

    fn listener() -> ListenerConfig {
        ListenerConfig {
            name: "SASL_PLAINTEXT".into(),
            protocol: SecurityProtocol::SaslPlaintext,
            bind: "127.0.0.1:0".parse().unwrap(),
            advertised: Endpoint {
                host: "127.0.0.1".into(),
                port: 0,
            },
        }
    }

    #[test]
    fn mechanisms_we_cannot_serve_are_named() {
        let e = for_listener(&props(&[]), &listener())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("GSSAPI") && e.contains("default"), "{e}");
        let e = for_listener(
            &props(&[("sasl.enabled.mechanisms", "PLAIN,OAUTHBEARER,GSSAPI")]),
            &listener(),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("mechanisms OAUTHBEARER, GSSAPI cannot be served"),
            "{e}"
        );
    }

    #[test]
    fn plain_needs_its_users_from_the_listener_jaas_config() {
        let e = for_listener(&props(&[("sasl.enabled.mechanisms", "PLAIN")]), &listener())
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("listener.name.sasl_plaintext.plain.sasl.jaas.config"),
            "{e}"
        );
        let s = for_listener(
            &props(&[
                ("sasl.enabled.mechanisms", "SCRAM-SHA-256,PLAIN"),
                (
                    "listener.name.sasl_plaintext.plain.sasl.jaas.config",
                    r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="b" user_alice="s";"#,
                ),
            ]),
            &listener(),
        )
        .unwrap();
        let sasl = s.sasl.unwrap();
        assert_eq!(sasl.mechanisms.len(), 2);
        assert_eq!(sasl.plain_users["alice"], "s");
        assert!(s.tls.is_none());
    }

    #[test]
    fn unknown_security_keys_are_reported_and_known_ones_are_not() {
        let p = props(&[
            ("ssl.keystore.location", "x"),
            ("listener.name.sasl_ssl.plain.sasl.jaas.config", "x"),
            ("listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config", "x"),
            ("ssl.endpoint.identification.algorithm", ""),
            ("ssl.provider", "SunJSSE"),
        ]);
        assert_eq!(unknown_security_keys(&p), vec!["ssl.provider".to_string()]);
    }
}
