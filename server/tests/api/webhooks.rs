use std::time::Duration;

use api_types::{Item, Order, OrderStatus};
use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use webhooks::SigningSecret;

use crate::helpers::{TestApp, TestUser, error_code, payment_event, silent_provider};

/// A $999.99 item to buy.
async fn sword(app: &TestApp) -> Item {
    app.item("Dragon Sword").price_cents(99999).create().await
}

/// An app whose simulator stays quiet, a customer, and a pending order (for $999.99) to notify
/// about.
async fn pending_order(env: Vec<(&'static str, String)>) -> (TestApp, TestUser, Order) {
    let mut all = silent_provider();
    all.extend(env);
    let app = TestApp::spawn_with(all).await;
    let sword = sword(&app).await;
    let user = app.customer().await;
    let response = app.buy(&user, sword.id).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let order: Order = response.json().await.expect("json");
    (app, user, order)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn a_valid_signature_is_accepted() {
    let (app, user, order) = pending_order(vec![]).await;
    let response = app
        .deliver("msg_ok", &payment_event("payment.succeeded", &order))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Paid
    );
}

#[tokio::test]
async fn signature_failures_are_401_and_change_nothing() {
    let (app, user, order) = pending_order(vec![]).await;
    let body = serde_json::to_vec(&payment_event("payment.succeeded", &order)).expect("json");
    let other = SigningSecret::parse(&SigningSecret::generate()).expect("valid");
    let send = |headers: Vec<(&'static str, String)>, body: Vec<u8>| {
        let mut request = app
            .post("/api/webhooks/payment")
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        request.send()
    };
    let ts = now();
    let good_sig = app.secret.sign("msg_1", ts, &body);
    let headers = |id: &str, ts: i64, sig: String| {
        vec![
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", sig),
        ]
    };

    let mut tampered = body.clone();
    let last = tampered.len() - 2;
    tampered[last] = b' ';
    let pretty = serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&body).expect("json"))
        .expect("json");
    type Headers = Vec<(&'static str, String)>;
    let cases: Vec<(&str, Headers, Vec<u8>)> = vec![
        (
            "tampered body",
            headers("msg_1", ts, good_sig.clone()),
            tampered,
        ),
        (
            "re-serialised JSON",
            headers("msg_1", ts, good_sig.clone()),
            pretty,
        ),
        (
            "wrong secret",
            headers("msg_1", ts, other.sign("msg_1", ts, &body)),
            body.clone(),
        ),
        (
            "other id",
            headers("msg_2", ts, good_sig.clone()),
            body.clone(),
        ),
        (
            "stale",
            headers("msg_1", ts - 400, app.secret.sign("msg_1", ts - 400, &body)),
            body.clone(),
        ),
        (
            "future",
            headers("msg_1", ts + 400, app.secret.sign("msg_1", ts + 400, &body)),
            body.clone(),
        ),
        (
            "garbage timestamp",
            headers("msg_1", 0, good_sig.clone())
                .into_iter()
                .map(|(k, v)| {
                    if k == "webhook-timestamp" {
                        (k, "soon".to_owned())
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            body.clone(),
        ),
        (
            "no signature header",
            vec![
                ("webhook-id", "msg_1".to_owned()),
                ("webhook-timestamp", ts.to_string()),
            ],
            body.clone(),
        ),
        (
            "no id header",
            vec![
                ("webhook-timestamp", ts.to_string()),
                ("webhook-signature", good_sig.clone()),
            ],
            body.clone(),
        ),
        (
            "no timestamp header",
            vec![
                ("webhook-id", "msg_1".to_owned()),
                ("webhook-signature", good_sig.clone()),
            ],
            body.clone(),
        ),
        (
            "unsupported version",
            headers("msg_1", ts, good_sig.replacen("v1,", "v2,", 1)),
            body.clone(),
        ),
        (
            "not base64",
            headers("msg_1", ts, "v1,!!!".to_owned()),
            body.clone(),
        ),
    ];
    for (name, headers, body) in cases {
        let response = send(headers, body).await.expect("request");
        assert_eq!(
            error_code(response).await,
            (StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE".to_owned()),
            "{name}"
        );
    }
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Pending
    );
    assert!(
        app.store
            .payments()
            .events_for(order.order_id)
            .await
            .expect("events")
            .is_empty()
    );

    // Any one of several signatures may match.
    let several = format!(
        "v1,{} {good_sig}",
        base64::engine::general_purpose::STANDARD.encode([7u8; 32])
    );
    let response = send(headers("msg_1", ts, several), body.clone())
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn rotated_secrets_are_all_accepted() {
    let old = SigningSecret::generate();
    let new = SigningSecret::generate();
    let (app, user, order) = pending_order(vec![("WEBHOOK_SECRETS", format!("{new},{old}"))]).await;
    let old = SigningSecret::parse(&old).expect("valid");
    let raw = serde_json::to_vec(&payment_event("payment.succeeded", &order)).expect("json");
    let response = app.deliver_raw("msg_old", &raw, &old, now()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Paid
    );
}

#[tokio::test]
async fn the_same_event_fifty_times_at_once_is_applied_exactly_once() {
    let (app, user, order) = pending_order(vec![]).await;
    let event = payment_event("payment.succeeded", &order);
    let deliveries = (0..50).map(|_| app.deliver("msg_dup", &event));
    let responses = futures::future::join_all(deliveries).await;
    assert!(
        responses
            .iter()
            .all(|r| r.status() == StatusCode::NO_CONTENT),
        "{:?}",
        responses.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    let paid = app.order(&user, order.order_id).await;
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(paid.history.expect("history").len(), 2);
    let events = app
        .store
        .payments()
        .events_for(order.order_id)
        .await
        .expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].outcome, "applied");
    assert_eq!(
        app.store
            .orders()
            .library(user.id)
            .await
            .expect("library")
            .len(),
        1
    );
}

#[tokio::test]
async fn different_events_for_one_payment_grant_once() {
    let (app, user, order) = pending_order(vec![]).await;
    let event = payment_event("payment.succeeded", &order);
    let deliveries = (0..10).map(|i| {
        let event = event.clone();
        let app = &app;
        async move { app.deliver(&format!("msg_distinct_{i}"), &event).await }
    });
    for response in futures::future::join_all(deliveries).await {
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let events = app
        .store
        .payments()
        .events_for(order.order_id)
        .await
        .expect("events");
    assert_eq!(events.iter().filter(|e| e.outcome == "applied").count(), 1);
    assert_eq!(events.iter().filter(|e| e.outcome == "no_op").count(), 9);
    assert_eq!(
        app.order(&user, order.order_id)
            .await
            .history
            .expect("history")
            .len(),
        2
    );
}

#[tokio::test]
async fn amount_or_currency_mismatches_are_rejected_and_recorded() {
    let (app, user, order) = pending_order(vec![]).await;
    let mut wrong_amount = payment_event("payment.succeeded", &order);
    wrong_amount["data"]["amount_cents"] = json!(1);
    let response = app.deliver("msg_amount", &wrong_amount).await;
    assert_eq!(
        error_code(response).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "AMOUNT_MISMATCH".to_owned()
        )
    );
    let mut wrong_currency = payment_event("payment.succeeded", &order);
    wrong_currency["data"]["currency"] = json!("EUR");
    let response = app.deliver("msg_currency", &wrong_currency).await;
    assert_eq!(error_code(response).await.1, "AMOUNT_MISMATCH");
    // A retry of a rejected event gets the same answer.
    let retry = app.deliver("msg_amount", &wrong_amount).await;
    assert_eq!(error_code(retry).await.1, "AMOUNT_MISMATCH");

    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Pending
    );
    let events = app
        .store
        .payments()
        .events_for(order.order_id)
        .await
        .expect("events");
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.outcome == "amount_mismatch"));
}

#[tokio::test]
async fn unknown_orders_are_rejected_and_recorded() {
    let (app, _, order) = pending_order(vec![]).await;
    let mut event = payment_event("payment.succeeded", &order);
    let ghost = uuid::Uuid::new_v4();
    event["data"]["order_id"] = json!(ghost);
    let response = app.deliver("msg_ghost", &event).await;
    assert_eq!(
        error_code(response).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "UNKNOWN_ORDER".to_owned())
    );
    let events = app
        .store
        .payments()
        .events_for(ghost)
        .await
        .expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].outcome, "unknown_order");
}

#[tokio::test]
async fn a_refund_that_overtakes_its_payment_is_applied_after_it() {
    let (app, user, order) = pending_order(vec![]).await;
    // A provider's redelivery carries the very same body as the first attempt.
    let refunded = payment_event("payment.refunded", &order);
    let succeeded = payment_event("payment.succeeded", &order);
    let refund = app.deliver("msg_refund", &refunded).await;
    assert_eq!(refund.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Pending
    );

    let payment = app.deliver("msg_payment", &succeeded).await;
    assert_eq!(payment.status(), StatusCode::NO_CONTENT);
    let done = app.order(&user, order.order_id).await;
    assert_eq!(done.status, OrderStatus::Refunded);
    let steps: Vec<OrderStatus> = done
        .history
        .expect("history")
        .iter()
        .map(|h| h.to)
        .collect();
    assert_eq!(
        steps,
        vec![
            OrderStatus::Pending,
            OrderStatus::Paid,
            OrderStatus::Refunded
        ]
    );
    assert!(
        app.store
            .orders()
            .library(user.id)
            .await
            .expect("library")
            .is_empty()
    );
    // Replays of either change nothing.
    assert_eq!(
        app.deliver("msg_refund", &refunded).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.deliver("msg_payment", &succeeded).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.order(&user, order.order_id)
            .await
            .history
            .expect("history")
            .len(),
        3
    );
}

#[tokio::test]
async fn failures_and_stale_notifications() {
    let (app, user, order) = pending_order(vec![]).await;
    assert_eq!(
        app.deliver("msg_fail", &payment_event("payment.failed", &order))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Failed
    );
    // A payment for a failed order is recorded for an operator, not granted.
    assert_eq!(
        app.deliver("msg_late", &payment_event("payment.succeeded", &order))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Failed
    );
    let outcomes: Vec<String> = app
        .store
        .payments()
        .events_for(order.order_id)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes, vec!["applied", "late_payment"]);

    let (app, user, order) = pending_order(vec![]).await;
    app.deliver("msg_pay", &payment_event("payment.succeeded", &order))
        .await;
    assert_eq!(
        app.deliver("msg_fail_late", &payment_event("payment.failed", &order))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Paid
    );
}

#[tokio::test]
async fn unknown_types_are_acknowledged_and_malformed_events_rejected() {
    let (app, user, order) = pending_order(vec![]).await;
    let other = json!({ "type": "customer.updated", "data": { "anything": true } });
    assert_eq!(
        app.deliver("msg_other", &other).await.status(),
        StatusCode::NO_CONTENT
    );
    let malformed = json!({ "type": "payment.succeeded", "data": { "order_id": order.order_id } });
    let response = app.deliver("msg_bad", &malformed).await;
    assert_eq!(error_code(response).await.0, StatusCode::BAD_REQUEST);
    let not_json = app
        .deliver_raw("msg_text", b"hello", &app.secret, now())
        .await;
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Pending
    );
}

fn xsolla_body(kind: &str, order: &Order, transaction: u64, amount: f64) -> String {
    json!({
        "notification_type": kind,
        "user": { "id": order.user_id },
        "transaction": { "id": transaction, "external_id": order.order_id },
        "purchase": { "total": { "amount": amount, "currency": order.currency } },
    })
    .to_string()
}

async fn xsolla(app: &TestApp, body: &str, secret: &str) -> reqwest::Response {
    app.post("/api/webhooks/payment")
        .header("content-type", "application/json")
        .header(
            "authorization",
            webhooks::xsolla::sign(body.as_bytes(), secret),
        )
        .body(body.to_owned())
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn xsolla_signatures_are_refused_unless_enabled() {
    let (app, _, order) = pending_order(vec![]).await;
    let response = xsolla(&app, &xsolla_body("payment", &order, 1, 999.99), "anything").await;
    assert_eq!(
        error_code(response).await,
        (StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE".to_owned())
    );
}

#[tokio::test]
async fn xsolla_style_notifications_pay_and_refund() {
    let (app, user, order) =
        pending_order(vec![("XSOLLA_WEBHOOK_SECRET", "xsolla-secret".to_owned())]).await;
    let payment = xsolla_body("payment", &order, 4242, 999.99);
    let bad = xsolla(&app, &payment, "wrong-secret").await;
    assert_eq!(
        error_code(bad).await,
        (StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE".to_owned())
    );
    let mismatch = xsolla(
        &app,
        &xsolla_body("payment", &order, 4243, 9.99),
        "xsolla-secret",
    )
    .await;
    assert_eq!(error_code(mismatch).await.1, "AMOUNT_MISMATCH");

    assert_eq!(
        xsolla(&app, &payment, "xsolla-secret").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        xsolla(&app, &payment, "xsolla-secret").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Paid
    );
    let refund = xsolla_body("refund", &order, 4242, 999.99);
    assert_eq!(
        xsolla(&app, &refund, "xsolla-secret").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Refunded
    );
    let outcomes: Vec<String> = app
        .store
        .payments()
        .events_for(order.order_id)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes, vec!["amount_mismatch", "applied", "applied"]);
}

#[tokio::test]
async fn simulator_duplicates_and_reordering_never_grant_twice() {
    let app = TestApp::spawn_with(vec![("SIM_DUPLICATES", "4".to_owned())]).await;
    let item = sword(&app).await;
    let user = app.customer().await;
    let order: Order = app.buy(&user, item.id).await.json().await.expect("json");
    app.wait_for(&user, order.order_id, OrderStatus::Paid).await;
    // The four copies race the original: once all are answered, nothing else will arrive.
    wait_for_metric(
        &app,
        "gamestore_webhooks_total{scheme=\"standard\",outcome=\"duplicate\"} 4",
    )
    .await;
    let paid = app.order(&user, order.order_id).await;
    assert_eq!(paid.history.expect("history").len(), 2);
    assert_eq!(
        app.store
            .payments()
            .events_for(order.order_id)
            .await
            .expect("events")
            .len(),
        1
    );

    let app = TestApp::spawn_with(vec![
        ("SIM_REFUND_RATE", "1".to_owned()),
        ("SIM_OUT_OF_ORDER", "true".to_owned()),
    ])
    .await;
    let item = sword(&app).await;
    let user = app.customer().await;
    let order: Order = app.buy(&user, item.id).await.json().await.expect("json");
    let refunded = app
        .wait_for(&user, order.order_id, OrderStatus::Refunded)
        .await;
    let steps: Vec<OrderStatus> = refunded
        .history
        .expect("history")
        .iter()
        .map(|h| h.to)
        .collect();
    assert_eq!(
        steps,
        vec![
            OrderStatus::Pending,
            OrderStatus::Paid,
            OrderStatus::Refunded
        ]
    );

    let app = TestApp::spawn_with(vec![("SIM_FAILURE_RATE", "1".to_owned())]).await;
    let item = sword(&app).await;
    let user = app.customer().await;
    let order: Order = app.buy(&user, item.id).await.json().await.expect("json");
    app.wait_for(&user, order.order_id, OrderStatus::Failed)
        .await;
    let me = app
        .as_user(&user, Method::GET, "/api/users/me")
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), StatusCode::OK);
}

/// Polls the metrics listener until it shows `line` (a metric with its labels and value).
async fn wait_for_metric(app: &TestApp, line: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let text = app.scrape_metrics().await;
        if text.lines().any(|l| l == line) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "metrics never showed {line}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
