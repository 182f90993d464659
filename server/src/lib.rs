//! The store's HTTP server: Leptos SSR and server functions, the REST API, payment webhooks,
//! the live-notification websocket, health probes and metrics, all over one `store::Store`.
//!
//! `Application::build` assembles everything from `Settings` and binds; `main` and the
//! integration tests both run it, so tests exercise exactly what production serves.

pub mod api;
pub mod assets;
pub mod body;
pub mod config;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod gate;
pub mod listen;
pub mod metrics;
pub mod openapi;
pub mod page_cache;
pub mod provider;
pub mod security;
pub mod state;
pub mod telemetry;
pub mod url_error;
pub mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes as _, generate_route_list};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;

pub use config::Config;
pub use state::AppState;
use store::Store;

/// Largest request body accepted anywhere (JSON bodies here are small).
pub const BODY_LIMIT: usize = 64 * 1024;
/// Longest a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A built store, ready to serve on a bound listener.
pub struct Application {
    pub router: Router,
    pub state: AppState,
    listener: TcpListener,
    /// `/metrics`, on its own listener (`METRICS_ADDR`), never the public one.
    metrics: Option<(TcpListener, SocketAddr)>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Binds `settings.site_addr` (port 0 picks a free port; `PUBLIC_URL` then follows the real
    /// port unless it was set explicitly), wires the payment provider, connects the store and
    /// assembles the router.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let provider = provider::from_config(&config)?;
        let leptos_vars = config.leptos;
        let mut settings = config.store;
        let listener = TcpListener::bind(settings.site_addr)
            .await
            .map_err(|e| StartError(format!("cannot listen on {}: {e}", settings.site_addr)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError(e.to_string()))?;
        settings.site_addr = addr;
        if !settings.public_url_explicit {
            let host = if addr.ip().is_unspecified() {
                "127.0.0.1".to_owned()
            } else {
                addr.ip().to_string()
            };
            settings.public_url = format!("http://{host}:{}", addr.port())
                .parse()
                .map_err(|e: url::ParseError| StartError(e.to_string()))?;
        }
        let metrics_listener = match settings.metrics_addr {
            None => None,
            Some(addr) => {
                let listener = TcpListener::bind(addr).await.map_err(|e| {
                    StartError(format!("cannot listen on METRICS_ADDR {addr}: {e}"))
                })?;
                let bound = listener
                    .local_addr()
                    .map_err(|e| StartError(e.to_string()))?;
                Some((listener, bound))
            }
        };
        if settings.using_dev_webhook_secret {
            tracing::warn!(
                "WEBHOOK_SECRETS is unset: using the built-in development secret (never in production)"
            );
        }
        if settings.using_dev_keys_key {
            tracing::warn!(
                "KEYS_ENCRYPTION_KEY is unset: license keys are encrypted with the built-in development key (never in production)"
            );
        }
        metrics::handle();
        let expiry_interval = settings.expiry_sweep_interval;
        let alert_interval = settings.wishlist_alert_interval;
        let store = Store::connect(settings, provider)
            .await
            .map_err(|e| StartError(format!("cannot start the store: {e}")))?;
        let state = AppState::new(store.clone(), leptos_options(addr, &leptos_vars));
        let background = vec![
            store::orders::spawn_expiry_task(store.clone(), expiry_interval),
            store::wishlist::spawn_alert_task(store.clone(), alert_interval),
            store::mail::spawn_outbox_task(store.clone()),
            store::catalog::spawn_version_listener(store.clone()),
            state.hub.spawn_listener(&store),
        ];
        let router = router(state.clone());
        Ok(Self {
            router,
            state,
            listener,
            metrics: metrics_listener,
            background,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.state.store.settings().site_addr
    }

    /// Where `/metrics` is served, when `METRICS_ADDR` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr)| *addr)
    }

    pub fn public_url(&self) -> String {
        self.state
            .store
            .settings()
            .public_url
            .to_string()
            .trim_end_matches('/')
            .to_owned()
    }

    /// Serves until `shutdown` resolves; then reports unready for `SHUTDOWN_DRAIN_SECS`, closes
    /// the websockets and finishes in-flight requests.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        let drain = state.store.settings().shutdown_drain;
        let metrics_task = self.metrics.map(|(listener, _)| {
            let router = Router::new()
                .route("/metrics", get(metrics::render))
                .with_state(self.state.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "metrics listener failed");
                }
            })
        });
        let settings = state.store.settings();
        let limits = listen::Limits {
            max_connections: settings.http_max_connections,
            header_read_timeout: settings.header_read_timeout,
        };
        listen::serve(self.listener, self.router, limits, async move {
            shutdown.await;
            state.start_draining();
            if !drain.is_zero() {
                tracing::info!(seconds = drain.as_secs(), "draining before shutdown");
                tokio::time::sleep(drain).await;
            }
            state.hub.close_all();
        })
        .await;
        for task in self.background.into_iter().chain(metrics_task) {
            task.abort();
        }
        Ok(())
    }
}

/// Options for the Leptos renderer, from cargo-leptos's variables when present (`LEPTOS_*`),
/// our defaults otherwise.
fn leptos_options(addr: SocketAddr, vars: &config::LeptosVars) -> LeptosOptions {
    let env = match vars.env.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("prod" | "production") => leptos::config::Env::PROD,
        _ => leptos::config::Env::DEV,
    };
    let or =
        |value: &Option<String>, default: &str| value.clone().unwrap_or_else(|| default.to_owned());
    LeptosOptions::builder()
        .output_name(or(&vars.output_name, "gamestore"))
        .site_root(or(&vars.site_root, "target/site"))
        .site_pkg_dir(or(&vars.site_pkg_dir, "pkg"))
        .env(env)
        .site_addr(addr)
        .reload_port(
            vars.reload_port
                .as_deref()
                .and_then(|p| p.parse().ok())
                .unwrap_or(3001),
        )
        .build()
}

/// Static files come from `public/` with their precompressed `.gz`/`.br` copies chosen by
/// `Accept-Encoding`, so every answer varies on it, or a shared cache could hand a Brotli copy to
/// a client that cannot read it.
async fn vary_on_encoding(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("accept-encoding"),
    );
    response
}

/// The whole HTTP surface, with its middleware.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let store = state.store.clone();
    let context = move || app::provide_request_context(store.clone());
    let options = LeptosOptions::clone(&state.leptos_options);
    let store_for_fallback = state.store.clone();
    let bundle = match state.assets.clone() {
        Some(assets) => {
            Router::new().route("/pkg/{file}", get(assets::Assets::serve).with_state(assets))
        }
        None => Router::new(),
    };
    Router::new()
        .merge(bundle)
        .merge(api::routes())
        .route("/api/openapi.json", get(openapi::spec))
        .route("/ws", get(ws::connect))
        .route("/healthz", get(api::health::healthz))
        .route("/readyz", get(api::health::readyz))
        .route("/covers/{file}", get(api::covers::cover))
        .leptos_routes_with_context(&state, routes, context, move || app::shell(options.clone()))
        .fallback(axum::handler::Handler::layer(
            leptos_axum::file_and_error_handler_with_context::<AppState, _>(
                move || app::provide_request_context(store_for_fallback.clone()),
                app::shell,
            ),
            axum::middleware::map_response(vary_on_encoding),
        ))
        // Compression where it pays: not for bodies the handler already compressed (they carry
        // Content-Encoding), nor for small ones or images (the default predicate).
        // Inside the compression, which would hide the bodies they read.
        .layer(axum::middleware::map_response(error::server_fn_status))
        .layer(axum::middleware::map_response_with_state(
            Arc::new(gate::PolicyInputs {
                own_origin: state.store.settings().public_origin(),
                leptos_options: state.leptos_options.clone(),
            }),
            gate::page_policy,
        ))
        .layer(CompressionLayer::new())
        .layer(gate::Gate::new(state.store.clone()).layer())
        .with_state(state)
}

/// Why the server could not start; `main` prints it and exits non-zero.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);
