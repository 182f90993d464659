//! Live payment updates: a websocket fed into reactive state.
//!
//! `LiveState::version` goes up on every message and every (re)connect; pages that show orders
//! or the library depend on it, so they re-read from the server exactly when something may have
//! changed, and nothing is missed across a dropped connection. Each message also raises a toast.

use api_types::LiveMessage;
use leptos::prelude::*;

use crate::Session;

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

#[derive(Clone, Copy)]
pub struct LiveState {
    pub connection: RwSignal<Connection>,
    pub version: RwSignal<u64>,
    /// Goes up whenever the cart changed on any tab (or the socket reconnected).
    pub cart_version: RwSignal<u64>,
    /// Goes up when an operator's socket hears that an order changed (the dashboard re-reads).
    pub admin_version: RwSignal<u64>,
    pub toasts: RwSignal<Vec<Toast>>,
    next_toast: StoredValue<u64>,
}

#[cfg_attr(
    not(feature = "hydrate"),
    expect(dead_code, reason = "updated by the socket, in the browser")
)]
impl LiveState {
    pub fn new() -> Self {
        Self {
            connection: RwSignal::new(Connection::Offline),
            version: RwSignal::new(0),
            cart_version: RwSignal::new(0),
            admin_version: RwSignal::new(0),
            toasts: RwSignal::new(Vec::new()),
            next_toast: StoredValue::new(0),
        }
    }

    /// Something may have changed: pages re-read what they show.
    pub fn bump(&self) {
        self.version.update(|v| *v += 1);
        self.cart_version.update(|v| *v += 1);
        self.admin_version.update(|v| *v += 1);
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
                self.admin_version.update(|v| *v += 1);
                return;
            }
            LiveMessage::CartUpdated { .. } => {
                // The badge and the cart page re-read; no toast.
                self.cart_version.update(|v| *v += 1);
                return;
            }
        };
        self.toast(kind, text, href);
        self.bump();
    }
}

impl Default for LiveState {
    fn default() -> Self {
        Self::new()
    }
}

/// Opens the socket whenever someone is logged in, and closes it when they log out.
pub fn connect_when_logged_in(session: Session, live: LiveState) {
    Effect::new(move |_| {
        let logged_in = matches!(session.user.get(), Some(Ok(Some(_))));
        #[cfg(feature = "hydrate")]
        client::set_wanted(live, session, logged_in);
        #[cfg(not(feature = "hydrate"))]
        let _ = (logged_in, live);
    });
}

#[cfg(feature = "hydrate")]
mod client {
    use std::cell::RefCell;
    use std::time::Duration;

    use wasm_bindgen::JsCast as _;
    use wasm_bindgen::closure::Closure;
    use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

    use super::{Connection, LiveState};
    use crate::Session;
    use leptos::prelude::*;

    /// Close code the server uses when the socket's session was revoked.
    const SESSION_ENDED: u16 = 4001;

    struct Socket {
        ws: WebSocket,
        _on_open: Closure<dyn FnMut(Event)>,
        _on_message: Closure<dyn FnMut(MessageEvent)>,
        _on_close: Closure<dyn FnMut(CloseEvent)>,
    }

    thread_local! {
        static SOCKET: RefCell<Option<Socket>> = const { RefCell::new(None) };
        static WANTED: RefCell<bool> = const { RefCell::new(false) };
        static ATTEMPT: RefCell<u32> = const { RefCell::new(0) };
    }

    pub fn set_wanted(live: LiveState, session: Session, wanted: bool) {
        WANTED.with(|w| *w.borrow_mut() = wanted);
        if wanted {
            if SOCKET.with(|s| s.borrow().is_none()) {
                open(live, session);
            }
        } else {
            close();
            live.connection.set(Connection::Offline);
        }
    }

    fn close() {
        if let Some(socket) = SOCKET.with(|s| s.borrow_mut().take()) {
            socket.ws.set_onclose(None);
            let _ = socket.ws.close();
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

    fn open(live: LiveState, session: Session) {
        let Some(url) = url() else { return };
        let Ok(ws) = WebSocket::new(&url) else {
            schedule_reconnect(live, session);
            return;
        };
        live.connection.set(if ATTEMPT.with(|a| *a.borrow()) == 0 {
            Connection::Connecting
        } else {
            Connection::Reconnecting
        });

        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            ATTEMPT.with(|a| *a.borrow_mut() = 0);
            live.connection.set(Connection::Live);
            // Re-read orders: anything that happened while disconnected shows up now.
            live.bump();
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
                live.connection.set(Connection::Offline);
                session.user.refetch();
                return;
            }
            if WANTED.with(|w| *w.borrow()) {
                schedule_reconnect(live, session);
            }
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        SOCKET.with(|s| {
            *s.borrow_mut() = Some(Socket {
                ws,
                _on_open: on_open,
                _on_message: on_message,
                _on_close: on_close,
            })
        });
    }

    /// Exponential backoff with jitter, capped at 30 s.
    fn schedule_reconnect(live: LiveState, session: Session) {
        live.connection.set(Connection::Reconnecting);
        let attempt = ATTEMPT.with(|a| {
            let mut a = a.borrow_mut();
            *a += 1;
            *a
        });
        let base = 500.0 * 2f64.powi(attempt.min(6) as i32);
        let delay = (base * (0.5 + js_sys::Math::random() * 0.5)).min(30_000.0);
        set_timeout(
            move || {
                if WANTED.with(|w| *w.borrow()) && SOCKET.with(|s| s.borrow().is_none()) {
                    open(live, session);
                }
            },
            Duration::from_millis(delay as u64),
        );
    }
}
