//! Kafka's listener settings: `listeners`, `advertised.listeners`,
//! `listener.security.protocol.map` and `controller.listener.names`, read into one
//! [`ListenerConfig`] per listener this node serves.
//!
//! A listener is `NAME://host:port`; its name maps to a [`SecurityProtocol`] through the map
//! (by default PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL map to themselves, and a controller
//! listener not in an unset map is PLAINTEXT, as in Kafka). Names are upper-cased as Kafka's
//! `ListenerName.normalised` does; per-listener settings use the lower-case prefix
//! `listener.name.<name>.`. Controller listeners are not served: one embedded node has no
//! controller quorum.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};

pub use crate::engine::server_lock::SecurityProtocol;

/// Host and port clients are told to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or address, as advertised.
    pub host: String,
    /// Port (0 until the listener is bound, when it was asked for a free port).
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// One listener to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Listener name, upper case (`PLAINTEXT`, `EXTERNAL`, ...).
    pub name: String,
    /// Its security protocol, from the protocol map.
    pub protocol: SecurityProtocol,
    /// Where to bind.
    pub bind: SocketAddr,
    /// What Metadata and FindCoordinator answer for requests that arrive on it.
    pub advertised: Endpoint,
}

impl ListenerConfig {
    /// The prefix of this listener's own settings: `listener.name.<name>.`.
    pub fn config_prefix(&self) -> String {
        format!("listener.name.{}.", self.name.to_ascii_lowercase())
    }
}

/// A listener as written: name, host (maybe empty), port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RawListener {
    name: String,
    host: String,
    port: u16,
}

/// Parses `NAME://host:port[,NAME://host:port...]` (`[v6]` hosts allowed, host may be empty).
fn parse_list(key: &str, value: &str) -> anyhow::Result<Vec<RawListener>> {
    let mut out = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, addr) = entry.split_once("://").ok_or_else(|| {
            anyhow::anyhow!("{key}: '{entry}' is not of the form NAME://host:port")
        })?;
        let (host, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| anyhow::anyhow!("{key}: '{entry}' has no port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| anyhow::anyhow!("{key}: '{entry}' has a bad port '{port}'"))?;
        let name = name.trim().to_ascii_uppercase();
        if name.is_empty() {
            anyhow::bail!("{key}: '{entry}' has no listener name");
        }
        out.push(RawListener {
            name,
            host: host.trim_matches(['[', ']']).to_string(),
            port,
        });
    }
    Ok(out)
}

/// Parses `listener.security.protocol.map` (`NAME:PROTOCOL,...`).
fn parse_protocol_map(value: &str) -> anyhow::Result<BTreeMap<String, SecurityProtocol>> {
    let mut map = BTreeMap::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, protocol) = entry.split_once(':').ok_or_else(|| {
            anyhow::anyhow!(
                "listener.security.protocol.map: '{entry}' is not of the form NAME:PROTOCOL"
            )
        })?;
        let protocol = SecurityProtocol::parse(protocol).ok_or_else(|| {
            anyhow::anyhow!(
                "listener.security.protocol.map: '{entry}': unknown security protocol '{protocol}' (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)"
            )
        })?;
        map.insert(name.trim().to_ascii_uppercase(), protocol);
    }
    Ok(map)
}

/// The address to bind for a listener's host: empty means every interface.
fn bind_address(host: &str, port: u16, entry: &str) -> anyhow::Result<SocketAddr> {
    let host = match host {
        "" => "0.0.0.0",
        "localhost" => "127.0.0.1",
        h => h,
    };
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| anyhow::anyhow!("listeners: cannot resolve host '{host}' of '{entry}'"))
}

/// What the listener settings say: the listeners to serve and the controller listeners
/// skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listeners {
    /// To serve, in the order of `listeners`.
    pub served: Vec<ListenerConfig>,
    /// Names in `controller.listener.names` found in `listeners` (not served).
    pub skipped_controllers: Vec<String>,
}

/// Reads the listener settings from server properties. Without `listeners`, one PLAINTEXT
/// listener on 127.0.0.1:9092.
///
/// # Errors
/// A malformed entry, a name without a protocol, duplicate names or ports, an advertised
/// listener that is not a listener, or nothing left to serve: one line saying which.
pub fn from_properties(props: &BTreeMap<String, String>) -> anyhow::Result<Listeners> {
    let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let raw = parse_list(
        "listeners",
        get("listeners").unwrap_or("PLAINTEXT://127.0.0.1:9092"),
    )?;
    if raw.is_empty() {
        anyhow::bail!("listeners is empty: set listeners=PLAINTEXT://127.0.0.1:9092 or similar");
    }
    let controllers: Vec<String> = get("controller.listener.names")
        .unwrap_or("")
        .split(',')
        .map(|n| n.trim().to_ascii_uppercase())
        .filter(|n| !n.is_empty())
        .collect();
    let explicit_map = get("listener.security.protocol.map");
    let map = match explicit_map {
        Some(v) => parse_protocol_map(v)?,
        None => [
            SecurityProtocol::Plaintext,
            SecurityProtocol::Ssl,
            SecurityProtocol::SaslPlaintext,
            SecurityProtocol::SaslSsl,
        ]
        .into_iter()
        .map(|p| (p.name().to_string(), p))
        .collect(),
    };
    let advertised = match get("advertised.listeners") {
        Some(v) => parse_list("advertised.listeners", v)?,
        None => Vec::new(),
    };
    let mut names = std::collections::BTreeSet::new();
    let mut ports = std::collections::BTreeSet::new();
    for l in &raw {
        if !names.insert(l.name.clone()) {
            anyhow::bail!(
                "listeners: the name {} is used twice; each listener needs its own name",
                l.name
            );
        }
        if l.port != 0 && !ports.insert(l.port) {
            anyhow::bail!(
                "listeners: port {} is used twice; each listener needs its own port",
                l.port
            );
        }
    }
    for a in &advertised {
        if !names.contains(&a.name) {
            anyhow::bail!(
                "advertised.listeners: {} is not a listener in listeners ({})",
                a.name,
                names.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        if a.host == "0.0.0.0" || a.host == "::" {
            anyhow::bail!(
                "advertised.listeners: {}://{}:{} advertises the non-routable address {}; give a host clients can reach",
                a.name,
                a.host,
                a.port,
                a.host
            );
        }
    }
    let mut served = Vec::new();
    let mut skipped_controllers = Vec::new();
    for l in raw {
        if controllers.contains(&l.name) {
            skipped_controllers.push(l.name);
            continue;
        }
        let protocol = *map.get(&l.name).ok_or_else(|| {
            anyhow::anyhow!(
                "listener {} has no security protocol: add {}:PLAINTEXT (or SSL, SASL_PLAINTEXT, SASL_SSL) to listener.security.protocol.map",
                l.name,
                l.name
            )
        })?;
        let entry = format!("{}://{}:{}", l.name, l.host, l.port);
        let bind = bind_address(&l.host, l.port, &entry)?;
        let advertised = match advertised.iter().find(|a| a.name == l.name) {
            Some(a) => Endpoint {
                host: a.host.clone(),
                // An advertised port 0 follows the bound port.
                port: if a.port == 0 { l.port } else { a.port },
            },
            None => Endpoint {
                host: match l.host.as_str() {
                    "" | "0.0.0.0" | "::" => "127.0.0.1".to_string(),
                    h => h.to_string(),
                },
                port: l.port,
            },
        };
        served.push(ListenerConfig {
            name: l.name,
            protocol,
            bind,
            advertised,
        });
    }
    if served.is_empty() {
        anyhow::bail!(
            "listeners: every listener is a controller listener ({}); add one for clients, e.g. PLAINTEXT://127.0.0.1:9092",
            skipped_controllers.join(", ")
        );
    }
    Ok(Listeners {
        served,
        skipped_controllers,
    })
}

/// A listener being served: its settings (the advertised port known once bound), how its
/// connections are secured, and the SCRAM credentials every SASL listener checks.
pub struct ServedListener {
    /// Name, protocol and endpoints.
    pub config: ListenerConfig,
    /// TLS and SASL settings.
    pub security: super::security::ListenerSecurity,
    /// The broker's SCRAM credentials.
    pub credentials: std::sync::Arc<super::security::credentials::CredentialStore>,
}

/// A setting for one listener: `listener.name.<name>.<key>`, else `<key>`.
pub fn listener_setting<'a>(
    props: &'a BTreeMap<String, String>,
    listener: &ListenerConfig,
    key: &str,
) -> Option<&'a str> {
    props
        .get(&format!("{}{key}", listener.config_prefix()))
        .or_else(|| props.get(key))
        .map(|v| v.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::props;

    #[test]
    fn kafkas_quickstart_serves_plaintext_and_skips_the_controller_listener() {
        let l = from_properties(&props(&[
            ("listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"),
            ("advertised.listeners", "PLAINTEXT://localhost:9092"),
            ("controller.listener.names", "CONTROLLER"),
            (
                "listener.security.protocol.map",
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
            ),
        ]))
        .unwrap();
        assert_eq!(l.skipped_controllers, vec!["CONTROLLER".to_string()]);
        assert_eq!(l.served.len(), 1);
        let p = &l.served[0];
        assert_eq!(p.protocol, SecurityProtocol::Plaintext);
        assert_eq!(p.bind, "0.0.0.0:9092".parse().unwrap());
        assert_eq!(p.advertised.to_string(), "localhost:9092");
    }

    #[test]
    fn several_listeners_each_keep_their_protocol_and_advertised_endpoint() {
        let l = from_properties(&props(&[
            (
                "listeners",
                "PLAINTEXT://127.0.0.1:9092,sasl_ssl://127.0.0.1:9093,EXTERNAL://[::1]:9094",
            ),
            (
                "advertised.listeners",
                "SASL_SSL://broker.example:19093,EXTERNAL://ext.example:9094",
            ),
            (
                "listener.security.protocol.map",
                "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,EXTERNAL:SSL",
            ),
        ]))
        .unwrap();
        let got: Vec<(&str, SecurityProtocol, String, String)> = l
            .served
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.protocol,
                    c.bind.to_string(),
                    c.advertised.to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "PLAINTEXT",
                    SecurityProtocol::Plaintext,
                    "127.0.0.1:9092".into(),
                    "127.0.0.1:9092".into()
                ),
                (
                    "SASL_SSL",
                    SecurityProtocol::SaslSsl,
                    "127.0.0.1:9093".into(),
                    "broker.example:19093".into()
                ),
                (
                    "EXTERNAL",
                    SecurityProtocol::Ssl,
                    "[::1]:9094".into(),
                    "ext.example:9094".into()
                ),
            ]
        );
        assert_eq!(l.served[2].config_prefix(), "listener.name.external.");
    }

    #[test]
    fn bad_listener_settings_are_refused_with_the_reason() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("listeners", "127.0.0.1:9092")], "NAME://host:port"),
            (&[("listeners", "PLAINTEXT://127.0.0.1")], "no port"),
            (&[("listeners", "PLAINTEXT://127.0.0.1:x")], "bad port"),
            (
                &[("listeners", "INTERNAL://127.0.0.1:9092")],
                "add INTERNAL:PLAINTEXT",
            ),
            (
                &[("listeners", "PLAINTEXT://:9092,SSL://:9092")],
                "port 9092 is used twice",
            ),
            (
                &[("listeners", "PLAINTEXT://:9092,plaintext://:9093")],
                "PLAINTEXT is used twice",
            ),
            (
                &[
                    ("listeners", "PLAINTEXT://:9092"),
                    ("advertised.listeners", "SSL://h:9093"),
                ],
                "SSL is not a listener",
            ),
            (
                &[
                    ("listeners", "PLAINTEXT://:9092"),
                    ("advertised.listeners", "PLAINTEXT://0.0.0.0:9092"),
                ],
                "non-routable",
            ),
            (
                &[
                    ("listeners", "CONTROLLER://:9093"),
                    ("controller.listener.names", "CONTROLLER"),
                ],
                "every listener is a controller listener",
            ),
            (
                &[
                    ("listeners", "PLAINTEXT://:9092"),
                    ("listener.security.protocol.map", "PLAINTEXT:TLS"),
                ],
                "unknown security protocol 'TLS'",
            ),
        ];
        for (p, want) in cases {
            let e = from_properties(&props(p)).unwrap_err().to_string();
            assert!(e.contains(want), "{p:?}: {e}");
        }
    }

    #[test]
    fn an_explicit_map_replaces_the_default_one() {
        let e = from_properties(&props(&[
            ("listeners", "SSL://127.0.0.1:9093"),
            ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT"),
        ]))
        .unwrap_err();
        assert!(
            e.to_string().contains("SSL has no security protocol"),
            "{e}"
        );
    }

    #[test]
    fn a_listener_setting_prefers_the_prefixed_key() {
        let p = props(&[
            ("ssl.client.auth", "none"),
            ("listener.name.sasl_ssl.ssl.client.auth", "required"),
        ]);
        let l = from_properties(&props(&[("listeners", "SASL_SSL://127.0.0.1:9093")])).unwrap();
        assert_eq!(
            listener_setting(&p, &l.served[0], "ssl.client.auth"),
            Some("required")
        );
    }
}
