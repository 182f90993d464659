//! The payment simulator as its own service: `paysim` listens on `SIM_ADDR` (default
//! 127.0.0.1:4000) and signs with the first of `WEBHOOK_SECRETS`.

use std::net::SocketAddr;

use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let lookup = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let config = match paysim::Config::from_lookup(&lookup) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let addr: SocketAddr = match lookup("SIM_ADDR")
        .unwrap_or_else(|| "127.0.0.1:4000".to_owned())
        .parse()
    {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("invalid configuration: SIM_ADDR: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if lookup("WEBHOOK_SECRETS").is_none() {
        tracing::warn!("WEBHOOK_SECRETS is unset: signing with the development secret");
    }
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    tracing::info!(%addr, delay_ms = config.delay.as_millis() as u64, "payment simulator listening");
    let app = paysim::Simulator::new(config).router();
    let shutdown = async {
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
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("server error: {e}");
        return std::process::ExitCode::from(1);
    }
    std::process::ExitCode::SUCCESS
}
