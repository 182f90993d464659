//! Live payment updates: a websocket in the browser, opened by the header's [`LiveIndicator`]
//! island (rendered only for a logged-in visitor), feeding the [`Toasts`] island.
//!
//! The rest of the page is server-rendered and not hydrated, so what a message changes is read
//! again from the server: the parts of a page that show orders, the library, the cart or the
//! operator's figures are [`LiveRegion`]s, and on a message (or a (re)connect, so that nothing
//! is missed across a dropped connection) the page is fetched again and those regions take the
//! fresh markup. A page without such a region fetches nothing.

use api_types::LiveMessage;
use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    not(feature = "hydrate"),
    expect(dead_code, reason = "the socket only runs in the browser")
)]
pub enum Connection {
    /// Not logged in, or not hydrated yet (server render, JavaScript off).
    Offline,
    Connecting,
    Live,
    Reconnecting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub id: u64,
    pub kind: ToastKind,
    pub text: String,
    /// Where the toast's link goes, and what it says.
    pub href: Option<(String, &'static str)>,
}

/// What the live islands share: the socket's state and the toasts on screen.
#[derive(Clone, Copy)]
pub struct LiveState {
    pub connection: RwSignal<Connection>,
    pub toasts: RwSignal<Vec<Toast>>,
    /// The cart's line count, once a `cart_updated` has said it (the badge shows it).
    pub cart_lines: RwSignal<Option<u64>>,
    next_toast: StoredValue<u64>,
}

/// The kinds of [`LiveRegion`]: what a message may have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// Orders, gifts and the library.
    Orders,
    /// The cart page (the header's badge is an island of its own).
    Cart,
    /// An operator's figures.
    Admin,
}

impl Region {
    pub const ALL: [Region; 3] = [Region::Orders, Region::Cart, Region::Admin];

    #[cfg_attr(
        not(feature = "hydrate"),
        expect(dead_code, reason = "regions are refreshed in the browser")
    )]
    fn bit(self) -> u8 {
        1 << self as u8
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Region::Orders => "orders",
            Region::Cart => "cart",
            Region::Admin => "admin",
        }
    }
}

/// Part of a page that live updates read again from the server (see the module's doc). `id`
/// must be unique on the page and the same in every render of it.
#[component]
pub fn LiveRegion(id: &'static str, region: Region, children: Children) -> impl IntoView {
    view! { <div id=id class="live-region" data-live-region=region.as_str()>{children()}</div> }
}

/// The header's dot that says whether live updates are flowing; hydrating it opens the socket.
#[island]
pub fn LiveIndicator() -> impl IntoView {
    let live = LiveState::shared();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| client::start(live));
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

/// Live notifications, announced politely to screen readers.
#[island]
pub fn Toasts() -> impl IntoView {
    let live = LiveState::shared();
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

#[cfg_attr(
    not(feature = "hydrate"),
    expect(dead_code, reason = "updated by the socket, in the browser")
)]
impl LiveState {
    fn new() -> Self {
        Self {
            connection: RwSignal::new(Connection::Offline),
            toasts: RwSignal::new(Vec::new()),
            cart_lines: RwSignal::new(None),
            next_toast: StoredValue::new(0),
        }
    }

    /// The state every live island on the page shares (islands hydrate apart, so it cannot be
    /// a context). On the server, a fresh one per render: offline, no toasts.
    pub fn shared() -> Self {
        #[cfg(feature = "hydrate")]
        {
            thread_local! {
                static SHARED: LiveState = LiveState::new();
            }
            SHARED.with(|live| *live)
        }
        #[cfg(not(feature = "hydrate"))]
        Self::new()
    }

    /// Something may have changed: the page's live regions are read again.
    pub fn bump(&self) {
        refresh(&Region::ALL);
    }

    pub fn toast(&self, kind: ToastKind, text: String, href: Option<(String, &'static str)>) {
        let id = self.next_toast.get_value();
        self.next_toast.set_value(id + 1);
        self.toasts.update(|t| {
            t.push(Toast {
                id,
                kind,
                text,
                href,
            });
            if t.len() > 4 {
                t.remove(0);
            }
        });
        let toasts = self.toasts;
        set_timeout(
            move || toasts.update(|t| t.retain(|x| x.id != id)),
            std::time::Duration::from_secs(8),
        );
    }

    pub fn dismiss(&self, id: u64) {
        self.toasts.update(|t| t.retain(|x| x.id != id));
    }

    pub fn receive(&self, message: &LiveMessage) {
        let names = message
            .items()
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut href = message
            .order_id()
            .map(|id| (format!("/orders/{id}"), "View order"));
        let (kind, text) = match message {
            LiveMessage::PurchaseSuccess { .. } => {
                (ToastKind::Success, format!("Payment confirmed: {names}"))
            }
            LiveMessage::PurchaseFailed { reason, .. } => (
                ToastKind::Error,
                match reason.as_deref() {
                    Some("expired") => format!("Payment timed out: {names}"),
                    _ => format!("Payment failed: {names}"),
                },
            ),
            LiveMessage::PurchaseRefunded { items, .. } if items.is_empty() => (
                ToastKind::Info,
                "Part of your order was refunded".to_owned(),
            ),
            LiveMessage::PurchaseRefunded { .. } => (ToastKind::Info, format!("Refunded: {names}")),
            LiveMessage::GiftReceived { from_username, .. } => {
                href = Some(("/library".to_owned(), "Open your library"));
                (
                    ToastKind::Success,
                    format!("{from_username} sent you a gift: {names}"),
                )
            }
            LiveMessage::WishlistOnSale {
                item_id,
                name,
                reason,
                price_cents,
                currency,
                ..
            } => {
                href = Some((format!("/items/{item_id}"), "View item"));
                let price = api_types::format_money(*price_cents, currency);
                let text = if reason == "restock" {
                    format!("Back in stock: {name}, {price}")
                } else {
                    format!("On sale now: {name}, {price}")
                };
                (ToastKind::Info, text)
            }
            LiveMessage::OrderChanged { .. } => {
                // Operators' views re-read; no toast.
                refresh(&[Region::Admin]);
                return;
            }
            LiveMessage::CartUpdated { line_count, .. } => {
                // The badge shows the count; the cart page re-reads; no toast.
                self.cart_lines.set(Some(u64::from(*line_count)));
                refresh(&[Region::Cart]);
                return;
            }
        };
        self.toast(kind, text, href);
        self.bump();
    }
}

/// Reads the page's regions of these kinds again, if it has any.
fn refresh(regions: &[Region]) {
    #[cfg(feature = "hydrate")]
    client::refresh(regions);
    #[cfg(not(feature = "hydrate"))]
    let _ = regions;
}

#[cfg(feature = "hydrate")]
mod client {
    use std::cell::{Cell, RefCell};
    use std::time::Duration;

    use wasm_bindgen::JsCast as _;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        CloseEvent, DomParser, Element, Event, MessageEvent, RequestCache, RequestCredentials,
        RequestInit, Response, SupportedType, WebSocket,
    };

    use super::{Connection, LiveState, Region};
    use leptos::prelude::*;

    /// Close code the server uses when the socket's session was revoked.
    const SESSION_ENDED: u16 = 4001;

    struct Socket {
        _ws: WebSocket,
        _on_open: Closure<dyn FnMut(Event)>,
        _on_message: Closure<dyn FnMut(MessageEvent)>,
        _on_close: Closure<dyn FnMut(CloseEvent)>,
    }

    thread_local! {
        static SOCKET: RefCell<Option<Socket>> = const { RefCell::new(None) };
        static ATTEMPT: Cell<u32> = const { Cell::new(0) };
        /// The socket has been open once on this page.
        static OPENED: Cell<bool> = const { Cell::new(false) };
        /// A refresh is running (or waiting its second).
        static REFRESHING: Cell<bool> = const { Cell::new(false) };
        /// The kinds of region to read again next (`Region::bit`s).
        static PENDING: Cell<u8> = const { Cell::new(0) };
    }

    /// Opens the socket, unless it is open.
    pub fn start(live: LiveState) {
        if SOCKET.with(|s| s.borrow().is_none()) {
            open(live);
        }
    }

    fn url() -> Option<String> {
        let location = window().location();
        let scheme = if location.protocol().ok()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        Some(format!("{scheme}://{}/ws", location.host().ok()?))
    }

    fn open(live: LiveState) {
        let Some(url) = url() else { return };
        let Ok(ws) = WebSocket::new(&url) else {
            schedule_reconnect(live);
            return;
        };
        live.connection.set(if ATTEMPT.get() == 0 {
            Connection::Connecting
        } else {
            Connection::Reconnecting
        });

        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            let retried = ATTEMPT.replace(0) > 0;
            let reconnected = OPENED.replace(true) || retried;
            live.connection.set(Connection::Live);
            // What happened while disconnected shows up now. On the first connection the page
            // is a moment old: only an order's or the library's state is read again (a payment
            // confirmed between the render and now), not the badge or the dashboard.
            if reconnected {
                live.bump();
            } else {
                super::refresh(&[Region::Orders]);
            }
        });
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(text) = event.data().as_string() {
                match serde_json::from_str::<api_types::LiveMessage>(&text) {
                    Ok(message) => live.receive(&message),
                    Err(e) => leptos::logging::warn!("ignoring an unknown live message: {e}"),
                }
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            SOCKET.with(|s| s.borrow_mut().take());
            if event.code() == SESSION_ENDED {
                // Logged out (here or elsewhere): the page is rendered again, logged out.
                live.connection.set(Connection::Offline);
                let _ = window().location().reload();
                return;
            }
            schedule_reconnect(live);
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        SOCKET.with(|s| {
            *s.borrow_mut() = Some(Socket {
                _ws: ws,
                _on_open: on_open,
                _on_message: on_message,
                _on_close: on_close,
            })
        });
    }

    /// Exponential backoff with jitter, capped at 30 s.
    fn schedule_reconnect(live: LiveState) {
        live.connection.set(Connection::Reconnecting);
        let attempt = ATTEMPT.get() + 1;
        ATTEMPT.set(attempt);
        let base = 500.0 * 2f64.powi(attempt.min(6) as i32);
        let delay = (base * (0.5 + js_sys::Math::random() * 0.5)).min(30_000.0);
        set_timeout(move || start(live), Duration::from_millis(delay as u64));
    }

    /// Reads the page's live regions of these kinds again, if it has any. One fetch at a
    /// time, and at most one a second: kinds asked for meanwhile wait for one more after it.
    pub fn refresh(regions: &[Region]) {
        let present = regions
            .iter()
            .filter(|r| matches!(document().query_selector(&selector(r.bit())), Ok(Some(_))))
            .fold(0, |mask, r| mask | r.bit());
        if present == 0 {
            return;
        }
        PENDING.set(PENDING.get() | present);
        if !REFRESHING.replace(true) {
            run_refresh();
        }
    }

    fn run_refresh() {
        let kinds = PENDING.replace(0);
        leptos::task::spawn_local(async move {
            if let Err(e) = swap_regions(kinds).await {
                leptos::logging::warn!("live regions not refreshed: {e:?}");
            }
            if PENDING.get() == 0 {
                REFRESHING.set(false);
            } else {
                set_timeout(run_refresh, Duration::from_secs(1));
            }
        });
    }

    /// The CSS selector of the regions whose kinds are in `mask`.
    fn selector(mask: u8) -> String {
        Region::ALL
            .iter()
            .filter(|r| mask & r.bit() != 0)
            .map(|r| format!("[data-live-region='{}']", r.as_str()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Fetches this page again and gives each live region of these kinds the fresh page's
    /// children of the element with its id (moved over as nodes, not re-parsed from text),
    /// then hydrates the islands that came with them. A region whose markup did not change is
    /// left alone, with whatever its visitor was doing in it.
    async fn swap_regions(kinds: u8) -> Result<(), wasm_bindgen::JsValue> {
        let window = window();
        let init = RequestInit::new();
        init.set_cache(RequestCache::NoStore);
        init.set_credentials(RequestCredentials::SameOrigin);
        let href = window.location().href()?;
        let response: Response = JsFuture::from(window.fetch_with_str_and_init(&href, &init))
            .await?
            .dyn_into()?;
        if !response.ok() {
            return Err(format!("{href} answered {}", response.status()).into());
        }
        let html = JsFuture::from(response.text()?)
            .await?
            .as_string()
            .unwrap_or_default();
        let fresh = DomParser::new()?.parse_from_string(&html, SupportedType::TextHtml)?;
        let page = document();
        let regions = page.query_selector_all(&selector(kinds))?;
        let hydrate = js_sys::Reflect::get(&window, &"__hydrateIslands".into())?
            .dyn_into::<js_sys::Function>()
            .ok();
        for index in 0..regions.length() {
            let Some(region) = regions
                .item(index)
                .and_then(|n| n.dyn_into::<Element>().ok())
            else {
                continue;
            };
            let Some(new) = fresh.get_element_by_id(&region.id()) else {
                continue;
            };
            if new.inner_html() == region.inner_html() {
                continue;
            }
            let children = page.create_document_fragment();
            while let Some(child) = new.first_child() {
                children.append_child(&page.adopt_node(&child)?)?;
            }
            region.replace_children_with_node_1(&children);
            if let Some(hydrate) = &hydrate {
                let _ = hydrate.call1(&wasm_bindgen::JsValue::NULL, &region);
            }
        }
        Ok(())
    }
}
