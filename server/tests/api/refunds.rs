//! Refunds through the provider: `POST /api/admin/orders/{order_id}/refunds`, the provider's
//! `payment.refunded` webhook completing them exactly once, partial refunds by line and by
//! amount, refunds the provider makes unasked, and what a refund takes back.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use api_types::{Item, LiveMessage, Order, OrderStatus, Refund};

use crate::helpers::*;

async fn two_items(app: &TestApp) -> (Item, Item) {
    let shield = app.item("Refund Shield").price_cents(4_000).create().await;
    let potion = app
        .item("Refund Potion")
        .price_cents(500)
        .consumable()
        .create()
        .await;
    (shield, potion)
}

/// A two-line order (one shield, two potions), placed from the cart.
async fn two_line_order(app: &TestApp, user: &TestUser, a: &Item, b: &Item) -> Order {
    app.put_in_cart(user, a, 1).await;
    app.put_in_cart(user, b, 2).await;
    let response = app.check_out(user, json!({})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json().await.expect("order")
}

fn refunds_path(order: &Order) -> String {
    format!("/api/admin/orders/{}/refunds", order.order_id)
}

async fn ask(
    app: &TestApp,
    admin: &TestUser,
    order: &Order,
    key: &str,
    body: Value,
) -> reqwest::Response {
    app.as_user(admin, Method::POST, &refunds_path(order))
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .expect("request")
}

async fn refunds_of(app: &TestApp, order: &Order) -> Vec<Refund> {
    app.store
        .orders()
        .refunds_for(order.order_id)
        .await
        .expect("refunds")
}

#[tokio::test]
async fn an_operator_refunds_one_line_then_the_rest_through_the_simulator() {
    let app = TestApp::spawn().await;
    let (shield, potion) = two_items(&app).await;
    let user = app.customer().await;
    let admin = app.admin().await;
    let order = two_line_order(&app, &user, &shield, &potion).await;
    let order = app.wait_for(&user, order.order_id, OrderStatus::Paid).await;
    assert_eq!(order.refunded_cents, 0);
    assert_eq!(
        app.library_ids(&user).await,
        HashSet::from([shield.id, potion.id])
    );

    let shield_line = order
        .lines
        .iter()
        .find(|l| l.item_id == shield.id)
        .expect("shield line");
    let accepted = ask(
        &app,
        &admin,
        &order,
        "refund-shield",
        json!({ "line_item_ids": [shield_line.line_id], "reason": "bought by mistake" }),
    )
    .await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let accepted: Value = accepted.json().await.expect("json");
    assert_eq!(accepted["status"], "pending");
    assert_eq!(accepted["amount_cents"], 4_000);
    let refund_id = accepted["refund_id"]
        .as_str()
        .expect("refund id")
        .to_owned();

    let partly = app
        .wait_for(&user, order.order_id, OrderStatus::PartiallyRefunded)
        .await;
    assert_eq!(partly.refunded_cents, 4_000);
    let refunded_lines: Vec<bool> = partly.lines.iter().map(|l| l.refunded).collect();
    assert_eq!(
        refunded_lines,
        partly
            .lines
            .iter()
            .map(|l| l.item_id == shield.id)
            .collect::<Vec<_>>()
    );
    assert_eq!(app.library_ids(&user).await, HashSet::from([potion.id]));
    let refunds = refunds_of(&app, &order).await;
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].refund_id.to_string(), refund_id);
    assert_eq!(refunds[0].status, "succeeded");
    assert_eq!(refunds[0].line_ids, vec![shield_line.line_id]);
    // The shield can be bought again: the refund took it back.
    let again = app.buy(&user, shield.id).await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);

    // Everything left: an empty body.
    let rest = app
        .as_user(&admin, Method::POST, &refunds_path(&order))
        .header("idempotency-key", "refund-rest")
        .send()
        .await
        .expect("request");
    assert_eq!(rest.status(), StatusCode::ACCEPTED);
    let rest: Value = rest.json().await.expect("json");
    assert_eq!(rest["amount_cents"], 1_000);
    let done = app
        .wait_for(&user, order.order_id, OrderStatus::Refunded)
        .await;
    assert_eq!(done.refunded_cents, done.amount_cents);
    assert!(done.lines.iter().all(|l| l.refunded));
    assert!(!app.library_ids(&user).await.contains(&potion.id));
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
            OrderStatus::PartiallyRefunded,
            OrderStatus::Refunded
        ]
    );
    let more = ask(&app, &admin, &order, "refund-more", json!({})).await;
    assert_eq!(
        error_code(more).await,
        (StatusCode::CONFLICT, "ORDER_NOT_REFUNDABLE".to_owned())
    );
}

#[tokio::test]
async fn refund_requests_are_checked_before_anything_is_asked() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let (shield, potion) = two_items(&app).await;
    let user = app.customer().await;
    let admin = app.admin().await;
    let order = two_line_order(&app, &user, &shield, &potion).await;

    let unpaid = ask(&app, &admin, &order, "k-unpaid", json!({})).await;
    assert_eq!(
        error_code(unpaid).await,
        (StatusCode::CONFLICT, "ORDER_NOT_REFUNDABLE".to_owned())
    );
    let order = app.pay(&user, &order).await;
    let by_customer = app
        .as_user(&user, Method::POST, &refunds_path(&order))
        .send()
        .await
        .expect("request");
    assert_eq!(by_customer.status(), StatusCode::FORBIDDEN);
    let anonymous = app
        .post(&refunds_path(&order))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // Over what was paid, up to where a sum in SQL would overflow a bigint (PostgreSQL).
    for (key, amount) in [
        ("k-much", order.amount_cents + 1),
        ("k-huge", i64::MAX - 1),
        ("k-max", i64::MAX),
    ] {
        let too_much = ask(&app, &admin, &order, key, json!({ "amount_cents": amount })).await;
        assert_eq!(
            error_code(too_much).await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "REFUND_EXCEEDS_CAPTURED".to_owned()
            ),
            "{amount}"
        );
    }
    for (key, body) in [
        ("k-zero", json!({ "amount_cents": 0 })),
        ("k-negative", json!({ "amount_cents": -5 })),
        ("k-line", json!({ "line_item_ids": [987_654_321] })),
        ("k-type", json!({ "amount_cents": "lots" })),
        ("k-extra", json!({ "everything": true })),
        ("k-reason", json!({ "reason": "nul\u{0}" })),
        (
            "k-over-lines",
            json!({ "line_item_ids": [order.lines[1].line_id], "amount_cents": 5_000 }),
        ),
    ] {
        let response = ask(&app, &admin, &order, key, body.clone()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
    }
    let malformed = app
        .as_user(&admin, Method::POST, &refunds_path(&order))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .expect("request");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let bad_key = app
        .as_user(&admin, Method::POST, &refunds_path(&order))
        .header("idempotency-key", "has space")
        .send()
        .await
        .expect("request");
    assert_eq!(bad_key.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app
        .as_user(
            &admin,
            Method::POST,
            &format!("/api/admin/orders/{}/refunds", Uuid::new_v4()),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(
        refunds_of(&app, &order).await.is_empty(),
        "nothing was written"
    );

    // The same key and body: the same refund. Another body: refused.
    let line = order.lines[1].line_id;
    let first: Value = ask(
        &app,
        &admin,
        &order,
        "k-same",
        json!({ "line_item_ids": [line] }),
    )
    .await
    .json()
    .await
    .expect("json");
    let again: Value = ask(
        &app,
        &admin,
        &order,
        "k-same",
        json!({ "line_item_ids": [line] }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(first["refund_id"], again["refund_id"]);
    let reused = ask(&app, &admin, &order, "k-same", json!({ "amount_cents": 1 })).await;
    assert_eq!(
        error_code(reused).await,
        (StatusCode::CONFLICT, "IDEMPOTENCY_KEY_REUSED".to_owned())
    );
    let line_twice = ask(
        &app,
        &admin,
        &order,
        "k-other",
        json!({ "line_item_ids": [line] }),
    )
    .await;
    assert_eq!(
        error_code(line_twice).await,
        (StatusCode::CONFLICT, "LINE_ALREADY_REFUNDED".to_owned())
    );
    assert_eq!(refunds_of(&app, &order).await.len(), 1);
    // Still paid: nothing changes until the provider says so.
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Paid
    );
}

#[tokio::test]
async fn concurrent_refund_requests_never_ask_for_more_than_was_paid() {
    let stand_in = StandIn::start().await;
    let app = TestApp::spawn_with(stand_in.env()).await;
    let shield = app.item("Race Shield").price_cents(1_000).create().await;
    let user = app.customer().await;
    let admin = app.admin().await;
    let order: Order = app.buy(&user, shield.id).await.json().await.expect("order");
    let order = app.pay(&user, &order).await;

    // Ten operators at once, each asking for 400 of the 1,000 paid: two fit.
    let requests = (0..10).map(|i| {
        let (app, admin, order) = (&app, &admin, &order);
        async move {
            ask(
                app,
                admin,
                order,
                &format!("race-{i}"),
                json!({ "amount_cents": 400 }),
            )
            .await
        }
    });
    let responses = futures::future::join_all(requests).await;
    let mut accepted = 0;
    for response in responses {
        match response.status() {
            StatusCode::ACCEPTED => accepted += 1,
            _ => assert_eq!(
                error_code(response).await,
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "REFUND_EXCEEDS_CAPTURED".to_owned()
                )
            ),
        }
    }
    assert_eq!(accepted, 2);
    assert_eq!(stand_in.refund_requests().len(), 2);
    let request = &stand_in.refund_requests()[0];
    for field in [
        "refund_id",
        "order_id",
        "transaction_id",
        "amount_cents",
        "currency",
    ] {
        assert!(!request[field].is_null(), "refund request carries {field}");
    }
    assert_eq!(request["order_id"], json!(order.order_id));
    assert_eq!(request["amount_cents"], 400);
    assert_eq!(request["currency"], "USD");
    assert_eq!(
        request["transaction_id"],
        json!(order.provider_transaction_id)
    );
}

#[tokio::test]
async fn duplicate_and_concurrent_refund_webhooks_refund_once() {
    let stand_in = StandIn::start().await;
    let app = TestApp::spawn_with(stand_in.env()).await;
    let shield = app.item("Webhook Shield").price_cents(1_000).create().await;
    let user = app.customer().await;
    let admin = app.admin().await;
    let order: Order = app.buy(&user, shield.id).await.json().await.expect("order");
    let order = app.pay(&user, &order).await;
    let accepted: Value = ask(&app, &admin, &order, "dup", json!({ "amount_cents": 300 }))
        .await
        .json()
        .await
        .expect("json");
    let refund_id: Uuid = serde_json::from_value(accepted["refund_id"].clone()).expect("id");

    // A wrong amount for the refund is refused and changes nothing.
    let wrong = app
        .deliver("msg_wrong", &refund_event(&order, 301, Some(refund_id)))
        .await;
    assert_eq!(
        error_code(wrong).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "AMOUNT_MISMATCH".to_owned()
        )
    );
    // Eight copies under four webhook ids, all at once.
    let body = refund_event(&order, 300, Some(refund_id));
    let deliveries = (0..8).map(|i| {
        let (app, body) = (&app, &body);
        async move {
            app.deliver(&format!("msg_refund_{}", i % 4), body)
                .await
                .status()
        }
    });
    for status in futures::future::join_all(deliveries).await {
        assert!(status.is_success(), "{status}");
    }
    let partly = app.order(&user, order.order_id).await;
    assert_eq!(partly.status, OrderStatus::PartiallyRefunded);
    assert_eq!(partly.refunded_cents, 300);
    let partial_steps = partly
        .history
        .expect("history")
        .iter()
        .filter(|h| h.to == OrderStatus::PartiallyRefunded)
        .count();
    assert_eq!(partial_steps, 1);
    let outcomes: Vec<String> = app
        .store
        .payments()
        .events_for(order.order_id)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.event_type == "payment.refunded")
        .map(|e| e.outcome)
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| *o == "applied").count(),
        1,
        "{outcomes:?}"
    );
    // By amount, without lines: nothing was revoked.
    assert!(app.library_ids(&user).await.contains(&shield.id));
    let refunds = refunds_of(&app, &order).await;
    assert_eq!(refunds.len(), 1);
    assert!(refunds[0].line_ids.is_empty());
    assert_eq!(refunds[0].status, "succeeded");
}

#[tokio::test]
async fn refunds_the_provider_makes_unasked_are_applied_and_recorded() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let shield = app
        .item("Chargeback Shield")
        .price_cents(2_000)
        .create()
        .await;
    let user = app.customer().await;
    let order: Order = app.buy(&user, shield.id).await.json().await.expect("order");
    let order = app.pay(&user, &order).await;

    let partial = app
        .deliver("msg_goodwill", &refund_event(&order, 500, None))
        .await;
    assert_eq!(partial.status(), StatusCode::NO_CONTENT);
    let partly = app.order(&user, order.order_id).await;
    assert_eq!(
        (partly.status, partly.refunded_cents),
        (OrderStatus::PartiallyRefunded, 500)
    );
    // More than is left is refused; the order is as it was.
    let too_much = app
        .deliver("msg_too_much", &refund_event(&order, 1_600, None))
        .await;
    assert_eq!(too_much.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // So is an amount whose sum with what was refunded would overflow (an attacker's find: it
    // wrapped to a negative number, passed the check, and left an order nobody could read).
    for (id, amount) in [("msg_huge", i64::MAX - 200), ("msg_max", i64::MAX)] {
        let huge = app.deliver(id, &refund_event(&order, amount, None)).await;
        assert_eq!(huge.status(), StatusCode::UNPROCESSABLE_ENTITY, "{amount}");
    }
    let still = app.order(&user, order.order_id).await;
    assert_eq!(
        (still.status, still.refunded_cents),
        (OrderStatus::PartiallyRefunded, 500)
    );
    // A chargeback of the whole payment: everything left.
    let chargeback_body = refund_event(&order, 2_000, None);
    let chargeback = app.deliver("msg_chargeback", &chargeback_body).await;
    assert_eq!(chargeback.status(), StatusCode::NO_CONTENT);
    let done = app.order(&user, order.order_id).await;
    assert_eq!(
        (done.status, done.refunded_cents),
        (OrderStatus::Refunded, 2_000)
    );
    assert!(!app.library_ids(&user).await.contains(&shield.id));
    let refunds = refunds_of(&app, &order).await;
    let amounts: Vec<(i64, &str)> = refunds
        .iter()
        .map(|r| (r.amount_cents, r.initiated_by.as_str()))
        .collect();
    assert_eq!(amounts, vec![(500, "provider"), (1_500, "provider")]);
    // A redelivery under the same id is acknowledged and changes nothing.
    let again = app.deliver("msg_chargeback", &chargeback_body).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(refunds_of(&app, &order).await.len(), 2);
}

/// Found by an attacker's pass: the same request sent several times at once (the same
/// `Idempotency-Key` and body) got 409 for all but one; each now answers the same refund, and
/// the provider is asked once.
#[tokio::test]
async fn the_same_refund_asked_at_once_answers_the_same_refund() {
    let stand_in = StandIn::start().await;
    let app = TestApp::spawn_with(stand_in.env()).await;
    let shield = app.item("Twin Shield").price_cents(1_000).create().await;
    let user = app.customer().await;
    let admin = app.admin().await;
    let order: Order = app.buy(&user, shield.id).await.json().await.expect("order");
    let order = app.pay(&user, &order).await;
    let body = json!({ "line_item_ids": [order.lines[0].line_id] });
    let answers = futures::future::join_all(
        (0..5).map(|_| ask(&app, &admin, &order, "twin-1", body.clone())),
    )
    .await;
    let mut ids = HashSet::new();
    for answer in answers {
        let status = answer.status();
        let answer: Value = answer.json().await.expect("json");
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        ids.insert(answer["refund_id"].as_str().expect("id").to_owned());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(stand_in.refund_requests().len(), 1);
}

#[tokio::test]
async fn a_refund_the_provider_refuses_gives_everything_back() {
    let stand_in = StandIn::start().await;
    let app = TestApp::spawn_with(stand_in.env()).await;
    let shield = app.item("Down Shield").price_cents(1_000).create().await;
    let user = app.customer().await;
    let admin = app.admin().await;
    let order: Order = app.buy(&user, shield.id).await.json().await.expect("order");
    let order = app.pay(&user, &order).await;
    stand_in.answer_refunds(422);
    let line = order.lines[0].line_id;
    let refused = ask(
        &app,
        &admin,
        &order,
        "down-1",
        json!({ "line_item_ids": [line] }),
    )
    .await;
    assert_eq!(
        error_code(refused).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "PAYMENT_PROVIDER_UNAVAILABLE".to_owned()
        )
    );
    let refunds = refunds_of(&app, &order).await;
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].status, "failed");
    // The line and the amount were given back: the same refund can be asked again.
    stand_in.answer_refunds(0);
    let retried = ask(
        &app,
        &admin,
        &order,
        "down-2",
        json!({ "line_item_ids": [line] }),
    )
    .await;
    assert_eq!(retried.status(), StatusCode::ACCEPTED);
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Paid
    );
}

/// A 502 or a timeout does not say whether the provider refunded: such a refund stays pending
/// and keeps its lines, so they cannot be refunded a second time while the first may still be
/// paid out; asking again sends the same `refund_id` again, and the webhook completes it.
#[tokio::test]
async fn a_refund_the_provider_does_not_answer_stays_pending_and_is_sent_again() {
    let stand_in = StandIn::start().await;
    let app = TestApp::spawn_with(stand_in.env()).await;
    let shield = app.item("Silent Shield").price_cents(4_000).create().await;
    let sword = app.item("Silent Sword").price_cents(1_500).create().await;
    let user = app.customer().await;
    let admin = app.admin().await;
    app.put_in_cart(&user, &shield, 1).await;
    app.put_in_cart(&user, &sword, 1).await;
    let placed = app.check_out(&user, json!({})).await;
    assert_eq!(placed.status(), StatusCode::ACCEPTED);
    let order: Order = placed.json().await.expect("order");
    let order = app.pay(&user, &order).await;
    let (shield_line, sword_line) = (line_of(&order, &shield), line_of(&order, &sword));
    let unavailable = (
        StatusCode::SERVICE_UNAVAILABLE,
        "PAYMENT_PROVIDER_UNAVAILABLE".to_owned(),
    );

    // An operator's refund of the shield meets a provider that answers 502, twice.
    stand_in.answer_refunds(502);
    let body = json!({ "line_item_ids": [shield_line] });
    assert_eq!(
        error_code(ask(&app, &admin, &order, "lost-1", body.clone()).await).await,
        unavailable
    );
    let refunds = refunds_of(&app, &order).await;
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].status, "pending");
    let shield_refund = refunds[0].refund_id;
    // The line stays held: neither another key nor the buyer can refund it again.
    let again = ask(&app, &admin, &order, "lost-other", body.clone()).await;
    assert_eq!(
        error_code(again).await,
        (StatusCode::CONFLICT, "LINE_ALREADY_REFUNDED".to_owned())
    );
    let own = ask_own(
        &app,
        &user,
        &order,
        json!({ "line_item_ids": [shield_line] }),
    )
    .await;
    assert_eq!(
        error_code(own).await,
        (StatusCode::CONFLICT, "LINE_ALREADY_REFUNDED".to_owned())
    );
    // The same key asked again at once sends nothing (at most one send in 5 s); a little
    // later it sends the same refund again.
    assert_eq!(
        error_code(ask(&app, &admin, &order, "lost-1", body.clone()).await).await,
        unavailable
    );
    assert_eq!(stand_in.refund_requests().len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(5_200)).await;
    assert_eq!(
        error_code(ask(&app, &admin, &order, "lost-1", body.clone()).await).await,
        unavailable
    );
    let sent: Vec<Value> = stand_in.refund_requests();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent.iter()
            .all(|r| r["refund_id"] == json!(shield_refund) && r["amount_cents"] == 4_000)
    );
    // Asked again at once, it is not sent a third time: a loop of asks cannot keep the store
    // calling a provider that is down.
    assert_eq!(
        error_code(ask(&app, &admin, &order, "lost-1", body.clone()).await).await,
        unavailable
    );
    assert_eq!(stand_in.refund_requests().len(), 2);
    // The provider had done it after all: its webhook completes the refund.
    let done = app
        .deliver(
            "msg_lost_shield",
            &refund_event(&order, 4_000, Some(shield_refund)),
        )
        .await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    let now = app.order(&user, order.order_id).await;
    assert_eq!(now.status, OrderStatus::PartiallyRefunded);
    assert_eq!(now.refunded_cents, 4_000);
    // Asked again now, the key answers the completed refund and sends nothing.
    let settled = ask(&app, &admin, &order, "lost-1", body).await;
    assert_eq!(settled.status(), StatusCode::ACCEPTED);
    assert_eq!(stand_in.refund_requests().len(), 2);

    // The buyer's own refund of the sword: no answer, then the same request once the provider
    // is back sends it again and is taken.
    let sword_body = json!({ "line_item_ids": [sword_line] });
    assert_eq!(
        error_code(ask_own(&app, &user, &order, sword_body.clone()).await).await,
        unavailable
    );
    stand_in.answer_refunds(0);
    tokio::time::sleep(std::time::Duration::from_millis(5_200)).await;
    let taken = ask_own(&app, &user, &order, sword_body).await;
    assert_eq!(taken.status(), StatusCode::ACCEPTED);
    let taken: Value = taken.json().await.expect("json");
    assert_eq!(taken["status"], "pending");
    let sword_refund: Uuid = serde_json::from_value(taken["refund_id"].clone()).expect("id");
    let sent = stand_in.refund_requests();
    assert_eq!(sent.len(), 4);
    assert!(
        sent[2..]
            .iter()
            .all(|r| r["refund_id"] == json!(sword_refund))
    );
    let done = app
        .deliver(
            "msg_lost_sword",
            &refund_event(&order, 1_500, Some(sword_refund)),
        )
        .await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    let now = app.order(&user, order.order_id).await;
    assert_eq!(now.status, OrderStatus::Refunded);
    assert_eq!(now.refunded_cents, 5_500);
    let statuses: Vec<String> = refunds_of(&app, &order)
        .await
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec!["succeeded", "succeeded"]);
}

#[tokio::test]
async fn the_buyer_hears_each_refund_live() {
    let app = TestApp::spawn().await;
    let (shield, potion) = two_items(&app).await;
    let user = app.customer().await;
    let admin = app.admin().await;
    let order = two_line_order(&app, &user, &shield, &potion).await;
    let order = app.wait_for(&user, order.order_id, OrderStatus::Paid).await;
    let mut socket = crate::ws::connect(&app, &user).await;
    crate::ws::wait_for_sockets(&app, 1).await;
    let potion_line = order
        .lines
        .iter()
        .find(|l| l.item_id == potion.id)
        .expect("potion line")
        .line_id;
    let accepted = ask(
        &app,
        &admin,
        &order,
        "live-1",
        json!({ "line_item_ids": [potion_line] }),
    )
    .await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    match crate::ws::next_message(&mut socket, std::time::Duration::from_secs(10)).await {
        Some(LiveMessage::PurchaseRefunded {
            order_id,
            items,
            refunded_cents,
            partial,
            ..
        }) => {
            assert_eq!(order_id, order.order_id);
            assert_eq!(
                items.iter().map(|i| i.id).collect::<Vec<_>>(),
                vec![potion.id]
            );
            assert_eq!(refunded_cents, 1_000);
            assert!(partial);
        }
        other => panic!("expected purchase_refunded, got {other:?}"),
    }
}

fn own_refunds_path(order: &Order) -> String {
    format!("/api/purchases/{}/refunds", order.order_id)
}

async fn ask_own(app: &TestApp, user: &TestUser, order: &Order, body: Value) -> reqwest::Response {
    app.as_user(user, Method::POST, &own_refunds_path(order))
        .json(&body)
        .send()
        .await
        .expect("request")
}

fn line_of(order: &Order, item: &Item) -> i64 {
    order
        .lines
        .iter()
        .find(|l| l.item_id == item.id)
        .expect("line")
        .line_id
}

#[tokio::test]
async fn a_buyer_asks_for_an_unused_item_back_within_the_window() {
    let stand_in = StandIn::start().await;
    let app = TestApp::spawn_with(stand_in.env()).await;
    let admin = app.admin().await;
    let (shield, potion) = two_items(&app).await;
    let game = app
        .item("Keyed Refund Game")
        .price_cents(3_000)
        .create()
        .await;
    let added = app
        .as_user(
            &admin,
            Method::POST,
            &format!("/api/admin/items/{}/keys", game.id),
        )
        .json(&json!({ "keys": ["SELF-REFUND-KEY-1"] }))
        .send()
        .await
        .expect("request");
    assert_eq!(added.status(), StatusCode::CREATED);
    let user = app.customer().await;
    app.put_in_cart(&user, &shield, 1).await;
    app.put_in_cart(&user, &potion, 2).await;
    app.put_in_cart(&user, &game, 1).await;
    let order: Order = app
        .check_out(&user, json!({}))
        .await
        .json()
        .await
        .expect("order");
    // Not paid yet: nothing to ask for.
    assert!(order.refundable_until.is_none());
    let (status, code) = error_code(
        ask_own(
            &app,
            &user,
            &order,
            json!({ "line_item_ids": [line_of(&order, &shield)] }),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "ORDER_NOT_REFUNDABLE")
    );

    let order = app.pay(&user, &order).await;
    let until = order.refundable_until.expect("a refund window");
    let days = (until - chrono::Utc::now()).num_days();
    assert!((13..=14).contains(&days), "{days} days");
    let flags: Vec<(i64, bool)> = order
        .lines
        .iter()
        .map(|l| (l.item_id, l.self_refundable))
        .collect();
    assert_eq!(
        flags,
        vec![(shield.id, true), (potion.id, false), (game.id, false)]
    );

    // A consumable, a line whose key was delivered, someone else, nonsense: refused, nothing asked.
    for (line, why) in [
        (line_of(&order, &potion), "used up"),
        (line_of(&order, &game), "license key"),
    ] {
        let response = ask_own(&app, &user, &order, json!({ "line_item_ids": [line] })).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "NOT_SELF_REFUNDABLE");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(why)
        );
    }
    let stranger = app.customer().await;
    let (status, _) = error_code(
        ask_own(
            &app,
            &stranger,
            &order,
            json!({ "line_item_ids": [line_of(&order, &shield)] }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for bad in [
        json!({ "line_item_ids": [] }),
        json!({ "line_item_ids": [999_999] }),
        json!({ "amount_cents": 5 }),
    ] {
        let response = ask_own(&app, &user, &order, bad.clone()).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let anonymous = app
        .post(&own_refunds_path(&order))
        .json(&json!({ "line_item_ids": [1] }))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(stand_in.refund_requests().is_empty());

    // Six tabs ask for the shield at once, each with its own key: one refund is asked.
    let asks = (0..6).map(|i| {
        let (app, user, order) = (&app, &user, &order);
        let line = line_of(order, &shield);
        async move {
            app.as_user(user, Method::POST, &own_refunds_path(order))
                .header("idempotency-key", format!("tab-{i}"))
                .json(&json!({ "line_item_ids": [line], "reason": "changed my mind" }))
                .send()
                .await
                .expect("request")
                .status()
        }
    });
    let statuses = futures::future::join_all(asks).await;
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
            .all(|s| *s == StatusCode::ACCEPTED || *s == StatusCode::CONFLICT)
    );
    let requests = stand_in.refund_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["amount_cents"], 4_000);
    // The same line asked again (a double click, no key) is the same refund, not a conflict.
    let again = ask_own(
        &app,
        &user,
        &order,
        json!({ "line_item_ids": [line_of(&order, &shield)] }),
    )
    .await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let again: api_types::RefundAccepted = again.json().await.expect("refund");
    assert_eq!(json!(again.refund_id), requests[0]["refund_id"]);
    assert_eq!(stand_in.refund_requests().len(), 1);
    // More lines than any order has are refused before any work.
    let many: Vec<i64> = (0..5_000).collect();
    let (status, _) =
        error_code(ask_own(&app, &user, &order, json!({ "line_item_ids": many })).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // An operator looking at the order sees no buttons meant for the buyer.
    let seen: Order = json_of(app.as_user(
        &admin,
        Method::GET,
        &format!("/api/purchases/{}", order.order_id),
    ))
    .await;
    assert!(seen.refundable_until.is_none() && seen.lines.iter().all(|l| !l.self_refundable));
    let pending = app.order(&user, order.order_id).await;
    let line = pending
        .lines
        .iter()
        .find(|l| l.item_id == shield.id)
        .expect("line");
    assert!(line.refund_pending && !line.self_refundable);
    let refunds = refunds_of(&app, &order).await;
    assert_eq!(refunds[0].initiated_by, "customer");

    // The provider confirms: the shield leaves the library, the rest stays.
    let refund_id: Uuid = serde_json::from_value(requests[0]["refund_id"].clone()).expect("id");
    let done = app
        .deliver(
            "msg_self_refund",
            &refund_event(&order, 4_000, Some(refund_id)),
        )
        .await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    let after = app.order(&user, order.order_id).await;
    assert_eq!(
        (after.status, after.refunded_cents),
        (OrderStatus::PartiallyRefunded, 4_000)
    );
    let library = app.library_ids(&user).await;
    assert!(!library.contains(&shield.id) && library.contains(&game.id));
}

#[tokio::test]
async fn no_self_refunds_after_the_window_or_for_gifts() {
    let app = TestApp::spawn_with(
        [
            silent_provider(),
            vec![("REFUND_WINDOW_DAYS", "0".to_owned())],
        ]
        .concat(),
    )
    .await;
    let shield = app.item("Late Shield").price_cents(1_000).create().await;
    let user = app.customer().await;
    let order: Order = app.buy(&user, shield.id).await.json().await.expect("order");
    let order = app.pay(&user, &order).await;
    assert!(order.refundable_until.is_none());
    assert!(order.lines.iter().all(|l| !l.self_refundable));
    let (status, code) = error_code(
        ask_own(
            &app,
            &user,
            &order,
            json!({ "line_item_ids": [line_of(&order, &shield)] }),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "REFUND_WINDOW_CLOSED")
    );

    let app = TestApp::spawn_with(silent_provider()).await;
    let shield = app.item("Gifted Shield").price_cents(1_000).create().await;
    let buyer = app.customer().await;
    let friend = app.customer().await;
    app.put_in_cart(&buyer, &shield, 1).await;
    let gift: Order = app
        .check_out(&buyer, json!({ "gift_to": friend.username }))
        .await
        .json()
        .await
        .expect("order");
    let gift = app.pay(&buyer, &gift).await;
    assert!(gift.refundable_until.is_none());
    let (status, code) = error_code(
        ask_own(
            &app,
            &buyer,
            &gift,
            json!({ "line_item_ids": [line_of(&gift, &shield)] }),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "NOT_SELF_REFUNDABLE")
    );
}

/// A refund the provider sends before the payment it refunds is parked and applied when the
/// payment lands; also when both arrive at the same moment, each on its own connection (the
/// refund must then either see the order paid or be seen by the payment, never neither).
#[tokio::test]
async fn a_refund_racing_its_payment_is_applied_once_the_payment_lands() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = app
        .item("Racing Refund Potion")
        .price_cents(700)
        .consumable()
        .create()
        .await;
    let user = app.customer().await;
    for round in 0..16 {
        let order: Order = app.buy(&user, potion.id).await.json().await.expect("order");
        let paid = payment_event("payment.succeeded", &order);
        let refunded = payment_event("payment.refunded", &order);
        let (pay_id, refund_id) = (
            format!("msg_race_pay_{round}"),
            format!("msg_race_ref_{round}"),
        );
        let (payment, refund) = if round % 2 == 0 {
            tokio::join!(
                app.deliver(&pay_id, &paid),
                app.deliver(&refund_id, &refunded)
            )
        } else {
            let (r, p) = tokio::join!(
                app.deliver(&refund_id, &refunded),
                app.deliver(&pay_id, &paid)
            );
            (p, r)
        };
        assert!(
            payment.status().is_success(),
            "round {round}: {}",
            payment.status()
        );
        assert!(
            refund.status().is_success(),
            "round {round}: {}",
            refund.status()
        );
        let done = app
            .wait_for(&user, order.order_id, OrderStatus::Refunded)
            .await;
        assert_eq!(done.refunded_cents, 700, "round {round}");
    }
}

/// The same race, made to happen rather than hoped for: the test holds the order's row lock
/// (as a payment mid-transaction would), lets both webhooks arrive and queue behind it in a
/// chosen order, then lets go. Payment first: the refund read the order as pending, and its
/// park finds the order paid when it gets the row, so it applies to the paid order. Refund
/// first: it parks, and the payment's move then finds it parked. Either way the order ends
/// refunded, exactly once.
#[tokio::test]
async fn postgres_only_a_refund_queued_behind_its_payment_on_the_orders_row_is_applied_either_way()
{
    use sea_orm::{ConnectionTrait as _, Statement, TransactionTrait as _};
    require_postgres();
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = app
        .item("Queued Refund Potion")
        .price_cents(900)
        .consumable()
        .create()
        .await;
    let user = app.customer().await;
    let db = app.store.db();
    // Backends of this database waiting for a lock (the webhooks queued behind the test's).
    let waiting = || async {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ))
            .await
            .expect("pg_stat_activity")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("count")
    };
    let queued = |n: i64| async move {
        for _ in 0..500 {
            if waiting().await >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{n} webhook(s) never queued behind the order's row lock");
    };
    for payment_first in [true, false] {
        let order: Order = app.buy(&user, potion.id).await.json().await.expect("order");
        let paid = payment_event("payment.succeeded", &order);
        let refunded = payment_event("payment.refunded", &order);
        let (pay_id, refund_id) = (
            format!("msg_queued_pay_{payment_first}"),
            format!("msg_queued_ref_{payment_first}"),
        );
        let lock = db.begin().await.expect("begin");
        lock.execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT id FROM orders WHERE id = $1 FOR UPDATE",
            [order.order_id.into()],
        ))
        .await
        .expect("lock the order's row");
        let first = async {
            if payment_first {
                app.deliver(&pay_id, &paid).await
            } else {
                app.deliver(&refund_id, &refunded).await
            }
        };
        let second = async {
            queued(1).await;
            if payment_first {
                app.deliver(&refund_id, &refunded).await
            } else {
                app.deliver(&pay_id, &paid).await
            }
        };
        let release = async {
            queued(2).await;
            lock.commit().await.expect("release the row");
        };
        let (first, second, ()) = tokio::join!(first, second, release);
        let (payment, refund) = if payment_first {
            (first, second)
        } else {
            (second, first)
        };
        assert!(payment.status().is_success(), "{}", payment.status());
        assert!(refund.status().is_success(), "{}", refund.status());
        let done = app
            .wait_for(&user, order.order_id, OrderStatus::Refunded)
            .await;
        assert_eq!(done.refunded_cents, 900, "payment first: {payment_first}");
    }
}
