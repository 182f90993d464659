//! The WASM entry point. The store renders every page on the server; only its islands (the
//! parts that need the browser: live updates, toasts, the cart badge, copy buttons, the CSV
//! file picker) ship as WASM and hydrate. The loader in `app::shell` calls [`hydrate`], then
//! each island's exported function on its `<leptos-island>` element.

// The islands' functions are exported from the `app` crate, which nothing here names: this
// links it into the bundle.
extern crate app;

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
    leptos::mount::hydrate_islands();
}
