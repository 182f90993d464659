//! The store's user interface: Leptos components rendered on the server and hydrated in the
//! browser, with server functions as the bridge to the domain layer.
//!
//! Every page works without JavaScript (server-rendered, plain links and forms); once hydrated
//! it navigates client-side and a websocket feeds live payment updates into reactive state.

pub mod api;
mod components;
pub mod error;
mod live;
mod pages;
#[cfg(feature = "ssr")]
mod ssr;
#[cfg(feature = "ssr")]
pub use ssr::{KnownCartLines, KnownWish, provide_request_context};

use leptos::prelude::*;
use leptos_meta::{Link, Meta, MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use components::layout::{Footer, Header};
use components::toast::Toasts;
pub use error::AppError;
use pages::admin::{
    AdminItemEdit, AdminItemNew, AdminItems, AdminLayout, AdminOrders, AdminPromoCodes,
};
use pages::console::{AdminAudit, AdminDashboard, AdminWebhook, AdminWebhooks};
use pages::{
    AccountPage, CartPage, CatalogPage, CheckoutPage, ItemPage, LibraryPage, LoginPage, NotFound,
    OrderPage, OrdersPage, RegisterPage, VerifyEmailPage, WishlistPage,
};

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <link
                    rel="stylesheet"
                    id="leptos"
                    href=format!("/{}/{}.css", options.site_pkg_dir, options.output_name)
                />
                <HydrationLoader options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Loads the WASM and hydrates the page, in place of Leptos's `HydrationScripts`, which also
/// preloads the bundle from the head: the ~0.5 MB download then competes with the page's first
/// paint (under Lighthouse's mobile throttling it put the largest paint at 3.6 s). Every page is
/// fully rendered and usable without it (every link and form works without JavaScript), so:
///
/// - a page with live updates to receive (a logged-in visitor's: their socket brings payment
///   confirmations, see `live.rs`; it carries `data-live-updates`) hydrates as soon as it has
///   loaded and the browser is idle;
/// - any other page (an anonymous visitor's) hydrates at the visitor's first sign of intent: a
///   pointer moving or pressed, a touch, a key, a focus, a scroll. One who only reads never
///   downloads, compiles or runs the bundle; the first interaction starts it, and works as
///   plain HTML meanwhile (docs/architecture.md, "Hydration").
#[component]
fn HydrationLoader(options: LeptosOptions) -> impl IntoView {
    let pkg = format!("/{}", options.site_pkg_dir);
    let js = format!("{pkg}/{}.js", options.output_name);
    // wasm-bindgen's file is `<name>_bg.wasm` unless cargo-leptos renamed it (as Leptos does).
    let wasm = if option_env!("LEPTOS_OUTPUT_NAME").is_some() {
        format!("{pkg}/{}.wasm", options.output_name)
    } else {
        format!("{pkg}/{}_bg.wasm", options.output_name)
    };
    let script = format!(
        "(() => {{\
           let started = false;\
           const hydrate = () => {{\
             if (started) return;\
             started = true;\
             import({js:?}).then(m => m.default({{module_or_path: {wasm:?}}}).then(() => m.hydrate()));\
           }};\
           const loaded = (then) => (document.readyState === 'complete') ? then() : addEventListener('load', then, {{once: true}});\
           if (document.querySelector('[data-live-updates]')) {{\
             loaded(() => ('requestIdleCallback' in window) ? requestIdleCallback(hydrate, {{timeout: 1000}}) : setTimeout(hydrate, 0));\
           }} else {{\
             const intent = () => loaded(hydrate);\
             for (const type of ['pointermove', 'pointerdown', 'touchstart', 'keydown', 'focusin', 'scroll', 'wheel']) {{\
               addEventListener(type, intent, {{once: true, passive: true, capture: true}});\
             }}\
           }}\
         }})();"
    );
    let nonce = leptos::nonce::use_nonce();
    view! { <script type="module" nonce=nonce>{script}</script> }
}

/// A per-response Content-Security-Policy: scripts only from this origin or carrying this
/// response's nonce (the hydration loader), WASM compilation allowed, no framing.
#[cfg(feature = "ssr")]
fn set_content_security_policy(options: &LeptosOptions) {
    use leptos::nonce::use_nonce;
    let (Some(nonce), Some(response)) =
        (use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    let origin = use_context::<store::Store>().map(|store| store.settings().public_origin());
    let policy = content_security_policy(&nonce, origin.as_deref(), options);
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The policy of a page rendered with `nonce`, for a store served from `origin`.
#[cfg(feature = "ssr")]
pub fn content_security_policy(
    nonce: &str,
    origin: Option<&str>,
    options: &LeptosOptions,
) -> String {
    let sockets = origin
        .map(|origin| {
            let ws = origin
                .replacen("https://", "wss://", 1)
                .replacen("http://", "ws://", 1);
            format!(" {ws}")
        })
        .unwrap_or_default();
    // `cargo leptos watch` reloads the page over its own socket.
    let reload = if matches!(options.env, leptos::config::Env::DEV) {
        format!(
            " ws://127.0.0.1:{0} ws://localhost:{0}",
            options.reload_port
        )
    } else {
        String::new()
    };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data: https:; connect-src 'self'{sockets}{reload}; font-src 'self'; object-src 'none'; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Every page's `<title>`: "Name · Game Store". On the server the text is escaped here,
/// because leptos_meta writes the formatted title into the server-rendered `<title>` as it is
/// (an item named `x</title><script>…` would otherwise add markup to every page that shows it;
/// docs/security.md has the reproduction). In the browser it becomes `document.title`, which
/// takes plain text, so it is left as it is.
pub fn page_title(title: String) -> String {
    let full = if title.is_empty() {
        "Game Store".to_owned()
    } else {
        format!("{title} · Game Store")
    };
    if cfg!(feature = "ssr") {
        escape_html(&full)
    } else {
        full
    }
}

/// Escapes text for an HTML text node or a quoted attribute.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How many lines the logged-in user's cart has (the header's badge). Provided at the root.
#[derive(Clone, Copy)]
pub struct CartCount(pub Resource<Result<u64, AppError>>);

/// Who is logged in, and the actions that change it. Provided once at the root.
#[derive(Clone, Copy)]
pub struct Session {
    pub user: Resource<Result<Option<api_types::User>, AppError>>,
    pub login: ServerAction<api::Login>,
    pub logout: ServerAction<api::Logout>,
    pub register: ServerAction<api::Register>,
}

impl Session {
    fn new() -> Self {
        let login = ServerAction::<api::Login>::new();
        let logout = ServerAction::<api::Logout>::new();
        let register = ServerAction::<api::Register>::new();
        let user = Resource::new(
            move || {
                (
                    login.version().get(),
                    logout.version().get(),
                    register.version().get(),
                )
            },
            |_| api::me(),
        );
        Self {
            user,
            login,
            logout,
            register,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_escaped_for_the_server_rendered_head() {
        let title = page_title("x</title><script>alert('1')</script> & \"co\"".to_owned());
        if cfg!(feature = "ssr") {
            assert_eq!(
                title,
                "x&lt;/title&gt;&lt;script&gt;alert(&#39;1&#39;)&lt;/script&gt; &amp; &quot;co&quot; · Game Store"
            );
        } else {
            assert!(title.starts_with("x</title>"));
        }
        assert_eq!(page_title(String::new()), "Game Store");
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Meta name="description" content="Game Store: weapons, armour, potions and companions for your next adventure."/>
        <Title formatter=page_title/>
        <Router>
            <Layout/>
        </Router>
    }
}

/// Everything inside the router: the session and live state live here so that server actions
/// can pick up errors a JavaScript-off form post left in the URL.
#[component]
fn Layout() -> impl IntoView {
    let session = Session::new();
    provide_context(session);
    let live = live::LiveState::new();
    provide_context(live);
    live::connect_when_logged_in(session, live);
    // Created here, at the root, so that the server sends its value with the page and the
    // badge hydrates as it was rendered (a resource created inside a Suspend would not).
    let cart_count = Resource::new(
        move || {
            (
                live.cart_version.get(),
                session.login.version().get(),
                session.logout.version().get(),
                session.register.version().get(),
            )
        },
        |_| api::cart_count(),
    );
    provide_context(CartCount(cart_count));

    view! {
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header/>
            <main id="main" class="container">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=CatalogPage ssr=SsrMode::Async/>
                    <Route path=path!("/items/:id") view=ItemPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/register") view=RegisterPage ssr=SsrMode::Async/>
                    <Route path=path!("/orders") view=OrdersPage ssr=SsrMode::Async/>
                    <Route path=path!("/orders/:id") view=OrderPage ssr=SsrMode::Async/>
                    <Route path=path!("/library") view=LibraryPage ssr=SsrMode::Async/>
                    <Route path=path!("/cart") view=CartPage ssr=SsrMode::Async/>
                    <Route path=path!("/checkout") view=CheckoutPage ssr=SsrMode::Async/>
                    <Route path=path!("/wishlist") view=WishlistPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::Async/>
                    <ParentRoute path=path!("/admin") view=AdminLayout ssr=SsrMode::Async>
                        <Route path=path!("") view=AdminDashboard ssr=SsrMode::Async/>
                        <Route path=path!("items") view=AdminItems ssr=SsrMode::Async/>
                        <Route path=path!("items/new") view=AdminItemNew ssr=SsrMode::Async/>
                        <Route path=path!("items/:id") view=AdminItemEdit ssr=SsrMode::Async/>
                        <Route path=path!("orders") view=AdminOrders ssr=SsrMode::Async/>
                        <Route path=path!("promo-codes") view=AdminPromoCodes ssr=SsrMode::Async/>
                        <Route path=path!("webhooks") view=AdminWebhooks ssr=SsrMode::Async/>
                        <Route path=path!("webhooks/:id") view=AdminWebhook ssr=SsrMode::Async/>
                        <Route path=path!("audit") view=AdminAudit ssr=SsrMode::Async/>
                    </ParentRoute>
                </Routes>
            </main>
            <Footer/>
            <Toasts/>
    }
}
