//! License keys: imports (`POST /api/admin/items/{id}/keys`, JSON or CSV), the pool's counts
//! (never its keys), one key per unit handed out when an order is paid, exactly once, never the
//! same key twice under concurrency, and revoked by a refund.

use std::collections::HashSet;

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use api_types::{Item, KeyPool, Order, OrderStatus};

use crate::helpers::*;

fn keys_path(item: &Item) -> String {
    format!("/api/admin/items/{}/keys", item.id)
}

async fn import(app: &TestApp, admin: &TestUser, item: &Item, keys: &[String]) -> Value {
    let response = app
        .as_user(admin, Method::POST, &keys_path(item))
        .json(&json!({ "keys": keys }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.expect("json")
}

async fn pool(app: &TestApp, admin: &TestUser, item: &Item) -> KeyPool {
    json_of(app.as_user(admin, Method::GET, &keys_path(item))).await
}

fn keys(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}-{i:04}")).collect()
}

async fn held_keys(app: &TestApp, user: &TestUser) -> Vec<String> {
    app.store
        .orders()
        .library(user.id)
        .await
        .expect("library")
        .into_iter()
        .flat_map(|entry| entry.keys)
        .collect()
}

#[tokio::test]
async fn imports_count_duplicates_and_the_pool_never_shows_a_key() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let item = app.item("Keyed Game").price_cents(1_500).create().await;

    let first = import(
        &app,
        &admin,
        &item,
        &[
            "GAME-AAAA-0001".into(),
            "GAME-AAAA-0002".into(),
            "GAME-AAAA-0001".into(),
        ],
    )
    .await;
    assert_eq!(first, json!({ "added": 2, "duplicates": 1 }));

    // A CSV upload: the first column, a header row skipped.
    let csv = app
        .as_user(&admin, Method::POST, &keys_path(&item))
        .header(header::CONTENT_TYPE, "text/csv")
        .body("key,batch\nGAME-AAAA-0002,1\n\"GAME-AAAA-0003\",2\n")
        .send()
        .await
        .expect("request");
    assert_eq!(csv.status(), StatusCode::CREATED);
    assert_eq!(
        csv.json::<Value>().await.expect("json"),
        json!({ "added": 1, "duplicates": 1 })
    );

    let response = app
        .as_user(&admin, Method::GET, &keys_path(&item))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("body");
    assert!(!text.contains("AAAA"), "a key leaked: {text}");
    let pool: KeyPool = serde_json::from_str(&text).expect("pool");
    assert_eq!((pool.available, pool.assigned, pool.revoked), (3, 0, 0));
    assert_eq!(pool.recent[0].masked, "••••••0003");
    assert!(pool.recent.iter().all(|k| k.status == "available"));

    // The item is in stock for exactly its keys, and its stock now follows the pool.
    let listed: Item = json_of(app.get(&format!("/api/items/{}", item.id))).await;
    assert_eq!(listed.available, Some(3));
    let patch = app
        .as_user(&admin, Method::PATCH, &format!("/api/items/{}", item.id))
        .json(&json!({ "stock": 50 }))
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_code(patch).await,
        (StatusCode::CONFLICT, "STOCK_FOLLOWS_KEYS".to_owned())
    );
    // Encrypted at rest: the database holds no key in the clear.
    use sea_orm::EntityTrait as _;
    let rows = store::entity::license_keys::Entity::find()
        .all(app.store.db())
        .await
        .expect("rows");
    assert_eq!(rows.len(), 3);
    for row in rows {
        assert!(
            !row.secret.windows(4).any(|w| w == b"AAAA"),
            "stored in the clear"
        );
        assert!(!row.fingerprint.contains("AAAA"));
    }
}

#[tokio::test]
async fn bad_imports_are_refused_with_clear_errors_and_customers_are_kept_out() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let item = app.item("Keyless Game").create().await;
    let path = keys_path(&item);

    for (body, code) in [
        (json!({ "keys": [] }), "VALIDATION_FAILED"),
        (json!({ "keys": ["has a space"] }), "VALIDATION_FAILED"),
        (json!({ "keys": ["ok-key-1", "x"] }), "VALIDATION_FAILED"),
        (
            json!({ "keys": ["ok-key-1"], "extra": 1 }),
            "VALIDATION_FAILED",
        ),
        (json!({ "keys": "ok-key-1" }), "VALIDATION_FAILED"),
    ] {
        let response = app
            .as_user(&admin, Method::POST, &path)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(
            error_code(response).await,
            (StatusCode::UNPROCESSABLE_ENTITY, code.to_owned()),
            "{body}"
        );
    }
    let too_many = json!({ "keys": keys("K", 5_001) });
    let response = app
        .as_user(&admin, Method::POST, &path)
        .json(&too_many)
        .send()
        .await
        .expect("request");
    assert!(
        matches!(
            response.status(),
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNPROCESSABLE_ENTITY
        ),
        "{}",
        response.status()
    );
    let xml = app
        .as_user(&admin, Method::POST, &path)
        .header(header::CONTENT_TYPE, "application/xml")
        .body("<keys/>")
        .send()
        .await
        .expect("request");
    assert_eq!(xml.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let broken = app
        .as_user(&admin, Method::POST, &path)
        .header(header::CONTENT_TYPE, "text/csv")
        .body(vec![0xff, 0xfe, b'\n'])
        .send()
        .await
        .expect("request");
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    for missing in ["/api/admin/items/999999/keys", "/api/admin/items/abc/keys"] {
        let response = app
            .as_user(&admin, Method::POST, missing)
            .json(&json!({ "keys": ["ok-key-1"] }))
            .send()
            .await
            .expect("request");
        assert!(
            matches!(
                response.status(),
                StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST
            ),
            "{missing}: {}",
            response.status()
        );
    }
    for method in [Method::GET, Method::POST] {
        let response = app
            .as_user(&customer, method.clone(), &path)
            .json(&json!({ "keys": ["ok-key-1"] }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method}");
        let response = app
            .http
            .request(method.clone(), app.url(&path))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method}");
    }
    // Nothing was written by any of it.
    let pool = pool(&app, &admin, &item).await;
    assert_eq!((pool.available, pool.assigned, pool.revoked), (0, 0, 0));
}

#[tokio::test]
async fn a_paid_order_gets_one_key_per_unit_once_and_a_refund_revokes_it() {
    let stand_in = StandIn::start().await;
    let app = TestApp::spawn_with(stand_in.env()).await;
    let admin = app.admin().await;
    let game = app.item("Keyed Epic").price_cents(2_000).create().await;
    import(&app, &admin, &game, &keys("EPIC", 3)).await;
    let user = app.customer().await;
    let order: Order = app.buy(&user, game.id).await.json().await.expect("order");
    assert!(
        held_keys(&app, &user).await.is_empty(),
        "a key before payment"
    );

    // The payment arrives four times at once, under two webhook ids.
    let body = payment_event("payment.succeeded", &order);
    let deliveries = (0..4).map(|i| {
        let (app, body) = (&app, &body);
        async move {
            app.deliver(&format!("msg_pay_{}", i % 2), body)
                .await
                .status()
        }
    });
    for status in futures::future::join_all(deliveries).await {
        assert!(status.is_success(), "{status}");
    }
    let paid = app.wait_for(&user, order.order_id, OrderStatus::Paid).await;
    assert_eq!(held_keys(&app, &user).await, ["EPIC-0001"]);
    let after = pool(&app, &admin, &game).await;
    assert_eq!((after.available, after.assigned), (2, 1));
    assert_eq!(
        after.recent.last().map(|k| k.order_id),
        Some(Some(order.order_id))
    );

    // A refund of the line takes the key back for good.
    let refund: Value = app
        .as_user(
            &admin,
            Method::POST,
            &format!("/api/admin/orders/{}/refunds", order.order_id),
        )
        .json(&json!({ "line_item_ids": [paid.lines[0].line_id] }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let refund_id: uuid::Uuid = serde_json::from_value(refund["refund_id"].clone()).expect("id");
    let done = app
        .deliver(
            "msg_refunded",
            &refund_event(&paid, paid.amount_cents, Some(refund_id)),
        )
        .await;
    assert!(done.status().is_success(), "{}", done.status());
    app.wait_for(&user, order.order_id, OrderStatus::Refunded)
        .await;
    assert!(held_keys(&app, &user).await.is_empty());
    let revoked = pool(&app, &admin, &game).await;
    assert_eq!(
        (revoked.available, revoked.assigned, revoked.revoked),
        (2, 0, 1)
    );
}

#[tokio::test]
async fn twenty_concurrent_buyers_for_ten_keys_get_ten_different_keys() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let game = app
        .item("Limited Keys")
        .price_cents(990)
        .consumable()
        .create()
        .await;
    import(&app, &admin, &game, &keys("RACE", 10)).await;
    let mut buyers = Vec::new();
    for _ in 0..20 {
        buyers.push(app.customer().await);
    }

    let attempts = buyers.iter().map(|buyer| {
        let app = &app;
        async move {
            let response = app.buy(buyer, game.id).await;
            match response.status() {
                StatusCode::ACCEPTED | StatusCode::CREATED => {
                    let order: Order = response.json().await.expect("order");
                    Ok(order.order_id)
                }
                _ => Err(error_code(response).await),
            }
        }
    });
    let results = futures::future::join_all(attempts).await;
    let placed: Vec<_> = results
        .iter()
        .zip(&buyers)
        .filter_map(|(r, b)| r.as_ref().ok().map(|id| (b, *id)))
        .collect();
    assert_eq!(placed.len(), 10, "{results:?}");
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(
            refused,
            &(StatusCode::CONFLICT, "INSUFFICIENT_STOCK".to_owned())
        );
    }

    let mut all_keys = Vec::new();
    for (buyer, order_id) in &placed {
        app.wait_for(buyer, *order_id, OrderStatus::Paid).await;
        let held = held_keys(&app, buyer).await;
        assert_eq!(held.len(), 1, "one key per paid unit");
        all_keys.extend(held);
    }
    let distinct: HashSet<&String> = all_keys.iter().collect();
    assert_eq!(
        distinct.len(),
        10,
        "a key was handed out twice: {all_keys:?}"
    );
    let after = pool(&app, &admin, &game).await;
    assert_eq!((after.available, after.assigned), (0, 10));
    let listed: Item = json_of(app.get(&format!("/api/items/{}", game.id))).await;
    assert_eq!(listed.available, Some(0));
}
