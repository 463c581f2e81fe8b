//! Logging for an operator that a flood cannot drown: each reason a connection is refused is
//! logged once a minute per reason and peer address (with how many like it were not), and malformed
//! requests are logged each at debug level with a warning that sums them up at most once a
//! minute.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often one kind of line may be repeated.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// Keys kept before old ones are dropped, so the map cannot grow without bound.
const MAX_KEYS: usize = 10_000;

#[derive(Default)]
struct Inner {
    /// When each (reason, address, detail) was last logged, and how many were suppressed since.
    refused: HashMap<(&'static str, IpAddr, String), (Instant, u64)>,
    /// Malformed requests since the last summary, and the last one.
    malformed: u64,
    last_malformed: Option<(SocketAddr, String)>,
    last_summary: Option<Instant>,
    /// When each error kind was last logged.
    errors: HashMap<&'static str, Instant>,
}

/// Shared by every connection of a broker.
#[derive(Default)]
pub struct LogLimiter {
    inner: Mutex<Inner>,
}

impl LogLimiter {
    /// A refused connection or request: `kind` is the reason's category (its rate-limit key),
    /// `detail` says what happened.
    pub fn refused(&self, kind: &'static str, peer: SocketAddr, detail: &str) {
        let now = Instant::now();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.refused.len() > MAX_KEYS {
            inner
                .refused
                .retain(|_, (at, _)| now.duration_since(*at) < INTERVAL);
        }
        let key = (kind, peer.ip(), detail.to_string());
        match inner.refused.get_mut(&key) {
            Some((at, suppressed)) if now.duration_since(*at) < INTERVAL => {
                *suppressed += 1;
                tracing::debug!(%peer, "{kind}: {detail}");
            }
            entry => {
                let suppressed = entry.map_or(0, |(_, n)| *n);
                let more = if suppressed > 0 {
                    format!(
                        " ({suppressed} more like it from {} in the last minute)",
                        peer.ip()
                    )
                } else {
                    String::new()
                };
                tracing::warn!("closed connection from {peer}: {kind}: {detail}{more}");
                inner.refused.insert(key, (now, 0));
            }
        }
    }

    /// A request that could not be parsed or served, closing its connection.
    pub fn malformed(&self, peer: SocketAddr, reason: &str) {
        tracing::debug!(%peer, %reason, "closing connection after a malformed request");
        let now = Instant::now();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.malformed += 1;
        inner.last_malformed = Some((peer, reason.to_string()));
        let due = inner
            .last_summary
            .is_none_or(|at| now.duration_since(at) >= INTERVAL);
        if due {
            let n = inner.malformed;
            tracing::warn!(
                "{n} malformed request{} closed in the last minute, last from {peer}: {reason}",
                if n == 1 { "" } else { "s" }
            );
            inner.malformed = 0;
            inner.last_summary = Some(now);
        }
    }

    /// A broker-side error that may repeat quickly (accept failing with EMFILE): logged at
    /// error level at most once a minute per kind. Returns whether it was logged.
    pub fn error(&self, kind: &'static str, detail: &str) -> bool {
        let now = Instant::now();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match inner.errors.get(kind) {
            Some(at) if now.duration_since(*at) < INTERVAL => false,
            _ => {
                tracing::error!("{kind}: {detail}");
                inner.errors.insert(kind, now);
                true
            }
        }
    }
}
