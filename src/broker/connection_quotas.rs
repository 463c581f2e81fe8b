//! `max.connections` and `max.connections.per.ip` (with `max.connections.per.ip.overrides`),
//! as Kafka's `ConnectionQuotas` counts them: a connection over a limit is closed as soon as it
//! is accepted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The limits (Kafka's defaults: no limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// `max.connections`, over every listener.
    pub max_connections: usize,
    /// `max.connections.per.ip`.
    pub max_per_ip: usize,
    /// `max.connections.per.ip.overrides`: `host:count,ip:count`.
    pub per_ip_overrides: HashMap<IpAddr, usize>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: i32::MAX as usize,
            max_per_ip: i32::MAX as usize,
            per_ip_overrides: HashMap::new(),
        }
    }
}

/// Parses `max.connections.per.ip.overrides` (`hostName:100,127.0.0.10:200`); host names are
/// resolved now.
pub fn parse_overrides(value: &str) -> anyhow::Result<HashMap<IpAddr, usize>> {
    use std::net::ToSocketAddrs;
    let mut out = HashMap::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (host, count) = entry.rsplit_once(':').ok_or_else(|| {
            anyhow::anyhow!("max.connections.per.ip.overrides: '{entry}' is not host:count")
        })?;
        let count: usize = count.trim().parse().map_err(|_| {
            anyhow::anyhow!("max.connections.per.ip.overrides: '{entry}': bad count '{count}'")
        })?;
        let host = host.trim().trim_matches(['[', ']']);
        let ips: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => (host, 0)
                .to_socket_addrs()
                .map_err(|e| {
                    anyhow::anyhow!(
                        "max.connections.per.ip.overrides: cannot resolve '{host}': {e}"
                    )
                })?
                .map(|a| a.ip())
                .collect(),
        };
        for ip in ips {
            out.insert(ip, count);
        }
    }
    Ok(out)
}

/// Which limit a connection met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitReached {
    /// `max.connections`.
    Total(usize),
    /// `max.connections.per.ip` (or its override for this address).
    PerIp(IpAddr, usize),
}

impl std::fmt::Display for LimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitReached::Total(n) => write!(f, "max.connections ({n}) reached"),
            LimitReached::PerIp(ip, n) => {
                write!(f, "max.connections.per.ip ({n}) reached for {ip}")
            }
        }
    }
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// The live connections, counted.
pub struct ConnectionQuotas {
    limits: ConnectionLimits,
    counts: Mutex<Counts>,
}

/// One counted connection; uncounted when dropped.
pub struct ConnectionPermit {
    quotas: Arc<ConnectionQuotas>,
    ip: IpAddr,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut c = self.quotas.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.by_ip.remove(&self.ip);
            }
        }
    }
}

impl ConnectionQuotas {
    /// Counts against `limits`.
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(ConnectionQuotas {
            limits,
            counts: Mutex::new(Counts::default()),
        })
    }

    /// Counts a new connection from `ip`, unless that would pass a limit.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionPermit, LimitReached> {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let per_ip = *self
            .limits
            .per_ip_overrides
            .get(&ip)
            .unwrap_or(&self.limits.max_per_ip);
        let from_ip = c.by_ip.get(&ip).copied().unwrap_or(0);
        if from_ip >= per_ip {
            return Err(LimitReached::PerIp(ip, per_ip));
        }
        if c.total >= self.limits.max_connections {
            return Err(LimitReached::Total(self.limits.max_connections));
        }
        c.total += 1;
        *c.by_ip.entry(ip).or_insert(0) += 1;
        Ok(ConnectionPermit {
            quotas: self.clone(),
            ip,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_per_address_and_in_total_and_free_on_drop() {
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let q = ConnectionQuotas::new(ConnectionLimits {
            max_connections: 3,
            max_per_ip: 2,
            per_ip_overrides: parse_overrides("127.0.0.2:1").unwrap(),
        });
        let p1 = q.acquire(a).unwrap();
        let _p2 = q.acquire(a).unwrap();
        assert_eq!(q.acquire(a).err(), Some(LimitReached::PerIp(a, 2)));
        let _p3 = q.acquire(b).unwrap();
        assert_eq!(q.acquire(b).err(), Some(LimitReached::PerIp(b, 1)));
        drop(p1);
        let _p4 = q.acquire(a).unwrap();
        assert_eq!(
            q.acquire("127.0.0.3".parse().unwrap()).err(),
            Some(LimitReached::Total(3))
        );
    }

    #[test]
    fn bad_overrides_are_refused() {
        assert!(parse_overrides("127.0.0.1").is_err());
        assert!(parse_overrides("127.0.0.1:x").is_err());
        assert_eq!(
            parse_overrides("[::1]:5").unwrap()[&"::1".parse::<IpAddr>().unwrap()],
            5
        );
    }
}
