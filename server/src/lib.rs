//! The store's HTTP server: Leptos SSR and server functions, the REST API, payment webhooks,
//! the live-notification websocket and health probes, all over one `store::Store`.
//!
//! `build` assembles everything from `Settings` and returns an `Application` that `main` and the
//! integration tests both run, so tests exercise exactly what production serves.

pub mod api;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod state;
pub mod telemetry;
pub mod ws;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes as _, generate_route_list};
use tokio::net::TcpListener;

pub use state::AppState;
use store::{Settings, Store};

/// A built store, ready to serve on a bound listener.
pub struct Application {
    pub router: Router,
    pub state: AppState,
    listener: TcpListener,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Binds `settings.site_addr` (port 0 picks a free port; `PUBLIC_URL` then follows the real
    /// port unless it was set explicitly), connects the store and assembles the router.
    pub async fn build(mut settings: Settings) -> Result<Self, StartError> {
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
        if settings.using_dev_webhook_secret {
            tracing::warn!(
                "WEBHOOK_SECRETS is unset: using the built-in development secret (never in production)"
            );
        }
        let expiry_interval = settings.expiry_sweep_interval;
        let store = Store::connect(settings)
            .await
            .map_err(|e| StartError(format!("cannot start the store: {e}")))?;
        let state = AppState::new(store.clone(), leptos_options(addr));
        let background = vec![
            store::orders::spawn_expiry_task(store.clone(), expiry_interval),
            state.hub.spawn_listener(&store),
        ];
        let router = router(state.clone());
        Ok(Self {
            router,
            state,
            listener,
            background,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.state.store.settings().site_addr
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

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let hub = self.state.hub.clone();
        let result = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            hub.close_all();
        })
        .await;
        for task in self.background {
            task.abort();
        }
        result
    }
}

/// Options for the Leptos renderer: cargo-leptos's environment when present, our defaults
/// otherwise (tests and plain `cargo run`).
fn leptos_options(addr: SocketAddr) -> LeptosOptions {
    let mut options = get_configuration(None)
        .map(|c| c.leptos_options)
        .unwrap_or_else(|_| LeptosOptions::builder().output_name("gamestore").build());
    if options.output_name.is_empty() {
        options.output_name = "gamestore".into();
    }
    options.site_addr = addr;
    options
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let store = state.store.clone();
    let context = move || provide_context(store.clone());
    let options = state.leptos_options.clone();
    let store_for_fallback = state.store.clone();
    Router::new()
        .merge(api::routes())
        .route("/ws", get(ws::connect))
        .route("/healthz", get(api::health::healthz))
        .route("/readyz", get(api::health::readyz))
        .route("/covers/{file}", get(api::covers::cover))
        .leptos_routes_with_context(&state, routes, context, move || app::shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(
            move || provide_context(store_for_fallback.clone()),
            app::shell,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::guard,
        ))
        .layer(telemetry::trace_layer())
        .with_state(state)
}

/// Why the server could not start; `main` prints it and exits non-zero.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(String);
