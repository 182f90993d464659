use leptos::prelude::*;

use crate::live::{LiveState, ToastKind};

/// Live notifications, announced politely to screen readers.
#[component]
pub fn Toasts() -> impl IntoView {
    let live = expect_context::<LiveState>();
    view! {
        <div class="toasts" role="status" aria-live="polite" data-testid="toasts">
            <For each=move || live.toasts.get() key=|t| t.id let:toast>
                <div class=match toast.kind {
                    ToastKind::Success => "toast toast-success",
                    ToastKind::Error => "toast toast-error",
                    ToastKind::Info => "toast toast-info",
                } data-testid="toast">
                    <span class="toast-text">{toast.text.clone()}</span>
                    {toast.href.clone().map(|(href, label)| view! { <a href=href class="toast-link">{label}</a> })}
                    <button type="button" class="toast-close" aria-label="Dismiss"
                        on:click=move |_| live.dismiss(toast.id)>"×"</button>
                </div>
            </For>
        </div>
    }
}
