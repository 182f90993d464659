//! The JSON bodies clients are built against, as insta snapshots (`snapshots/`): renaming,
//! retyping, adding or dropping a field shows up as a snapshot to review. Ids, timestamps and
//! other values that differ per run are masked, each after checking it is what it claims to be.

use api_types::{Item, Order};
use insta::internals::{Content, ContentPath, Redaction};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, json_of, payment_event, silent_provider};

/// Masks a value as `mask` once `valid` accepts it; `null` stays `null`, so a field that turns
/// optional shows in the snapshot.
fn masked(mask: &'static str, valid: fn(&Content) -> bool) -> Redaction {
    insta::dynamic_redaction(move |value: Content, path: ContentPath<'_>| {
        if value.is_nil() {
            return value;
        }
        assert!(valid(&value), "{path} is not a {mask}: {value:?}");
        Content::from(mask)
    })
}

fn uuid() -> Redaction {
    masked("[uuid]", |v| {
        v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())
    })
}

fn timestamp() -> Redaction {
    masked("[timestamp]", |v| {
        v.as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
    })
}

/// A database id: a positive integer.
fn id() -> Redaction {
    masked("[id]", |v| v.as_i64().is_some_and(|n| n > 0))
}

fn transaction_id() -> Redaction {
    masked("[transaction id]", |v| {
        v.as_str().is_some_and(|s| s.starts_with("tx_"))
    })
}

/// A username made unique by `TestApp::customer`.
fn username() -> Redaction {
    masked("[username]", |v| {
        v.as_str().is_some_and(|s| s.starts_with("user-"))
    })
}

/// A webhook body as received, kept verbatim for operators.
fn payload() -> Redaction {
    masked("[payload]", |v| {
        v.as_str()
            .is_some_and(|s| serde_json::from_str::<Value>(s).is_ok())
    })
}

/// The masks for an order found at `at` (`""` for the body itself).
fn redact_order(settings: &mut insta::Settings, at: &str) {
    for (field, redaction) in [
        ("order_id", uuid as fn() -> Redaction),
        ("user_id", uuid),
        ("item_id", id),
        ("item.id", id),
        ("lines[].item_id", id),
        ("lines[].line_id", id),
        ("provider_transaction_id", transaction_id),
        ("created_at", timestamp),
        ("updated_at", timestamp),
        ("timestamp", timestamp),
        ("history[].at", timestamp),
        ("refundable_until", timestamp),
    ] {
        settings.add_redaction(&format!("{at}.{field}"), redaction());
    }
}

fn order_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    redact_order(&mut settings, "");
    settings
}

async fn moon_lance(app: &TestApp) -> Item {
    app.item("Moon Lance")
        .sku("moon-lance")
        .description("Glows under a full moon.")
        .price_cents(12345)
        .tags(&["weapon", "moon"])
        .create()
        .await
}

/// A customer's order for the Moon Lance, paid through a webhook.
async fn paid_order(app: &TestApp) -> (crate::helpers::TestUser, Order) {
    let lance = moon_lance(app).await;
    let user = app.customer().await;
    let response = app.buy(&user, lance.id).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let order: Order = response.json().await.expect("order");
    let paid = app
        .deliver(
            "msg_contract_paid",
            &payment_event("payment.succeeded", &order),
        )
        .await;
    assert_eq!(paid.status(), StatusCode::NO_CONTENT);
    (user, order)
}

#[tokio::test]
async fn an_item() {
    let app = TestApp::spawn().await;
    let lance = moon_lance(&app).await;
    let item: Value = json_of(app.get(&format!("/api/items/{}", lance.id))).await;
    insta::assert_json_snapshot!(item, {
        ".id" => id(),
        ".created_at" => timestamp(),
        ".updated_at" => timestamp(),
    });
}

#[tokio::test]
async fn a_registered_user() {
    let app = TestApp::spawn().await;
    let response = app.register("Contract_User", "correct horse battery").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let user: Value = response.json().await.expect("json");
    insta::assert_json_snapshot!(user, {
        ".id" => uuid(),
        ".user_id" => uuid(),
        ".created_at" => timestamp(),
    });
}

#[tokio::test]
async fn the_login_body() {
    let app = TestApp::spawn().await;
    app.register("contract-user", "correct horse battery").await;
    let response = app.login("contract-user", "correct horse battery").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    insta::assert_json_snapshot!(body, {
        ".id" => uuid(),
        ".user_id" => uuid(),
    });
}

#[tokio::test]
async fn a_placed_order() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let lance = moon_lance(&app).await;
    let user = app.customer().await;
    let response = app.buy(&user, lance.id).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let order: Value = response.json().await.expect("json");
    order_settings().bind(|| insta::assert_json_snapshot!(order));
}

#[tokio::test]
async fn a_paid_order_with_its_history() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let (user, order) = paid_order(&app).await;
    let order: Value = json_of(app.as_user(
        &user,
        Method::GET,
        &format!("/api/purchases/{}", order.order_id),
    ))
    .await;
    order_settings().bind(|| insta::assert_json_snapshot!(order));
}

#[tokio::test]
async fn an_order_as_operators_see_it() {
    let app = TestApp::spawn_with(silent_provider()).await;
    paid_order(&app).await;
    let admin = app.admin().await;
    let listed: Vec<Value> = json_of(app.as_user(&admin, Method::GET, "/api/admin/orders")).await;
    assert_eq!(listed.len(), 1);
    let mut settings = insta::Settings::clone_current();
    redact_order(&mut settings, ".order");
    settings.add_redaction(".username", username());
    settings.add_redaction(".events[].order_id", uuid());
    settings.add_redaction(".events[].payload", payload());
    settings.add_redaction(".events[].received_at", timestamp());
    settings.add_redaction(".events[].processed_at", timestamp());
    settings.bind(|| insta::assert_json_snapshot!(listed[0]));
}

#[tokio::test]
async fn a_validation_error_names_the_field() {
    let app = TestApp::spawn().await;
    let response = app.register("ab", "correct horse battery").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.expect("json");
    insta::assert_json_snapshot!(body);
}
