//! A "Copy" button for a value shown on the page: an island, which appears once it has
//! hydrated (the clipboard needs JavaScript); without JavaScript the value stays selectable
//! text.

use leptos::prelude::*;

#[island]
pub fn CopyButton(text: String, label: String) -> impl IntoView {
    let (ready, set_ready) = signal(false);
    let (copied, set_copied) = signal(false);
    Effect::new(move |_| set_ready.set(true));
    move || {
        let text = text.clone();
        let label = label.clone();
        ready.get().then(move || {
            view! {
                <button type="button" class="btn btn-ghost btn-small" data-testid="copy-key"
                    on:click=move |_| {
                        copy_to_clipboard(&text);
                        set_copied.set(true);
                    }>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                    <span class="sr-only">{format!(" {label}")}</span>
                </button>
                <span class="sr-only" role="status">{move || if copied.get() { "Copied to the clipboard" } else { "" }}</span>
            }
        })
    }
}

fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}
