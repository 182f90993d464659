use leptos::prelude::*;
use leptos_router::components::A;

use crate::Session;
use crate::live::{Connection, LiveState};
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
                                        <CartLink lines/>
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

/// "Cart" with how many lines the cart has (updated live from every tab: the count is a
/// resource at the root that the live socket refreshes).
#[component]
fn CartLink(lines: u64) -> impl IntoView {
    let label = match lines {
        1 => "1 item in your cart".to_owned(),
        n => format!("{n} items in your cart"),
    };
    view! {
        <A href="/cart" attr:data-testid="cart-link">
            "Cart "
            <span class="badge count" data-testid="cart-count" data-count=lines.to_string()>
                <span aria-hidden="true">{lines.to_string()}</span>
                <span class="sr-only">{label}</span>
            </span>
        </A>
    }
}

/// A small dot that says whether live payment updates are flowing.
#[component]
fn LiveIndicator() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let label = move || match live.connection.get() {
        Connection::Live => "Live updates on",
        Connection::Connecting => "Connecting live updates…",
        Connection::Reconnecting => "Reconnecting live updates…",
        Connection::Offline => "Live updates off",
    };
    let class = move || match live.connection.get() {
        Connection::Live => "live-dot live",
        Connection::Connecting | Connection::Reconnecting => "live-dot pending",
        Connection::Offline => "live-dot off",
    };
    view! {
        <span class=class role="status" title=label aria-label=label data-testid="live-indicator" data-live-updates=""
            data-state=move || format!("{:?}", live.connection.get()).to_lowercase()></span>
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
