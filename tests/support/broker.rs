//! Test support shared by the broker test binaries: a real `server-start` on a free port, and a
//! protocol client built on the `kafka-protocol` crate. Each binary uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};

/// No single step should come near this; it only turns a hang into a failure.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// The client id every request of [`Client`] carries.
pub const CLIENT_ID: &str = "broker-test";

/// A running `server-start`, stopped with SIGTERM by [`Broker::stop`] (or killed on drop).
pub struct Broker {
    child: Option<Child>,
    /// The port of its first listener.
    pub port: u16,
    /// Every listener: (protocol as printed, e.g. "PLAINTEXT" or "SASL_SSL as EXTERNAL", port).
    pub listeners: Vec<(String, u16)>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Broker {
    /// Starts a broker on a free port over `data`, with extra `key=value` overrides.
    pub fn start(data: &Path, overrides: &[&str]) -> Broker {
        Broker::start_listeners(data, overrides, 1)
    }

    /// As [`Broker::start`], for overrides that set `listeners` to `count` served listeners:
    /// reads one startup line per listener.
    pub fn start_listeners(data: &Path, overrides: &[&str], count: usize) -> Broker {
        Broker::start_opts(data, overrides, count, None)
    }

    /// As [`Broker::start_listeners`], with at most `nofile` open file descriptors
    /// (`RLIMIT_NOFILE`) when given.
    pub fn start_opts(
        data: &Path,
        overrides: &[&str],
        count: usize,
        nofile: Option<u64>,
    ) -> Broker {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_server-start"));
        if let Some(n) = nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe and touches only the child's limits.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        cmd.env("RUST_LOG", "streamlog=info")
            .arg("--override")
            .arg(format!("log.dirs={}", data.display()))
            .arg("--override")
            .arg("listeners=PLAINTEXT://127.0.0.1:0")
            // Groups form at once; a test that wants the delay overrides it.
            .arg("--override")
            .arg("group.initial.rebalance.delay.ms=0");
        for o in overrides {
            cmd.arg("--override").arg(o);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn server-start");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        let err_reader = thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let (tx, rx) = mpsc::channel();
        let out_pipe = child.stdout.take().expect("stdout");
        let out_reader = thread::spawn(move || {
            // First line to the test, the rest (there should be none) drained.
            for line in BufReader::new(out_pipe).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut listeners = Vec::new();
        for _ in 0..count {
            let line = match rx.recv_timeout(HANG_GUARD) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = err_reader.join();
                    panic!(
                        "server-start printed no listener line; stderr:\n{}",
                        stderr.lock().unwrap()
                    );
                }
            };
            // streamlog broker listening on 127.0.0.1:PORT (PROTOCOL, advertised as 127.0.0.1:PORT), ...
            let parsed = line
                .strip_prefix("streamlog broker listening on 127.0.0.1:")
                .and_then(|rest| rest.split_once(" ("))
                .and_then(|(port, rest)| {
                    let (kind, _) = rest.split_once(", advertised as ")?;
                    Some((kind.to_string(), port.parse::<u16>().ok()?))
                })
                .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
            assert!(
                line.contains(&format!("advertised as 127.0.0.1:{}", parsed.1)),
                "listener line: {line:?}"
            );
            listeners.push(parsed);
        }
        Broker {
            child: Some(child),
            port: listeners[0].1,
            listeners,
            stderr,
            readers: vec![err_reader, out_reader],
        }
    }

    /// The port of the listener printed as `kind` (its protocol, e.g. "SASL_SSL").
    pub fn port_of(&self, kind: &str) -> u16 {
        self.listeners
            .iter()
            .find(|(k, _)| k == kind)
            .unwrap_or_else(|| panic!("no {kind} listener in {:?}", self.listeners))
            .1
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends SIGTERM without waiting.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.port)
    }

    /// `host:port` for clients.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Its exit status if the process ends within `within` (a dying broker is reaped).
    pub fn exited_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut().expect("running");
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().expect("wait") {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// What the broker wrote on stderr so far.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let child = self.child.as_mut().expect("running");
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                self.child = None;
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "server-start did not exit in time; stderr:\n{}",
                    self.stderr.lock().unwrap()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM; asserts a clean exit. Returns stderr.
    pub fn stop(mut self) -> String {
        let pid = self.child.as_ref().expect("running").id();
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let status = self.wait_exit();
        let stderr = self.stderr.lock().unwrap().clone();
        assert_eq!(
            status.code(),
            Some(0),
            "exit status {status}; stderr:\n{stderr}"
        );
        assert!(
            stderr.contains("stopped cleanly"),
            "stderr should say it stopped cleanly:\n{stderr}"
        );
        stderr
    }

    /// SIGKILL: no chance to flush or close anything.
    pub fn kill9(mut self) {
        self.child
            .as_mut()
            .expect("running")
            .kill()
            .expect("kill -9");
        self.wait_exit();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A client connection.

pub struct Client<S = TcpStream> {
    /// The connection.
    pub stream: S,
    /// Of the last request sent.
    pub correlation_id: i32,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        Client::over(TcpStream::connect(("127.0.0.1", port)).expect("connect to the broker"))
    }

    pub fn over(stream: TcpStream) -> Client {
        stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
        stream.set_write_timeout(Some(HANG_GUARD)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            correlation_id: 0,
        }
    }
}

impl<S: Read + Write> Client<S> {
    /// The request header for the next request.
    pub fn header(&mut self, key: i16, version: i16) -> RequestHeader {
        self.correlation_id += 1;
        RequestHeader::default()
            .with_request_api_key(key)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)))
    }

    /// Sends one size-prefixed frame.
    pub fn send_frame(&mut self, body: &[u8]) {
        self.try_send_frame(body).expect("send request");
    }

    pub fn try_send_frame(&mut self, body: &[u8]) -> std::io::Result<()> {
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&(body.len() as i32).to_be_bytes());
        frame.extend_from_slice(body);
        self.stream.write_all(&frame)
    }

    /// Reads one size-prefixed frame.
    pub fn read_frame(&mut self) -> std::io::Result<Bytes> {
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size)?;
        let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut body)?;
        Ok(Bytes::from(body))
    }

    /// Encodes `req` at `version`, sends it, and decodes the response.
    pub fn call<R: Request>(&mut self, req: &R, version: i16) -> R::Response {
        self.try_call(req, version).expect("a response")
    }

    /// As [`Client::call`], with a connection failure returned rather than panicking.
    pub fn try_call<R: Request>(&mut self, req: &R, version: i16) -> std::io::Result<R::Response> {
        let request = self.encode_request(req, version);
        self.try_call_raw::<R>(&request, version)
    }

    /// The bytes of one request (header and body, no size prefix) with the next correlation
    /// id: what a test captures to send again verbatim, here or on another connection.
    pub fn encode_request<R: Request>(&mut self, req: &R, version: i16) -> Bytes {
        let mut buf = BytesMut::new();
        self.header(R::KEY, version)
            .encode(&mut buf, R::header_version(version))
            .expect("encode header");
        req.encode(&mut buf, version).expect("encode request");
        buf.freeze()
    }

    /// Sends request bytes made by [`Client::encode_request`] as they are and decodes the
    /// response, which must carry the request's correlation id.
    pub fn call_raw<R: Request>(&mut self, request: &[u8], version: i16) -> R::Response {
        self.try_call_raw::<R>(request, version)
            .expect("a response")
    }

    fn try_call_raw<R: Request>(
        &mut self,
        request: &[u8],
        version: i16,
    ) -> std::io::Result<R::Response> {
        // api key (2), api version (2), then the correlation id.
        let correlation_id = i32::from_be_bytes(request[4..8].try_into().expect("a header"));
        self.try_send_frame(request)?;
        let mut frame = self.read_frame()?;
        let header = ResponseHeader::decode(&mut frame, R::Response::header_version(version))
            .expect("decode response header");
        assert_eq!(header.correlation_id, correlation_id);
        let resp = R::Response::decode(&mut frame, version).expect("decode response");
        assert!(!frame.has_remaining(), "response has trailing bytes");
        Ok(resp)
    }

    /// Asserts the broker closes this connection (EOF or reset), rather than answering or
    /// leaving it hanging.
    #[track_caller]
    pub fn assert_closed(mut self) {
        let mut buf = [0u8; 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => panic!("expected the connection closed, got {n} bytes"),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset
                            | ErrorKind::ConnectionAborted
                            | ErrorKind::UnexpectedEof
                    ) =>
                {
                    return;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => panic!("expected the connection closed, got {e}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Security: a throwaway CA and server certificate, a TLS client, SASL PLAIN and SCRAM.

/// A CA and a server key store made with openssl for 127.0.0.1 and localhost.
pub struct Certs {
    /// The CA certificate (PEM): the clients' trust store.
    pub ca: std::path::PathBuf,
    /// The server's key and certificate chain in one PEM file (Kafka's PEM key store).
    pub keystore: std::path::PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes a CA and a server certificate it signed in `dir`.
pub fn make_certs(dir: &Path) -> Certs {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca_args = vec!["req", "-x509"];
    ca_args.extend(ec);
    ca_args.extend([
        "-days",
        "2",
        "-subj",
        "/CN=streamlog test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(dir, &ca_args);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-days",
            "2",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
    );
    // A client certificate, for ssl.client.auth.
    let mut client = vec!["req"];
    client.extend(ec);
    client.extend([
        "-subj",
        "/CN=test-client",
        "-keyout",
        "client.key",
        "-out",
        "client.csr",
    ]);
    openssl(dir, &client);
    std::fs::write(
        dir.join("client.ext"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-days",
            "2",
            "-in",
            "client.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-extfile",
            "client.ext",
            "-out",
            "client.crt",
        ],
    );
    let mut keystore = std::fs::read(dir.join("server.key")).unwrap();
    keystore.extend(std::fs::read(dir.join("server.crt")).unwrap());
    keystore.extend(std::fs::read(dir.join("ca.pem")).unwrap());
    std::fs::write(dir.join("server-keystore.pem"), keystore).unwrap();
    Certs {
        ca: dir.join("ca.pem"),
        keystore: dir.join("server-keystore.pem"),
    }
}

/// A TLS connection.
pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// Connects with TLS, trusting `ca`, and completes the handshake.
pub fn tls_connect(port: u16, ca: &Path) -> std::io::Result<TlsStream> {
    tls_connect_as(port, ca, None)
}

/// As [`tls_connect`], presenting the client certificate in `dir` (from [`make_certs`]) when
/// `client_dir` is given.
pub fn tls_connect_as(
    port: u16,
    ca: &Path,
    client_dir: Option<&Path>,
) -> std::io::Result<TlsStream> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client_dir {
        None => config.with_no_client_auth(),
        Some(dir) => {
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(dir.join("client.crt"))
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
            let key =
                rustls::pki_types::PrivateKeyDer::from_pem_file(dir.join("client.key")).unwrap();
            config.with_client_auth_cert(certs, key).unwrap()
        }
    };
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let mut sock = TcpStream::connect(("127.0.0.1", port))?;
    sock.set_read_timeout(Some(HANG_GUARD))?;
    sock.set_write_timeout(Some(HANG_GUARD))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)?;
    }
    Ok(rustls::StreamOwned::new(conn, sock))
}

impl Client<TlsStream> {
    /// A client over TLS, trusting `ca`.
    pub fn connect_tls(port: u16, ca: &Path) -> Client<TlsStream> {
        Client {
            stream: tls_connect(port, ca).expect("TLS handshake"),
            correlation_id: 0,
        }
    }
}

/// SASL_AUTHENTICATION_FAILED.
pub const SASL_AUTHENTICATION_FAILED: i16 = 58;

impl<S: Read + Write> Client<S> {
    /// SaslHandshake v1 for `mechanism`; returns its error code.
    pub fn sasl_handshake(&mut self, mechanism: &str) -> i16 {
        let req = kafka_protocol::messages::SaslHandshakeRequest::default()
            .with_mechanism(StrBytes::from_string(mechanism.to_string()));
        self.call(&req, 1).error_code
    }

    /// One SaslAuthenticate v2 round: (error code, message, server token).
    pub fn sasl_round(&mut self, token: &[u8]) -> (i16, Option<String>, Bytes) {
        let req = kafka_protocol::messages::SaslAuthenticateRequest::default()
            .with_auth_bytes(Bytes::copy_from_slice(token));
        let r = self.call(&req, 2);
        (
            r.error_code,
            r.error_message.map(|m| m.to_string()),
            r.auth_bytes,
        )
    }

    /// PLAIN over SaslHandshake v1 and SaslAuthenticate: Ok, or the error code and message.
    pub fn sasl_plain(&mut self, user: &str, password: &str) -> Result<(), (i16, String)> {
        assert_eq!(self.sasl_handshake("PLAIN"), 0);
        let (code, msg, _) = self.sasl_round(format!("\0{user}\0{password}").as_bytes());
        if code == 0 {
            Ok(())
        } else {
            Err((code, msg.unwrap_or_default()))
        }
    }

    /// SCRAM (`mechanism` SCRAM-SHA-256 or -512) over SaslHandshake v1 and SaslAuthenticate,
    /// checking the server's signature: Ok, or the error code and message.
    pub fn sasl_scram(
        &mut self,
        mechanism: &str,
        user: &str,
        password: &str,
    ) -> Result<(), (i16, String)> {
        assert_eq!(self.sasl_handshake(mechanism), 0);
        let mut scram = ScramClient::new(mechanism, user, password);
        let (code, msg, server_first) = self.sasl_round(scram.first().as_bytes());
        if code != 0 {
            return Err((code, msg.unwrap_or_default()));
        }
        let fin = scram.last(std::str::from_utf8(&server_first).unwrap());
        let (code, msg, server_final) = self.sasl_round(fin.as_bytes());
        if code != 0 {
            return Err((code, msg.unwrap_or_default()));
        }
        assert_eq!(
            std::str::from_utf8(&server_final).unwrap(),
            scram.expected_server_final,
            "the broker proved it knows the credential"
        );
        Ok(())
    }
}

/// The client's side of SCRAM (RFC 5802), for tests.
pub struct ScramClient {
    sha512: bool,
    user: String,
    password: String,
    nonce: String,
    /// `v=...` the server must answer.
    pub expected_server_final: String,
}

impl ScramClient {
    pub fn new(mechanism: &str, user: &str, password: &str) -> Self {
        ScramClient {
            sha512: mechanism == "SCRAM-SHA-512",
            user: user.into(),
            password: password.into(),
            nonce: format!("testnonce{}", std::process::id()),
            expected_server_final: String::new(),
        }
    }

    fn algs(
        &self,
    ) -> (
        ring::hmac::Algorithm,
        &'static ring::digest::Algorithm,
        ring::pbkdf2::Algorithm,
    ) {
        if self.sha512 {
            (
                ring::hmac::HMAC_SHA512,
                &ring::digest::SHA512,
                ring::pbkdf2::PBKDF2_HMAC_SHA512,
            )
        } else {
            (
                ring::hmac::HMAC_SHA256,
                &ring::digest::SHA256,
                ring::pbkdf2::PBKDF2_HMAC_SHA256,
            )
        }
    }

    pub fn first(&self) -> String {
        format!("n,,n={},r={}", self.user, self.nonce)
    }

    /// The salted password, as AlterUserScramCredentials carries it.
    pub fn salted(&self, salt: &[u8], iterations: u32) -> Vec<u8> {
        let (_, d, p) = self.algs();
        let mut out = vec![0u8; d.output_len()];
        ring::pbkdf2::derive(
            p,
            std::num::NonZeroU32::new(iterations).unwrap(),
            salt,
            self.password.as_bytes(),
            &mut out,
        );
        out
    }

    pub fn last(&mut self, server_first: &str) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let (h, d, _) = self.algs();
        let mut salt = Vec::new();
        let mut iterations = 0;
        let mut nonce = "";
        for f in server_first.split(',') {
            if let Some(v) = f.strip_prefix("s=") {
                salt = b64.decode(v).unwrap();
            } else if let Some(v) = f.strip_prefix("i=") {
                iterations = v.parse().unwrap();
            } else if let Some(v) = f.strip_prefix("r=") {
                nonce = v;
            }
        }
        assert!(nonce.starts_with(&self.nonce), "server nonce extends ours");
        let salted = self.salted(&salt, iterations);
        let mac = |key: &[u8], data: &[u8]| {
            ring::hmac::sign(&ring::hmac::Key::new(h, key), data)
                .as_ref()
                .to_vec()
        };
        let client_key = mac(&salted, b"Client Key");
        let stored = ring::digest::digest(d, &client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth = format!(
            "n={},r={},{server_first},{without_proof}",
            self.user, self.nonce
        );
        let sig = mac(stored.as_ref(), auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        self.expected_server_final = format!(
            "v={}",
            b64.encode(mac(&mac(&salted, b"Server Key"), auth.as_bytes()))
        );
        format!("{without_proof},p={}", b64.encode(proof))
    }
}

/// Sockets of the local port `port` in state CLOSE_WAIT, from /proc/net/tcp and tcp6.
pub fn close_wait_sockets(port: u16) -> usize {
    let mut n = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 4 {
                continue;
            }
            let local_port = f[1]
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            // State 08 is TCP_CLOSE_WAIT.
            if local_port == Some(port) && f[3] == "08" {
                n += 1;
            }
        }
    }
    n
}
