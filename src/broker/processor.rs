//! One connection's life, as Kafka's `Processor` runs it: the TLS handshake (SSL listeners),
//! SASL authentication (SASL listeners), then requests answered one at a time, in order.
//!
//! A reader task reads frames into a small bounded queue and says when the peer closed; the
//! request loop waits on the queue, the idle deadline and the broker's stop signal, and while a
//! request is parked (a long-poll Fetch) it also watches for the peer closing, so a client that
//! goes away frees its socket at once instead of leaving it in CLOSE-WAIT. Idleness counts from
//! the last complete request or response, so a connection that sends half a frame and stalls
//! is closed too.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncRead;
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

use super::connection::{FrameError, FrameReader, FrameWriter};
use super::connection_quotas::ConnectionPermit;
use super::handler::{self, Outcome, RequestContext};
use super::listener::ServedListener;
use super::log_limiter::LogLimiter;
use super::security::sasl::{Authenticator, Step};
use super::state::BrokerState;

/// Frames read ahead of the one being answered.
const QUEUE: usize = 2;

/// The longest a TLS handshake may take (or `connections.max.idle.ms`, if shorter).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long closing may wait to flush what is left for the client.
const CLOSE_TIMEOUT: Duration = Duration::from_millis(200);

/// A TLS record carrying a handshake starts with this byte; a Kafka request frame starts with
/// the high byte of its size, almost always 0.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// What a connection task needs from the server.
pub struct Connection {
    /// Shared broker state.
    pub state: BrokerState,
    /// The listener it arrived on.
    pub listener: Arc<ServedListener>,
    /// The client's address.
    pub peer: SocketAddr,
    /// Set when the broker stops.
    pub stop: watch::Receiver<bool>,
    /// Rate-limited logging of refusals and malformed requests.
    pub log: Arc<LogLimiter>,
    /// Its place in the connection limits, given back when the task ends.
    pub permit: ConnectionPermit,
}

/// Aborts the reader task when the connection ends, however it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How the reader task ended.
type ReaderEnd = Arc<std::sync::Mutex<Option<FrameError>>>;

fn describe_tls_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    let hint = if text.contains("UnknownCA") || text.contains("BadCertificate") {
        " (the client does not trust this broker's certificate: give it the CA)"
    } else if text.contains("CertificateRequired") || text.contains("NoCertificatesPresented") {
        " (ssl.client.auth=required and the client sent no certificate)"
    } else if text.contains("InvalidCertificate") {
        " (the client's certificate is not signed by the trust store's CA)"
    } else if text.contains("handshake eof") {
        " (the client hung up mid-handshake: often it does not trust this broker's certificate)"
    } else {
        ""
    };
    format!("{text}{hint}")
}

impl Connection {
    /// Serves the connection until the peer closes, it idles out, a request is malformed or
    /// authentication fails, or the broker stops.
    pub async fn serve(mut self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let config = self.state.config();
        let idle = config.connections_max_idle;
        let max_frame = config.socket_request_max_bytes;
        let sasl = self.listener.security.sasl.clone();
        let limit = Arc::new(AtomicUsize::new(match &sasl {
            Some(_) => config.sasl_server_max_receive_size.min(max_frame),
            None => max_frame,
        }));
        let (read, mut writer): (Box<dyn AsyncRead + Send + Unpin>, FrameWriter) =
            match self.listener.security.tls.clone() {
                None => {
                    let (r, w) = stream.into_split();
                    (Box::new(r), FrameWriter::tcp(w))
                }
                Some(tls) => match self.handshake(stream, tls, idle).await {
                    Some(s) => {
                        let (r, w) = tokio::io::split(s);
                        (Box::new(r), FrameWriter::other(Box::new(w)))
                    }
                    None => return,
                },
            };
        let (tx, mut rx) = mpsc::channel::<Bytes>(QUEUE);
        let closed = Arc::new(Notify::new());
        let end: ReaderEnd = Default::default();
        let reader = {
            let closed = closed.clone();
            let end = end.clone();
            let mut frames = FrameReader::new(read, limit.clone());
            AbortOnDrop(tokio::spawn(async move {
                loop {
                    match frames.read_frame().await {
                        Ok(f) => {
                            if tx.send(f).await.is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            *end.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                            break;
                        }
                    }
                }
                closed.notify_one();
            }))
        };
        let mut auth = sasl.map(|s| Authenticator::new(s, self.listener.credentials.clone()));
        let mut last_activity = Instant::now();
        loop {
            if *self.stop.borrow() {
                break;
            }
            let frame = tokio::select! {
                biased;
                _ = self.stop.changed() => break,
                f = rx.recv() => f,
                _ = tokio::time::sleep_until(last_activity + idle) => {
                    tracing::debug!(peer = %self.peer, "closing a connection idle for {} ms (connections.max.idle.ms)", idle.as_millis());
                    break;
                }
            };
            let Some(frame) = frame else {
                self.reader_ended(&end);
                break;
            };
            let frame = match auth.as_mut().map(|a| a.on_frame(frame.clone())) {
                None | Some(Step::Handle(_)) => frame,
                Some(Step::Respond(reply)) => {
                    // Raised before the client hears it may send ordinary requests.
                    if auth.as_ref().is_some_and(Authenticator::is_complete) {
                        limit.store(max_frame, Ordering::Relaxed);
                        tracing::debug!(peer = %self.peer, user = ?auth.as_ref().and_then(|a| a.principal()), "authenticated");
                    }
                    if !self.write(&mut writer, &reply, idle).await {
                        break;
                    }
                    last_activity = Instant::now();
                    continue;
                }
                Some(Step::RespondAndClose(reply, failure)) => {
                    let _ = self.write(&mut writer, &reply, idle).await;
                    self.log
                        .refused("authentication failed", self.peer, &failure.reason);
                    break;
                }
                Some(Step::Close(reason)) => {
                    self.log
                        .refused("refused before authentication", self.peer, &reason);
                    break;
                }
            };
            let ctx = RequestContext {
                peer: self.peer,
                listener: &self.listener,
            };
            let outcome = tokio::select! {
                o = handler::handle(&self.state, &ctx, frame) => o,
                // The client went away while its request was parked: free the socket now.
                _ = closed.notified() => {
                    tracing::debug!(peer = %self.peer, "client closed the connection during a request");
                    break;
                }
            };
            let written = match outcome {
                Outcome::Respond(body) => self.write(&mut writer, &body, idle).await,
                Outcome::RespondParts(parts) => {
                    match tokio::time::timeout(idle, writer.write_parts(&parts)).await {
                        Ok(Ok(())) => true,
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %self.peer, error = %e, "closing connection");
                            false
                        }
                        Err(_) => {
                            tracing::debug!(peer = %self.peer, "closing a connection that did not read its response");
                            false
                        }
                    }
                }
                Outcome::Silent => true,
                Outcome::Close(reason) => {
                    self.log.malformed(self.peer, &reason);
                    false
                }
            };
            if !written {
                break;
            }
            last_activity = Instant::now();
        }
        drop(reader);
        // TLS's close_notify, if the client takes it at once; a client that does not read must
        // not hold the task.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, writer.shutdown()).await;
        drop(self.permit);
    }

    /// Writes one frame within `limit`; false if the connection is done.
    async fn write(&self, writer: &mut FrameWriter, body: &[u8], limit: Duration) -> bool {
        match tokio::time::timeout(limit, writer.write_frame(body)).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::debug!(peer = %self.peer, error = %e, "closing connection");
                false
            }
            Err(_) => {
                tracing::debug!(peer = %self.peer, "closing a connection that did not read its response");
                false
            }
        }
    }

    /// Logs why the reader stopped.
    fn reader_ended(&self, end: &ReaderEnd) {
        let e = end.lock().unwrap_or_else(|p| p.into_inner()).take();
        match e {
            None | Some(FrameError::Closed) => {}
            // A TLS record header (0x16 0x03 ...) read as a frame size.
            Some(FrameError::TooLarge(size, _)) if (size >> 16) == 0x1603 => {
                self.log.refused(
                    "TLS on a non-TLS listener",
                    self.peer,
                    &format!(
                        "peer started a TLS handshake on {} listener {} (is the client configured with the right security.protocol?)",
                        self.listener.config.protocol, self.listener.config.name
                    ),
                );
            }
            Some(e @ FrameError::TooLarge(..)) => {
                let reason = if self.listener.security.sasl.is_some() {
                    format!(
                        "{e} (before authentication the limit is sasl.server.max.receive.size; a client speaking another protocol, e.g. TLS to a SASL_PLAINTEXT listener, looks like this too)"
                    )
                } else {
                    e.to_string()
                };
                self.log.malformed(self.peer, &reason);
            }
            Some(e) => tracing::debug!(peer = %self.peer, error = %e, "connection ended"),
        }
    }

    /// The TLS handshake, bounded; None (after logging why) if it fails.
    async fn handshake(
        &mut self,
        stream: TcpStream,
        tls: Arc<rustls::ServerConfig>,
        idle: Duration,
    ) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
        let limit = HANDSHAKE_TIMEOUT.min(idle);
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        let peer = self.peer;
        let work = async {
            let mut first = [0u8; 1];
            match stream.peek(&mut first).await {
                Ok(0) | Err(_) => return Err(None),
                Ok(_) if first[0] != TLS_HANDSHAKE_RECORD => {
                    return Err(Some(
                        "peer sent a plaintext request to an SSL listener (is the client configured with security.protocol SSL or SASL_SSL?)".to_string(),
                    ));
                }
                Ok(_) => {}
            }
            acceptor
                .accept(stream)
                .await
                .map_err(|e| Some(describe_tls_error(&e)))
        };
        let result = tokio::select! {
            r = tokio::time::timeout(limit, work) => r,
            _ = self.stop.changed() => return None,
        };
        match result {
            Ok(Ok(s)) => Some(s),
            Ok(Err(None)) => None,
            Ok(Err(Some(reason))) => {
                self.log.refused("TLS handshake failed", peer, &reason);
                None
            }
            Err(_) => {
                self.log.refused(
                    "TLS handshake failed",
                    peer,
                    &format!("no TLS handshake within {} ms", limit.as_millis()),
                );
                None
            }
        }
    }
}
