use std::time::Duration;

use api_types::{Item, Order, OrderStatus};
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, json_of, payment_event, silent_provider};

async fn placed(response: reqwest::Response) -> Order {
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json().await.expect("order json")
}

/// An item that is owned once bought.
async fn sword(app: &TestApp) -> Item {
    app.item("Dragon Sword")
        .price_cents(99999)
        .tags(&["weapon"])
        .create()
        .await
}

/// An item that can be bought again and again.
async fn potion(app: &TestApp) -> Item {
    app.item("Health Potion")
        .price_cents(4999)
        .tags(&["potion"])
        .consumable()
        .create()
        .await
}

/// A cutoff after every order placed so far: what the expiry sweep uses once they are stale.
fn past_every_order() -> DateTime<Utc> {
    Utc::now() + chrono::Duration::seconds(1)
}

/// Waits until the clock has moved a millisecond past `t`, so that what is stamped next
/// sorts after what was stamped at `t`.
async fn tick_past(t: DateTime<Utc>) {
    while Utc::now() <= t + chrono::Duration::milliseconds(1) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn a_purchase_is_confirmed_by_the_simulator() {
    let app = TestApp::spawn().await;
    let sword = sword(&app).await;
    let user = app.customer().await;
    let response = app.buy(&user, sword.id).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["amount_cents"], 99999);
    assert_eq!(body["currency"], "USD");
    assert_eq!(body["user_id"], user.id.to_string());
    assert_eq!(body["item"]["name"], "Dragon Sword");
    assert!(body["created_at"].is_string());
    let order_id = body["order_id"]
        .as_str()
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .expect("order_id");

    let paid = app.wait_for(&user, order_id, OrderStatus::Paid).await;
    assert!(
        paid.provider_transaction_id
            .as_deref()
            .is_some_and(|t| t.starts_with("tx_"))
    );
    let history: Vec<(Option<OrderStatus>, OrderStatus)> = paid
        .history
        .expect("history")
        .iter()
        .map(|h| (h.from, h.to))
        .collect();
    assert_eq!(
        history,
        vec![
            (None, OrderStatus::Pending),
            (Some(OrderStatus::Pending), OrderStatus::Paid)
        ]
    );

    let library: Vec<Value> = json_of(app.as_user(&user, Method::GET, "/api/purchases")).await;
    assert_eq!(library.len(), 1);
    let owned = app.store.orders().library(user.id).await.expect("library");
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].item.sku, sword.sku);
}

#[tokio::test]
async fn the_payment_intent_follows_the_provider_contract() {
    // A provider that records what it receives and accepts it.
    use axum::routing::post;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let provider = axum::Router::new().route(
        "/payment-intents",
        post(move |axum::Json(body): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                (
                    StatusCode::ACCEPTED,
                    axum::Json(json!({ "transaction_id": "tx_x", "status": "accepted" })),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let provider_url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, provider).await });

    let app = TestApp::spawn_with(vec![("PAYMENT_PROVIDER_URL", provider_url)]).await;
    let sword = sword(&app).await;
    let user = app.customer().await;
    let order = placed(app.buy(&user, sword.id).await).await;
    let intent = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("intent sent")
        .expect("body");
    assert_eq!(intent["order_id"], order.order_id.to_string());
    assert_eq!(intent["user_id"], user.id.to_string());
    assert_eq!(intent["amount_cents"], 99999);
    assert_eq!(intent["currency"], "USD");
    assert_eq!(
        intent["items"],
        json!([{ "item_id": sword.id, "sku": sword.sku, "name": "Dragon Sword", "quantity": 1, "amount_cents": 99999 }])
    );
    assert_eq!(intent["callback_url"], app.url("/api/webhooks/payment"));
}

#[tokio::test]
async fn the_stand_alone_simulator_completes_the_flow() {
    // Run the simulator as its own HTTP service, signing with the store's secret.
    let secret_text = webhooks::SigningSecret::generate();
    let secret = webhooks::SigningSecret::parse(&secret_text).expect("valid");
    let mut config = paysim::Config::new(secret);
    config.delay = Duration::from_millis(50);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(
        async move { axum::serve(listener, paysim::Simulator::new(config).router()).await },
    );
    let app = TestApp::spawn_with(vec![
        ("PAYMENT_PROVIDER_URL", url),
        ("WEBHOOK_SECRETS", secret_text),
    ])
    .await;
    let shield = app.item("Magic Shield").create().await;
    let user = app.customer().await;
    let order = placed(app.buy(&user, shield.id).await).await;
    app.wait_for(&user, order.order_id, OrderStatus::Paid).await;
}

#[tokio::test]
async fn an_unreachable_provider_fails_the_order_with_a_reason() {
    let app = TestApp::spawn_with(vec![(
        "PAYMENT_PROVIDER_URL",
        "http://127.0.0.1:1/".to_owned(),
    )])
    .await;
    let sword = sword(&app).await;
    let user = app.customer().await;
    let response = app.buy(&user, sword.id).await;
    assert_eq!(
        error_code(response).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "PAYMENT_PROVIDER_UNAVAILABLE".to_owned()
        )
    );
    let orders = app.store.orders().list_for(user.id).await.expect("orders");
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status, OrderStatus::Failed);
    assert!(
        orders[0]
            .failure_reason
            .as_deref()
            .is_some_and(|r| r.contains("provider"))
    );
}

#[tokio::test]
async fn purchases_need_a_session_and_valid_input() {
    let app = TestApp::spawn().await;
    let sword = sword(&app).await;
    let potion = potion(&app).await;
    let anonymous = app
        .post("/api/purchases")
        .json(&json!({ "item_id": sword.id }))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let user = app.customer().await;
    let post = |body: Value| {
        app.as_user(&user, Method::POST, "/api/purchases")
            .json(&body)
            .send()
    };
    assert_eq!(
        error_code(post(json!({ "item_id": 99999 })).await.expect("request"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(json!({ "item_id": "one" }))
            .await
            .expect("request")
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        post(json!({})).await.expect("request").status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let someone_else = post(json!({ "item_id": sword.id, "user_id": uuid::Uuid::new_v4() }))
        .await
        .expect("request");
    assert_eq!(error_code(someone_else).await.0, StatusCode::FORBIDDEN);
    let themselves = post(json!({ "item_id": potion.id, "user_id": user.id }))
        .await
        .expect("request");
    assert_eq!(themselves.status(), StatusCode::ACCEPTED);
    let broken = app
        .as_user(&user, Method::POST, "/api/purchases")
        .header("content-type", "application/json")
        .body("{\"item_id\":")
        .send()
        .await
        .expect("request");
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    let bad_key = app
        .as_user(&user, Method::POST, "/api/purchases")
        .header("Idempotency-Key", "has spaces in it")
        .json(&json!({ "item_id": sword.id }))
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_code(bad_key).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Nothing half-written: one order, from the valid request.
    assert_eq!(
        app.store
            .orders()
            .list_for(user.id)
            .await
            .expect("orders")
            .len(),
        1
    );
}

#[tokio::test]
async fn archived_items_cannot_be_bought_but_stay_in_past_orders() {
    let app = TestApp::spawn().await;
    let boots = app.item("Speed Boots").create().await;
    let user = app.customer().await;
    let order = placed(app.buy(&user, boots.id).await).await;
    let admin = app.admin().await;
    app.as_user(&admin, Method::DELETE, &format!("/api/items/{}", boots.id))
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_code(app.buy(&user, boots.id).await).await,
        (StatusCode::CONFLICT, "ITEM_UNAVAILABLE".to_owned())
    );
    assert_eq!(
        app.order(&user, order.order_id).await.item.name,
        "Speed Boots"
    );
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_order() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = potion(&app).await;
    let elixir = app.item("Phoenix Elixir").consumable().create().await;
    let user = app.customer().await;
    let send = |item: i64, key: &str| {
        app.as_user(&user, Method::POST, "/api/purchases")
            .header("Idempotency-Key", key)
            .json(&json!({ "item_id": item }))
            .send()
    };
    let first = placed(send(potion.id, "key-1").await.expect("request")).await;
    let again = send(potion.id, "key-1").await.expect("request");
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let again = placed(again).await;
    assert_eq!(first.order_id, again.order_id);
    let other_body = send(elixir.id, "key-1").await.expect("request");
    assert_eq!(
        error_code(other_body).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_REUSED".to_owned()
        )
    );
    assert_eq!(
        app.store
            .orders()
            .list_for(user.id)
            .await
            .expect("orders")
            .len(),
        1
    );
    // Keys are per user: another shopper's identical key is a different order.
    let other = app.customer().await;
    let theirs = placed(
        app.as_user(&other, Method::POST, "/api/purchases")
            .header("Idempotency-Key", "key-1")
            .json(&json!({ "item_id": potion.id }))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_ne!(theirs.order_id, first.order_id);
}

#[tokio::test]
async fn concurrent_identical_requests_create_one_order() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = potion(&app).await;
    let user = app.customer().await;
    let requests = (0..12).map(|_| {
        app.as_user(&user, Method::POST, "/api/purchases")
            .header("Idempotency-Key", "same-key")
            .json(&json!({ "item_id": potion.id }))
            .send()
    });
    let responses = futures::future::join_all(requests).await;
    let mut ids = std::collections::HashSet::new();
    for response in responses {
        ids.insert(placed(response.expect("request")).await.order_id);
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(
        app.store
            .orders()
            .list_for(user.id)
            .await
            .expect("orders")
            .len(),
        1
    );
}

#[tokio::test]
async fn owned_items_cannot_be_bought_twice_but_consumables_can() {
    let app = TestApp::spawn().await;
    let sword = sword(&app).await;
    let potion = potion(&app).await;
    let user = app.customer().await;
    let sword_order = placed(app.buy(&user, sword.id).await).await;
    app.wait_for(&user, sword_order.order_id, OrderStatus::Paid)
        .await;
    assert_eq!(
        error_code(app.buy(&user, sword.id).await).await,
        (StatusCode::CONFLICT, "ALREADY_OWNED".to_owned())
    );

    for _ in 0..2 {
        let potion_order = placed(app.buy(&user, potion.id).await).await;
        app.wait_for(&user, potion_order.order_id, OrderStatus::Paid)
            .await;
    }
    let library = app.store.orders().library(user.id).await.expect("library");
    let potion = library
        .iter()
        .find(|e| e.item.sku == potion.sku)
        .expect("potion owned");
    assert_eq!(potion.count, 2);
    assert_eq!(library.len(), 2);
}

#[tokio::test]
async fn orders_are_private_and_newest_first() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = potion(&app).await;
    let elixir = app.item("Phoenix Elixir").consumable().create().await;
    let alice = app.customer().await;
    let bob = app.customer().await;
    let first = placed(app.buy(&alice, potion.id).await).await;
    tick_past(first.created_at).await;
    let second = placed(app.buy(&alice, elixir.id).await).await;

    let mine: Vec<Order> = json_of(app.as_user(&alice, Method::GET, "/api/purchases")).await;
    assert_eq!(
        mine.iter().map(|o| o.order_id).collect::<Vec<_>>(),
        vec![second.order_id, first.order_id]
    );
    let own_query = app
        .as_user(
            &alice,
            Method::GET,
            &format!("/api/purchases?user_id={}", alice.id),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(own_query.status(), StatusCode::OK);

    let snooping = app
        .as_user(
            &bob,
            Method::GET,
            &format!("/api/purchases?user_id={}", alice.id),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(error_code(snooping).await.0, StatusCode::FORBIDDEN);
    let not_theirs = app
        .as_user(
            &bob,
            Method::GET,
            &format!("/api/purchases/{}", first.order_id),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(not_theirs.status(), StatusCode::NOT_FOUND);
    let garbage = app
        .as_user(&bob, Method::GET, "/api/purchases/not-a-uuid")
        .send()
        .await
        .expect("request");
    assert_eq!(garbage.status(), StatusCode::NOT_FOUND);
    let bad_filter = app
        .as_user(&bob, Method::GET, "/api/purchases?user_id=nope")
        .send()
        .await
        .expect("request");
    assert_eq!(bad_filter.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let admin = app.admin().await;
    let as_admin = app
        .as_user(
            &admin,
            Method::GET,
            &format!("/api/purchases?user_id={}", alice.id),
        )
        .send()
        .await
        .expect("request");
    let theirs: Vec<Order> = as_admin.json().await.expect("json");
    assert_eq!(theirs.len(), 2);
    let one = app
        .as_user(
            &admin,
            Method::GET,
            &format!("/api/purchases/{}", first.order_id),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(one.status(), StatusCode::OK);
}

#[tokio::test]
async fn stale_pending_orders_expire_and_late_payments_are_recorded() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = potion(&app).await;
    let user = app.customer().await;
    let order = placed(app.buy(&user, potion.id).await).await;
    let orders = app.store.orders();
    assert_eq!(orders.expire_stale().await.expect("sweep"), 0);
    let cutoff = past_every_order();
    assert_eq!(orders.expire_placed_before(cutoff).await.expect("sweep"), 1);
    assert_eq!(orders.expire_placed_before(cutoff).await.expect("sweep"), 0);
    let expired = app.order(&user, order.order_id).await;
    assert_eq!(expired.status, OrderStatus::Expired);

    let late = app
        .deliver("msg_late", &payment_event("payment.succeeded", &order))
        .await;
    assert!(late.status().is_success());
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Expired
    );
    let events = app
        .store
        .payments()
        .events_for(order.order_id)
        .await
        .expect("events");
    assert_eq!(events[0].outcome, "late_payment");
}

#[tokio::test]
async fn webhooks_racing_the_expiry_sweep_never_do_both() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = potion(&app).await;
    let user = app.customer().await;
    let mut orders = Vec::new();
    for _ in 0..8 {
        orders.push(placed(app.buy(&user, potion.id).await).await);
    }
    let cutoff = past_every_order();
    let deliveries = orders.iter().enumerate().map(|(i, o)| {
        let body = payment_event("payment.succeeded", o);
        let app = &app;
        async move { app.deliver(&format!("msg_race_{i}"), &body).await }
    });
    let sweeper = app.store.orders();
    let (responses, swept) = tokio::join!(
        futures::future::join_all(deliveries),
        sweeper.expire_placed_before(cutoff)
    );
    assert!(responses.iter().all(|r| r.status().is_success()));
    let swept = swept.expect("sweep");
    let mut paid = 0;
    for order in &orders {
        let current = app.order(&user, order.order_id).await;
        let events = app
            .store
            .payments()
            .events_for(order.order_id)
            .await
            .expect("events");
        let history = current.history.clone().expect("history");
        match current.status {
            OrderStatus::Paid => {
                paid += 1;
                assert_eq!(events[0].outcome, "applied");
            }
            OrderStatus::Expired => assert_eq!(events[0].outcome, "late_payment"),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(history.len(), 2, "exactly one transition out of pending");
    }
    assert_eq!(paid + swept, orders.len());
}

#[tokio::test]
async fn operators_refund_paid_orders_through_the_provider() {
    let app = TestApp::spawn().await;
    let sword = sword(&app).await;
    let user = app.customer().await;
    let order = placed(app.buy(&user, sword.id).await).await;
    app.wait_for(&user, order.order_id, OrderStatus::Paid).await;
    let path = format!("/api/purchases/{}/refund", order.order_id);

    let denied = app
        .as_user(&user, Method::POST, &path)
        .send()
        .await
        .expect("request");
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let admin = app.admin().await;
    let refunded = app
        .as_user(&admin, Method::POST, &path)
        .json(&json!({ "reason": "customer asked" }))
        .send()
        .await
        .expect("request");
    assert_eq!(refunded.status(), StatusCode::OK);
    let asked: Order = refunded.json().await.expect("json");
    assert_eq!(asked.order_id, order.order_id);
    // The money goes back through the provider; the order moves when its webhook arrives.
    let refunded = app
        .wait_for(&user, order.order_id, OrderStatus::Refunded)
        .await;
    assert_eq!(refunded.refunded_cents, refunded.amount_cents);
    assert!(
        refunded
            .history
            .expect("history")
            .last()
            .and_then(|h| h.reason.clone())
            .is_some_and(|r| r.contains("customer asked"))
    );
    let twice = app
        .as_user(&admin, Method::POST, &path)
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_code(twice).await,
        (StatusCode::CONFLICT, "ORDER_NOT_REFUNDABLE".to_owned())
    );
    assert!(
        app.store
            .orders()
            .library(user.id)
            .await
            .expect("library")
            .is_empty()
    );

    let listed: Vec<Value> =
        json_of(app.as_user(&admin, Method::GET, "/api/admin/orders?status=refunded")).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["username"], user.username);
    assert_eq!(listed[0]["events"][0]["outcome"], "applied");
    let bad = app
        .as_user(&admin, Method::GET, "/api/admin/orders?status=lost")
        .send()
        .await
        .expect("request");
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
