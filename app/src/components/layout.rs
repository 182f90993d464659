use leptos::prelude::*;
use leptos_router::components::A;

use crate::Session;
use crate::live::{LiveIndicator, LiveState};
use api_types::Role;

#[component]
pub fn Header() -> impl IntoView {
    let session = expect_context::<Session>();
    let crate::CartCount(cart_count) = expect_context::<crate::CartCount>();
    view! {
        <header class="site-header">
            <div class="container header-inner">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    " Game Store"
                </A>
                <nav aria-label="Main" class="main-nav">
                    <A href="/">"Catalog"</A>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match session.user.await {
                                Ok(Some(user)) => {
                                    // Awaited here rather than in a boundary of its own: a
                                    // Suspense created inside this one once the session resolves
                                    // would take its hydration id after the page's, on the server
                                    // only, and the page would not hydrate.
                                    let lines = cart_count.await.unwrap_or(0);
                                    view! {
                                        <A href="/library">"Library"</A>
                                        <A href="/orders">"Orders"</A>
                                        <A href="/wishlist">"Wishlist"</A>
                                        <A href="/cart" attr:data-testid="cart-link">"Cart "<CartCount lines/></A>
                                        {(user.role == Role::Admin).then(|| view! { <A href="/admin">"Admin"</A> })}
                                    }.into_any()
                                }
                                _ => ().into_any(),
                            }
                        })}
                    </Transition>
                </nav>
                <div class="account">
                    <Transition fallback=|| view! { <span class="muted">"…"</span> }>
                        {move || Suspend::new(async move {
                            match session.user.await {
                                Ok(Some(user)) => view! {
                                    <LiveIndicator/>
                                    <span class="who" data-testid="current-user">
                                        <A href="/account" attr:class="username" attr:title="Your account">{user.username.clone()}</A>
                                        <span class=format!("role role-{}", user.role.as_str())>{user.role.as_str()}</span>
                                    </span>
                                    <ActionForm action=session.logout>
                                        <button type="submit" class="btn btn-ghost">"Log out"</button>
                                    </ActionForm>
                                }.into_any(),
                                _ => view! {
                                    <A href="/login" attr:class="btn btn-ghost">"Log in"</A>
                                    <A href="/register" attr:class="btn btn-primary">"Sign up"</A>
                                }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
            </div>
        </header>
    }
}

/// How many lines the cart has: an island, so that a change from any tab (the socket's
/// `cart_updated`, which carries the count) shows at once.
#[island]
fn CartCount(lines: u64) -> impl IntoView {
    let live = LiveState::shared();
    let lines = move || live.cart_lines.get().unwrap_or(lines);
    let label = move || match lines() {
        1 => "1 item in your cart".to_owned(),
        n => format!("{n} items in your cart"),
    };
    view! {
        <span class="badge count" data-testid="cart-count" data-count=move || lines().to_string()>
            <span aria-hidden="true">{move || lines().to_string()}</span>
            <span class="sr-only">{label}</span>
        </span>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <div class="container footer-inner">
                <p>"Game Store — digital items for adventurers. Prices in US dollars; payments are simulated."</p>
                <p class="muted">
                    <a href="/api/openapi.json">"API"</a>
                    " · "
                    <a href="/healthz">"Status"</a>
                </p>
            </div>
        </footer>
    }
}
