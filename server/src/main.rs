//! `server`: runs the store. Configuration comes from the environment (see `.env.example`).

use std::process::ExitCode;

use server::{Application, Config, telemetry};

/// mimalloc: about twice the server-rendering throughput of the system allocator on this
/// workload, and memory given back more readily (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.store.log_json);
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("seed-orders") {
        return seed_orders(config, &args[1..]).await;
    }
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        addr = %app.local_addr(),
        url = %app.public_url(),
        database = app.state.store.settings().database_kind(),
        cache = app.state.store.cache().backend_name(),
        "game store listening"
    );
    if let Err(e) = app.serve(shutdown_signal()).await {
        tracing::error!(error = %e, "server error");
        return ExitCode::FAILURE;
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// `server seed-orders COUNT [DAYS]`: writes COUNT orders over the last DAYS (default 365)
/// days into the configured database, for measuring the operator console at scale
/// (docs/benchmarks.md). Never for a real shop's database.
async fn seed_orders(config: Config, args: &[String]) -> ExitCode {
    let (Some(count), days) = (
        args.first()
            .and_then(|n| n.replace('_', "").parse::<usize>().ok()),
        args.get(1).map_or(Some(365), |d| d.parse::<u32>().ok()),
    ) else {
        eprintln!("usage: server seed-orders COUNT [DAYS]");
        return ExitCode::from(2);
    };
    let Some(days) = days.filter(|d| (1..=3650).contains(d)) else {
        eprintln!("DAYS must be 1–3650");
        return ExitCode::from(2);
    };
    let provider = match server::provider::from_config(&config) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let store = match store::Store::connect(config.store, provider).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot open the store: {e}");
            return ExitCode::FAILURE;
        }
    };
    match store::seed::orders::bulk_orders(&store, count, days).await {
        Ok(seeded) => {
            println!(
                "seeded {} orders ({} lines, {} buyers) in {:.1} s",
                seeded.orders, seeded.lines, seeded.buyers, seeded.seconds
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("seeding failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
