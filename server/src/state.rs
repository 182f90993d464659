use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use store::Store;

use crate::assets::Assets;
use crate::ws::Hub;

/// Everything a request handler can reach. `LeptosOptions` is extractable from it so the
/// Leptos integration can share the router's state. Every field is a cheap handle: handlers
/// clone the state on every request.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub leptos_options: Arc<LeptosOptions>,
    pub hub: Hub,
    /// The bundle served from memory under hashed names (production only).
    pub assets: Option<Arc<Assets>>,
    draining: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(store: Store, mut leptos_options: LeptosOptions) -> Self {
        let settings = store.settings();
        let assets = (leptos_options.env == leptos::config::Env::PROD)
            .then(|| {
                let pkg = std::path::Path::new(leptos_options.site_root.as_ref())
                    .join(leptos_options.site_pkg_dir.as_ref());
                Assets::load(&pkg, &leptos_options.output_name)
            })
            .flatten()
            .map(Arc::new);
        if let Some(assets) = &assets {
            // The pages name the bundle by its hashed name from here on.
            leptos_options.output_name = assets.hashed_name().into();
        }
        let hub = Hub::new(settings.ws_max_per_user, settings.ws_max_connections);
        Self {
            store,
            leptos_options: Arc::new(leptos_options),
            hub,
            assets,
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Shutting down: readiness fails so balancers stop routing here.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        LeptosOptions::clone(&state.leptos_options)
    }
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}
