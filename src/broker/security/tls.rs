//! TLS for SSL and SASL_SSL listeners: rustls configured from Kafka's `ssl.*` keys (or their
//! `listener.name.<name>.` forms). Only PEM is read: `ssl.keystore.type=PEM` with
//! `ssl.keystore.location` (private key and certificate chain in one file) or inline
//! `ssl.keystore.key` / `ssl.keystore.certificate.chain`; `ssl.truststore.type=PEM` with
//! `ssl.truststore.location` or inline `ssl.truststore.certificates`. JKS and PKCS12 stores and
//! encrypted keys are refused with the command that converts them, so a listener is never served
//! with less security than configured.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::broker::listener::{ListenerConfig, SecurityProtocol, listener_setting};

/// `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate asked for.
    None,
    /// Asked for; a client without one is let in.
    Requested,
    /// A client without a certificate the trust store vouches for is refused.
    Required,
}

/// Where PEM text comes from, for messages.
struct Pem {
    text: Vec<u8>,
    origin: String,
}

fn is_pem(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, b"-----BEGIN ").is_some()
}

fn read_store(
    kind: &str,
    location: &str,
    store_type: Option<&str>,
    convert: &dyn Fn(&str, &str) -> String,
) -> anyhow::Result<Pem> {
    let text = std::fs::read(location)
        .with_context(|| format!("ssl.{kind}.location={location}: cannot read it"))?;
    match store_type.map(|t| t.to_ascii_uppercase()) {
        Some(t) if t == "PEM" => {
            if !is_pem(&text) {
                bail!(
                    "ssl.{kind}.location={location} is not PEM although ssl.{kind}.type=PEM; {}",
                    convert(location, "the store")
                );
            }
        }
        Some(t) => bail!(
            "ssl.{kind}.type={t}: streamlog reads only PEM {kind}s; {}",
            convert(location, &t)
        ),
        // Kafka's default type is JKS; a PEM file is taken as what it is.
        None if is_pem(&text) => {}
        None => bail!(
            "ssl.{kind}.location={location} is not PEM (Kafka's default ssl.{kind}.type is JKS, which streamlog cannot read); {}",
            convert(location, "JKS")
        ),
    }
    Ok(Pem {
        text,
        origin: format!("ssl.{kind}.location={location}"),
    })
}

fn convert_keystore(location: &str, store_type: &str) -> String {
    if store_type.eq_ignore_ascii_case("PKCS12") {
        format!(
            "convert it with `openssl pkcs12 -in {location} -nodes -out server-keystore.pem` and set ssl.keystore.type=PEM, ssl.keystore.location=server-keystore.pem"
        )
    } else {
        format!(
            "convert it with `keytool -importkeystore -srckeystore {location} -destkeystore server.p12 -deststoretype PKCS12 && openssl pkcs12 -in server.p12 -nodes -out server-keystore.pem` and set ssl.keystore.type=PEM, ssl.keystore.location=server-keystore.pem"
        )
    }
}

fn convert_truststore(location: &str, _store_type: &str) -> String {
    format!(
        "export the CA with `keytool -exportcert -rfc -keystore {location} -alias ALIAS > ca.pem` and set ssl.truststore.type=PEM, ssl.truststore.location=ca.pem"
    )
}

fn certificates(pem: &Pem) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(&pem.text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{}: bad PEM certificate: {e}", pem.origin))?;
    if certs.is_empty() {
        bail!("{}: no CERTIFICATE in it", pem.origin);
    }
    Ok(certs)
}

fn private_key(pem: &Pem) -> anyhow::Result<PrivateKeyDer<'static>> {
    let encrypted = memchr::memmem::find(&pem.text, b"ENCRYPTED PRIVATE KEY").is_some()
        || memchr::memmem::find(&pem.text, b"Proc-Type: 4,ENCRYPTED").is_some();
    if encrypted {
        bail!(
            "{}: the private key is encrypted, which streamlog cannot read; decrypt it with `openssl pkey -in KEY.pem -out server-key.pem` and give the plain key (remove ssl.key.password)",
            pem.origin
        );
    }
    PrivateKeyDer::from_pem_slice(&pem.text).map_err(|e| {
        anyhow::anyhow!(
            "{}: no unencrypted PRIVATE KEY in it ({e}); the key store must hold the key and its certificate chain",
            pem.origin
        )
    })
}

/// The trust store's certificates, if one is configured.
fn trust_anchors(
    get: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<Vec<CertificateDer<'static>>>> {
    let store_type = get("ssl.truststore.type");
    let pem = if let Some(inline) = get("ssl.truststore.certificates") {
        Pem {
            text: inline.into_bytes(),
            origin: "ssl.truststore.certificates".into(),
        }
    } else if let Some(location) = get("ssl.truststore.location") {
        read_store(
            "truststore",
            &location,
            store_type.as_deref(),
            &convert_truststore,
        )?
    } else {
        return Ok(None);
    };
    if get("ssl.truststore.password").is_some() && is_pem(&pem.text) {
        bail!(
            "ssl.truststore.password cannot be given with a PEM trust store (as in Kafka); remove it"
        );
    }
    certificates(&pem).map(Some)
}

fn protocol_versions(
    get: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Vec<&'static rustls::SupportedProtocolVersion>> {
    let Some(list) = get("ssl.enabled.protocols") else {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    };
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p {
            "TLSv1.3" => out.push(&rustls::version::TLS13),
            "TLSv1.2" => out.push(&rustls::version::TLS12),
            other => unknown.push(other.to_string()),
        }
    }
    if !unknown.is_empty() {
        bail!(
            "ssl.enabled.protocols={list}: streamlog serves only TLSv1.2 and TLSv1.3, not {}",
            unknown.join(", ")
        );
    }
    if out.is_empty() {
        bail!("ssl.enabled.protocols is empty: set TLSv1.2,TLSv1.3");
    }
    Ok(out)
}

/// `ssl.client.auth` for a listener. For SASL_SSL only the listener's own key counts, as in
/// Kafka (clients there authenticate with SASL).
pub fn client_auth(
    props: &BTreeMap<String, String>,
    listener: &ListenerConfig,
) -> anyhow::Result<ClientAuth> {
    let value = if listener.protocol == SecurityProtocol::SaslSsl {
        props
            .get(&format!("{}ssl.client.auth", listener.config_prefix()))
            .map(|v| v.trim())
    } else {
        listener_setting(props, listener, "ssl.client.auth")
    };
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("none") => Ok(ClientAuth::None),
        Some("requested") => Ok(ClientAuth::Requested),
        Some("required") => Ok(ClientAuth::Required),
        Some(other) => bail!("ssl.client.auth={other}: expected none, requested or required"),
    }
}

/// The rustls configuration of an SSL or SASL_SSL listener.
///
/// # Errors
/// A missing or unreadable key store, a store we cannot read (with the command that converts
/// it), an encrypted key, or settings that would serve less than asked: one line saying which.
pub fn server_config(
    props: &BTreeMap<String, String>,
    listener: &ListenerConfig,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let get = |k: &str| {
        listener_setting(props, listener, k)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let name = &listener.name;
    if let Some(suites) = get("ssl.cipher.suites") {
        bail!(
            "listener {name}: ssl.cipher.suites={suites} is not supported; remove it to use rustls's modern suites (TLS 1.3 AES-GCM and ChaCha20, TLS 1.2 ECDHE with AEAD)"
        );
    }
    let versions = protocol_versions(&get)?;
    if get("ssl.key.password").is_some() {
        bail!(
            "listener {name}: ssl.key.password is set, so the key is encrypted, which streamlog cannot read; decrypt it with `openssl pkey -in KEY.pem -out server-key.pem`, use that key and remove ssl.key.password"
        );
    }
    let keystore_type = get("ssl.keystore.type");
    let (certs, key) = match (
        get("ssl.keystore.certificate.chain"),
        get("ssl.keystore.key"),
        get("ssl.keystore.location"),
    ) {
        (Some(chain), Some(key), _) => {
            let chain = Pem {
                text: chain.into_bytes(),
                origin: "ssl.keystore.certificate.chain".into(),
            };
            let key = Pem {
                text: key.into_bytes(),
                origin: "ssl.keystore.key".into(),
            };
            let key = private_key(&key)?;
            (certificates(&chain)?, key)
        }
        (Some(_), None, _) | (None, Some(_), _) => bail!(
            "listener {name}: ssl.keystore.certificate.chain and ssl.keystore.key go together; give both"
        ),
        (None, None, Some(location)) => {
            let pem = read_store(
                "keystore",
                &location,
                keystore_type.as_deref(),
                &convert_keystore,
            )?;
            if get("ssl.keystore.password").is_some() {
                bail!(
                    "listener {name}: ssl.keystore.password cannot be given with a PEM key store (as in Kafka); remove it"
                );
            }
            let key = private_key(&pem)?;
            (certificates(&pem)?, key)
        }
        (None, None, None) => bail!(
            "listener {name} is {} but has no key store: set ssl.keystore.type=PEM and ssl.keystore.location (key and certificate chain in one PEM file), or {}ssl.keystore.location",
            listener.protocol,
            listener.config_prefix()
        ),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| anyhow::anyhow!("listener {name}: {e}"))?;
    let auth = client_auth(props, listener)?;
    let builder = match auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Requested | ClientAuth::Required => {
            let anchors = trust_anchors(&get)?.ok_or_else(|| {
                anyhow::anyhow!(
                    "listener {name}: ssl.client.auth={} needs a trust store with the CA of client certificates: set ssl.truststore.type=PEM and ssl.truststore.location",
                    if auth == ClientAuth::Required { "required" } else { "requested" }
                )
            })?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in anchors {
                roots.add(cert).map_err(|e| {
                    anyhow::anyhow!("listener {name}: trust store certificate refused: {e}")
                })?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            );
            let verifier = if auth == ClientAuth::Requested {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| anyhow::anyhow!("listener {name}: client verifier: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(certs, key).map_err(|e| {
        anyhow::anyhow!(
            "listener {name}: the key store's key and certificate do not go together: {e}"
        )
    })?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::props;

    fn listener(protocol: SecurityProtocol) -> ListenerConfig {
        ListenerConfig {
            name: protocol.name().to_string(),
            protocol,
            bind: "127.0.0.1:0".parse().unwrap(),
            advertised: crate::broker::listener::Endpoint {
                host: "127.0.0.1".into(),
                port: 0,
            },
        }
    }

    fn refusal(pairs: &[(&str, &str)]) -> String {
        server_config(&props(pairs), &listener(SecurityProtocol::Ssl))
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn stores_we_cannot_read_are_refused_with_the_command_that_converts_them() {
        let dir = tempfile::tempdir().unwrap();
        let jks = dir.path().join("server.jks");
        std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
        let jks = jks.to_str().unwrap();
        let e = refusal(&[("ssl.keystore.location", jks)]);
        assert!(
            e.contains("default ssl.keystore.type is JKS") && e.contains("keytool -importkeystore"),
            "{e}"
        );
        let e = refusal(&[
            ("ssl.keystore.location", jks),
            ("ssl.keystore.type", "PKCS12"),
        ]);
        assert!(e.contains("openssl pkcs12 -in"), "{e}");
        let e = refusal(&[("ssl.key.password", "x"), ("ssl.keystore.location", jks)]);
        assert!(e.contains("openssl pkey"), "{e}");
        let enc = dir.path().join("enc.pem");
        std::fs::write(
            &enc,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap();
        let e = refusal(&[
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.location", enc.to_str().unwrap()),
        ]);
        assert!(e.contains("encrypted"), "{e}");
        let e = refusal(&[]);
        assert!(e.contains("has no key store"), "{e}");
        let e = refusal(&[("ssl.cipher.suites", "TLS_RSA_WITH_NULL_SHA")]);
        assert!(e.contains("not supported"), "{e}");
        let e = refusal(&[("ssl.enabled.protocols", "TLSv1.1")]);
        assert!(e.contains("only TLSv1.2 and TLSv1.3"), "{e}");
    }

    #[test]
    fn client_auth_for_sasl_ssl_counts_only_the_listener_prefixed_key() {
        let p = props(&[("ssl.client.auth", "required")]);
        assert_eq!(
            client_auth(&p, &listener(SecurityProtocol::SaslSsl)).unwrap(),
            ClientAuth::None
        );
        assert_eq!(
            client_auth(&p, &listener(SecurityProtocol::Ssl)).unwrap(),
            ClientAuth::Required
        );
        let p = props(&[("listener.name.sasl_ssl.ssl.client.auth", "requested")]);
        assert_eq!(
            client_auth(&p, &listener(SecurityProtocol::SaslSsl)).unwrap(),
            ClientAuth::Requested
        );
        assert!(
            client_auth(
                &props(&[("ssl.client.auth", "maybe")]),
                &listener(SecurityProtocol::Ssl)
            )
            .is_err()
        );
    }
}
