//! The WASM entry point: hydrates the server-rendered page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // A panic is logged to the console, and also written on the page (`data-hydration-error`)
    // so that an end-to-end test waiting for hydration can say why it never came.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        if let Some(body) = leptos::prelude::document().body() {
            let message: String = info.to_string().chars().take(2000).collect();
            let _ = body.set_attribute("data-hydration-error", &message);
        }
    }));
    leptos::mount::hydrate_body(app::App);
    // A marker end-to-end tests wait for before interacting.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
