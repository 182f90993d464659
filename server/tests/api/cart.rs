//! The cart and multi-item checkout, with limited stock: the contract, and the races (many
//! clients at once, in both storage modes).

use std::time::Duration;

use api_types::{Cart, Item, LiveMessage, Order, OrderStatus};
use futures::StreamExt as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _};

use crate::helpers::{TestApp, TestUser, error_code, json_of, payment_event, silent_provider};

async fn set_line(
    app: &TestApp,
    user: &TestUser,
    item_id: i64,
    quantity: Value,
) -> reqwest::Response {
    app.as_user(user, Method::PUT, &format!("/api/cart/lines/{item_id}"))
        .json(&json!({ "quantity": quantity }))
        .send()
        .await
        .expect("request")
}

async fn cart(app: &TestApp, user: &TestUser) -> Cart {
    json_of(app.as_user(user, Method::GET, "/api/cart")).await
}

async fn checkout(app: &TestApp, user: &TestUser) -> reqwest::Response {
    app.as_user(user, Method::POST, "/api/cart/checkout")
        .send()
        .await
        .expect("request")
}

/// Sets an item's stock (and per-user limit) as an operator.
async fn patch_item(app: &TestApp, item: &Item, patch: Value) -> Item {
    let admin = app.admin().await;
    let response = app
        .as_user(&admin, Method::PATCH, &format!("/api/items/{}", item.id))
        .json(&patch)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK, "patch {patch}");
    response.json().await.expect("item")
}

async fn item_json(app: &TestApp, id: i64) -> Item {
    json_of(app.get(&format!("/api/items/{id}"))).await
}

#[tokio::test]
async fn the_cart_is_priced_from_the_catalog_and_edited_line_by_line() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = app
        .item("Cart Potion")
        .price_cents(250)
        .consumable()
        .create()
        .await;
    let sword = app.item("Cart Sword").price_cents(9_999).create().await;
    let user = app.customer().await;

    let empty = cart(&app, &user).await;
    assert!(empty.lines.is_empty() && empty.warnings.is_empty());
    assert_eq!((empty.total_cents, empty.currency.as_str()), (0, "USD"));
    assert_eq!(empty.promo_code, None);

    let response = set_line(&app, &user, potion.id, json!(3)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    let line = &body["lines"][0];
    for field in [
        "item_id",
        "sku",
        "name",
        "image",
        "quantity",
        "unit_price_cents",
        "line_total_cents",
    ] {
        assert!(!line[field].is_null(), "line.{field}");
    }
    for field in [
        "subtotal_cents",
        "discount_cents",
        "total_cents",
        "currency",
        "warnings",
    ] {
        assert!(!body[field].is_null(), "{field}");
    }
    assert_eq!(line["quantity"], 3);
    assert_eq!(line["line_total_cents"], 750);

    set_line(&app, &user, sword.id, json!(1)).await;
    let both = cart(&app, &user).await;
    assert_eq!(both.lines.len(), 2);
    assert_eq!(both.subtotal_cents, 750 + 9_999);
    assert_eq!(both.total_cents, both.subtotal_cents);

    // Prices come from the catalog every time.
    patch_item(&app, &potion, json!({ "price_cents": 300 })).await;
    assert_eq!(cart(&app, &user).await.total_cents, 900 + 9_999);

    set_line(&app, &user, potion.id, json!(0)).await;
    assert_eq!(cart(&app, &user).await.lines.len(), 1);
    let removed = app
        .as_user(
            &user,
            Method::DELETE,
            &format!("/api/cart/lines/{}", sword.id),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(removed.status(), StatusCode::OK);
    set_line(&app, &user, potion.id, json!(2)).await;
    let cleared: Cart = json_of(app.as_user(&user, Method::DELETE, "/api/cart")).await;
    assert!(cleared.lines.is_empty());

    // A cart is the user's own.
    let other = app.customer().await;
    set_line(&app, &other, potion.id, json!(1)).await;
    assert!(cart(&app, &user).await.lines.is_empty());
    assert_eq!(
        app.get("/api/cart").send().await.expect("request").status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn cart_lines_are_validated() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = app.item("Check Potion").consumable().create().await;
    let sword = app.item("Check Sword").create().await;
    let euro = app
        .item("Euro Thing")
        .currency("EUR")
        .consumable()
        .create()
        .await;
    let archived = app.item("Gone Thing").create().await;
    patch_item(&app, &archived, json!({ "active": false })).await;
    let user = app.customer().await;

    let code = |r| error_code(r);
    assert_eq!(
        code(set_line(&app, &user, 999_999, json!(1)).await).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        code(set_line(&app, &user, archived.id, json!(1)).await)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    for bad in [json!(2)] {
        let (status, _) = code(set_line(&app, &user, sword.id, bad).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a second sword");
    }
    for bad in [
        json!(100),
        json!(-1),
        json!(1.5),
        json!("three"),
        json!(null),
    ] {
        let (status, _) = code(set_line(&app, &user, potion.id, bad.clone()).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert_eq!(
        set_line(&app, &user, potion.id, json!(99)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        code(set_line(&app, &user, euro.id, json!(1)).await).await,
        (StatusCode::CONFLICT, "CURRENCY_MISMATCH".to_owned())
    );
    let bad_id = app
        .as_user(&user, Method::PUT, "/api/cart/lines/abc")
        .json(&json!({ "quantity": 1 }))
        .send()
        .await
        .expect("request");
    assert_eq!(bad_id.status(), StatusCode::NOT_FOUND);

    // Owning a non-consumable (or having an order for it) keeps it out of the cart.
    app.buy(&user, sword.id).await;
    assert_eq!(
        code(set_line(&app, &user, sword.id, json!(1)).await).await,
        (StatusCode::CONFLICT, "ALREADY_OWNED".to_owned())
    );

    // Stock and the per-customer limit.
    let scarce = app.item("Scarce Gem").consumable().create().await;
    let scarce = patch_item(&app, &scarce, json!({ "stock": 2, "max_per_user": 3 })).await;
    assert_eq!(scarce.available, Some(2));
    assert_eq!(
        code(set_line(&app, &user, scarce.id, json!(3)).await).await,
        (StatusCode::CONFLICT, "INSUFFICIENT_STOCK".to_owned())
    );
    patch_item(&app, &scarce, json!({ "stock": 10, "max_per_user": 3 })).await;
    assert_eq!(
        code(set_line(&app, &user, scarce.id, json!(4)).await).await,
        (StatusCode::CONFLICT, "PER_USER_LIMIT".to_owned())
    );
    let stock_reset = patch_item(
        &app,
        &scarce,
        json!({ "stock": null, "max_per_user": null }),
    )
    .await;
    assert_eq!((stock_reset.stock, stock_reset.available), (None, None));
}

#[tokio::test]
async fn lines_that_cannot_be_bought_any_more_are_dropped_with_a_warning_once() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let retiring = app.item("Retiring Blade").create().await;
    let scarce = app.item("Scarce Dust").consumable().create().await;
    let scarce = patch_item(&app, &scarce, json!({ "stock": 5 })).await;
    let dwindling = app.item("Dwindling Salt").consumable().create().await;
    let dwindling = patch_item(&app, &dwindling, json!({ "stock": 10 })).await;
    let user = app.customer().await;
    for (item, quantity) in [(&retiring, 1), (&scarce, 2), (&dwindling, 6)] {
        assert_eq!(
            set_line(&app, &user, item.id, json!(quantity))
                .await
                .status(),
            StatusCode::OK
        );
    }
    patch_item(&app, &retiring, json!({ "active": false })).await;
    patch_item(&app, &scarce, json!({ "stock": 0 })).await;
    patch_item(&app, &dwindling, json!({ "stock": 4 })).await;

    let corrected = cart(&app, &user).await;
    let codes: Vec<(&str, i64)> = corrected
        .warnings
        .iter()
        .map(|w| (w.code.as_str(), w.item_id))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("ITEM_UNAVAILABLE", retiring.id),
            ("SOLD_OUT", scarce.id),
            ("QUANTITY_REDUCED", dwindling.id)
        ]
    );
    assert_eq!(corrected.lines.len(), 1);
    assert_eq!(corrected.lines[0].quantity, 4);
    let again = cart(&app, &user).await;
    assert!(again.warnings.is_empty(), "said once");
    assert_eq!(again.lines.len(), 1);
}

#[tokio::test]
async fn checkout_turns_the_cart_into_one_paid_order_with_every_line() {
    let app = TestApp::spawn().await;
    let potion = app
        .item("Paid Potion")
        .price_cents(500)
        .consumable()
        .create()
        .await;
    let shield = app.item("Paid Shield").price_cents(4_000).create().await;
    let user = app.customer().await;
    assert_eq!(
        error_code(checkout(&app, &user).await).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "CART_EMPTY".to_owned())
    );
    set_line(&app, &user, potion.id, json!(3)).await;
    set_line(&app, &user, shield.id, json!(1)).await;

    let response = checkout(&app, &user).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let order: Value = response.json().await.expect("json");
    assert_eq!(order["status"], "pending");
    assert_eq!(order["amount_cents"], 3 * 500 + 4_000);
    assert_eq!(order["currency"], "USD");
    let lines = order["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 2);
    for field in [
        "item_id",
        "sku",
        "name",
        "quantity",
        "unit_price_cents",
        "discount_cents",
        "line_total_cents",
    ] {
        assert!(!lines[0][field].is_null(), "line.{field}");
    }
    assert_eq!(lines[0]["quantity"], 3);
    assert_eq!(lines[0]["line_total_cents"], 1_500);
    assert_eq!(
        order["item"]["id"], potion.id,
        "`item` is the first line, for old clients"
    );
    assert!(
        cart(&app, &user).await.lines.is_empty(),
        "the cart was emptied"
    );

    // Prices were frozen into the order.
    patch_item(&app, &potion, json!({ "price_cents": 999 })).await;
    let order_id = uuid::Uuid::parse_str(order["order_id"].as_str().expect("id")).expect("uuid");
    let paid = app.wait_for(&user, order_id, OrderStatus::Paid).await;
    assert_eq!(paid.amount_cents, 5_500);
    assert_eq!(paid.lines[0].unit_price_cents, 500);

    let library = app.store.orders().library(user.id).await.expect("library");
    let owned: Vec<(i64, u32)> = {
        let mut v: Vec<(i64, u32)> = library.iter().map(|e| (e.item.id, e.count)).collect();
        v.sort_unstable();
        v
    };
    let mut expected = vec![(potion.id, 3), (shield.id, 1)];
    expected.sort_unstable();
    assert_eq!(owned, expected);
}

#[tokio::test]
async fn a_checkout_key_returns_the_same_order() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = app.item("Keyed Potion").consumable().create().await;
    let user = app.customer().await;
    set_line(&app, &user, potion.id, json!(2)).await;
    let send = || {
        app.as_user(&user, Method::POST, "/api/cart/checkout")
            .header("idempotency-key", "checkout-1")
            .send()
    };
    let first: Order = send().await.expect("request").json().await.expect("order");
    let again = send().await.expect("request");
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Order = again.json().await.expect("order");
    assert_eq!(again.order_id, first.order_id);
    let orders: Vec<Order> = json_of(app.as_user(&user, Method::GET, "/api/purchases")).await;
    assert_eq!(orders.len(), 1);
}

#[tokio::test]
async fn fifty_checkouts_for_the_last_unit_sell_it_once() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let relic = app.item("Last Relic").price_cents(100).create().await;
    let relic = patch_item(&app, &relic, json!({ "stock": 1 })).await;
    let mut buyers = Vec::new();
    for _ in 0..50 {
        let user = app.customer().await;
        assert_eq!(
            set_line(&app, &user, relic.id, json!(1)).await.status(),
            StatusCode::OK
        );
        buyers.push(user);
    }
    let attempts = buyers.iter().map(|user| checkout(&app, user));
    let responses = futures::future::join_all(attempts).await;
    let mut placed = 0;
    let mut refused = 0;
    for response in responses {
        match response.status() {
            StatusCode::ACCEPTED => placed += 1,
            StatusCode::CONFLICT => {
                assert_eq!(error_code(response).await.1, "INSUFFICIENT_STOCK");
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((placed, refused), (1, 49));
    let now = item_json(&app, relic.id).await;
    assert_eq!(now.available, Some(0), "the catalog says sold out at once");
}

#[tokio::test]
async fn units_sold_while_unlimited_count_once_the_item_is_limited_even_mid_checkout() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let tonic = app.item("Unlimited Tonic").consumable().create().await;
    // Unlimited: twenty concurrent checkouts all go through (none waits on another).
    let mut buyers = Vec::new();
    for _ in 0..20 {
        let user = app.customer().await;
        set_line(&app, &user, tonic.id, json!(2)).await;
        buyers.push(user);
    }
    let (first, rest) = buyers.split_at(10);
    let placed = futures::future::join_all(first.iter().map(|u| checkout(&app, u))).await;
    assert!(placed.iter().all(|r| r.status() == StatusCode::ACCEPTED));

    // The operator limits it while ten more checkouts run: however they interleave, the units
    // of every order placed count against the new stock, so at most 50 are ever taken.
    let admin = app.admin().await;
    let limit = app
        .as_user(&admin, Method::PATCH, &format!("/api/items/{}", tonic.id))
        .json(&json!({ "stock": 50 }))
        .send();
    let (limited, placed) = tokio::join!(
        limit,
        futures::future::join_all(rest.iter().map(|u| checkout(&app, u)))
    );
    assert_eq!(limited.expect("request").status(), StatusCode::OK);
    // Each of them is placed, or refused asking to try again (it read the item unlimited and
    // found it limited): never a 5xx.
    for response in &placed {
        assert!(
            matches!(
                response.status(),
                StatusCode::ACCEPTED | StatusCode::CONFLICT
            ),
            "{}",
            response.status()
        );
    }
    let placed_units: i64 = 20
        + 2 * placed
            .iter()
            .filter(|r| r.status() == StatusCode::ACCEPTED)
            .count() as i64;
    let now = item_json(&app, tonic.id).await;
    assert_eq!(now.stock, Some(50));
    assert_eq!(now.available, Some(50 - placed_units));

    // And from here on it sells what is left, and no more.
    let last = app.customer().await;
    set_line(&app, &last, tonic.id, json!(50 - placed_units)).await;
    assert_eq!(checkout(&app, &last).await.status(), StatusCode::ACCEPTED);
    assert_eq!(item_json(&app, tonic.id).await.available, Some(0));
    let late = app.customer().await;
    let refused = set_line(&app, &late, tonic.id, json!(1)).await;
    assert_eq!(
        error_code(refused).await,
        (StatusCode::CONFLICT, "INSUFFICIENT_STOCK".to_owned())
    );
}

#[tokio::test]
async fn an_expired_order_gives_its_units_back_exactly_once() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let relic = app.item("Expiring Relic").consumable().create().await;
    let relic = patch_item(&app, &relic, json!({ "stock": 5 })).await;
    let user = app.customer().await;
    set_line(&app, &user, relic.id, json!(3)).await;
    let order: Order = checkout(&app, &user).await.json().await.expect("order");
    assert_eq!(item_json(&app, relic.id).await.available, Some(2));

    // The sweep running on two replicas at once (here: twice concurrently on one store, and on
    // a second replica in the PostgreSQL pass).
    let cutoff = order.created_at + chrono::Duration::seconds(1);
    let replica = match crate::helpers::backend() {
        crate::helpers::Backend::Postgres => Some(app.replica().await),
        crate::helpers::Backend::Sqlite => None,
    };
    let second = replica.as_ref().map_or(&app.store, |r| &r.store).orders();
    let first = app.store.orders();
    let (a, b) = tokio::join!(
        first.expire_placed_before(cutoff),
        second.expire_placed_before(cutoff)
    );
    assert_eq!(
        a.expect("sweep") + b.expect("sweep"),
        1,
        "one of them expired it"
    );
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Expired
    );
    assert_eq!(item_json(&app, relic.id).await.available, Some(5));
}

#[tokio::test]
async fn a_failed_payment_gives_its_units_back() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let relic = app.item("Declined Relic").create().await;
    let relic = patch_item(&app, &relic, json!({ "stock": 1 })).await;
    let user = app.customer().await;
    let order: Order = app.buy(&user, relic.id).await.json().await.expect("order");
    assert_eq!(item_json(&app, relic.id).await.available, Some(0));
    let declined = app
        .deliver("msg_declined", &payment_event("payment.failed", &order))
        .await;
    assert_eq!(declined.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Failed
    );
    assert_eq!(item_json(&app, relic.id).await.available, Some(1));
}

#[tokio::test]
async fn a_non_consumable_is_never_bought_twice_from_two_tabs() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let crown = app.item("Only Crown").create().await;
    let user = app.customer().await;
    set_line(&app, &user, crown.id, json!(1)).await;
    // The same shopper on three tabs: two checkouts of the cart and a direct purchase, at once.
    let (a, b, c) = tokio::join!(
        checkout(&app, &user),
        checkout(&app, &user),
        app.buy(&user, crown.id)
    );
    let statuses = [a.status(), b.status(), c.status()];
    let placed = statuses
        .iter()
        .filter(|s| **s == StatusCode::ACCEPTED)
        .count();
    assert_eq!(placed, 1, "{statuses:?}");
    for status in statuses {
        assert!(
            status == StatusCode::ACCEPTED
                || status == StatusCode::CONFLICT
                || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{status}"
        );
    }
    let orders: Vec<Order> = json_of(app.as_user(&user, Method::GET, "/api/purchases")).await;
    assert_eq!(orders.len(), 1);
}

#[tokio::test]
async fn every_tab_hears_that_the_cart_changed() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = app.item("Heard Potion").consumable().create().await;
    let user = app.customer().await;
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
    set_line(&app, &user, potion.id, json!(2)).await;
    let message = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(Ok(Message::Text(text))) = socket.next().await {
                return serde_json::from_str::<LiveMessage>(&text).expect("live message");
            }
        }
    })
    .await
    .expect("a message");
    assert_eq!(
        message,
        LiveMessage::CartUpdated {
            user_id: user.id,
            line_count: 1
        }
    );
}

/// Additions at the same moment are checked against each other: a cart never ends up with two
/// currencies or more than its 50 lines (found by an attacker's pass: both checks read the
/// other lines before writing, outside any transaction).
#[tokio::test]
async fn additions_at_the_same_moment_keep_one_currency_and_the_line_limit() {
    let app = TestApp::spawn().await;
    let user = app.customer().await;
    let dollars = app
        .item("Race Dollar Sword")
        .price_cents(500)
        .create()
        .await;
    let yen = app
        .item("Race Yen Sword")
        .price_cents(500)
        .currency("JPY")
        .create()
        .await;
    for round in 0..8 {
        let (a, b) = tokio::join!(
            set_line(&app, &user, dollars.id, json!(1)),
            set_line(&app, &user, yen.id, json!(1))
        );
        let statuses = [a.status(), b.status()];
        assert!(
            statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::CONFLICT),
            "round {round}: {statuses:?}"
        );
        let now = cart(&app, &user).await;
        assert_eq!(now.lines.len(), 1, "round {round}");
        let cleared = app
            .as_user(&user, Method::DELETE, "/api/cart")
            .send()
            .await
            .expect("request");
        assert!(cleared.status().is_success());
    }

    let items = app.items(56).await;
    for item in &items[..45] {
        assert_eq!(
            set_line(&app, &user, item.id, json!(1)).await.status(),
            StatusCode::OK
        );
    }
    let added = futures::future::join_all(
        items[45..]
            .iter()
            .map(|item| set_line(&app, &user, item.id, json!(1))),
    )
    .await;
    let ok = added
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    assert_eq!(ok, 5, "exactly the 5 free lines were taken");
    assert!(
        added
            .iter()
            .all(|r| r.status() == StatusCode::OK || r.status() == StatusCode::UNPROCESSABLE_ENTITY)
    );
    assert_eq!(cart(&app, &user).await.lines.len(), 50);
}

/// Found by an attacker's pass: an item whose currency an operator changed after it went into
/// a cart was summed with the others into one total ("USD 1000 + JPY 2000 = USD 3000"). The
/// cart keeps its oldest line's currency and removes the other, saying why.
#[tokio::test]
async fn a_line_whose_item_changed_currency_leaves_the_cart_with_a_warning() {
    let app = TestApp::spawn().await;
    let user = app.customer().await;
    let first = app
        .item("Kept Dollar Axe")
        .price_cents(1_000)
        .create()
        .await;
    let second = app.item("Moving Axe").price_cents(2_000).create().await;
    for item in [&first, &second] {
        assert_eq!(
            set_line(&app, &user, item.id, json!(1)).await.status(),
            StatusCode::OK
        );
    }
    patch_item(
        &app,
        &second,
        json!({ "currency": "JPY", "price_cents": 2_000 }),
    )
    .await;
    let now = cart(&app, &user).await;
    assert_eq!(
        now.lines.iter().map(|l| l.item_id).collect::<Vec<_>>(),
        vec![first.id]
    );
    assert_eq!((now.total_cents, now.currency.as_str()), (1_000, "USD"));
    assert_eq!(
        now.warnings
            .iter()
            .map(|w| (w.code.as_str(), w.item_id))
            .collect::<Vec<_>>(),
        vec![("CURRENCY_MISMATCH", second.id)]
    );
    // Said once: the line is gone.
    assert!(cart(&app, &user).await.warnings.is_empty());

    // The oldest line itself moving to another currency is not a silent switch of the
    // cart's currency (¥1000 charged as $10.00): it leaves too, with the same warning.
    patch_item(
        &app,
        &first,
        json!({ "currency": "JPY", "price_cents": 1_000 }),
    )
    .await;
    // Checking out without reading the cart first is refused too, and the cart stays in the
    // currency it was seen in for what is added meanwhile (an attacker's pass: both took the
    // item's new currency).
    let refused = checkout(&app, &user).await;
    assert_eq!(
        error_code(refused).await,
        (StatusCode::CONFLICT, "CURRENCY_MISMATCH".to_owned())
    );
    let yen = app
        .item("Yen Arrow")
        .price_cents(300)
        .currency("JPY")
        .create()
        .await;
    assert_eq!(
        set_line(&app, &user, yen.id, json!(1)).await.status(),
        StatusCode::CONFLICT
    );
    let now = cart(&app, &user).await;
    assert!(now.lines.is_empty());
    assert_eq!(
        now.warnings
            .iter()
            .map(|w| (w.code.as_str(), w.item_id))
            .collect::<Vec<_>>(),
        vec![("CURRENCY_MISMATCH", first.id)]
    );
    assert_eq!(
        set_line(&app, &user, first.id, json!(1)).await.status(),
        StatusCode::OK
    );
    let now = cart(&app, &user).await;
    assert_eq!((now.total_cents, now.currency.as_str()), (1_000, "JPY"));
    assert_eq!(checkout(&app, &user).await.status(), StatusCode::ACCEPTED);
}
