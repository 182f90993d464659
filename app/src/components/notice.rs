use leptos::prelude::*;

use crate::AppError;

/// An error shown in place of content.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let title = match error.status {
        403 => "Not allowed",
        404 => "Not found",
        422 | 400 => "That didn't work",
        429 => "Slow down",
        503 => "Temporarily unavailable",
        _ => "Something went wrong",
    };
    view! {
        <div class="notice notice-error" role="alert">
            <strong>{title}</strong>
            <p>{error.message.clone()}</p>
        </div>
    }
}

/// A loading placeholder.
#[component]
pub fn Loading(#[prop(into, default = "Loading…".to_owned())] label: String) -> impl IntoView {
    view! { <p class="loading" aria-busy="true">{label}</p> }
}

/// Sends an anonymous visitor to log in, coming back here afterwards.
#[component]
pub fn LoginRedirect(#[prop(into)] next: String) -> impl IntoView {
    let path = format!("/login?next={}", encode(&next));
    view! { <leptos_router::components::Redirect path=path/> }
}

pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
