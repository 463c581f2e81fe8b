//! `server-start`: run the broker (Kafka's `kafka-server-start.sh`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

use super::args::parse_key_value;
use crate::broker::listener::{SecurityProtocol, ServedListener};
use crate::broker::security::credentials::CredentialStore;
use crate::broker::security::sasl::Mechanism;
use crate::broker::server::BoundListener;
use crate::broker::{self, BrokerConfig, BrokerState, ServingListener};
use crate::engine::{Engine, EngineConfig};

/// The examples at the end of `--help`.
const EXAMPLES: &str = "\
Examples:
  server-start
  server-start config/server.properties
  server-start config/server.properties --override listeners=PLAINTEXT://:19092";

/// Serve the embedded log on the Kafka protocol, for any Kafka client.
#[derive(Debug, Parser)]
#[command(name = "server-start", version, after_help = EXAMPLES)]
pub struct ServerStartArgs {
    /// A Kafka server.properties file (keys that do not apply to one node are ignored, with a
    /// warning).
    #[arg(value_name = "server.properties")]
    pub properties: Option<PathBuf>,
    /// A property that beats the file, key=value; repeatable.
    #[arg(long = "override", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub overrides: Vec<(String, String)>,
}

/// Runs the broker until SIGINT or SIGTERM.
pub fn run(args: ServerStartArgs) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal, not in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut props: BTreeMap<String, String> = match &args.properties {
        Some(p) => crate::properties::read_properties(p)?,
        None => BTreeMap::new(),
    };
    props.extend(args.overrides.iter().cloned());
    let (config, ignored) = BrokerConfig::from_properties(&props)?;
    if !ignored.is_empty() {
        tracing::warn!(
            "ignoring properties that do not apply to a single embedded node: {}",
            ignored.join(", ")
        );
    }
    for name in &config.skipped_controller_listeners {
        tracing::info!(
            "not serving listener {name} (controller.listener.names): a single embedded node has no controller quorum"
        );
    }
    // Every listener's security is checked before anything is opened or bound.
    let mut secured = Vec::new();
    for l in &config.listeners {
        let security = broker::security::for_listener(&config.security, l)
            .with_context(|| format!("listener {}://{}", l.name, l.bind))?;
        secured.push((l.clone(), security));
    }
    let data_dir = broker::data_dir(&config)?;
    let engine = Engine::open(
        &data_dir,
        EngineConfig {
            auto_create_topics: config.auto_create_topics,
            num_partitions: config.num_partitions,
            log_defaults: config.log_defaults.clone(),
            max_partitions_per_request: config.max_partitions_per_request,
        },
    )?;
    let credentials = Arc::new(CredentialStore::open(&data_dir)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut config = config;
    let mut bound = Vec::new();
    for (mut l, security) in secured {
        let socket = runtime.block_on(async {
            tokio::net::TcpListener::bind(l.bind)
                .await
                .with_context(|| format!("cannot listen on {} (listener {})", l.bind, l.name))
        })?;
        let local = socket.local_addr()?;
        // Port 0 picks a free port; clients must be told the real one.
        if l.advertised.port == 0 {
            l.advertised.port = local.port();
        }
        if l.protocol == SecurityProtocol::Plaintext && !local.ip().is_loopback() {
            tracing::warn!(
                "listener {} on {local} is PLAINTEXT: anyone who can reach it reads and writes every topic without authentication or encryption",
                l.name
            );
        }
        bound.push((local, l, security, socket));
    }
    config.listeners = bound.iter().map(|(_, l, _, _)| l.clone()).collect();
    let plaintext = bound
        .iter()
        .any(|(_, l, _, _)| l.protocol == SecurityProtocol::Plaintext);
    let scram = bound.iter().any(|(_, _, s, _)| {
        s.sasl.as_ref().is_some_and(|s| {
            s.mechanisms
                .iter()
                .any(|m| matches!(m, Mechanism::Scram(_)))
        })
    });
    if plaintext && scram {
        tracing::warn!(
            "SCRAM users can be altered by any client of the PLAINTEXT listener (there is no authorizer, as in Kafka without authorizer.class.name)"
        );
    }
    let serving: Vec<ServingListener> = bound
        .iter()
        .map(|(_, l, _, _)| ServingListener {
            name: l.name.clone(),
            protocol: l.protocol,
            address: l.advertised.to_string(),
        })
        .collect();
    let _claim = broker::claim_data_dir(&data_dir, &serving)?;
    let engine = engine.into_exclusive()?;
    // What an interrupted topic creation or deletion left behind (the previous run was killed).
    if let Err(e) = engine.remove_orphans() {
        tracing::warn!(error = %e, "cannot clean up the data dir's orphan partition directories");
    }
    let state = BrokerState::new(engine, config.clone())?;
    let mut lines = Vec::new();
    let listeners: Vec<BoundListener> = bound
        .into_iter()
        .map(|(local, l, security, socket)| {
            let kind = if l.name == l.protocol.name() {
                l.protocol.to_string()
            } else {
                format!("{} as {}", l.protocol, l.name)
            };
            lines.push(format!(
                "streamlog broker listening on {local} ({kind}, advertised as {}), data in {}",
                l.advertised,
                data_dir.display()
            ));
            BoundListener {
                socket,
                listener: Arc::new(ServedListener {
                    config: l,
                    security,
                    credentials: credentials.clone(),
                }),
            }
        })
        .collect();
    let cleaner = broker::log_cleaner::LogCleaner::start(&state);
    let served = runtime.block_on(async {
        // Signal handlers first: whoever reads the listening line may send SIGTERM at once.
        use tokio::signal::unix::{SignalKind, signal};
        let signals = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        );
        for line in &lines {
            println!("{line}");
        }
        let shutdown = async {
            match signals {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {},
                        _ = term.recv() => {},
                    }
                }
                _ => std::future::pending::<()>().await,
            }
        };
        broker::server::run(state.clone(), listeners, shutdown).await;
        anyhow::Ok(())
    });
    // A cleaning under way stops before the logs close (the partition stays as it was).
    cleaner.shutdown();
    served?;
    // Flush every log and mark it cleanly closed.
    state.close_logs();
    eprintln!("streamlog broker stopped cleanly");
    Ok(ExitCode::SUCCESS)
}
