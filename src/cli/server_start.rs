//! `server-start`: run the broker (Kafka's `kafka-server-start.sh`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use crate::broker::{self, BrokerConfig, BrokerState};
use crate::config::parse_key_value;
use crate::engine::{Engine, EngineConfig};

/// Serve the embedded log on the Kafka protocol, for any Kafka client.
#[derive(Debug, Parser)]
#[command(name = "server-start", version)]
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
        .init();
    let mut props: BTreeMap<String, String> = match &args.properties {
        Some(p) => crate::config::read_properties(p)?,
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut config = config;
    let listener = runtime.block_on(async {
        tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))
    })?;
    let local = listener.local_addr()?;
    // Port 0 picks a free port; clients must be told the real one.
    if config.advertised_port == 0 {
        config.advertised_port = local.port();
    }
    let advertised = format!("{}:{}", config.advertised_host, config.advertised_port);
    let _claim = broker::claim_data_dir(&data_dir, &advertised)?;
    let engine = engine.into_exclusive()?;
    // What an interrupted topic creation or deletion left behind (the previous run was killed).
    if let Err(e) = engine.remove_orphans() {
        tracing::warn!(error = %e, "cannot clean up the data dir's orphan partition directories");
    }
    let state = BrokerState::new(engine, config.clone())?;
    runtime.block_on(async {
        println!(
            "streamlog broker listening on {local} (PLAINTEXT, advertised as {advertised}), data in {}",
            data_dir.display()
        );
        let shutdown = async {
            use tokio::signal::unix::{SignalKind, signal};
            match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {},
                        _ = term.recv() => {},
                    }
                }
                _ => std::future::pending::<()>().await,
            }
        };
        broker::server::run(state.clone(), listener, shutdown).await;
        anyhow::Ok(())
    })?;
    // Flush every log and mark it cleanly closed.
    state.close_logs();
    eprintln!("streamlog broker stopped cleanly");
    Ok(ExitCode::SUCCESS)
}
