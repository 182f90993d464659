use std::time::Duration;

use api_types::{Item, LiveMessage, Order, OrderStatus};
use futures::StreamExt as _;
use reqwest::{Method, StatusCode};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest as _};

use crate::helpers::{TestApp, TestUser, json_of, payment_event, silent_provider};

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_request(
    app: &TestApp,
    user: Option<&TestUser>,
    origin: &str,
) -> tungstenite::handshake::client::Request {
    let url = app.base.replacen("http://", "ws://", 1) + "/ws";
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("origin", origin.parse().expect("header"));
    if let Some(user) = user {
        request.headers_mut().insert(
            "cookie",
            format!("gs_session={}", user.token)
                .parse()
                .expect("header"),
        );
    }
    request
}

pub(crate) async fn connect(app: &TestApp, user: &TestUser) -> Socket {
    let (socket, _) = tokio_tungstenite::connect_async(ws_request(app, Some(user), &app.origin))
        .await
        .expect("websocket connects");
    socket
}

/// The next JSON message, skipping pings; `None` after `wait` of silence.
pub(crate) async fn next_message(socket: &mut Socket, wait: Duration) -> Option<LiveMessage> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        match frame.ok()? {
            Message::Text(text) => {
                return Some(serde_json::from_str(&text).expect("live message JSON"));
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// An item that can be bought again and again.
async fn potion(app: &TestApp) -> Item {
    app.item("Health Potion").consumable().create().await
}

pub(crate) async fn wait_for_sockets(app: &TestApp, n: usize) {
    for _ in 0..100 {
        if app.hub.len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("expected {n} sockets, hub has {}", app.hub.len());
}

#[tokio::test]
async fn upgrading_needs_a_session_and_the_stores_origin() {
    let app = TestApp::spawn().await;
    let anonymous = tokio_tungstenite::connect_async(ws_request(&app, None, &app.origin)).await;
    match anonymous {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    let user = app.customer().await;
    let cross_site =
        tokio_tungstenite::connect_async(ws_request(&app, Some(&user), "https://evil.example"))
            .await;
    match cross_site {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
    let plain = app
        .as_user(&user, Method::GET, "/ws")
        .send()
        .await
        .expect("request");
    assert_eq!(plain.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn each_user_gets_only_their_own_events_on_every_socket() {
    let app = TestApp::spawn().await;
    let sword = app.item("Dragon Sword").create().await;
    let alice = app.customer().await;
    let bob = app.customer().await;
    let mut alice_tabs = vec![connect(&app, &alice).await, connect(&app, &alice).await];
    let mut bob_tabs = vec![connect(&app, &bob).await, connect(&app, &bob).await];
    wait_for_sockets(&app, 4).await;

    let order: Order = app.buy(&alice, sword.id).await.json().await.expect("json");
    for tab in &mut alice_tabs {
        match next_message(tab, Duration::from_secs(10)).await {
            Some(LiveMessage::PurchaseSuccess {
                order_id,
                user_id,
                items,
            }) => {
                assert_eq!(order_id, order.order_id);
                assert_eq!(user_id, alice.id);
                assert_eq!(items[0].name, "Dragon Sword");
                assert_eq!(items[0].id, sword.id);
            }
            other => panic!("alice expected purchase_success, got {other:?}"),
        }
    }
    // Nothing arriving cannot be signalled, only waited for: alice's tabs have their message, so
    // a misrouted copy would be on its way to bob's by now.
    for tab in &mut bob_tabs {
        assert_eq!(
            next_message(tab, Duration::from_millis(500)).await,
            None,
            "bob must not see alice's purchase"
        );
    }
}

#[tokio::test]
async fn failures_and_refunds_are_pushed_too() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = potion(&app).await;
    let elixir = app.item("Phoenix Elixir").consumable().create().await;
    let user = app.customer().await;
    let mut socket = connect(&app, &user).await;
    wait_for_sockets(&app, 1).await;
    let order: Order = app.buy(&user, potion.id).await.json().await.expect("json");
    app.deliver("msg_paid", &payment_event("payment.succeeded", &order))
        .await;
    assert!(matches!(
        next_message(&mut socket, Duration::from_secs(5)).await,
        Some(LiveMessage::PurchaseSuccess { .. })
    ));
    app.deliver("msg_refund", &payment_event("payment.refunded", &order))
        .await;
    assert!(matches!(
        next_message(&mut socket, Duration::from_secs(5)).await,
        Some(LiveMessage::PurchaseRefunded { .. })
    ));
    let failing: Order = app.buy(&user, elixir.id).await.json().await.expect("json");
    app.deliver("msg_failed", &payment_event("payment.failed", &failing))
        .await;
    assert!(matches!(
        next_message(&mut socket, Duration::from_secs(5)).await,
        Some(LiveMessage::PurchaseFailed { .. })
    ));
}

#[tokio::test]
async fn logout_closes_that_sessions_sockets_only() {
    let app = TestApp::spawn().await;
    let potion = potion(&app).await;
    let user = app.customer().await;
    let other_device = app.session(&user.username, "correct horse battery").await;
    let mut first = connect(&app, &user).await;
    let mut second = connect(&app, &other_device).await;
    wait_for_sockets(&app, 2).await;
    let out = app
        .as_user(&user, Method::POST, "/api/users/logout")
        .send()
        .await
        .expect("request");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);

    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match first.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("socket closed in time");
    assert_eq!(closed, Some(4001));

    let order: Order = app
        .buy(&other_device, potion.id)
        .await
        .json()
        .await
        .expect("json");
    match next_message(&mut second, Duration::from_secs(10)).await {
        Some(LiveMessage::PurchaseSuccess { order_id, .. }) => assert_eq!(order_id, order.order_id),
        other => panic!("the other device should still be live, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_that_never_reads_does_not_hold_up_others() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = potion(&app).await;
    let user = app.customer().await;
    let mut reader = connect(&app, &user).await;
    // A second socket of the same user whose client never reads: its server-side queue fills.
    let (_registration, _never_read) = app
        .hub
        .register(user.id, "stalled-session".to_owned(), false)
        .expect("admitted");
    wait_for_sockets(&app, 2).await;
    let flood = server::ws::QUEUE_DEPTH + 4;
    let mut orders = Vec::new();
    for _ in 0..flood {
        orders.push(
            app.buy(&user, potion.id)
                .await
                .json::<Order>()
                .await
                .expect("json"),
        );
    }
    for (i, order) in orders.iter().enumerate() {
        let response = app
            .deliver(
                &format!("msg_flood_{i}"),
                &payment_event("payment.succeeded", order),
            )
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    // The reading socket receives every confirmation...
    for _ in 0..flood {
        assert!(
            next_message(&mut reader, Duration::from_secs(5))
                .await
                .is_some()
        );
    }
    // ...while the stalled one was dropped instead of buffering without bound.
    assert_eq!(app.hub.len(), 1, "the stalled socket is still registered");
}

#[tokio::test]
async fn postgres_only_a_purchase_on_one_replica_reaches_a_socket_on_another() {
    crate::helpers::require_postgres();
    let a = TestApp::spawn().await;
    let b = a.replica().await;
    let sword = a.item("Dragon Sword").create().await;
    let user = a.customer().await;
    let mut socket_on_b = connect(&b, &user).await;
    wait_for_sockets(&b, 1).await;
    let order: Order = a.buy(&user, sword.id).await.json().await.expect("json");
    match next_message(&mut socket_on_b, Duration::from_secs(10)).await {
        Some(LiveMessage::PurchaseSuccess { order_id, .. }) => assert_eq!(order_id, order.order_id),
        other => panic!("expected the confirmation on replica B, got {other:?}"),
    }
    a.wait_for(&user, order.order_id, OrderStatus::Paid).await;
}

/// A Redis of this test's own, so it can be restarted without disturbing other tests.
struct PrivateRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    /// Starts `redis-server` on `port` and waits until it accepts connections.
    async fn start(port: u16) -> Option<Self> {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let redis = Self {
            port,
            child: Some(child),
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Some(redis)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `/readyz` until its status is `wanted`.
async fn wait_for_readiness(app: &TestApp, wanted: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ready: serde_json::Value = json_of(app.get("/readyz")).await;
        if ready["status"] == wanted {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "readiness stayed {}, wanted {wanted}",
            ready["status"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Publishes probes on the live channel until one comes back through Redis, which shows the
/// store's subscriber is subscribed again. A probe closes the sockets of a user who does not
/// exist: nobody's.
async fn wait_for_live_channel(app: &TestApp) {
    let cache = app.store.cache();
    let mut bus = cache.subscribe();
    let probe = serde_json::to_string(&store::live::Envelope::SessionRevoked {
        user_id: uuid::Uuid::new_v4(),
        session_id: None,
    })
    .expect("json");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        // A publish may fail while the connection is still coming back; the next one is tried.
        let _ = cache
            .publish(store::cache::channels::LIVE, probe.clone())
            .await;
        let echoed = tokio::time::timeout(Duration::from_millis(200), async {
            loop {
                match bus.recv().await {
                    Ok(message) if message.payload == probe => return true,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return false,
                }
            }
        })
        .await;
        if matches!(echoed, Ok(true)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the live channel did not come back after the Redis restart"
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Production mode: the Redis connection comes back by itself after Redis restarts, and live
/// notifications flow again (the subscriber re-subscribes).
#[tokio::test]
async fn postgres_only_live_delivery_survives_a_redis_restart() {
    crate::helpers::require_postgres();
    let port = free_port();
    let mut redis = PrivateRedis::start(port)
        .await
        .expect("redis-server is installed in production-mode runs");
    let mut storage = crate::helpers::Storage::fresh().await;
    storage.redis_url = Some(format!("redis://127.0.0.1:{}", redis.port));
    let app = TestApp::spawn_on(storage, silent_provider(), |_| {}).await;
    let potion = potion(&app).await;
    let user = app.customer().await;
    let mut socket = connect(&app, &user).await;
    wait_for_sockets(&app, 1).await;

    let first: Order = app.buy(&user, potion.id).await.json().await.expect("json");
    app.deliver("msg_before", &payment_event("payment.succeeded", &first))
        .await;
    assert!(
        next_message(&mut socket, Duration::from_secs(5))
            .await
            .is_some()
    );

    redis.stop();
    wait_for_readiness(&app, "degraded").await;
    let _redis = PrivateRedis::start(port).await.expect("restart");

    // Wait for the store to reconnect and re-subscribe, then a new payment reaches the socket.
    wait_for_readiness(&app, "ok").await;
    wait_for_live_channel(&app).await;
    let second: Order = app.buy(&user, potion.id).await.json().await.expect("json");
    app.deliver("msg_after", &payment_event("payment.succeeded", &second))
        .await;
    match next_message(&mut socket, Duration::from_secs(10)).await {
        Some(LiveMessage::PurchaseSuccess { order_id, .. }) => {
            assert_eq!(order_id, second.order_id)
        }
        other => panic!("expected the confirmation after the Redis restart, got {other:?}"),
    }
}
