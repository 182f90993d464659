//! Gifts: a checkout with `gift_to` sends the items (and their license keys) to another member,
//! who hears `gift_received` live and finds it on their gifts list; the checks that refuse a
//! gift happen before anything is paid, and change nothing.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use api_types::{GiftReceived, LiveMessage, Order, OrderStatus};

use crate::helpers::*;

#[tokio::test]
async fn a_gift_goes_to_the_recipient_with_its_key_and_they_hear_it_live() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let game = app.item("Gifted Game").price_cents(2_500).create().await;
    let potion = app
        .item("Gifted Potion")
        .price_cents(300)
        .consumable()
        .create()
        .await;
    let added = app
        .as_user(
            &admin,
            Method::POST,
            &format!("/api/admin/items/{}/keys", game.id),
        )
        .json(&json!({ "keys": ["GIFT-KEY-0001"] }))
        .send()
        .await
        .expect("request");
    assert_eq!(added.status(), StatusCode::CREATED);
    let buyer = app.customer().await;
    let friend = app.customer().await;
    let mut socket = crate::ws::connect(&app, &friend).await;
    crate::ws::wait_for_sockets(&app, 1).await;

    app.put_in_cart(&buyer, &game, 1).await;
    app.put_in_cart(&buyer, &potion, 2).await;
    let response = app
        .check_out(
            &buyer,
            json!({ "gift_to": friend.username, "gift_message": "Happy birthday!" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let order: Order = response.json().await.expect("order");
    let gift = order.gift.clone().expect("a gift");
    assert_eq!(gift.to_user_id, friend.id);
    assert_eq!(gift.to_username, friend.username);
    assert_eq!(gift.message.as_deref(), Some("Happy birthday!"));
    assert_eq!(order.user_id, buyer.id, "the buyer pays and sees the order");

    match crate::ws::next_message(&mut socket, std::time::Duration::from_secs(15)).await {
        Some(LiveMessage::GiftReceived {
            order_id,
            user_id,
            from_username,
            items,
            message,
        }) => {
            assert_eq!(order_id, order.order_id);
            assert_eq!(user_id, friend.id);
            assert_eq!(from_username, buyer.username);
            assert_eq!(items.len(), 2);
            assert_eq!(message.as_deref(), Some("Happy birthday!"));
        }
        other => panic!("expected gift_received, got {other:?}"),
    }
    let paid = app
        .wait_for(&buyer, order.order_id, OrderStatus::Paid)
        .await;
    assert!(paid.gift.is_some());

    assert_eq!(
        app.library_ids(&friend).await,
        HashSet::from([game.id, potion.id])
    );
    assert!(app.library_ids(&buyer).await.is_empty());
    let friend_keys: Vec<String> = app
        .store
        .orders()
        .library(friend.id)
        .await
        .expect("library")
        .into_iter()
        .flat_map(|e| e.keys)
        .collect();
    assert_eq!(friend_keys, ["GIFT-KEY-0001"]);

    let gifts: Vec<GiftReceived> =
        json_of(app.as_user(&friend, Method::GET, "/api/users/me/gifts")).await;
    assert_eq!(gifts.len(), 1);
    assert_eq!(gifts[0].from_username, buyer.username);
    assert_eq!(gifts[0].message.as_deref(), Some("Happy birthday!"));
    let none: Vec<GiftReceived> =
        json_of(app.as_user(&buyer, Method::GET, "/api/users/me/gifts")).await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn gifts_that_cannot_be_given_are_refused_before_payment_and_change_nothing() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let shield = app.item("Gift Shield").price_cents(1_000).create().await;
    let buyer = app.customer().await;
    let owner = app.customer().await;
    // `owner` already holds the shield (a pending order counts, as it does for the buyer).
    let held: Order = app
        .buy(&owner, shield.id)
        .await
        .json()
        .await
        .expect("order");
    assert_eq!(held.status, OrderStatus::Pending);
    app.put_in_cart(&buyer, &shield, 1).await;
    // A closed account receives nothing (and is not told apart from one that never existed).
    let closed = app.customer().await;
    let deleted = app
        .as_user(&closed, Method::DELETE, "/api/users/me")
        .json(&json!({ "password": "correct horse battery" }))
        .send()
        .await
        .expect("request");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let long = "x".repeat(201);
    for (body, status, code) in [
        (
            json!({ "gift_to": "nobody-by-this-name" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            json!({ "gift_to": closed.username }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            json!({ "gift_to": "" , "gift_message": "for you" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            json!({ "gift_to": buyer.username }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            json!({ "gift_to": owner.username, "gift_message": long }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            json!({ "gift_to": owner.username, "gift_message": "bad\u{0007}bell" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            json!({ "gift_to": owner.username, "surprise": true }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            json!({ "gift_to": owner.username }),
            StatusCode::CONFLICT,
            "RECIPIENT_ALREADY_OWNS",
        ),
    ] {
        let response = app.check_out(&buyer, body.clone()).await;
        assert_eq!(
            error_code(response).await,
            (status, code.to_owned()),
            "{body}"
        );
    }
    let response = app
        .as_user(&buyer, Method::POST, "/api/cart/checkout")
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Nothing was written: no order for the buyer, the cart is as it was.
    let orders: Vec<Order> = json_of(app.as_user(&buyer, Method::GET, "/api/purchases")).await;
    assert!(orders.is_empty(), "{orders:?}");
    let cart: Value = json_of(app.as_user(&buyer, Method::GET, "/api/cart")).await;
    assert_eq!(cart["lines"].as_array().map(Vec::len), Some(1));
    // The buyer may still buy it for themself.
    let own = app.check_out(&buyer, json!({})).await;
    assert_eq!(own.status(), StatusCode::ACCEPTED);
    let own: Order = own.json().await.expect("order");
    assert!(own.gift.is_none());
}
