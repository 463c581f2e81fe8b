//! `server-start`'s network layer as clients meet it: the real binary, real sockets. Parked
//! long-poll fetches end with the broker; a client that leaves frees its socket; idle and
//! half-sent connections are closed; connection limits hold; each listener serves exactly the
//! security protocol it names (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), SASL with PLAIN and
//! SCRAM, SCRAM users kept across restarts; and a broker that cannot serve what is configured
//! refuses to start with one line saying why.

use std::io::{Read, Write};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use kafka_protocol::messages::alter_user_scram_credentials_request::ScramCredentialUpsertion;
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, ApiVersionsRequest, DescribeUserScramCredentialsRequest,
    FetchRequest, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tempfile::TempDir;

#[path = "support/broker.rs"]
mod support;
use support::{Broker, Certs, Client, SASL_AUTHENTICATION_FAILED, ScramClient, make_certs};

const PLAIN_JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";"#;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// Metadata v12 for `topic` (auto-created).
fn metadata<S: Read + Write>(c: &mut Client<S>, topic: &str) -> MetadataResponse {
    let req = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(TopicName(s(topic)))),
        ]))
        .with_allow_auto_topic_creation(true);
    c.call(&req, 12)
}

/// Fetch v12 of partition 0 of `topic` at `offset`, waiting up to `max_wait_ms` for a byte.
fn fetch_request(topic: &str, offset: i64, max_wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(TopicName(s(topic)))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(0)
                        .with_fetch_offset(offset)
                        .with_partition_max_bytes(1 << 20),
                ]),
        ])
}

/// Sends a Fetch without reading its answer (it parks).
fn send_fetch(c: &mut Client, topic: &str, max_wait_ms: i32) {
    use kafka_protocol::protocol::{Encodable, HeaderVersion};
    let req = fetch_request(topic, 0, max_wait_ms);
    let mut buf = bytes::BytesMut::new();
    c.header(1, 12)
        .encode(&mut buf, FetchRequest::header_version(12))
        .unwrap();
    req.encode(&mut buf, 12).unwrap();
    c.send_frame(&buf);
}

#[test]
fn sigterm_with_200_parked_fetches_and_a_client_that_never_reads_exits_within_seconds() {
    let data = TempDir::new().unwrap();
    let b = Broker::start(data.path(), &[]);
    let mut admin = b.connect();
    assert_eq!(metadata(&mut admin, "parked").topics[0].error_code, 0);
    let mut clients: Vec<Client> = (0..200)
        .map(|_| {
            let mut c = b.connect();
            send_fetch(&mut c, "parked", i32::MAX);
            c
        })
        .collect();
    // And a client that sends requests without ever reading the answers, until the broker's
    // writes to it block.
    let port = b.port;
    let hog = thread::spawn(move || {
        use kafka_protocol::protocol::{Encodable, HeaderVersion};
        let mut c = Client::connect(port);
        c.stream
            .set_write_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        let mut frames = Vec::new();
        for _ in 0..1000 {
            let mut buf = bytes::BytesMut::new();
            c.header(18, 3)
                .encode(&mut buf, ApiVersionsRequest::header_version(3))
                .unwrap();
            ApiVersionsRequest::default().encode(&mut buf, 3).unwrap();
            frames.extend_from_slice(&(buf.len() as i32).to_be_bytes());
            frames.extend_from_slice(&buf);
        }
        for _ in 0..100 {
            if c.stream.write_all(&frames).is_err() {
                break;
            }
        }
        c
    });
    // Parked: none has an answer after a moment.
    thread::sleep(Duration::from_millis(500));
    clients[0]
        .stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(
        clients[0].stream.read(&mut byte).is_err(),
        "a fetch on an empty partition must wait"
    );
    clients[0]
        .stream
        .set_read_timeout(Some(support::HANG_GUARD))
        .unwrap();
    let _hog = hog.join().unwrap();
    let started = Instant::now();
    let mut b = b;
    b.terminate();
    let status = b
        .exited_within(Duration::from_secs(10))
        .expect("server-start exits after SIGTERM");
    let took = started.elapsed();
    eprintln!(
        "SIGTERM with 200 parked fetches and a client that never reads: exited in {} ms",
        took.as_millis()
    );
    assert!(status.success(), "exit status {status}; log:\n{}", b.log());
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(b.log().contains("stopped cleanly"), "{}", b.log());
    // The parked fetches were answered (empty) rather than cut off.
    for c in clients.iter_mut().take(20) {
        let frame = c.read_frame().expect("a fetch response before the close");
        assert!(frame.len() > 8);
    }
}

#[test]
fn a_client_that_closes_while_its_fetch_is_parked_frees_the_socket() {
    let data = TempDir::new().unwrap();
    let b = Broker::start(data.path(), &[]);
    let mut admin = b.connect();
    metadata(&mut admin, "leaving");
    let clients: Vec<Client> = (0..20)
        .map(|_| {
            let mut c = b.connect();
            send_fetch(&mut c, "leaving", 25_000);
            c
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    drop(clients);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let n = support::close_wait_sockets(b.port);
        if n == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{n} broker sockets still in CLOSE-WAIT 3 s after their clients closed"
        );
        thread::sleep(Duration::from_millis(50));
    }
    // And the broker serves on.
    assert_eq!(metadata(&mut admin, "leaving").topics[0].error_code, 0);
    b.stop();
}

#[test]
fn a_long_poll_fetch_returns_after_its_max_wait() {
    let data = TempDir::new().unwrap();
    let b = Broker::start(data.path(), &[]);
    let mut c = b.connect();
    metadata(&mut c, "capped");
    let started = Instant::now();
    let r = c.call(&fetch_request("capped", 0, 1500), 12);
    let took = started.elapsed();
    assert_eq!(r.responses[0].partitions[0].error_code, 0);
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(5),
        "{took:?}"
    );
    b.stop();
}

#[test]
fn idle_connections_and_stalled_half_frames_are_closed_after_connections_max_idle_ms() {
    let data = TempDir::new().unwrap();
    let b = Broker::start(data.path(), &["connections.max.idle.ms=1000"]);
    let started = Instant::now();
    let idle = b.connect();
    let mut half_size = b.connect();
    half_size.stream.write_all(&[0, 0]).unwrap();
    let mut half_body = b.connect();
    half_body.stream.write_all(&100i32.to_be_bytes()).unwrap();
    half_body.stream.write_all(&[0u8; 10]).unwrap();
    // A connection in use stays open past the idle time.
    let mut busy = b.connect();
    for _ in 0..6 {
        busy.call(&ApiVersionsRequest::default(), 3);
        thread::sleep(Duration::from_millis(300));
    }
    idle.assert_closed();
    half_size.assert_closed();
    half_body.assert_closed();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    busy.call(&ApiVersionsRequest::default(), 3);
    b.stop();
}

#[test]
fn max_connections_per_ip_refuses_the_third_connection() {
    let data = TempDir::new().unwrap();
    let b = Broker::start(data.path(), &["max.connections.per.ip=2"]);
    let mut first = b.connect();
    let mut second = b.connect();
    first.call(&ApiVersionsRequest::default(), 3);
    second.call(&ApiVersionsRequest::default(), 3);
    let third = b.connect();
    third.assert_closed();
    drop(first);
    // The freed place is taken again once the broker has seen the close.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = b.connect();
        if again.try_call(&ApiVersionsRequest::default(), 3).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the freed connection place never came back"
        );
        thread::sleep(Duration::from_millis(50));
    }
    second.call(&ApiVersionsRequest::default(), 3);
    let log = b.stop();
    assert!(
        log.contains("max.connections.per.ip (2) reached for 127.0.0.1"),
        "{log}"
    );
}

fn secure_overrides(certs: &Certs) -> Vec<String> {
    vec![
        "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0".into(),
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512".into(),
        format!("listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_JAAS}"),
        format!("listener.name.sasl_ssl.plain.sasl.jaas.config={PLAIN_JAAS}"),
        "ssl.keystore.type=PEM".into(),
        format!("ssl.keystore.location={}", certs.keystore.display()),
    ]
}

fn start_secure(data: &TempDir, certs: &Certs) -> Broker {
    let o = secure_overrides(certs);
    let o: Vec<&str> = o.iter().map(String::as_str).collect();
    Broker::start_listeners(data.path(), &o, 4)
}

/// The one broker a Metadata response names: its port.
fn advertised_port(m: &MetadataResponse) -> i32 {
    assert_eq!(m.brokers.len(), 1);
    m.brokers[0].port
}

#[test]
fn each_listener_serves_exactly_its_security_protocol() {
    let data = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let certs = make_certs(dir.path());
    let b = start_secure(&data, &certs);
    let plain = b.port_of("PLAINTEXT");
    let ssl = b.port_of("SSL");
    let sasl_plain = b.port_of("SASL_PLAINTEXT");
    let sasl_ssl = b.port_of("SASL_SSL");

    // PLAINTEXT: plaintext works, TLS does not.
    let mut c = Client::connect(plain);
    assert_eq!(advertised_port(&metadata(&mut c, "t")), plain as i32);
    assert!(support::tls_connect(plain, &certs.ca).is_err());

    // SSL: TLS works and is advertised as itself; a plaintext ApiVersions gets no answer.
    let mut c = Client::connect_tls(ssl, &certs.ca);
    c.call(&ApiVersionsRequest::default(), 3);
    assert_eq!(advertised_port(&metadata(&mut c, "t")), ssl as i32);
    let mut c = Client::connect(ssl);
    assert!(c.try_call(&ApiVersionsRequest::default(), 3).is_err());

    // SASL_PLAINTEXT: ApiVersions before authentication, nothing else; then PLAIN.
    let mut c = Client::connect(sasl_plain);
    c.call(&ApiVersionsRequest::default(), 3);
    assert!(c.try_call(&MetadataRequest::default(), 12).is_err());
    let mut c = Client::connect(sasl_plain);
    c.sasl_plain("alice", "alice-secret").unwrap();
    assert_eq!(advertised_port(&metadata(&mut c, "t")), sasl_plain as i32);
    let mut c = Client::connect(sasl_plain);
    let (code, msg) = c.sasl_plain("alice", "wrong").unwrap_err();
    assert_eq!(code, SASL_AUTHENTICATION_FAILED);
    assert_eq!(msg, "Authentication failed: Invalid username or password");
    c.assert_closed();
    assert!(support::tls_connect(sasl_plain, &certs.ca).is_err());

    // SASL_SSL: TLS then SASL; plaintext gets nothing; unauthenticated Metadata closes.
    let mut c = Client::connect_tls(sasl_ssl, &certs.ca);
    assert!(c.try_call(&MetadataRequest::default(), 12).is_err());
    let mut c = Client::connect_tls(sasl_ssl, &certs.ca);
    c.sasl_plain("admin", "admin-secret").unwrap();
    assert_eq!(advertised_port(&metadata(&mut c, "t")), sasl_ssl as i32);
    let mut c = Client::connect(sasl_ssl);
    assert!(c.try_call(&ApiVersionsRequest::default(), 3).is_err());

    // A TLS client that does not trust the CA fails the handshake.
    let other = TempDir::new().unwrap();
    let other_certs = make_certs(other.path());
    assert!(support::tls_connect(ssl, &other_certs.ca).is_err());

    let log = b.stop();
    assert!(
        log.contains("peer sent a plaintext request to an SSL listener"),
        "{log}"
    );
    assert!(
        log.contains("user alice with PLAIN: wrong password"),
        "{log}"
    );
    assert!(
        log.contains("peer started a TLS handshake on PLAINTEXT listener PLAINTEXT"),
        "{log}"
    );
}

/// Adds a SCRAM credential with AlterUserScramCredentials, as kafka-configs does.
fn add_scram_user<S: Read + Write>(
    c: &mut Client<S>,
    mechanism: &str,
    user: &str,
    password: &str,
) -> i16 {
    let salt = b"test-salt-0123456789".to_vec();
    let salted = ScramClient::new(mechanism, user, password).salted(&salt, 4096);
    let req = AlterUserScramCredentialsRequest::default().with_upsertions(vec![
        ScramCredentialUpsertion::default()
            .with_name(s(user))
            .with_mechanism(if mechanism == "SCRAM-SHA-512" { 2 } else { 1 })
            .with_iterations(4096)
            .with_salt(bytes::Bytes::from(salt))
            .with_salted_password(bytes::Bytes::from(salted)),
    ]);
    let r = c.call(&req, 0);
    r.results[0].error_code
}

#[test]
fn scram_users_added_over_the_wire_log_in_and_survive_a_restart() {
    let data = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let certs = make_certs(dir.path());
    let b = start_secure(&data, &certs);
    let mut admin = Client::connect_tls(b.port_of("SASL_SSL"), &certs.ca);
    admin.sasl_plain("admin", "admin-secret").unwrap();
    assert_eq!(
        add_scram_user(&mut admin, "SCRAM-SHA-256", "carol", "carol-secret"),
        0
    );
    assert_eq!(
        add_scram_user(&mut admin, "SCRAM-SHA-512", "carol", "carol-512"),
        0
    );
    let described = admin.call(
        &DescribeUserScramCredentialsRequest::default().with_users(Some(vec![
            UserName::default().with_name(s("carol")),
            UserName::default().with_name(s("nobody")),
        ])),
        0,
    );
    let carol = &described
        .results
        .iter()
        .find(|r| r.user.as_str() == "carol")
        .unwrap();
    assert_eq!(carol.credential_infos.len(), 2);
    let nobody = &described
        .results
        .iter()
        .find(|r| r.user.as_str() == "nobody")
        .unwrap();
    assert_eq!(nobody.error_code, 91);
    // Too few iterations: Kafka's UNACCEPTABLE_CREDENTIAL.
    let weak = AlterUserScramCredentialsRequest::default().with_upsertions(vec![
        ScramCredentialUpsertion::default()
            .with_name(s("weak"))
            .with_mechanism(1)
            .with_iterations(1024)
            .with_salt(bytes::Bytes::from_static(b"s"))
            .with_salted_password(bytes::Bytes::from(vec![0u8; 32])),
    ]);
    assert_eq!(admin.call(&weak, 0).results[0].error_code, 93);

    for (port, tls) in [
        (b.port_of("SASL_PLAINTEXT"), false),
        (b.port_of("SASL_SSL"), true),
    ] {
        let login = |mech: &str, password: &str| {
            if tls {
                Client::connect_tls(port, &certs.ca).sasl_scram(mech, "carol", password)
            } else {
                Client::connect(port).sasl_scram(mech, "carol", password)
            }
        };
        login("SCRAM-SHA-256", "carol-secret").unwrap();
        login("SCRAM-SHA-512", "carol-512").unwrap();
        let (code, msg) = login("SCRAM-SHA-256", "wrong").unwrap_err();
        assert_eq!(code, SASL_AUTHENTICATION_FAILED);
        assert_eq!(
            msg,
            "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
        );
    }
    let stored =
        std::fs::read_to_string(data.path().join(".streamlog/scram-credentials.json")).unwrap();
    assert!(!stored.contains("carol-secret"));
    b.stop();

    let b = start_secure(&data, &certs);
    Client::connect(b.port_of("SASL_PLAINTEXT"))
        .sasl_scram("SCRAM-SHA-256", "carol", "carol-secret")
        .unwrap();
    b.stop();
}

#[test]
fn the_v0_handshake_takes_raw_sasl_tokens_as_old_clients_send_them() {
    let data = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let certs = make_certs(dir.path());
    let b = start_secure(&data, &certs);
    let mut c = Client::connect(b.port_of("SASL_PLAINTEXT"));
    let req = kafka_protocol::messages::SaslHandshakeRequest::default().with_mechanism(s("PLAIN"));
    assert_eq!(c.call(&req, 0).error_code, 0);
    c.send_frame(b"\0alice\0alice-secret");
    assert_eq!(
        c.read_frame().unwrap().len(),
        0,
        "PLAIN answers an empty token"
    );
    assert_eq!(metadata(&mut c, "raw").topics[0].error_code, 0);
    // A wrong password in raw mode: no way to say why, so the connection closes.
    let mut c = Client::connect(b.port_of("SASL_PLAINTEXT"));
    assert_eq!(c.call(&req, 0).error_code, 0);
    c.send_frame(b"\0alice\0nope");
    c.assert_closed();
    b.stop();
}

#[test]
fn the_tools_find_a_secured_broker_and_say_how_to_reach_it() {
    let data = TempDir::new().unwrap();
    let b = Broker::start_listeners(
        data.path(),
        &[
            "listeners=SASL_PLAINTEXT://127.0.0.1:0",
            "sasl.enabled.mechanisms=PLAIN",
            &format!("listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_JAAS}"),
        ],
        1,
    );
    let topics = env!("CARGO_BIN_EXE_topics");
    let out = Command::new(topics)
        .args(["--data-dir", data.path().to_str().unwrap(), "--list"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("SASL_PLAINTEXT://127.0.0.1:{}", b.port))
            && err.contains("--bootstrap-server"),
        "{err}"
    );
    let cfg = data.path().join("client.properties");
    std::fs::write(
        &cfg,
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" password=\"alice-secret\";\n",
    )
    .unwrap();
    let out = Command::new(topics)
        .args([
            "--data-dir",
            data.path().to_str().unwrap(),
            "--command-config",
            cfg.to_str().unwrap(),
            "--create",
            "--topic",
            "found",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lock = std::fs::read_to_string(data.path().join(".streamlog/server.lock")).unwrap();
    assert!(
        lock.contains(&format!(
            "listener SASL_PLAINTEXT SASL_PLAINTEXT 127.0.0.1:{}",
            b.port
        )),
        "{lock}"
    );
    b.stop();
}

/// Runs server-start expecting it to refuse: returns its stderr.
fn refused(overrides: &[String]) -> String {
    let data = TempDir::new().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server-start"));
    cmd.arg("--override")
        .arg(format!("log.dirs={}", data.path().display()));
    for o in overrides {
        cmd.arg("--override").arg(o);
    }
    let started = Instant::now();
    let out = cmd.output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{overrides:?}: {err}");
    assert!(
        out.stdout.is_empty(),
        "nothing may be served: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn a_broker_that_cannot_serve_the_configured_security_refuses_to_start() {
    let dir = TempDir::new().unwrap();
    let certs = make_certs(dir.path());
    let jks = dir.path().join("server.jks");
    std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["listeners=SSL://127.0.0.1:0".into()],
            "has no key store",
        ),
        (
            vec![
                "listeners=SSL://127.0.0.1:0".into(),
                format!("ssl.keystore.location={}", jks.display()),
                "ssl.keystore.type=JKS".into(),
            ],
            "keytool -importkeystore",
        ),
        (
            vec![
                "listeners=SASL_SSL://127.0.0.1:0".into(),
                format!("ssl.keystore.location={}", certs.keystore.display()),
            ],
            "GSSAPI",
        ),
        (
            vec![
                "listeners=SASL_PLAINTEXT://127.0.0.1:0".into(),
                "sasl.enabled.mechanisms=OAUTHBEARER".into(),
            ],
            "OAUTHBEARER cannot be served",
        ),
        (
            vec![
                "listeners=SASL_PLAINTEXT://127.0.0.1:0".into(),
                "sasl.enabled.mechanisms=PLAIN".into(),
            ],
            "listener.name.sasl_plaintext.plain.sasl.jaas.config",
        ),
        (
            vec![
                "listeners=SSL://127.0.0.1:0".into(),
                format!("ssl.keystore.location={}", certs.keystore.display()),
                "ssl.client.auth=required".into(),
            ],
            "needs a trust store",
        ),
    ];
    for (overrides, want) in cases {
        let err = refused(&overrides);
        assert!(err.contains(want), "{overrides:?}: {err}");
    }
}

#[test]
fn out_of_file_descriptors_the_broker_logs_once_and_keeps_serving_its_connections() {
    let data = TempDir::new().unwrap();
    let b = Broker::start_opts(data.path(), &[], 1, Some(64));
    let mut first = b.connect();
    first.call(&ApiVersionsRequest::default(), 3);
    // More connections than descriptors: the kernel completes them, the broker cannot accept
    // them all.
    let crowd: Vec<TcpStreamGuard> = (0..120)
        .map(|_| TcpStreamGuard(std::net::TcpStream::connect(("127.0.0.1", b.port)).unwrap()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !b.log().contains("cannot accept connections") {
        assert!(
            Instant::now() < deadline,
            "no EMFILE error logged:\n{}",
            b.log()
        );
        thread::sleep(Duration::from_millis(50));
    }
    // Logged once, not per attempt.
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        b.log().matches("cannot accept connections").count(),
        1,
        "{}",
        b.log()
    );
    // The connection it has is served meanwhile.
    first.call(&ApiVersionsRequest::default(), 3);
    // Once descriptors are free again, new connections are accepted.
    drop(crowd);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut c = b.connect();
        if c.try_call(&ApiVersionsRequest::default(), 3).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "accepting never recovered:\n{}",
            b.log()
        );
        thread::sleep(Duration::from_millis(100));
    }
    b.stop();
}

/// A raw connection that does nothing (it only takes a place).
struct TcpStreamGuard(#[allow(dead_code)] std::net::TcpStream);

#[test]
fn ssl_client_auth_required_lets_in_only_clients_with_a_certificate_from_the_trust_store() {
    let data = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let certs = make_certs(dir.path());
    let b = Broker::start_listeners(
        data.path(),
        &[
            "listeners=SSL://127.0.0.1:0",
            "ssl.keystore.type=PEM",
            &format!("ssl.keystore.location={}", certs.keystore.display()),
            "ssl.truststore.type=PEM",
            &format!("ssl.truststore.location={}", certs.ca.display()),
            "ssl.client.auth=required",
        ],
        1,
    );
    let mut with_cert = Client {
        stream: support::tls_connect_as(b.port, &certs.ca, Some(dir.path())).unwrap(),
        correlation_id: 0,
    };
    assert_eq!(metadata(&mut with_cert, "mtls").topics[0].error_code, 0);
    // Without a certificate the handshake (or, in TLS 1.3, the first read) fails.
    match support::tls_connect(b.port, &certs.ca) {
        Err(_) => {}
        Ok(stream) => {
            let mut c = Client {
                stream,
                correlation_id: 0,
            };
            assert!(c.try_call(&ApiVersionsRequest::default(), 3).is_err());
        }
    }
    // A certificate from another CA neither.
    let other = TempDir::new().unwrap();
    make_certs(other.path());
    match support::tls_connect_as(b.port, &certs.ca, Some(other.path())) {
        Err(_) => {}
        Ok(stream) => {
            let mut c = Client {
                stream,
                correlation_id: 0,
            };
            assert!(c.try_call(&ApiVersionsRequest::default(), 3).is_err());
        }
    }
    let log = b.stop();
    assert!(log.contains("TLS handshake failed"), "{log}");
}

#[test]
fn before_authentication_frames_are_limited_to_sasl_server_max_receive_size() {
    let data = TempDir::new().unwrap();
    let b = Broker::start_listeners(
        data.path(),
        &[
            "listeners=SASL_PLAINTEXT://127.0.0.1:0",
            "sasl.enabled.mechanisms=PLAIN",
            &format!("listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_JAAS}"),
            "sasl.server.max.receive.size=1000",
        ],
        1,
    );
    // 2000 bytes claimed before logging in: closed without reading them.
    let mut c = Client::connect(b.port);
    c.stream.write_all(&2000i32.to_be_bytes()).unwrap();
    c.assert_closed();
    // After logging in, the ordinary limit (socket.request.max.bytes) applies.
    let mut c = Client::connect(b.port);
    c.sasl_plain("alice", "alice-secret").unwrap();
    let topic = "t".repeat(200);
    let req = MetadataRequest::default().with_topics(Some(
        (0..10)
            .map(|i| {
                MetadataRequestTopic::default()
                    .with_name(Some(TopicName(s(&format!("{topic}{i}")))))
            })
            .collect(),
    ));
    assert_eq!(c.call(&req, 12).topics.len(), 10);
    b.stop();
}
