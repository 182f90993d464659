//! The store's user interface: Leptos components rendered on the server, with server functions
//! as the bridge to the domain layer.
//!
//! Every page works without JavaScript (server-rendered, plain links and forms). It is built in
//! Leptos's islands mode: only the parts that need the browser are `#[island]`s, hydrated from a
//! small WASM bundle (live updates and toasts in `live.rs`, copy buttons, the CSV file picker);
//! everything else is HTML from the server and never hydrated.

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
pub use error::AppError;
use live::Toasts;
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

/// Loads the WASM and hydrates the page's islands, in place of Leptos's `HydrationScripts`,
/// which also preloads the bundle from the head, where the download competes with the page's
/// first paint. Every page is rendered on the server and usable without it (every link and
/// form works without JavaScript); the islands are the few parts that need the browser, so:
///
/// - a page with live updates to receive (a logged-in visitor's: their socket brings payment
///   confirmations, see `live.rs`; its indicator carries `data-live-updates`) loads the WASM as
///   soon as it has loaded and the browser is idle;
/// - any other page at the visitor's first sign of intent: a pointer moving or pressed, a
///   touch, a key, a focus, a scroll; and only if it has an island at all. An anonymous
///   visitor's pages have none, so they never download, compile or run the bundle.
///
/// Then each `<leptos-island>` is hydrated by the function the bundle exports under its
/// `data-component` name, in document order (no island here takes children), and the body is
/// marked `data-hydrated` (at once when the page has no island). A failed download marks it
/// `data-hydration-error`; an island that throws is logged and the others still hydrate.
/// `window.__hydrateIslands(root)` does the same for markup the live updates put in later
/// (docs/architecture.md, "Islands").
///
/// Two enhancements need no WASM, so they are here and work at once:
/// - a select marked `data-submit-on-change` (the catalog's sort and price filters) submits its
///   form when it changes; without JavaScript the form's "Apply" button does. (As an island it
///   would miss the change whose pointer-down started the bundle's download);
/// - a form that posts is sent once: a second submit before the next page arrives (a double
///   click) is dropped, and the form is `aria-busy` meanwhile (the pending state the hydrated
///   app's action forms had).
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
           addEventListener('change', (e) => {{\
             const t = e.target;\
             if (t instanceof HTMLSelectElement && t.hasAttribute('data-submit-on-change') && t.form) t.form.requestSubmit();\
           }});\
           addEventListener('submit', (e) => {{\
             const f = e.target;\
             if (!(f instanceof HTMLFormElement) || f.method !== 'post') return;\
             if (f.hasAttribute('data-submitting')) {{ e.preventDefault(); return; }}\
             f.setAttribute('data-submitting', '');\
             f.setAttribute('aria-busy', 'true');\
           }});\
           addEventListener('pageshow', () => {{\
             for (const f of document.querySelectorAll('form[data-submitting]')) {{ f.removeAttribute('data-submitting'); f.removeAttribute('aria-busy'); }}\
           }});\
           let started = false;\
           const islands = async (m, root) => {{\
             for (const el of root.querySelectorAll('leptos-island')) {{\
               const island = m[el.dataset.component];\
               try {{ if (island) {{ await island(el); }} else {{ console.warn('no island named', el.dataset.component); }} }}\
               catch (e) {{ console.error('island', el.dataset.component, e); }}\
             }}\
           }};\
           const hydrate = () => {{\
             if (started) return;\
             started = true;\
             const done = () => document.body.setAttribute('data-hydrated', 'true');\
             if (!document.querySelector('leptos-island')) {{ done(); return; }}\
             import({js:?}).then(m => m.default({{module_or_path: {wasm:?}}}).then(async () => {{\
               m.hydrate();\
               window.__hydrateIslands = (root) => islands(m, root);\
               await islands(m, document);\
               done();\
             }})).catch(e => {{\
               console.error('the page could not load its islands', e);\
               document.body.setAttribute('data-hydration-error', String(e).slice(0, 2000));\
             }});\
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

/// Everything inside the router: the session lives here so that server actions
/// can pick up errors a JavaScript-off form post left in the URL.
#[component]
fn Layout() -> impl IntoView {
    let session = Session::new();
    provide_context(session);
    // Created here, at the root, beside the session it depends on.
    let cart_count = Resource::new(
        move || {
            (
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
                <CardFormError/>
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
            // Notifications come from the live socket, which only a logged-in visitor has.
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    matches!(session.user.await, Ok(Some(_))).then(|| view! { <Toasts/> })
                })}
            </Transition>
    }
}

/// The error of an "Add to cart" or wishlist button that failed with JavaScript off (or
/// without the page's islands), shown once above the page: the buttons sit on many cards, and
/// the error in the URL does not say which card's it was.
#[component]
fn CardFormError() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    move || {
        let query = query.read();
        error::url_error::<api::AddToCart>(&query)
            .or_else(|| error::url_error::<api::SetWish>(&query))
            .map(|error| view! { <components::notice::ErrorNotice error/> })
    }
}
