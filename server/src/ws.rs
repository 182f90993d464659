//! The live-notification websocket (`GET /ws`) and the hub that routes messages to sockets.
//!
//! Every replica subscribes to the store's live channel (Redis pub/sub in production, an
//! in-process channel otherwise) and delivers each envelope to the sockets of its user only.
//! Each socket has a small bounded queue: a client that cannot keep up is disconnected rather
//! than allowed to stall delivery or grow memory (it reconnects and re-reads its orders).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use futures::{Sink, SinkExt as _, Stream, StreamExt as _};
use tokio::sync::mpsc;
use uuid::Uuid;

use api_types::LiveMessage;
use store::Store;
use store::cache::channels;
use store::live::Envelope;

use crate::AppState;
use crate::error::plain;
use crate::extract::Auth;

/// Messages queued for one socket before it counts as too slow.
pub const QUEUE_DEPTH: usize = 32;
pub const PING_EVERY: Duration = Duration::from_secs(25);
/// Bytes read from a socket at a time.
const READ_BUFFER: usize = 1024;
/// Close code sent when the session behind a socket is revoked (logout).
pub const CLOSE_SESSION_ENDED: u16 = 4001;
/// Operators hear at most one `order_changed` this often per replica.
pub const ADMIN_COALESCE: Duration = Duration::from_millis(250);
/// Close code sent to a client that fell too far behind.
pub const CLOSE_TOO_SLOW: u16 = 4008;

#[derive(Debug)]
pub enum Outbound {
    /// A message, and when the webhook behind it arrived (unix ms), if one did.
    Text(Arc<str>, Option<i64>),
    Close(u16, &'static str),
}

struct Conn {
    id: u64,
    session_id: String,
    /// An operator's socket also hears `order_changed`.
    admin: bool,
    tx: mpsc::Sender<Outbound>,
}

/// Which sockets are open on this replica, by user, within two caps: per user (a tab storm or
/// a script cannot hold a thousand sockets on one session) and per replica.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

struct HubInner {
    sockets: RwLock<HashMap<Uuid, Vec<Conn>>>,
    /// The latest order change not yet told to operators, and whether a flush is on its way:
    /// operators hear at most one `order_changed` per `ADMIN_COALESCE` per replica.
    admin_pending: std::sync::Mutex<Option<LiveMessage>>,
    admin_flush_scheduled: std::sync::atomic::AtomicBool,
    next_id: AtomicU64,
    max_per_user: usize,
    max_total: usize,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(16, 10_000)
    }
}

/// Why a socket was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The user already has `max_per_user` sockets open on this replica.
    TooManyForUser,
    /// This replica holds `max_total` sockets.
    Full,
}

/// A socket's place in the hub; dropping it unregisters the socket.
pub struct Registration {
    hub: Hub,
    user_id: Uuid,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.remove(self.user_id, self.id);
    }
}

impl Hub {
    pub fn new(max_per_user: usize, max_total: usize) -> Self {
        Self {
            inner: Arc::new(HubInner {
                sockets: RwLock::default(),
                admin_pending: std::sync::Mutex::new(None),
                admin_flush_scheduled: std::sync::atomic::AtomicBool::new(false),
                next_id: AtomicU64::new(0),
                max_per_user,
                max_total,
            }),
        }
    }

    /// Takes a place for one socket of `user_id`, or refuses it when a cap is reached. Checked
    /// and taken under one lock, so concurrent upgrades cannot overshoot.
    pub fn register(
        &self,
        user_id: Uuid,
        session_id: String,
        admin: bool,
    ) -> Result<(Registration, mpsc::Receiver<Outbound>), Refusal> {
        let mut sockets = self
            .inner
            .sockets
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if sockets.get(&user_id).map_or(0, Vec::len) >= self.inner.max_per_user {
            return Err(Refusal::TooManyForUser);
        }
        if sockets.values().map(Vec::len).sum::<usize>() >= self.inner.max_total {
            return Err(Refusal::Full);
        }
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        sockets.entry(user_id).or_default().push(Conn {
            id,
            session_id,
            admin,
            tx,
        });
        Ok((
            Registration {
                hub: self.clone(),
                user_id,
                id,
            },
            rx,
        ))
    }

    fn remove(&self, user_id: Uuid, id: u64) {
        let mut sockets = self
            .inner
            .sockets
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(conns) = sockets.get_mut(&user_id) {
            conns.retain(|c| c.id != id);
            if conns.is_empty() {
                sockets.remove(&user_id);
            }
        }
    }

    /// Open sockets on this replica.
    pub fn len(&self) -> usize {
        let sockets = self.inner.sockets.read().unwrap_or_else(|p| p.into_inner());
        sockets.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Routes one envelope to the sockets it concerns. Never waits on a socket.
    pub fn dispatch(&self, envelope: &Envelope) {
        if let Envelope::Message { message, .. } = envelope
            && let (Some(order_id), Some(status)) = (message.order_id(), message.order_status())
        {
            self.order_changed(LiveMessage::OrderChanged {
                order_id,
                user_id: message.user_id(),
                status,
            });
        }
        self.deliver(envelope);
    }

    /// Tells this replica's operators that an order changed, at most once per
    /// `ADMIN_COALESCE`: the first change schedules a flush, later ones replace what it sends.
    fn order_changed(&self, message: LiveMessage) {
        *self
            .inner
            .admin_pending
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(message);
        if self
            .inner
            .admin_flush_scheduled
            .swap(true, Ordering::AcqRel)
        {
            return;
        }
        let hub = self.clone();
        let flush = move || {
            hub.inner
                .admin_flush_scheduled
                .store(false, Ordering::Release);
            let pending = hub
                .inner
                .admin_pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            if let Some(message) = pending {
                hub.send_to_admins(&message);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::time::sleep(ADMIN_COALESCE).await;
                    flush();
                });
            }
            Err(_) => flush(),
        }
    }

    fn send_to_admins(&self, message: &LiveMessage) {
        let Ok(text) = serde_json::to_string(message) else {
            return;
        };
        let text: Arc<str> = text.into();
        let sockets = self.inner.sockets.read().unwrap_or_else(|p| p.into_inner());
        for conn in sockets.values().flatten().filter(|c| c.admin) {
            // A full queue drops this one: the next change (or a reconnect) brings the
            // dashboard up to date anyway.
            let _ = conn.tx.try_send(Outbound::Text(text.clone(), None));
        }
    }

    fn deliver(&self, envelope: &Envelope) {
        let user_id = envelope.user_id();
        let mut too_slow = Vec::new();
        {
            let sockets = self.inner.sockets.read().unwrap_or_else(|p| p.into_inner());
            let Some(conns) = sockets.get(&user_id) else {
                return;
            };
            match envelope {
                Envelope::Message {
                    message,
                    received_at_ms,
                } => {
                    let Ok(text) = serde_json::to_string(message) else {
                        return;
                    };
                    let text: Arc<str> = text.into();
                    for conn in conns {
                        if let Err(mpsc::error::TrySendError::Full(_)) = conn
                            .tx
                            .try_send(Outbound::Text(text.clone(), *received_at_ms))
                        {
                            too_slow.push(conn.id);
                        }
                    }
                }
                Envelope::SessionRevoked { session_id, .. } => {
                    for conn in conns
                        .iter()
                        .filter(|c| session_id.as_ref().is_none_or(|s| *s == c.session_id))
                    {
                        let _ = conn
                            .tx
                            .try_send(Outbound::Close(CLOSE_SESSION_ENDED, "session ended"));
                    }
                }
            }
        }
        for id in too_slow {
            tracing::warn!(%user_id, socket = id, "websocket client too slow; disconnecting it");
            self.remove(user_id, id);
        }
    }

    /// Closes every socket (graceful shutdown).
    pub fn close_all(&self) {
        let sockets = self.inner.sockets.read().unwrap_or_else(|p| p.into_inner());
        for conn in sockets.values().flatten() {
            let _ = conn
                .tx
                .try_send(Outbound::Close(1001, "server shutting down"));
        }
    }

    /// Feeds the hub from the store's live channel for as long as the process runs.
    pub fn spawn_listener(&self, store: &Store) -> tokio::task::JoinHandle<()> {
        let hub = self.clone();
        let mut bus = store.cache().subscribe();
        tokio::spawn(async move {
            loop {
                match bus.recv().await {
                    Ok(msg) if msg.channel == channels::LIVE => {
                        match serde_json::from_str::<Envelope>(&msg.payload) {
                            Ok(envelope) => hub.dispatch(&envelope),
                            Err(e) => tracing::warn!(error = %e, "undecodable live envelope"),
                        }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(
                            skipped = n,
                            "live listener lagged; clients will catch up on reconnect"
                        );
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        })
    }
}

/// `GET /ws`: upgrades for a logged-in user whose page is on the store's own origin.
pub async fn connect(
    State(state): State<AppState>,
    parts: Parts,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let mut parts = parts;
    let own = state.store.settings().public_origin();
    let origin_ok = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|o| edge::same_origin(o, &own));
    let user = match Auth::from_request_parts(&mut parts, &state).await {
        Ok(Auth(user)) => user,
        Err(rejection) => return rejection.into_response(),
    };
    if !origin_ok {
        return plain(
            StatusCode::FORBIDDEN,
            "CSRF_REJECTED",
            "websocket connections must come from the store's own pages",
        );
    }
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(e) => return plain(StatusCode::BAD_REQUEST, "NOT_A_WEBSOCKET", e.body_text()),
    };
    // The place is taken before the upgrade, so the cap holds however many upgrades race.
    let (registration, rx) =
        match state
            .hub
            .register(user.id(), user.session_id.clone(), user.is_admin())
        {
            Ok(taken) => taken,
            Err(Refusal::TooManyForUser) => {
                return plain(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TOO_MANY_SOCKETS",
                    "too many live connections for this account; close some tabs",
                );
            }
            Err(Refusal::Full) => {
                let mut refused = plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SOCKETS_FULL",
                    "this server holds as many live connections as it can; try again shortly",
                );
                refused
                    .headers_mut()
                    .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(5));
                return refused;
            }
        };
    // Small buffers: an idle socket should cost kilobytes, not the 2 × 128 KiB defaults. Our
    // messages are a few hundred bytes; clients send nothing but pongs and closes.
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
        .max_message_size(4096)
        .max_frame_size(4096)
        .on_upgrade(move |socket| serve_socket(socket, registration, rx))
        .into_response()
}

async fn serve_socket(socket: WebSocket, registration: Registration, rx: mpsc::Receiver<Outbound>) {
    let (sink, stream) = socket.split();
    run(sink, stream, rx, PING_EVERY).await;
    drop(registration);
}

/// Drives one socket: forwards queued messages, pings, answers the client's close, and ends when
/// the client goes away, stops answering pings, or the hub drops the socket's queue.
pub async fn run<S, R>(
    mut sink: S,
    mut stream: R,
    mut rx: mpsc::Receiver<Outbound>,
    ping_every: Duration,
) where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    let mut awaiting_pong = false;
    loop {
        tokio::select! {
            outbound = rx.recv() => match outbound {
                Some(Outbound::Text(text, received_at_ms)) => {
                    if sink.send(Message::Text(text.as_ref().into())).await.is_err() {
                        break;
                    }
                    if let Some(at) = received_at_ms {
                        crate::metrics::observe_delivery(at);
                    }
                }
                Some(Outbound::Close(code, reason)) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    break;
                }
                None => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: CLOSE_TOO_SLOW, reason: "too slow".into() }))).await;
                    break;
                }
            },
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Pong(_))) => awaiting_pong = false,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if awaiting_pong {
                    break;
                }
                awaiting_pong = true;
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_types::LiveItem;

    fn success(user_id: Uuid) -> Envelope {
        Envelope::message(LiveMessage::PurchaseSuccess {
            order_id: Uuid::new_v4(),
            user_id,
            items: vec![LiveItem {
                id: 1,
                name: "Dragon Sword".into(),
            }],
        })
    }

    #[test]
    fn routes_each_message_to_its_users_sockets_only() {
        let hub = Hub::default();
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let (_a1, mut a1) = hub.register(alice, "s1".into(), false).expect("admitted");
        let (_a2, mut a2) = hub.register(alice, "s2".into(), false).expect("admitted");
        let (_b1, mut b1) = hub.register(bob, "s3".into(), false).expect("admitted");
        hub.dispatch(&success(alice));
        assert!(matches!(a1.try_recv(), Ok(Outbound::Text(..))));
        assert!(matches!(a2.try_recv(), Ok(Outbound::Text(..))));
        assert!(b1.try_recv().is_err());
    }

    #[test]
    fn a_full_queue_drops_only_that_socket() {
        let hub = Hub::default();
        let user = Uuid::new_v4();
        let (_slow, _slow_rx) = hub.register(user, "slow".into(), false).expect("admitted");
        let (_fast, mut fast_rx) = hub.register(user, "fast".into(), false).expect("admitted");
        for _ in 0..QUEUE_DEPTH + 1 {
            hub.dispatch(&success(user));
            while fast_rx.try_recv().is_ok() {}
        }
        assert_eq!(hub.len(), 1);
        hub.dispatch(&success(user));
        assert!(fast_rx.try_recv().is_ok());
    }

    #[test]
    fn revocation_closes_one_session_or_all() {
        let hub = Hub::default();
        let user = Uuid::new_v4();
        let (_a, mut a) = hub.register(user, "a".into(), false).expect("admitted");
        let (_b, mut b) = hub.register(user, "b".into(), false).expect("admitted");
        hub.dispatch(&Envelope::SessionRevoked {
            user_id: user,
            session_id: Some("a".into()),
        });
        assert!(matches!(
            a.try_recv(),
            Ok(Outbound::Close(CLOSE_SESSION_ENDED, _))
        ));
        assert!(b.try_recv().is_err());
        hub.dispatch(&Envelope::SessionRevoked {
            user_id: user,
            session_id: None,
        });
        assert!(matches!(
            b.try_recv(),
            Ok(Outbound::Close(CLOSE_SESSION_ENDED, _))
        ));
    }

    #[test]
    fn dropping_a_registration_unregisters_it() {
        let hub = Hub::default();
        let (registration, _rx) = hub
            .register(Uuid::new_v4(), "s".into(), false)
            .expect("admitted");
        assert_eq!(hub.len(), 1);
        drop(registration);
        assert!(hub.is_empty());
    }

    #[test]
    fn sockets_are_capped_per_user_and_per_replica() {
        let hub = Hub::new(2, 3);
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let a1 = hub.register(alice, "a".into(), false).expect("first");
        let _a2 = hub.register(alice, "a".into(), false).expect("second");
        assert_eq!(
            hub.register(alice, "a".into(), false).err(),
            Some(Refusal::TooManyForUser)
        );
        let _b1 = hub.register(bob, "b".into(), false).expect("bob's first");
        assert_eq!(
            hub.register(bob, "b".into(), false).err(),
            Some(Refusal::Full)
        );
        drop(a1);
        assert!(hub.register(bob, "b".into(), false).is_ok());
    }

    #[tokio::test]
    async fn the_socket_loop_forwards_messages_and_stops_on_close() {
        let (sink_tx, mut sink_rx) = futures::channel::mpsc::unbounded::<Message>();
        let (stream_tx, stream_rx) =
            futures::channel::mpsc::unbounded::<Result<Message, axum::Error>>();
        let (tx, rx) = mpsc::channel(4);
        let task = tokio::spawn(run(sink_tx, stream_rx, rx, Duration::from_secs(60)));
        tx.send(Outbound::Text("hello".into(), None))
            .await
            .expect("queued");
        assert_eq!(sink_rx.next().await, Some(Message::Text("hello".into())));
        stream_tx
            .unbounded_send(Ok(Message::Close(None)))
            .expect("sent");
        task.await.expect("loop ends");
    }

    #[tokio::test]
    async fn the_socket_loop_gives_up_on_a_silent_peer() {
        let (sink_tx, mut sink_rx) = futures::channel::mpsc::unbounded::<Message>();
        let (_stream_tx, stream_rx) =
            futures::channel::mpsc::unbounded::<Result<Message, axum::Error>>();
        let (_tx, rx) = mpsc::channel(4);
        let task = tokio::spawn(run(sink_tx, stream_rx, rx, Duration::from_millis(20)));
        assert!(matches!(sink_rx.next().await, Some(Message::Ping(_))));
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("ends without a pong")
            .expect("no panic");
    }
}
