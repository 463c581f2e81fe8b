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
    /// The port it listens on.
    pub port: u16,
    stderr: Arc<Mutex<String>>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Broker {
    /// Starts a broker on a free port over `data`, with extra `key=value` overrides.
    pub fn start(data: &Path, overrides: &[&str]) -> Broker {
        Broker::start_with(data, overrides, None)
    }

    /// Like [`Broker::start`], with soft and hard `RLIMIT_NOFILE` set to `open_files` (as
    /// `ulimit -n` does in a shell), through util-linux's `prlimit`.
    pub fn start_limited(data: &Path, overrides: &[&str], open_files: u64) -> Broker {
        Broker::start_with(data, overrides, Some(open_files))
    }

    fn start_with(data: &Path, overrides: &[&str], open_files: Option<u64>) -> Broker {
        let bin = env!("CARGO_BIN_EXE_server-start");
        let mut cmd = match open_files {
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}")).arg("--").arg(bin);
                c
            }
            None => Command::new(bin),
        };
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
        let line = match rx.recv_timeout(HANG_GUARD) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = err_reader.join();
                panic!(
                    "server-start printed no first line; stderr:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        // streamlog broker listening on 127.0.0.1:PORT (PLAINTEXT, advertised as 127.0.0.1:PORT), ...
        let port = line
            .strip_prefix("streamlog broker listening on 127.0.0.1:")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        assert!(
            line.contains(&format!("advertised as 127.0.0.1:{port}")),
            "first line: {line:?}"
        );
        Broker {
            child: Some(child),
            port,
            stderr,
            readers: vec![err_reader, out_reader],
        }
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.port)
    }

    /// The broker's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
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

pub struct Client {
    /// The connection.
    pub stream: TcpStream,
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
                        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
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
