//! A SASL listener's side of authentication, per connection, as Kafka's
//! `SaslServerAuthenticator` does it. Before authentication only ApiVersions and SaslHandshake
//! are taken (anything else closes the connection). SaslHandshake v1 is followed by
//! SaslAuthenticate requests; v0 by raw SASL tokens in size-prefixed frames without a Kafka
//! header (old clients). A failed authentication is answered with SASL_AUTHENTICATION_FAILED
//! and Kafka's message (v1; v0 has no way to say it), then the connection is closed.

use std::sync::Arc;

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{
    ApiKey, RequestHeader, ResponseKind, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use ring::rand::SecureRandom;

use super::SaslSettings;
use super::credentials::CredentialStore;
use super::scram::{self, ScramError, ScramMechanism, ServerExchange};
use crate::broker::handler::encode_response;

/// SASL_AUTHENTICATION_FAILED.
pub const SASL_AUTHENTICATION_FAILED: i16 = 58;
/// UNSUPPORTED_SASL_MECHANISM.
pub const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
/// ILLEGAL_SASL_STATE.
pub const ILLEGAL_SASL_STATE: i16 = 34;

/// A SASL mechanism the broker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// PLAIN (RFC 4616).
    Plain,
    /// SCRAM-SHA-256 or SCRAM-SHA-512.
    Scram(ScramMechanism),
}

impl Mechanism {
    /// From its SASL name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "PLAIN" => Some(Mechanism::Plain),
            other => ScramMechanism::from_name(other).map(Mechanism::Scram),
        }
    }

    /// Its SASL name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(m) => m.name(),
        }
    }
}

/// Why authentication failed: what the client is told and what the operator reads.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Kafka's message to the client.
    pub client_message: String,
    /// For the broker's log: user, mechanism and reason.
    pub reason: String,
}

/// What the connection does with a frame.
pub enum Step {
    /// Serve it as an ordinary request (ApiVersions before authentication; anything after).
    Handle(Bytes),
    /// Send this frame and carry on.
    Respond(Bytes),
    /// Send this frame, then close: authentication failed.
    RespondAndClose(Bytes, Failure),
    /// Close without an answer (a request not allowed now, or a failure in v0's raw mode).
    Close(String),
}

enum Exchange {
    Plain,
    ScramFirst(ScramMechanism),
    ScramFinal(Box<ServerExchange>),
}

enum State {
    Handshake,
    Authenticate {
        mechanism: Mechanism,
        raw: bool,
        exchange: Exchange,
    },
    Complete,
}

/// One connection's authentication.
pub struct Authenticator {
    settings: Arc<SaslSettings>,
    credentials: Arc<CredentialStore>,
    state: State,
    /// Who logged in, once authenticated.
    principal: Option<String>,
}

fn generic_failure(mechanism: Mechanism) -> String {
    format!(
        "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
        mechanism.name()
    )
}

/// A server nonce of letters and digits, as Kafka's `ScramFormatter.secureRandomString` makes
/// (some librdkafka versions mishandle other printable characters in it).
fn random_nonce() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 28];
    // The system's CSPRNG; on failure the exchange uses a nonce that fails every proof.
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        return String::from("unavailable");
    }
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

impl Authenticator {
    /// A connection that has not authenticated yet.
    pub fn new(settings: Arc<SaslSettings>, credentials: Arc<CredentialStore>) -> Self {
        Authenticator {
            settings,
            credentials,
            state: State::Handshake,
            principal: None,
        }
    }

    /// Whether the connection has authenticated.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete)
    }

    /// The authenticated user.
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    /// Takes the next frame from the client.
    pub fn on_frame(&mut self, mut frame: Bytes) -> Step {
        match &self.state {
            State::Complete => return Step::Handle(frame),
            State::Authenticate { raw: true, .. } => {
                return match self.evaluate(&frame) {
                    Ok(token) => Step::Respond(Bytes::from(token)),
                    Err(f) => Step::Close(f.reason),
                };
            }
            _ => {}
        }
        if frame.len() < 8 {
            return Step::Close(format!(
                "a {}-byte frame during SASL authentication is not a Kafka request",
                frame.len()
            ));
        }
        let raw_key = (&frame[0..2]).get_i16();
        let version = (&frame[2..4]).get_i16();
        let correlation_id = (&frame[4..8]).get_i32();
        let api_key = ApiKey::try_from(raw_key).ok();
        let authenticating = matches!(self.state, State::Authenticate { .. });
        match api_key {
            Some(ApiKey::ApiVersions) if !authenticating => return Step::Handle(frame),
            Some(ApiKey::SaslHandshake) if !authenticating && (0..=1).contains(&version) => {}
            Some(ApiKey::SaslAuthenticate) if authenticating && (0..=2).contains(&version) => {}
            _ => {
                let name =
                    api_key.map_or_else(|| format!("API key {raw_key}"), |k| format!("{k:?}"));
                return Step::Close(if authenticating {
                    format!("unexpected {name} v{version} request during SASL authentication")
                } else {
                    format!(
                        "{name} v{version} request before SASL authentication (only ApiVersions and SaslHandshake are allowed)"
                    )
                });
            }
        }
        let Some(api_key) = api_key else {
            return Step::Close("unknown API key".into());
        };
        if let Err(e) = RequestHeader::decode(&mut frame, api_key.request_header_version(version)) {
            return Step::Close(format!("bad {api_key:?} request header: {e:#}"));
        }
        let encode = |body: ResponseKind| encode_response(correlation_id, api_key, version, body);
        if api_key == ApiKey::SaslHandshake {
            let req = match SaslHandshakeRequest::decode(&mut frame, version) {
                Ok(r) => r,
                Err(e) => return Step::Close(format!("bad SaslHandshake request: {e:#}")),
            };
            let mut resp = SaslHandshakeResponse::default();
            resp.mechanisms = self
                .settings
                .mechanisms
                .iter()
                .map(|m| StrBytes::from_static_str(m.name()))
                .collect();
            let wanted = req.mechanism.to_string();
            let chosen =
                Mechanism::from_name(&wanted).filter(|m| self.settings.mechanisms.contains(m));
            let Some(mechanism) = chosen else {
                resp.error_code = UNSUPPORTED_SASL_MECHANISM;
                return match encode(ResponseKind::SaslHandshake(resp)) {
                    Ok(f) => Step::RespondAndClose(
                        f,
                        Failure {
                            client_message: format!("Unsupported SASL mechanism {wanted}"),
                            reason: format!(
                                "client asked for SASL mechanism {wanted}, which this listener does not enable"
                            ),
                        },
                    ),
                    Err(e) => Step::Close(e),
                };
            };
            self.state = State::Authenticate {
                mechanism,
                raw: version == 0,
                exchange: match mechanism {
                    Mechanism::Plain => Exchange::Plain,
                    Mechanism::Scram(m) => Exchange::ScramFirst(m),
                },
            };
            return match encode(ResponseKind::SaslHandshake(resp)) {
                Ok(f) => Step::Respond(f),
                Err(e) => Step::Close(e),
            };
        }
        let req = match SaslAuthenticateRequest::decode(&mut frame, version) {
            Ok(r) => r,
            Err(e) => return Step::Close(format!("bad SaslAuthenticate request: {e:#}")),
        };
        let mut resp = SaslAuthenticateResponse::default();
        match self.evaluate(&req.auth_bytes) {
            Ok(token) => {
                resp.auth_bytes = Bytes::from(token);
                match encode(ResponseKind::SaslAuthenticate(resp)) {
                    Ok(f) => Step::Respond(f),
                    Err(e) => Step::Close(e),
                }
            }
            Err(failure) => {
                resp.error_code = SASL_AUTHENTICATION_FAILED;
                resp.error_message = Some(StrBytes::from_string(failure.client_message.clone()));
                match encode(ResponseKind::SaslAuthenticate(resp)) {
                    Ok(f) => Step::RespondAndClose(f, failure),
                    Err(e) => Step::Close(e),
                }
            }
        }
    }

    /// Runs one token through the mechanism; the next state is set on success.
    fn evaluate(&mut self, token: &[u8]) -> Result<Vec<u8>, Failure> {
        let State::Authenticate {
            mechanism,
            raw,
            exchange,
        } = std::mem::replace(&mut self.state, State::Handshake)
        else {
            return Err(Failure {
                client_message: "Unexpected SASL token".into(),
                reason: "SASL token outside authentication".into(),
            });
        };
        match exchange {
            Exchange::Plain => {
                let user = self.plain(token)?;
                self.principal = Some(user);
                self.state = State::Complete;
                Ok(Vec::new())
            }
            Exchange::ScramFirst(m) => {
                let fail = |reason: String, client: String| Failure {
                    client_message: client,
                    reason,
                };
                let first = scram::parse_client_first(token).map_err(|e| {
                    fail(
                        format!("{}: {e}", m.name()),
                        generic_failure(Mechanism::Scram(m)),
                    )
                })?;
                let user = first.username.clone();
                let credential = self.credentials.get(&user, m);
                match ServerExchange::start(m, first, credential, &random_nonce()) {
                    Ok((next, reply)) => {
                        self.state = State::Authenticate {
                            mechanism,
                            raw,
                            exchange: Exchange::ScramFinal(Box::new(next)),
                        };
                        Ok(reply)
                    }
                    Err(e) => Err(fail(
                        format!("user {user} with {}: {e}", m.name()),
                        match e {
                            ScramError::AuthorizationId => "Authentication failed: Client requested an authorization id that is different from username".into(),
                            _ => generic_failure(Mechanism::Scram(m)),
                        },
                    )),
                }
            }
            Exchange::ScramFinal(ex) => {
                let user = ex.username().to_string();
                let m = match mechanism {
                    Mechanism::Scram(m) => m,
                    Mechanism::Plain => ScramMechanism::Sha256,
                };
                match ex.finish(token) {
                    Ok(reply) => {
                        self.principal = Some(user);
                        self.state = State::Complete;
                        Ok(reply)
                    }
                    Err(e) => Err(Failure {
                        client_message: generic_failure(mechanism),
                        reason: format!(
                            "user {user} with {}: {}",
                            m.name(),
                            if e == ScramError::Proof {
                                "wrong password (invalid client proof)".to_string()
                            } else {
                                e.to_string()
                            }
                        ),
                    }),
                }
            }
        }
    }

    /// PLAIN: `[authzid] NUL authcid NUL passwd`, as Kafka's `PlainSaslServer` reads it.
    fn plain(&self, token: &[u8]) -> Result<String, Failure> {
        let text = String::from_utf8_lossy(token);
        let parts: Vec<&str> = text.splitn(3, '\0').collect();
        let generic = |reason: &str| Failure {
            client_message: generic_failure(Mechanism::Plain),
            reason: format!("PLAIN: {reason}"),
        };
        let [authzid, user, password] = parts[..] else {
            return Err(generic("malformed PLAIN token"));
        };
        if user.is_empty() {
            return Err(generic("username not specified"));
        }
        if password.is_empty() {
            return Err(generic("password not specified"));
        }
        let expected = self.settings.plain_users.get(user);
        // Compared even for an unknown user, so the time taken does not tell users apart.
        let ok = scram::constant_time_eq(
            password.as_bytes(),
            expected.map_or(password.as_bytes(), |p| p.as_bytes()),
        ) && expected.is_some();
        if !ok {
            return Err(Failure {
                client_message: "Authentication failed: Invalid username or password".into(),
                reason: format!(
                    "user {user} with PLAIN: {}",
                    if expected.is_some() {
                        "wrong password"
                    } else {
                        "unknown user"
                    }
                ),
            });
        }
        if !authzid.is_empty() && authzid != user {
            return Err(Failure {
                client_message: "Authentication failed: Client requested an authorization id that is different from username".into(),
                reason: format!("user {user} with PLAIN: authorization id {authzid} differs"),
            });
        }
        Ok(user.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::messages::{MetadataRequest, SaslHandshakeResponse};
    use kafka_protocol::protocol::{Encodable, Request};

    fn frame<R: Request + Encodable>(req: &R, version: i16) -> Bytes {
        let mut buf = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(7)
            .encode(&mut buf, R::header_version(version))
            .unwrap();
        req.encode(&mut buf, version).unwrap();
        buf.freeze()
    }

    fn authenticator(mechanisms: Vec<Mechanism>) -> (Authenticator, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let settings = SaslSettings {
            mechanisms,
            plain_users: [("alice".to_string(), "secret".to_string())].into(),
        };
        let store = CredentialStore::open(dir.path()).unwrap();
        (Authenticator::new(Arc::new(settings), Arc::new(store)), dir)
    }

    fn handshake_error(step: Step) -> (i16, Vec<String>, bool) {
        let (bytes, closes) = match step {
            Step::Respond(b) => (b, false),
            Step::RespondAndClose(b, _) => (b, true),
            _ => panic!("expected a response"),
        };
        let mut bytes = bytes;
        let _ = kafka_protocol::messages::ResponseHeader::decode(&mut bytes, 0).unwrap();
        let r = SaslHandshakeResponse::decode(&mut bytes, 1).unwrap();
        (
            r.error_code,
            r.mechanisms.iter().map(|m| m.to_string()).collect(),
            closes,
        )
    }

    #[test]
    fn only_api_versions_and_sasl_handshake_pass_before_authentication() {
        let (mut a, _dir) = authenticator(vec![Mechanism::Plain]);
        let step = a.on_frame(frame(&MetadataRequest::default(), 12));
        assert!(matches!(step, Step::Close(r) if r.contains("before SASL authentication")));
        let step = a.on_frame(frame(&SaslAuthenticateRequest::default(), 2));
        assert!(matches!(step, Step::Close(_)));
        let step = a.on_frame(frame(
            &kafka_protocol::messages::ApiVersionsRequest::default(),
            3,
        ));
        assert!(matches!(step, Step::Handle(_)));
    }

    #[test]
    fn a_mechanism_not_enabled_is_answered_with_the_enabled_ones_then_closed() {
        let (mut a, _dir) = authenticator(vec![
            Mechanism::Plain,
            Mechanism::Scram(ScramMechanism::Sha512),
        ]);
        let req =
            SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("GSSAPI"));
        let (code, mechanisms, closes) = handshake_error(a.on_frame(frame(&req, 1)));
        assert_eq!(code, UNSUPPORTED_SASL_MECHANISM);
        assert_eq!(mechanisms, vec!["PLAIN", "SCRAM-SHA-512"]);
        assert!(closes);
    }

    #[test]
    fn plain_then_ordinary_requests_pass_through() {
        let (mut a, _dir) = authenticator(vec![Mechanism::Plain]);
        let req =
            SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN"));
        let (code, _, closes) = handshake_error(a.on_frame(frame(&req, 1)));
        assert_eq!((code, closes), (0, false));
        let auth = SaslAuthenticateRequest::default()
            .with_auth_bytes(Bytes::from_static(b"alice\0alice\0secret"));
        assert!(matches!(a.on_frame(frame(&auth, 2)), Step::Respond(_)));
        assert!(a.is_complete());
        assert_eq!(a.principal(), Some("alice"));
        assert!(matches!(
            a.on_frame(frame(&MetadataRequest::default(), 12)),
            Step::Handle(_)
        ));
    }
}
