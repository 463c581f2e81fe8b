//! Kafka's Java client settings, as users keep them in `client.properties` files, turned into
//! librdkafka's. Most names are shared; these differ:
//! - `sasl.jaas.config` (PLAIN and SCRAM login modules) becomes `sasl.username`/`sasl.password`;
//! - a PEM trust store (`ssl.truststore.location` with `ssl.truststore.type=PEM`, or a `.pem`,
//!   `.crt`, `.cer` file) becomes `ssl.ca.location`, `ssl.truststore.certificates` becomes
//!   `ssl.ca.pem`;
//! - a PKCS12 key store keeps its name, a PEM one becomes `ssl.certificate.location` and
//!   `ssl.key.location` (librdkafka reads both from the one file); a PEM key store given inline
//!   (`ssl.keystore.certificate.chain`, `ssl.keystore.key`) becomes `ssl.certificate.pem` and
//!   `ssl.key.pem`;
//! - `ssl.endpoint.identification.algorithm=` (empty: off) becomes `none`;
//! - settings librdkafka has no use for (serializers, store types and passwords of stores it
//!   does not read) are dropped.
//!
//! JKS stores cannot be read by librdkafka: those get an error that says how to convert them.

use std::collections::BTreeMap;

use crate::error::Error;

/// Java-only settings that have no librdkafka counterpart and change nothing for it.
const DROPPED: [&str; 13] = [
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "ssl.truststore.type",
    "ssl.truststore.password",
    "ssl.keystore.type",
    "ssl.protocol",
    "ssl.enabled.protocols",
    "sasl.client.callback.handler.class",
    // The JVM's TLS providers; OpenSSL has its own.
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
];

fn bad(key: &str, why: impl std::fmt::Display) -> Error {
    Error::InvalidConfig(format!("client property {key}: {why}"))
}

/// The username and password of a PLAIN or SCRAM `sasl.jaas.config`, e.g.
/// `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`
pub fn parse_jaas(jaas: &str) -> Result<(String, String), Error> {
    let key = "sasl.jaas.config";
    let text = jaas.trim().trim_end_matches(';').trim();
    let (module, rest) = text
        .split_once(char::is_whitespace)
        .ok_or_else(|| bad(key, "expected '<LoginModule> required key=\"value\" ...;'"))?;
    if !(module.ends_with(".PlainLoginModule") || module.ends_with(".ScramLoginModule")) {
        return Err(bad(
            key,
            format!("{module} is not supported (PlainLoginModule and ScramLoginModule are)"),
        ));
    }
    let rest = rest.trim_start();
    let rest = ["required", "requisite", "sufficient", "optional"]
        .iter()
        .find_map(|flag| rest.strip_prefix(flag))
        .ok_or_else(|| bad(key, "expected a control flag ('required') after the module"))?;
    let mut options = BTreeMap::new();
    let mut chars = rest.trim().chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let name: String = chars.by_ref().take_while(|&c| c != '=').collect();
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(bad(
                    key,
                    format!("unterminated quote in option {}", name.trim()),
                ));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        options.insert(name.trim().to_string(), value);
    }
    match (options.remove("username"), options.remove("password")) {
        (Some(u), Some(p)) => Ok((u, p)),
        _ => Err(bad(key, "needs username=\"...\" and password=\"...\"")),
    }
}

fn is_pem(path: &str, declared: Option<&String>) -> bool {
    match declared.map(|t| t.trim().to_ascii_uppercase()) {
        Some(t) => t == "PEM",
        None => [".pem", ".crt", ".cer"]
            .iter()
            .any(|ext| path.to_ascii_lowercase().ends_with(ext)),
    }
}

/// librdkafka settings for Java (or already librdkafka) ones.
pub fn to_librdkafka(java: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for (k, v) in java {
        match k.as_str() {
            "sasl.jaas.config" => {
                let (user, password) = parse_jaas(v)?;
                out.entry("sasl.username".to_string()).or_insert(user);
                out.entry("sasl.password".to_string()).or_insert(password);
            }
            "ssl.truststore.location" => {
                if !is_pem(v, java.get("ssl.truststore.type")) {
                    return Err(bad(
                        k,
                        format!(
                            "{v} is a JKS/PKCS12 trust store, which librdkafka cannot read; export it as PEM (keytool -exportcert -rfc -keystore {v} -alias ALIAS > ca.pem) and set ssl.truststore.location=ca.pem"
                        ),
                    ));
                }
                out.insert("ssl.ca.location".to_string(), v.clone());
            }
            "ssl.truststore.certificates" => {
                out.insert("ssl.ca.pem".to_string(), v.clone());
            }
            "ssl.keystore.certificate.chain" => {
                out.insert("ssl.certificate.pem".to_string(), v.clone());
            }
            "ssl.keystore.key" => {
                out.insert("ssl.key.pem".to_string(), v.clone());
            }
            "ssl.keystore.location" => {
                let declared = java
                    .get("ssl.keystore.type")
                    .map(|t| t.trim().to_ascii_uppercase());
                match declared.as_deref() {
                    Some("PEM") => {
                        out.insert("ssl.certificate.location".to_string(), v.clone());
                        out.insert("ssl.key.location".to_string(), v.clone());
                    }
                    Some("PKCS12") | None => {
                        out.insert(k.clone(), v.clone());
                    }
                    Some(other) => {
                        return Err(bad(
                            k,
                            format!(
                                "{other} key stores cannot be read by librdkafka; convert {v} to PKCS12 (keytool -importkeystore -deststoretype PKCS12) or PEM"
                            ),
                        ));
                    }
                }
            }
            "ssl.endpoint.identification.algorithm" if v.trim().is_empty() => {
                out.insert(k.clone(), "none".to_string());
            }
            key if DROPPED.contains(&key) => {}
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::props;

    #[test]
    fn jaas_plain_and_scram_give_username_and_password() {
        let plain = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="s3cr\"et";"#;
        assert_eq!(
            parse_jaas(plain).unwrap(),
            ("alice".into(), "s3cr\"et".into())
        );
        let scram = "org.apache.kafka.common.security.scram.ScramLoginModule required\n  username=\"bob\"\n  password=\"pw\";";
        assert_eq!(parse_jaas(scram).unwrap(), ("bob".into(), "pw".into()));
        let oauth = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;";
        assert!(
            parse_jaas(oauth)
                .unwrap_err()
                .to_string()
                .contains("not supported")
        );
        let missing =
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"a\";";
        assert!(parse_jaas(missing).is_err());
    }

    #[test]
    fn java_client_properties_become_librdkafka_ones() {
        let java = props(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";"#,
            ),
            ("ssl.truststore.location", "/etc/kafka/ca.pem"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.endpoint.identification.algorithm", ""),
            (
                "key.serializer",
                "org.apache.kafka.common.serialization.StringSerializer",
            ),
            ("client.id", "me"),
            ("ssl.keymanager.algorithm", "SunX509"),
            (
                "ssl.keystore.certificate.chain",
                "-----BEGIN CERTIFICATE-----...",
            ),
            ("ssl.keystore.key", "-----BEGIN PRIVATE KEY-----..."),
            ("ssl.key.password", "kp"),
        ]);
        let want = props(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
            ("ssl.ca.location", "/etc/kafka/ca.pem"),
            ("ssl.endpoint.identification.algorithm", "none"),
            ("client.id", "me"),
            ("ssl.certificate.pem", "-----BEGIN CERTIFICATE-----..."),
            ("ssl.key.pem", "-----BEGIN PRIVATE KEY-----..."),
            ("ssl.key.password", "kp"),
        ]);
        assert_eq!(to_librdkafka(&java).unwrap(), want);
    }

    #[test]
    fn jks_stores_are_refused_with_how_to_convert() {
        let e = to_librdkafka(&props(&[("ssl.truststore.location", "/x/truststore.jks")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("keytool -exportcert -rfc"), "{e}");
        let e = to_librdkafka(&props(&[
            ("ssl.keystore.location", "/x/k.jks"),
            ("ssl.keystore.type", "JKS"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(e.contains("PKCS12"), "{e}");
        let pem = to_librdkafka(&props(&[
            ("ssl.keystore.location", "/x/client.pem"),
            ("ssl.keystore.type", "PEM"),
        ]))
        .unwrap();
        assert_eq!(
            pem.get("ssl.key.location").map(String::as_str),
            Some("/x/client.pem")
        );
    }
}
