//! How tools find the `server-start` serving a data dir: the broker holds
//! `.streamlog/server.lock` exclusively for its lifetime and writes its listeners inside
//! (`listener NAME PROTOCOL host:port` lines, then `pid N`). A tool that cannot take a shared
//! lock on it knows the data dir is served, and where.

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

/// How a listener's connections are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    /// No TLS, no authentication.
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL authentication, no TLS.
    SaslPlaintext,
    /// SASL authentication over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Kafka's name.
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// Parses Kafka's name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Some(SecurityProtocol::Plaintext),
            "SSL" => Some(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Some(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Some(SecurityProtocol::SaslSsl),
            _ => None,
        }
    }

    /// Whether connections start with a TLS handshake.
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether connections must authenticate with SASL before anything else.
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Name of the file a running broker holds locked in the data dir's `.streamlog/`.
pub const SERVER_LOCK: &str = "server.lock";

/// A listener of a running `server-start`, as its lock file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingListener {
    /// Listener name.
    pub name: String,
    /// Its security protocol.
    pub protocol: SecurityProtocol,
    /// Its advertised `host:port`.
    pub address: String,
}

impl std::fmt::Display for ServingListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.protocol, self.address)
    }
}

/// Claims the data dir for this broker: an exclusive lock held for its lifetime, with the
/// listeners it serves written inside (`listener NAME PROTOCOL host:port` lines, then
/// `pid N`) so the tools can find it.
pub fn claim_data_dir(data_dir: &Path, listeners: &[ServingListener]) -> anyhow::Result<File> {
    let path = data_dir.join(".streamlog").join(SERVER_LOCK);
    let mut file = crate::engine::fsutil::lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let owner = std::fs::read_to_string(&path).unwrap_or_default();
            bail!(
                "data dir {} is already served by another server-start ({}); stop it or use another log.dirs",
                data_dir.display(),
                owner.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    file.set_len(0)?;
    let mut text = String::new();
    for l in listeners {
        text.push_str(&format!(
            "listener {} {} {}\n",
            l.name, l.protocol, l.address
        ));
    }
    text.push_str(&format!("pid {}\n", std::process::id()));
    file.write_all(text.as_bytes())?;
    Ok(file)
}

/// The listeners of the `server-start` serving `data_dir`, if one is running: its lock file is
/// held, and names them.
pub fn serving_listeners(data_dir: &Path) -> Option<Vec<ServingListener>> {
    let path = data_dir.join(".streamlog").join(SERVER_LOCK);
    let file = File::open(&path).ok()?;
    if file.try_lock_shared().is_ok() {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let listeners = text
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            if words.next()? != "listener" {
                return None;
            }
            let name = words.next()?.to_string();
            let protocol = SecurityProtocol::parse(words.next()?)?;
            let address = words.next()?.to_string();
            Some(ServingListener {
                name,
                protocol,
                address,
            })
        })
        .collect();
    Some(listeners)
}
