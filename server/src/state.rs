use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use store::Store;

use crate::ws::Hub;

/// Everything a request handler can reach. `LeptosOptions` is extractable from it so the
/// Leptos integration can share the router's state. Every field is a cheap handle: handlers
/// clone the state on every request.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub leptos_options: Arc<LeptosOptions>,
    pub hub: Hub,
    draining: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(store: Store, leptos_options: LeptosOptions) -> Self {
        let settings = store.settings();
        let hub = Hub::new(settings.ws_max_per_user, settings.ws_max_connections);
        Self {
            store,
            leptos_options: Arc::new(leptos_options),
            hub,
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
