//! Promotions: promo codes (with the race for a single use), timed sales, bundles that price
//! what you do not own, and wishlists with live sale alerts; in both storage modes.

use std::time::Duration;

use api_types::{Cart, Item, LiveMessage, Order, OrderStatus};
use chrono::Utc;
use futures::StreamExt as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _};

use crate::helpers::{TestApp, TestUser, error_code, json_of, payment_event, silent_provider};

async fn create_code(app: &TestApp, body: Value) -> reqwest::Response {
    let admin = app.admin().await;
    app.as_user(&admin, Method::POST, "/api/admin/promo-codes")
        .json(&body)
        .send()
        .await
        .expect("request")
}

async fn put_line(app: &TestApp, user: &TestUser, item_id: i64, quantity: i64) {
    let response = app
        .as_user(user, Method::PUT, &format!("/api/cart/lines/{item_id}"))
        .json(&json!({ "quantity": quantity }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}

async fn apply(app: &TestApp, user: &TestUser, code: &str) -> reqwest::Response {
    app.as_user(user, Method::POST, "/api/cart/promo")
        .json(&json!({ "code": code }))
        .send()
        .await
        .expect("request")
}

async fn patch_item(app: &TestApp, id: i64, patch: Value) -> reqwest::Response {
    let admin = app.admin().await;
    app.as_user(&admin, Method::PATCH, &format!("/api/items/{id}"))
        .json(&patch)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn operators_create_list_and_stop_promo_codes() {
    let app = TestApp::spawn().await;
    let created = create_code(
        &app,
        json!({ "code": "winter15", "percent_off": 15, "max_uses": 3 }),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.expect("json");
    assert_eq!(body["code"], "WINTER15");
    assert_eq!(body["uses"], 0);
    assert_eq!(body["active"], true);
    assert_eq!(
        error_code(create_code(&app, json!({ "code": "Winter15", "percent_off": 10 })).await).await,
        (StatusCode::CONFLICT, "PROMO_CODE_TAKEN".to_owned())
    );
    for (bad, field) in [
        (json!({ "code": "ab", "percent_off": 10 }), "code"),
        (json!({ "code": "no spaces", "percent_off": 10 }), "code"),
        (json!({ "code": "ZERO", "percent_off": 0 }), "percent_off"),
        (json!({ "code": "MANY", "percent_off": 101 }), "percent_off"),
        (
            json!({ "code": "BOTH", "percent_off": 10, "amount_off_cents": 100 }),
            "percent_off",
        ),
        (json!({ "code": "NONE" }), "percent_off"),
        (
            json!({ "code": "BACKWARDS", "percent_off": 10, "starts_at": "2026-12-02T10:00:00Z", "ends_at": "2026-12-01T10:00:00Z" }),
            "ends_at",
        ),
        (
            json!({ "code": "SCOPES", "percent_off": 10, "item_ids": [1], "tags": ["a"] }),
            "item_ids",
        ),
        (
            json!({ "code": "GHOSTS", "percent_off": 10, "item_ids": [999999] }),
            "item_ids",
        ),
        (
            json!({ "code": "NOLIMIT", "percent_off": 10, "max_uses": 0 }),
            "max_uses",
        ),
    ] {
        let response = create_code(&app, bad.clone()).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["field"], field, "{bad}");
    }
    let admin = app.admin().await;
    let listed: Vec<Value> =
        json_of(app.as_user(&admin, Method::GET, "/api/admin/promo-codes")).await;
    assert_eq!(listed.len(), 1);
    let stopped: Value = json_of(
        app.as_user(&admin, Method::PATCH, "/api/admin/promo-codes/winter15")
            .json(&json!({ "active": false })),
    )
    .await;
    assert_eq!(stopped["active"], false);
    let customer = app.customer().await;
    assert_eq!(
        app.as_user(&customer, Method::GET, "/api/admin/promo-codes")
            .send()
            .await
            .expect("request")
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn codes_are_checked_in_order_and_reprice_the_cart() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = app
        .item("Promo Potion")
        .price_cents(999)
        .consumable()
        .tags(&["potion"])
        .create()
        .await;
    let sword = app
        .item("Promo Sword")
        .price_cents(2_500)
        .tags(&["weapon"])
        .create()
        .await;
    let later = (Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let earlier = (Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    for body in [
        json!({ "code": "SOON", "percent_off": 10, "starts_at": later }),
        json!({ "code": "GONE", "percent_off": 10, "ends_at": earlier }),
        json!({ "code": "USEDUP", "percent_off": 10, "max_uses": 1 }),
        json!({ "code": "ARMOUR", "percent_off": 10, "tags": ["armor"] }),
        json!({ "code": "BIGSPEND", "percent_off": 10, "min_subtotal_cents": 100_000 }),
        json!({ "code": "STOPPED", "percent_off": 10 }),
        json!({ "code": "TENOFF", "percent_off": 10 }),
        json!({ "code": "FIVEBUCKS", "amount_off_cents": 500 }),
    ] {
        assert_eq!(create_code(&app, body).await.status(), StatusCode::CREATED);
    }
    let admin = app.admin().await;
    app.as_user(&admin, Method::PATCH, "/api/admin/promo-codes/STOPPED")
        .json(&json!({ "active": false }))
        .send()
        .await
        .expect("request");
    // Use up USEDUP.
    let first = app.customer().await;
    put_line(&app, &first, potion.id, 1).await;
    assert_eq!(apply(&app, &first, "usedup").await.status(), StatusCode::OK);
    let order = app
        .as_user(&first, Method::POST, "/api/cart/checkout")
        .send()
        .await
        .expect("request");
    assert_eq!(order.status(), StatusCode::ACCEPTED);

    let user = app.customer().await;
    put_line(&app, &user, potion.id, 2).await;
    put_line(&app, &user, sword.id, 1).await;
    for (code, expected) in [
        ("NOPE", "PROMO_INVALID"),
        ("x y", "PROMO_INVALID"),
        ("STOPPED", "PROMO_INVALID"),
        ("SOON", "PROMO_NOT_STARTED"),
        ("GONE", "PROMO_EXPIRED"),
        ("USEDUP", "PROMO_LIMIT_REACHED"),
        ("ARMOUR", "PROMO_NOT_APPLICABLE"),
        ("BIGSPEND", "PROMO_NOT_APPLICABLE"),
    ] {
        assert_eq!(
            error_code(apply(&app, &user, code).await).await,
            (StatusCode::UNPROCESSABLE_ENTITY, expected.to_owned()),
            "{code}"
        );
    }

    // 10 % per line, half-even: 1998 → 199.8 → 200; 2500 → 250.
    let cart: Cart = apply(&app, &user, "tenoff")
        .await
        .json()
        .await
        .expect("cart");
    assert_eq!(cart.promo_code.as_deref(), Some("TENOFF"));
    assert_eq!(cart.subtotal_cents, 1_998 + 2_500);
    let line_discounts: Vec<i64> = cart.lines.iter().map(|l| l.discount_cents).collect();
    assert_eq!(line_discounts, vec![200, 250]);
    assert_eq!(cart.discount_cents, 450);
    assert_eq!(cart.total_cents, 4_498 - 450);
    assert_eq!(
        cart.lines.iter().map(|l| l.line_total_cents).sum::<i64>(),
        cart.total_cents
    );

    // $5 off, shared in proportion to the lines and summing exactly.
    let cart: Cart = apply(&app, &user, "FIVEBUCKS")
        .await
        .json()
        .await
        .expect("cart");
    assert_eq!(cart.discount_cents, 500);
    assert_eq!(
        cart.lines.iter().map(|l| l.discount_cents).sum::<i64>(),
        500
    );
    assert_eq!(cart.total_cents, 4_498 - 500);

    let removed: Cart = json_of(app.as_user(&user, Method::DELETE, "/api/cart/promo")).await;
    assert_eq!((removed.promo_code, removed.discount_cents), (None, 0));
}

#[tokio::test]
async fn a_single_use_code_is_used_once_by_twenty_concurrent_checkouts() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = app
        .item("Race Potion")
        .price_cents(1_000)
        .consumable()
        .create()
        .await;
    assert_eq!(
        create_code(
            &app,
            json!({ "code": "ONLYONE", "percent_off": 50, "max_uses": 1 })
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    let mut buyers = Vec::new();
    for _ in 0..20 {
        let user = app.customer().await;
        put_line(&app, &user, potion.id, 1).await;
        assert_eq!(apply(&app, &user, "ONLYONE").await.status(), StatusCode::OK);
        buyers.push(user);
    }
    let checkouts = buyers
        .iter()
        .map(|user| app.as_user(user, Method::POST, "/api/cart/checkout").send());
    let responses = futures::future::join_all(checkouts).await;
    let mut discounted = 0;
    let mut refused = 0;
    for response in responses {
        let response = response.expect("request");
        match response.status() {
            StatusCode::ACCEPTED => {
                let order: Order = response.json().await.expect("order");
                assert_eq!(order.amount_cents, 500);
                discounted += 1;
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert_eq!(error_code(response).await.1, "PROMO_LIMIT_REACHED");
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((discounted, refused), (1, 19));
    let admin = app.admin().await;
    let codes: Vec<Value> =
        json_of(app.as_user(&admin, Method::GET, "/api/admin/promo-codes")).await;
    assert_eq!(codes[0]["uses"], 1);
}

#[tokio::test]
async fn a_per_customer_limit_holds_across_tabs_and_a_failed_order_gives_its_use_back() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = app
        .item("Tab Potion")
        .price_cents(1_000)
        .consumable()
        .create()
        .await;
    create_code(
        &app,
        json!({ "code": "ONCEEACH", "percent_off": 20, "max_uses_per_user": 1 }),
    )
    .await;
    let user = app.customer().await;
    put_line(&app, &user, potion.id, 1).await;
    apply(&app, &user, "ONCEEACH").await;
    let tabs = (0..5).map(|_| {
        app.as_user(&user, Method::POST, "/api/cart/checkout")
            .send()
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(tabs)
        .await
        .into_iter()
        .map(|r| r.expect("request").status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::ACCEPTED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::ACCEPTED || *s == StatusCode::UNPROCESSABLE_ENTITY)
    );
    let orders: Vec<Order> = json_of(app.as_user(&user, Method::GET, "/api/purchases")).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].amount_cents, 800);

    put_line(&app, &user, potion.id, 1).await;
    assert_eq!(
        error_code(apply(&app, &user, "ONCEEACH").await).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "PROMO_LIMIT_REACHED".to_owned()
        )
    );
    // The order fails: its use comes back, and the code applies again.
    let declined = app
        .deliver(
            "msg_promo_declined",
            &payment_event("payment.failed", &orders[0]),
        )
        .await;
    assert_eq!(declined.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.order(&user, orders[0].order_id).await.status,
        OrderStatus::Failed
    );
    let again = apply(&app, &user, "ONCEEACH").await;
    let status = again.status();
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        again.text().await.unwrap_or_default()
    );
}

#[tokio::test]
async fn timed_sales_set_the_price_in_force_everywhere() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let cheap = app.item("Plain Cloak").price_cents(3_000).create().await;
    let boots = app.item("Sale Boots").price_cents(5_000).create().await;
    let start = Utc::now() - chrono::Duration::minutes(1);
    let end = Utc::now() + chrono::Duration::hours(2);
    let on_sale: Item = patch_item(
        &app,
        boots.id,
        json!({ "sale": { "percent_off": 55, "starts_at": start, "ends_at": end } }),
    )
    .await
    .json()
    .await
    .expect("item");
    // 5000 × 45 % = 2250.
    assert_eq!(on_sale.sale_price_cents, Some(2_250));
    assert!(on_sale.sale_ends_at.is_some());
    let listed: Vec<Item> = json_of(app.get("/api/items?sort=price")).await;
    let order: Vec<i64> = listed.iter().map(|i| i.id).collect();
    assert_eq!(
        order,
        vec![boots.id, cheap.id],
        "sorted by the price in force"
    );
    let filtered: Vec<Item> = json_of(app.get("/api/items?max_price=2500")).await;
    assert_eq!(
        filtered.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![boots.id]
    );

    let user = app.customer().await;
    put_line(&app, &user, boots.id, 1).await;
    let cart: Cart = json_of(app.as_user(&user, Method::GET, "/api/cart")).await;
    assert_eq!(cart.total_cents, 2_250);

    // The sale ends between add-to-cart and checkout: the cart says so and reprices.
    let ended = Utc::now() - chrono::Duration::seconds(1);
    patch_item(
        &app,
        boots.id,
        json!({ "sale": { "percent_off": 55, "starts_at": start, "ends_at": ended } }),
    )
    .await;
    let cart: Cart = json_of(app.as_user(&user, Method::GET, "/api/cart")).await;
    assert_eq!(cart.total_cents, 5_000);
    assert_eq!(cart.warnings[0].code, "PRICE_CHANGED");
    let order: Order = json_of(app.as_user(&user, Method::POST, "/api/cart/checkout")).await;
    assert_eq!(
        order.lines[0].unit_price_cents, 5_000,
        "the price in force is frozen"
    );
}

#[tokio::test]
async fn a_sale_starts_on_every_replica_at_its_moment() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let lamp = app.item("Timed Lamp").price_cents(1_000).create().await;
    let starts = Utc::now() + chrono::Duration::seconds(2);
    patch_item(
        &app,
        lamp.id,
        json!({ "sale": { "percent_off": 50, "starts_at": starts, "ends_at": starts + chrono::Duration::hours(1) } }),
    )
    .await;
    let replica = match crate::helpers::backend() {
        crate::helpers::Backend::Postgres => Some(app.replica().await),
        crate::helpers::Backend::Sqlite => None,
    };
    let servers: Vec<&TestApp> = std::iter::once(&app).chain(replica.as_ref()).collect();
    for server in &servers {
        let item: Item = json_of(server.get(&format!("/api/items/{}", lamp.id))).await;
        assert_eq!(item.sale_price_cents, None, "not yet");
    }
    // Nothing is written when the sale starts; the cached pages must still change at once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for server in &servers {
        loop {
            let item: Item = json_of(server.get(&format!("/api/items/{}", lamp.id))).await;
            if item.sale_price_cents == Some(500) {
                assert!(Utc::now() >= starts, "not before its start");
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the sale never showed"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn bundles_price_what_you_do_not_own_and_grant_only_that() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let a = app.item("Set Helm").price_cents(1_000).create().await;
    let b = app.item("Set Plate").price_cents(2_000).create().await;
    let c = app.item("Set Greaves").price_cents(3_000).create().await;
    let admin = app.admin().await;
    let create = |body: Value| {
        app.as_user(&admin, Method::POST, "/api/items")
            .json(&body)
            .send()
    };
    for (bundle_item_ids, expected) in [
        (json!([a.id]), "bundle_item_ids"),
        (json!([a.id, a.id]), "bundle_item_ids"),
        (json!([a.id, 999_999]), "bundle_item_ids"),
    ] {
        let response = create(json!({ "sku": "bad-bundle", "name": "Bad", "price_cents": 1, "bundle_item_ids": bundle_item_ids })).await.expect("request");
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["field"], expected);
    }
    let bundle: Item = create(json!({
        "sku": "full-set", "name": "Full Set", "price_cents": 1,
        "bundle_item_ids": [a.id, b.id, c.id], "bundle_discount_percent": 20,
    }))
    .await
    .expect("request")
    .json()
    .await
    .expect("bundle");
    assert_eq!(bundle.price_cents, 4_800, "20 % off 6000");
    // A bundle takes no sale of its own (it was advertised and never charged): its items' do.
    let sale = json!({ "percent_off": 60, "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z" });
    let on_sale = create(json!({
        "sku": "sale-set", "name": "Sale Set", "price_cents": 1,
        "bundle_item_ids": [a.id, b.id], "sale": sale,
    }))
    .await
    .expect("request");
    assert_eq!(on_sale.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = on_sale.json().await.expect("json");
    assert_eq!(body["error"]["field"], "sale");
    let patched = patch_item(&app, bundle.id, json!({ "sale": sale })).await;
    assert_eq!(patched.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let nested = create(json!({ "sku": "set-of-sets", "name": "Nested", "price_cents": 1, "bundle_item_ids": [bundle.id, a.id] })).await.expect("request");
    assert_eq!(nested.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let itself = patch_item(
        &app,
        bundle.id,
        json!({ "bundle_item_ids": [bundle.id, a.id] }),
    )
    .await;
    assert_eq!(itself.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let user = app.customer().await;
    let helm: Order = app.buy(&user, a.id).await.json().await.expect("order");
    app.deliver("msg_helm", &payment_event("payment.succeeded", &helm))
        .await;
    let quoted: Item =
        json_of(app.as_user(&user, Method::GET, &format!("/api/items/{}", bundle.id))).await;
    assert_eq!(quoted.owned_item_ids, Some(vec![a.id]));
    assert_eq!(
        quoted.price_for_you_cents,
        Some(4_000),
        "20 % off the 5000 not owned"
    );
    let anonymous: Value = json_of(app.get(&format!("/api/items/{}", bundle.id))).await;
    assert!(anonymous.get("price_for_you_cents").is_none());

    let order: Order = app.buy(&user, bundle.id).await.json().await.expect("order");
    assert_eq!(order.amount_cents, 4_000);
    app.deliver("msg_bundle", &payment_event("payment.succeeded", &order))
        .await;
    app.wait_for(&user, order.order_id, OrderStatus::Paid).await;
    let library = app.store.orders().library(user.id).await.expect("library");
    let mut owned: Vec<(i64, u32)> = library.iter().map(|e| (e.item.id, e.count)).collect();
    owned.sort_unstable();
    let mut expected = vec![(a.id, 1), (b.id, 1), (c.id, 1)];
    expected.sort_unstable();
    assert_eq!(owned, expected, "the bundle granted only what was missing");
    assert_eq!(
        error_code(app.buy(&user, bundle.id).await).await,
        (StatusCode::CONFLICT, "ALREADY_OWNED".to_owned())
    );
}

/// A bundle grants its items as though each were bought with it, and takes no units of them:
/// so its items are on sale and of unlimited stock (no license keys), each within its limit per
/// customer, and an order never holds an item twice that is sold once (on its own and in a
/// bundle, or in two bundles). Found by an attacker's pass: a bundle sold a part past its
/// stock, an archived part, a part past its per-customer limit, and charged twice for a part.
#[tokio::test]
async fn a_bundle_grants_only_items_it_may_and_an_order_never_holds_one_twice() {
    use sea_orm::ConnectionTrait as _;
    let app = TestApp::spawn_with(silent_provider()).await;
    let admin = app.admin().await;
    let create_bundle = |sku: &str, ids: Vec<i64>| {
        app.as_user(&admin, Method::POST, "/api/items")
            .json(&json!({ "sku": sku, "name": sku, "price_cents": 1, "bundle_item_ids": ids, "bundle_discount_percent": 10 }))
            .send()
    };
    let bow = app.item("Rule Bow").price_cents(1_000).create().await;
    let quiver = app.item("Rule Quiver").price_cents(500).create().await;
    let arrows = app
        .item("Rule Arrows")
        .price_cents(100)
        .consumable()
        .create()
        .await;
    assert_eq!(
        patch_item(&app, arrows.id, json!({ "max_per_user": 1 }))
            .await
            .status(),
        StatusCode::OK
    );
    let limited = app
        .item("Rule Limited Relic")
        .price_cents(900)
        .create()
        .await;
    assert_eq!(
        patch_item(&app, limited.id, json!({ "stock": 3 }))
            .await
            .status(),
        StatusCode::OK
    );
    let archived = app.item("Rule Old Relic").price_cents(900).create().await;
    assert_eq!(
        patch_item(&app, archived.id, json!({ "active": false }))
            .await
            .status(),
        StatusCode::OK
    );
    let keyed = app.item("Rule Keyed Game").price_cents(900).create().await;
    let keys = app
        .as_user(
            &admin,
            Method::POST,
            &format!("/api/admin/items/{}/keys", keyed.id),
        )
        .json(&json!({ "keys": ["RULE-KEY-0001"] }))
        .send()
        .await
        .expect("request");
    assert_eq!(keys.status(), StatusCode::CREATED);

    // Operators cannot make such a bundle, nor limit (or key) an item that is in one.
    for part in [limited.id, archived.id, keyed.id] {
        let refused = create_bundle("rule-bad", vec![bow.id, part])
            .await
            .expect("request");
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{part}");
        let body: Value = refused.json().await.expect("json");
        assert_eq!(body["error"]["field"], "bundle_item_ids");
    }
    let archery: Item = create_bundle("rule-archery", vec![bow.id, arrows.id])
        .await
        .expect("request")
        .json()
        .await
        .expect("bundle");
    let hunter: Item = create_bundle("rule-hunter", vec![bow.id, quiver.id])
        .await
        .expect("request")
        .json()
        .await
        .expect("bundle");
    let limit_bundled = patch_item(&app, bow.id, json!({ "stock": 10 })).await;
    assert_eq!(
        error_code(limit_bundled).await,
        (StatusCode::CONFLICT, "ITEM_IN_BUNDLE".to_owned())
    );
    let key_bundled = app
        .as_user(
            &admin,
            Method::POST,
            &format!("/api/admin/items/{}/keys", quiver.id),
        )
        .json(&json!({ "keys": ["RULE-KEY-0002"] }))
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_code(key_bundled).await,
        (StatusCode::CONFLICT, "ITEM_IN_BUNDLE".to_owned())
    );
    // Nor key a bundle itself (its key was taken at checkout and shown nowhere), nor make a
    // keyed item a bundle (both found by an attacker's pass).
    let key_bundle = app
        .as_user(
            &admin,
            Method::POST,
            &format!("/api/admin/items/{}/keys", archery.id),
        )
        .json(&json!({ "keys": ["RULE-KEY-0003"] }))
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_code(key_bundle).await,
        (StatusCode::CONFLICT, "ITEM_IS_BUNDLE".to_owned())
    );
    let keyed_to_bundle = patch_item(
        &app,
        keyed.id,
        json!({ "bundle_item_ids": [bow.id, arrows.id] }),
    )
    .await;
    assert_eq!(
        error_code(keyed_to_bundle).await,
        (StatusCode::CONFLICT, "ITEM_HAS_KEYS".to_owned())
    );

    // A part's limit per customer counts what the bundle grants.
    let archer = app.customer().await;
    let bought: Order = app
        .buy(&archer, arrows.id)
        .await
        .json()
        .await
        .expect("order");
    assert_eq!(bought.amount_cents, 100);
    assert_eq!(
        error_code(app.buy(&archer, archery.id).await).await,
        (StatusCode::CONFLICT, "PER_USER_LIMIT".to_owned())
    );

    // An item on its own and in a bundle, or in two bundles, is one order too many: refused as
    // it is added to the cart, and at the checkout for a bundle changed since.
    let shopper = app.customer().await;
    let put = |item_id: i64| {
        app.as_user(&shopper, Method::PUT, &format!("/api/cart/lines/{item_id}"))
            .json(&json!({ "quantity": 1 }))
            .send()
    };
    for (first, second) in [
        (hunter.id, bow.id),
        (bow.id, hunter.id),
        (hunter.id, archery.id),
    ] {
        assert_eq!(put(first).await.expect("request").status(), StatusCode::OK);
        assert_eq!(
            error_code(put(second).await.expect("request")).await,
            (StatusCode::CONFLICT, "DUPLICATE_IN_ORDER".to_owned())
        );
        let emptied = app
            .as_user(&shopper, Method::DELETE, "/api/cart")
            .send()
            .await
            .expect("request");
        assert!(emptied.status().is_success(), "{}", emptied.status());
    }
    let sling = app.item("Rule Sling").price_cents(300).create().await;
    for item_id in [hunter.id, sling.id] {
        assert_eq!(
            put(item_id).await.expect("request").status(),
            StatusCode::OK
        );
    }
    let changed = patch_item(
        &app,
        hunter.id,
        json!({ "bundle_item_ids": [bow.id, quiver.id, sling.id] }),
    )
    .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let checkout = app
        .as_user(&shopper, Method::POST, "/api/cart/checkout")
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_code(checkout).await,
        (StatusCode::CONFLICT, "DUPLICATE_IN_ORDER".to_owned())
    );
    let orders: Vec<Order> = json_of(app.as_user(&shopper, Method::GET, "/api/purchases")).await;
    assert!(orders.is_empty(), "nothing was placed");

    // A part archived later, or one limited behind the rules' back (a bundle made before
    // them), stops the bundle at the checkout, and no unit of the part is taken.
    assert_eq!(
        patch_item(&app, quiver.id, json!({ "active": false }))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        error_code(app.buy(&shopper, hunter.id).await).await,
        (StatusCode::CONFLICT, "ITEM_UNAVAILABLE".to_owned())
    );
    app.store
        .db()
        .execute_unprepared(&format!("UPDATE items SET stock = 1 WHERE id = {}", bow.id))
        .await
        .expect("limit behind the rules' back");
    assert_eq!(
        error_code(app.buy(&shopper, archery.id).await).await,
        (StatusCode::CONFLICT, "ITEM_UNAVAILABLE".to_owned())
    );
    let orders: Vec<Order> = json_of(app.as_user(&shopper, Method::GET, "/api/purchases")).await;
    assert!(orders.is_empty(), "nothing was placed");
    // The operator can still change such a bundle, and take it off sale.
    assert_eq!(
        patch_item(
            &app,
            hunter.id,
            json!({ "name": "Hunter Set (old)", "active": false })
        )
        .await
        .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn wishlists_hear_once_when_a_sale_starts() {
    let app = TestApp::spawn_with(vec![("WISHLIST_ALERT_SECS", "3600".to_owned())]).await;
    let orb = app.item("Wished Orb").price_cents(4_000).create().await;
    let user = app.customer().await;
    let other = app.customer().await;
    let listed: Vec<Item> =
        json_of(app.as_user(&user, Method::PUT, &format!("/api/wishlist/{}", orb.id))).await;
    assert_eq!(listed.len(), 1);
    let again: Vec<Item> =
        json_of(app.as_user(&user, Method::PUT, &format!("/api/wishlist/{}", orb.id))).await;
    assert_eq!(again.len(), 1, "adding twice changes nothing");
    assert_eq!(
        app.as_user(&user, Method::PUT, "/api/wishlist/999999")
            .send()
            .await
            .expect("request")
            .status(),
        StatusCode::NOT_FOUND
    );

    let url = app.base.replacen("http://", "ws://", 1) + "/ws";
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("origin", app.origin.parse().expect("header"));
    request.headers_mut().insert(
        "cookie",
        format!("gs_session={}", user.token)
            .parse()
            .expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("socket");
    for _ in 0..100 {
        if app.hub.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let start = Utc::now() - chrono::Duration::seconds(1);
    patch_item(
        &app,
        orb.id,
        json!({ "sale": { "percent_off": 25, "starts_at": start, "ends_at": start + chrono::Duration::hours(1) } }),
    )
    .await;
    // More sweeps (on this replica or another) announce nothing new.
    let alerts = store::wishlist::Alerts::new(&app.store);
    assert_eq!(alerts.sweep().await.expect("sweep"), 0);
    assert_eq!(alerts.sweep().await.expect("sweep"), 0);

    let mut received = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(frame)) = socket.next().await {
            if let Message::Text(text) = frame {
                received.push(serde_json::from_str::<LiveMessage>(&text).expect("live message"));
            }
        }
    })
    .await;
    assert_eq!(
        received,
        vec![LiveMessage::WishlistOnSale {
            user_id: user.id,
            item_id: orb.id,
            name: "Wished Orb".to_owned(),
            reason: "sale".to_owned(),
            price_cents: 3_000,
            currency: "USD".to_owned(),
        }]
    );
    let removed: Vec<Item> =
        json_of(app.as_user(&user, Method::DELETE, &format!("/api/wishlist/{}", orb.id))).await;
    assert!(removed.is_empty());
    let theirs: Vec<Item> = json_of(app.as_user(&other, Method::GET, "/api/wishlist")).await;
    assert!(theirs.is_empty());
}

/// Found by an attacker's pass: a code made with blank tags covered every item; a minimum
/// (5000, meaning $50.00) let a ¥5000 cart through; and a bundle, or one of its items, could
/// change currency on its own, leaving the bundle priced in one currency from items in another.
#[tokio::test]
async fn codes_and_bundles_keep_to_their_own_currency_and_real_tags() {
    let app = TestApp::spawn().await;
    let blank = create_code(
        &app,
        json!({ "code": "BLANKTAGS", "percent_off": 50, "tags": ["  ", ""] }),
    )
    .await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = blank.json().await.expect("json");
    assert_eq!(body["error"]["field"], "tags");

    let minimum = create_code(
        &app,
        json!({ "code": "FIFTYUP", "percent_off": 20, "min_subtotal_cents": 5_000 }),
    )
    .await;
    assert_eq!(minimum.status(), StatusCode::CREATED);
    let yen = app
        .item("Yen Lantern")
        .price_cents(5_000)
        .currency("JPY")
        .create()
        .await;
    let user = app.customer().await;
    put_line(&app, &user, yen.id, 1).await;
    let (status, code) = error_code(apply(&app, &user, "FIFTYUP").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "PROMO_NOT_APPLICABLE")
    );

    let a = app
        .item("Currency Part A")
        .price_cents(1_000)
        .create()
        .await;
    let b = app
        .item("Currency Part B")
        .price_cents(2_000)
        .create()
        .await;
    let admin = app.admin().await;
    let bundle: Item = app
        .as_user(&admin, Method::POST, "/api/items")
        .json(&json!({ "sku": "currency-set", "name": "Currency Set", "price_cents": 1, "bundle_item_ids": [a.id, b.id] }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("bundle");
    let (status, _) =
        error_code(patch_item(&app, bundle.id, json!({ "currency": "JPY" })).await).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the bundle's items are in USD"
    );
    assert_eq!(
        error_code(patch_item(&app, a.id, json!({ "currency": "JPY" })).await).await,
        (StatusCode::CONFLICT, "ITEM_IN_BUNDLE".to_owned())
    );
    let unchanged: Item = json_of(app.get(&format!("/api/items/{}", bundle.id))).await;
    assert_eq!(unchanged.currency, "USD");
}

/// Found by an attacker's pass: "back in stock" alerts never fired (nothing counted a
/// sell-out); once more than a hundred wished-for items were due, the sweep kept reading the
/// same hundred already announced and the rest never got an alert; and additions at the same
/// moment pushed a wishlist past its 200 items.
#[tokio::test]
async fn wishlist_alerts_reach_every_due_item_and_restocks_and_the_cap_holds_at_once() {
    use sea_orm::EntityTrait as _;
    use store::entity::wishlist_alerts;
    let app = TestApp::spawn_with(vec![("WISHLIST_ALERT_SECS", "3600".to_owned())]).await;
    let wisher = app.customer().await;
    let wish = |id: i64| {
        app.as_user(&wisher, Method::PUT, &format!("/api/wishlist/{id}"))
            .send()
    };

    // Back in stock: the last unit sells, then the operator adds units.
    let lamp = app.item("Restock Lamp").price_cents(900).create().await;
    assert_eq!(
        patch_item(&app, lamp.id, json!({ "stock": 1 }))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        wish(lamp.id).await.expect("request").status(),
        StatusCode::OK
    );
    let buyer = app.customer().await;
    assert_eq!(
        app.buy(&buyer, lamp.id).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        patch_item(&app, lamp.id, json!({ "stock": 5 }))
            .await
            .status(),
        StatusCode::OK
    );
    let alerts = store::wishlist::Alerts::new(&app.store);
    alerts.sweep().await.expect("sweep");
    let sent = wishlist_alerts::Entity::find()
        .all(app.store.db())
        .await
        .expect("alerts");
    assert!(
        sent.iter()
            .any(|a| a.item_id == lamp.id && a.occasion == "restock:1"),
        "{sent:?}"
    );

    // More due at once than one page of the old sweep: every one is announced.
    let starts = Utc::now() + chrono::Duration::seconds(3);
    let mut ids = Vec::new();
    for n in 0..105 {
        let item = app
            .item(&format!("Due Relic {n}"))
            .price_cents(1_000)
            .create()
            .await;
        assert_eq!(
            wish(item.id).await.expect("request").status(),
            StatusCode::OK
        );
        let on_sale = patch_item(
            &app,
            item.id,
            json!({ "sale": { "percent_off": 10, "starts_at": starts, "ends_at": starts + chrono::Duration::hours(1) } }),
        )
        .await;
        assert_eq!(on_sale.status(), StatusCode::OK);
        ids.push(item.id);
    }
    let wait = (starts - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(200);
    tokio::time::sleep(wait).await;
    // (Item writes sweep too, so some may have been announced while the rest were set up.)
    alerts.sweep().await.expect("sweep");
    let sent = wishlist_alerts::Entity::find()
        .all(app.store.db())
        .await
        .expect("alerts");
    let announced = ids
        .iter()
        .filter(|id| {
            sent.iter()
                .any(|a| a.item_id == **id && a.occasion.starts_with("sale:"))
        })
        .count();
    assert_eq!(announced, 105);
    assert_eq!(
        alerts.sweep().await.expect("sweep"),
        0,
        "each occasion once"
    );
    let late = app.item("Late Relic").price_cents(1_000).create().await;
    assert_eq!(
        wish(late.id).await.expect("request").status(),
        StatusCode::OK
    );
    let now = Utc::now() - chrono::Duration::seconds(1);
    patch_item(
        &app,
        late.id,
        json!({ "sale": { "percent_off": 10, "starts_at": now, "ends_at": now + chrono::Duration::hours(1) } }),
    )
    .await;
    alerts.sweep().await.expect("sweep");
    let sent = wishlist_alerts::Entity::find()
        .all(app.store.db())
        .await
        .expect("alerts");
    assert!(
        sent.iter().any(|a| a.item_id == late.id),
        "an item due later is announced too"
    );

    // The cap, with twenty additions at once into 190 of 200.
    for n in 0..83 {
        let item = app
            .item(&format!("Filler {n}"))
            .price_cents(100)
            .create()
            .await;
        assert_eq!(
            wish(item.id).await.expect("request").status(),
            StatusCode::OK
        );
    }
    let mut extra = Vec::new();
    for n in 0..20 {
        extra.push(
            app.item(&format!("Rush {n}"))
                .price_cents(100)
                .create()
                .await
                .id,
        );
    }
    let held: Vec<Item> = json_of(app.as_user(&wisher, Method::GET, "/api/wishlist")).await;
    assert_eq!(held.len(), 190);
    let answers = futures::future::join_all(extra.iter().map(|id| wish(*id))).await;
    let added = answers
        .iter()
        .filter(|a| a.as_ref().expect("request").status() == StatusCode::OK)
        .count();
    let full = answers
        .iter()
        .filter(|a| a.as_ref().expect("request").status() == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!((added, full), (10, 10));
    let held: Vec<Item> = json_of(app.as_user(&wisher, Method::GET, "/api/wishlist")).await;
    assert_eq!(held.len(), 200);
    // Adding one it holds already is no change, not a refusal.
    assert_eq!(
        wish(lamp.id).await.expect("request").status(),
        StatusCode::OK
    );
}

/// Found by an attacker's pass: rounding gave items away (a bundle's quote, or a sale, of zero),
/// a sale ending after the year 9999 sorted before today in SQLite (hidden from price filters,
/// charged at checkout), and a free order answered `pending` though it was paid.
#[tokio::test]
async fn rounding_and_far_dates_never_give_an_item_away_or_hide_a_sale() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let admin = app.admin().await;
    let big = app
        .item("Yen Castle")
        .price_cents(5_000)
        .currency("JPY")
        .create()
        .await;
    let tiny = app
        .item("Yen Pebble")
        .price_cents(1)
        .currency("JPY")
        .create()
        .await;
    let bundle: Item = app
        .as_user(&admin, Method::POST, "/api/items")
        .json(&json!({
            "sku": "yen-set", "name": "Yen Set", "price_cents": 1, "currency": "JPY",
            "bundle_item_ids": [big.id, tiny.id], "bundle_discount_percent": 50,
        }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("bundle");
    let user = app.customer().await;
    let castle: Order = app.buy(&user, big.id).await.json().await.expect("order");
    app.pay(&user, &castle).await;
    let quoted: Item =
        json_of(app.as_user(&user, Method::GET, &format!("/api/items/{}", bundle.id))).await;
    assert_eq!(
        quoted.price_for_you_cents,
        Some(1),
        "50 % of ¥1 is ¥1, not free"
    );
    let order: Order = app.buy(&user, bundle.id).await.json().await.expect("order");
    assert_eq!(
        (order.amount_cents, order.status),
        (1, OrderStatus::Pending)
    );

    let sale = |ends_at: &str| json!({ "percent_off": 50, "starts_at": "2020-01-01T00:00:00Z", "ends_at": ends_at });
    let cent = app.item("Cent Charm").price_cents(1).create().await;
    let on_sale: Item = patch_item(
        &app,
        cent.id,
        json!({ "sale": sale("2099-01-01T00:00:00Z") }),
    )
    .await
    .json()
    .await
    .expect("item");
    assert_eq!(
        on_sale.sale_price_cents,
        Some(1),
        "a sale price is never zero"
    );
    for far in ["+10000-01-01T00:00:00Z", "9999-06-01T00:00:00Z"] {
        let refused = patch_item(&app, cent.id, json!({ "sale": sale(far) })).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{far}");
        let body: Value = refused.json().await.expect("json");
        assert_eq!(body["error"]["field"], "sale");
    }
    let far_code = create_code(
        &app,
        json!({ "code": "FOREVER", "percent_off": 10, "ends_at": "+10000-01-01T00:00:00Z" }),
    )
    .await;
    assert_eq!(far_code.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A free order (a 100 % code) says it is paid in its own answer.
    assert_eq!(
        create_code(&app, json!({ "code": "ONTHEHOUSE", "percent_off": 100 }))
            .await
            .status(),
        StatusCode::CREATED
    );
    let gifted = app.item("House Banner").price_cents(700).create().await;
    let guest = app.customer().await;
    put_line(&app, &guest, gifted.id, 1).await;
    assert_eq!(
        apply(&app, &guest, "onthehouse").await.status(),
        StatusCode::OK
    );
    let free = app
        .as_user(&guest, Method::POST, "/api/cart/checkout")
        .send()
        .await
        .expect("request");
    assert_eq!(free.status(), StatusCode::ACCEPTED);
    let free: Order = free.json().await.expect("order");
    assert_eq!((free.amount_cents, free.status), (0, OrderStatus::Paid));

    // Below 100 %, rounding per line never makes a line free: 51 % off three 1¢ lines.
    assert_eq!(
        create_code(&app, json!({ "code": "HALFPLUS", "percent_off": 51 }))
            .await
            .status(),
        StatusCode::CREATED
    );
    let buyer = app.customer().await;
    for n in 0..3 {
        let pin = app
            .item(&format!("Penny Pin {n}"))
            .price_cents(1)
            .create()
            .await;
        put_line(&app, &buyer, pin.id, 1).await;
    }
    let cart: Cart = apply(&app, &buyer, "halfplus")
        .await
        .json()
        .await
        .expect("cart");
    assert_eq!(cart.total_cents, 3);

    // A name may not reorder itself on screen.
    let reversed = app
        .as_user(&admin, Method::POST, "/api/items")
        .json(&json!({ "sku": "rtl-trick", "name": "invoice\u{202E}gpj.exe", "price_cents": 100 }))
        .send()
        .await
        .expect("request");
    assert_eq!(reversed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = reversed.json().await.expect("json");
    assert_eq!(body["error"]["field"], "name");
}

/// Found by an attacker's pass: keying an item and making it a bundle at the same moment could
/// both succeed (each checked the other's rule before its own write), leaving a bundle whose
/// key was taken at checkout and shown nowhere. Both now take the item's row lock and check
/// again under it.
#[tokio::test]
async fn keying_an_item_and_making_it_a_bundle_at_once_never_both_succeed() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let admin = app.admin().await;
    let a = app.item("Race Part A").price_cents(100).create().await;
    let b = app.item("Race Part B").price_cents(100).create().await;
    for round in 0..12 {
        let item = app
            .item(&format!("Race Target {round}"))
            .price_cents(500)
            .create()
            .await;
        let keys: Vec<String> = (0..50)
            .map(|n| format!("RACE-{round}-KEY-{n:04}"))
            .collect();
        let (keyed, bundled) = tokio::join!(
            app.as_user(
                &admin,
                Method::POST,
                &format!("/api/admin/items/{}/keys", item.id)
            )
            .json(&json!({ "keys": keys }))
            .send(),
            patch_item(&app, item.id, json!({ "bundle_item_ids": [a.id, b.id] })),
        );
        let (keyed, bundled) = (keyed.expect("request").status(), bundled.status());
        assert!(
            !(keyed.is_success() && bundled.is_success()),
            "round {round}: keys {keyed}, bundle {bundled}"
        );
        assert!(
            keyed.is_success() || bundled.is_success(),
            "round {round}: one of them wins"
        );
    }
}

/// The race the hardening rounds left open: a part's currency change was checked against
/// bundles before its write, without the row lock, so it could pass while a bundle of that
/// part was being built, leaving a bundle priced in one currency with an item in another. It is
/// now checked again under the item's row lock, which the bundle's write holds shared while it
/// reads its parts.
#[tokio::test]
async fn moving_a_part_to_another_currency_while_a_bundle_is_built_of_it_never_both_succeed() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let other = app
        .item("Currency Race Other")
        .price_cents(100)
        .create()
        .await;
    for round in 0..12 {
        let part = app
            .item(&format!("Currency Race Part {round}"))
            .price_cents(300)
            .create()
            .await;
        let target = app
            .item(&format!("Currency Race Bundle {round}"))
            .price_cents(500)
            .create()
            .await;
        let (moved, bundled) = tokio::join!(
            patch_item(
                &app,
                part.id,
                json!({ "currency": "JPY", "price_cents": 300 })
            ),
            patch_item(
                &app,
                target.id,
                json!({ "bundle_item_ids": [part.id, other.id] })
            ),
        );
        let (moved, bundled) = (moved.status(), bundled.status());
        assert!(
            !(moved.is_success() && bundled.is_success()),
            "round {round}: currency {moved}, bundle {bundled}"
        );
        assert!(
            moved.is_success() || bundled.is_success(),
            "round {round}: one of them wins ({moved}, {bundled})"
        );
    }
}

/// Two items made bundles of each other at the same moment: each write held its own row and
/// waited for the other's, and PostgreSQL broke the deadlock by failing one (503). The rows
/// are now locked in id order, so one wins and the other is refused with a 4xx.
#[tokio::test]
async fn two_items_made_bundles_of_each_other_at_once_get_one_bundle_and_a_clear_refusal() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let third = app.item("Mutual Third").price_cents(100).create().await;
    for round in 0..12 {
        let x = app
            .item(&format!("Mutual X {round}"))
            .price_cents(300)
            .create()
            .await;
        let y = app
            .item(&format!("Mutual Y {round}"))
            .price_cents(300)
            .create()
            .await;
        let (made_x, made_y) = tokio::join!(
            patch_item(&app, x.id, json!({ "bundle_item_ids": [y.id, third.id] })),
            patch_item(&app, y.id, json!({ "bundle_item_ids": [x.id, third.id] })),
        );
        let (made_x, made_y) = (made_x.status(), made_y.status());
        assert!(
            made_x.is_success() != made_y.is_success(),
            "round {round}: x {made_x}, y {made_y}: exactly one wins"
        );
        for status in [made_x, made_y] {
            assert!(
                status.is_success() || status.is_client_error(),
                "round {round}: {status} is neither a success nor a clear refusal"
            );
        }
    }
}
