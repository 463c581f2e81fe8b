//! The acceptors and the shutdown. One task per listener accepts connections and hands them
//! to the server loop, which applies the connection limits and runs each connection
//! ([`super::processor`]) as a task; the loop also runs the periodic retention checks.
//!
//! Shutdown is explicit and bounded: stop accepting, answer parked requests at once (long-poll
//! fetches with what they have, waiting joins with their error), let each connection finish
//! the request it is on, and after [`SHUTDOWN_GRACE`] abort whatever is left (a client that
//! never reads its response must not hold the broker). The caller then flushes the logs.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::connection_quotas::ConnectionQuotas;
use super::listener::ServedListener;
use super::log_limiter::LogLimiter;
use super::processor::Connection;
use super::state::BrokerState;

/// How long connections get to finish their requests once the broker stops.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(1000);

/// How long accepting pauses after running out of file descriptors.
const EMFILE_BACKOFF: Duration = Duration::from_millis(100);

/// A bound listening socket and what it serves.
pub struct BoundListener {
    /// The socket.
    pub socket: TcpListener,
    /// The listener's settings and security.
    pub listener: Arc<ServedListener>,
}

struct Accepted {
    stream: TcpStream,
    peer: std::net::SocketAddr,
    listener: Arc<ServedListener>,
}

/// Accepts on one listener until the server loop goes away.
async fn accept_loop(
    bound: BoundListener,
    to_server: mpsc::Sender<Accepted>,
    log: Arc<LogLimiter>,
) {
    loop {
        match bound.socket.accept().await {
            Ok((stream, peer)) => {
                let accepted = Accepted {
                    stream,
                    peer,
                    listener: bound.listener.clone(),
                };
                if to_server.send(accepted).await.is_err() {
                    return;
                }
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE)) => {
                log.error(
                    "cannot accept connections",
                    &format!(
                        "{e} on listener {}; serving the open connections and retrying every {} ms (raise the limit with ulimit -n or LimitNOFILE)",
                        bound.listener.config.name,
                        EMFILE_BACKOFF.as_millis()
                    ),
                );
                tokio::time::sleep(EMFILE_BACKOFF).await;
            }
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Serves `listeners` until `shutdown` resolves; returns once every connection task has ended.
pub async fn run(
    state: BrokerState,
    listeners: Vec<BoundListener>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let log = Arc::new(LogLimiter::default());
    let quotas = ConnectionQuotas::new(state.config().connection_limits.clone());
    let (accepted_tx, mut accepted_rx) = mpsc::channel::<Accepted>(64);
    let mut acceptors = JoinSet::new();
    for bound in listeners {
        acceptors.spawn(accept_loop(bound, accepted_tx.clone(), log.clone()));
    }
    drop(accepted_tx);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    let mut retention = tokio::time::interval(state.config().retention_check_interval);
    retention.tick().await;
    let mut offsets_retention =
        tokio::time::interval(state.config().offsets_retention_check_interval);
    offsets_retention.tick().await;
    // Transactions past their timeout, and decisions a restart left half done (at once).
    let mut transactions = tokio::time::interval(state.config().transaction_abort_interval);
    loop {
        tokio::select! {
            Some(a) = accepted_rx.recv() => {
                match quotas.acquire(a.peer.ip()) {
                    Ok(permit) => {
                        tracing::debug!(peer = %a.peer, listener = %a.listener.config.name, "connection");
                        let conn = Connection {
                            state: state.clone(),
                            listener: a.listener,
                            peer: a.peer,
                            stop: stop_rx.clone(),
                            log: log.clone(),
                            permit,
                        };
                        tasks.spawn(conn.serve(a.stream));
                    }
                    Err(limit) => {
                        log.refused("connection limit", a.peer, &limit.to_string());
                        drop(a.stream);
                    }
                }
            },
            _ = retention.tick() => {
                for log in state.open_logs() {
                    if let Err(e) = log.apply_retention() {
                        tracing::warn!(log = ?log, error = %e, "retention check failed");
                    }
                }
            },
            _ = offsets_retention.tick() => {
                let state = state.clone();
                let now = crate::log::unified::now_ms();
                // File work: off the async workers.
                let _ = tokio::task::spawn_blocking(move || {
                    super::offset_expiry::expire_offsets(&state, now)
                })
                .await;
            },
            _ = transactions.tick() => {
                let state = state.clone();
                let now = crate::log::unified::now_ms();
                let _ = tokio::task::spawn_blocking(move || state.transactions().tick(&state, now))
                    .await;
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {},
            _ = &mut shutdown => break,
        }
    }
    // No new connections: the listening sockets close with their tasks.
    acceptors.abort_all();
    while acceptors.join_next().await.is_some() {}
    drop(accepted_rx);
    // Parked fetches answer now; a JoinGroup or SyncGroup waiting for its group too.
    state.begin_shutdown();
    state.coordinator().shutdown();
    // Idle connections close now; one mid-request finishes it first.
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { break },
            _ = tokio::time::sleep_until(deadline) => {
                let left = tasks.len();
                tracing::warn!("aborting {left} connection(s) still busy {} ms after shutdown began", SHUTDOWN_GRACE.as_millis());
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                break;
            }
        }
    }
}
