use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use store::Store;

use crate::ws::Hub;

/// Everything a request handler can reach. `LeptosOptions` is extractable from it so the
/// Leptos integration can share the router's state.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub leptos_options: LeptosOptions,
    pub hub: Hub,
}

impl AppState {
    pub fn new(store: Store, leptos_options: LeptosOptions) -> Self {
        Self {
            store,
            leptos_options,
            hub: Hub::default(),
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}
