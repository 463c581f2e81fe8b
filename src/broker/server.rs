//! The accept loop: one task per connection, requests on a connection answered in order.
//! Shutdown is explicit: stop accepting, let in-flight requests finish, then the caller flushes.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::connection::{Connection, FrameError};
use super::handler::{self, Outcome};
use super::state::BrokerState;

async fn serve_connection(
    state: BrokerState,
    peer: std::net::SocketAddr,
    mut conn: Connection,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let frame = tokio::select! {
            f = conn.read_frame() => f,
            _ = stop.changed() => return,
        };
        let frame = match frame {
            Ok(f) => f,
            Err(FrameError::Closed) => return,
            Err(e) => {
                tracing::debug!(error = %e, "closing connection");
                return;
            }
        };
        match handler::handle(&state, peer, frame).await {
            Outcome::Respond(body) => {
                if let Err(e) = conn.write_frame(&body).await {
                    tracing::debug!(error = %e, "closing connection");
                    return;
                }
            }
            Outcome::RespondParts(parts) => {
                if let Err(e) = conn.write_parts(&parts).await {
                    tracing::debug!(error = %e, "closing connection");
                    return;
                }
            }
            Outcome::Silent => {}
            Outcome::Close(reason) => {
                tracing::info!(%reason, "closing connection after a bad request");
                return;
            }
        }
    }
}

/// Serves until `shutdown` resolves; returns once every connection task has ended.
pub async fn run(
    state: BrokerState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    let mut retention = tokio::time::interval(state.config().retention_check_interval);
    retention.tick().await;
    let mut offsets_retention =
        tokio::time::interval(state.config().offsets_retention_check_interval);
    offsets_retention.tick().await;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::debug!(%peer, "connection");
                    let conn = Connection::new(stream, state.config().socket_request_max_bytes);
                    tasks.spawn(serve_connection(state.clone(), peer, conn, stop_rx.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
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
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {},
            _ = &mut shutdown => break,
        }
    }
    // Connections blocked reading the next request stop now; one mid-request finishes it.
    let _ = stop_tx.send(true);
    // A JoinGroup or SyncGroup may wait minutes for its group: answer it now.
    state.coordinator().shutdown();
    while tasks.join_next().await.is_some() {}
}
