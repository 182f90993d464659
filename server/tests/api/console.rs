//! The operator console: dashboard figures, the order search and its CSV export, the webhook
//! log with replay, the audit log, and that every operator route is for operators only.

use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};

use api_types::{
    AuditEntry, LiveMessage, Order, OrderStatus, ReplayResult, SalesStats, WebhookDelivery,
};

use crate::helpers::*;

async fn stats(app: &TestApp, admin: &TestUser, query: &str) -> reqwest::Response {
    app.as_user(admin, Method::GET, &format!("/api/admin/stats{query}"))
        .send()
        .await
        .expect("request")
}

async fn audit(app: &TestApp, admin: &TestUser, query: &str) -> Vec<AuditEntry> {
    json_of(app.as_user(admin, Method::GET, &format!("/api/admin/audit{query}"))).await
}

async fn deliveries(app: &TestApp, admin: &TestUser, query: &str) -> Vec<WebhookDelivery> {
    json_of(app.as_user(
        admin,
        Method::GET,
        &format!("/api/admin/webhook-events{query}"),
    ))
    .await
}

/// A paid order of `item` for `user`, paid by a signed webhook (stores here run a silent
/// provider, or the simulator, whichever comes first).
async fn paid_order(app: &TestApp, user: &TestUser, item_id: i64) -> Order {
    let order: Order = app.buy(user, item_id).await.json().await.expect("order");
    app.pay(user, &order).await
}

#[tokio::test]
async fn the_dashboard_counts_orders_revenue_refunds_and_best_sellers() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let admin = app.admin().await;
    let sword = app.item("Stats Sword").price_cents(3_000).create().await;
    let potion = app
        .item("Stats Potion")
        .price_cents(500)
        .consumable()
        .create()
        .await;
    let (ada, bob, cy) = (
        app.customer().await,
        app.customer().await,
        app.customer().await,
    );
    paid_order(&app, &ada, sword.id).await;
    let refunded = paid_order(&app, &bob, sword.id).await;
    paid_order(&app, &cy, potion.id).await;
    paid_order(&app, &cy, potion.id).await;
    // A declined one, made by hand on a store whose provider stays silent would be simpler; here
    // the provider's decline arrives as a signed webhook.
    let failed: Order = {
        let quitter = app.customer().await;
        let order: Order = app
            .buy(&quitter, potion.id)
            .await
            .json()
            .await
            .expect("order");
        let declined = app
            .deliver(
                &format!("msg_decline_{}", order.order_id.simple()),
                &payment_event("payment.failed", &order),
            )
            .await;
        assert!(declined.status().is_success());
        app.wait_for(&quitter, order.order_id, OrderStatus::Failed)
            .await
    };
    assert_eq!(failed.status, OrderStatus::Failed);
    let asked = app
        .as_user(
            &admin,
            Method::POST,
            &format!("/api/admin/orders/{}/refunds", refunded.order_id),
        )
        .header("idempotency-key", "stats-refund")
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let accepted: api_types::RefundAccepted = asked.json().await.expect("refund");
    let confirmed = app
        .deliver(
            "msg_stats_refund",
            &refund_event(&refunded, accepted.amount_cents, Some(accepted.refund_id)),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::NO_CONTENT);
    app.wait_for(&bob, refunded.order_id, OrderStatus::Refunded)
        .await;

    let response = stats(&app, &admin, "").await;
    assert_eq!(response.status(), StatusCode::OK);
    let s: SalesStats = response.json().await.expect("stats");
    assert_eq!(s.days.len(), 30);
    assert_eq!(s.to, chrono::Utc::now().date_naive());
    assert_eq!(s.currency, "USD");
    assert_eq!(s.orders_created, 5);
    assert_eq!(s.orders_paid, 4, "{s:?}");
    assert!((s.conversion - 0.8).abs() < 1e-9);
    assert_eq!(s.revenue_cents, 3_000 + 3_000 + 500 + 500);
    assert_eq!(s.refunded_cents, 3_000);
    assert_eq!((s.refunds, s.refunds_cents), (1, 3_000));
    let today = s.days.last().expect("today");
    assert_eq!(
        (today.orders, today.paid, today.revenue_cents),
        (5, 4, 7_000)
    );
    let count = |status: OrderStatus| {
        s.by_status
            .iter()
            .find(|c| c.status == status)
            .map_or(0, |c| c.count)
    };
    assert_eq!(
        (
            count(OrderStatus::Paid),
            count(OrderStatus::Refunded),
            count(OrderStatus::Failed)
        ),
        (3, 1, 1)
    );
    let top: Vec<(i64, i64, i64)> = s
        .top_items
        .iter()
        .map(|t| (t.item_id, t.units, t.revenue_cents))
        .collect();
    assert_eq!(top, vec![(sword.id, 2, 6_000), (potion.id, 2, 1_000)]);

    // A range in the past has nothing; the range, bucket and currency are checked.
    let past: SalesStats = stats(&app, &admin, "?from=2026-01-01&to=2026-01-07")
        .await
        .json()
        .await
        .expect("stats");
    assert_eq!((past.days.len(), past.orders_created), (7, 0));
    assert_eq!(past.conversion, 0.0);
    for bad in [
        "?bucket=week",
        "?from=2026-02-01&to=2026-01-01",
        "?from=2024-01-01&to=2026-01-01",
        "?from=tomorrow",
        "?currency=XYZ",
        "?from=%00",
    ] {
        let response = stats(&app, &admin, bad).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn orders_are_found_by_id_buyer_item_state_and_day_a_page_at_a_time() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let admin = app.admin().await;
    let axe = app
        .item("=Searchable, \"Axe\"")
        .price_cents(1_000)
        .create()
        .await;
    let bow = app.item("Plain Bow").price_cents(2_000).create().await;
    let ada = app.customer().await;
    let bob = app.customer().await;
    let mut ada_orders = vec![];
    for _ in 0..3 {
        let potion = app.item("Pagination Potion").consumable().create().await;
        ada_orders.push(paid_order(&app, &ada, potion.id).await);
    }
    let axe_order = paid_order(&app, &bob, axe.id).await;
    paid_order(&app, &bob, bow.id).await;

    let search = |query: String| {
        let (app, admin) = (&app, &admin);
        async move {
            let response = app
                .as_user(admin, Method::GET, &format!("/api/admin/orders{query}"))
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), StatusCode::OK, "{query}");
            let link = response
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let orders: Vec<api_types::AdminOrder> = response.json().await.expect("orders");
            (
                orders.iter().map(|o| o.order.order_id).collect::<Vec<_>>(),
                link,
            )
        }
    };
    let (by_id, _) = search(format!("?order_id={}", axe_order.order_id)).await;
    assert_eq!(by_id, vec![axe_order.order_id]);
    let (by_user, _) = search(format!("?username={}", ada.username.to_uppercase())).await;
    assert_eq!(by_user.len(), 3);
    let (by_item_id, _) = search(format!("?item={}", axe.id)).await;
    assert_eq!(by_item_id, vec![axe_order.order_id]);
    let (by_item_name, _) = search("?item=searchable".to_owned()).await;
    assert_eq!(by_item_name, vec![axe_order.order_id]);
    let (nobody, _) = search("?username=no-such-user".to_owned()).await;
    assert!(nobody.is_empty());
    let (no_item, _) = search("?item=%25".to_owned()).await;
    assert!(no_item.is_empty(), "a % is a character, not a wildcard");
    let today = chrono::Utc::now().date_naive();
    let (today_paid, _) = search(format!("?status=paid&from={today}&to={today}")).await;
    assert_eq!(today_paid.len(), 5);
    let (before, _) = search("?to=2026-01-01".to_owned()).await;
    assert!(before.is_empty());

    // Pages of two, newest first, each with the next page's link.
    let (first, link) = search(format!("?username={}&per_page=2", ada.username)).await;
    assert_eq!(first.len(), 2);
    let link = link.expect("a next page");
    assert!(
        link.contains("page=2") && link.ends_with("rel=\"next\""),
        "{link}"
    );
    let (second, last) = search(format!("?username={}&per_page=2&page=2", ada.username)).await;
    assert_eq!(second.len(), 1);
    assert!(last.is_none());
    let mut all: Vec<_> = first.into_iter().chain(second).collect();
    all.sort();
    let mut expected: Vec<_> = ada_orders.iter().map(|o| o.order_id).collect();
    expected.sort();
    assert_eq!(all, expected);

    for bad in [
        "?order_id=nope",
        "?status=lost",
        "?page=0",
        "?per_page=501",
        "?page=20000",
        "?from=2026-13-01",
        "?item=a%00b",
    ] {
        let response = app
            .as_user(&admin, Method::GET, &format!("/api/admin/orders{bad}"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    // The same search as CSV, streamed.
    let response = app
        .as_user(
            &admin,
            Method::GET,
            &format!("/api/admin/orders.csv?username={}", bob.username),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/csv")
    );
    let csv = response.text().await.expect("csv");
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(
        lines[0],
        "order_id,created_at,status,username,items,amount,refunded,currency,gift_to"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    let axe_line = lines
        .iter()
        .find(|l| l.starts_with(&axe_order.order_id.to_string()))
        .expect("the axe order");
    assert!(
        axe_line.contains(&format!(
            ",paid,{},\"'=Searchable, \"\"Axe\"\"\",10.00,0.00,USD,",
            bob.username
        )),
        "{axe_line}"
    );
    let all_csv = app
        .as_user(&admin, Method::GET, "/api/admin/orders.csv")
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("csv");
    assert_eq!(all_csv.trim_end().split("\r\n").count(), 6);
    // Compressed, and for a search that finds nothing: whole, and the server stays up.
    for query in [
        "",
        "?status=pending&order_id=00000000-0000-0000-0000-000000000000",
    ] {
        let compressed = app
            .as_user(
                &admin,
                Method::GET,
                &format!("/api/admin/orders.csv{query}"),
            )
            .header("accept-encoding", "gzip")
            .send()
            .await
            .expect("request");
        assert_eq!(compressed.status(), StatusCode::OK);
        let bytes = compressed.bytes().await.expect("the whole body");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .expect("gzip");
        assert!(text.starts_with("order_id,created_at"), "{text}");
    }
    assert_eq!(
        app.get("/healthz").send().await.expect("up").status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_webhook_delivery_is_logged_and_replays_change_nothing() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let admin = app.admin().await;
    let shield = app.item("Logged Shield").price_cents(1_200).create().await;
    let user = app.customer().await;
    let order: Order = app.buy(&user, shield.id).await.json().await.expect("order");
    let paid = payment_event("payment.succeeded", &order);
    assert_eq!(
        app.deliver("msg_logged_1", &paid).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.deliver("msg_logged_1", &paid).await.status(),
        StatusCode::NO_CONTENT
    );
    // Signed with a secret the store does not know: refused, and logged without trusting it.
    let stranger =
        webhooks::SigningSecret::parse(&webhooks::SigningSecret::generate()).expect("secret");
    let forged = serde_json::to_vec(&payment_event("payment.succeeded", &order)).expect("json");
    let refused = app
        .deliver_raw(
            "msg_forged",
            &forged,
            &stranger,
            chrono::Utc::now().timestamp(),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let no_headers = app
        .post("/api/webhooks/payment")
        .header("content-type", "application/json")
        .body("{\"hello\":1}")
        .send()
        .await
        .expect("request");
    assert_eq!(no_headers.status(), StatusCode::UNAUTHORIZED);

    let all = deliveries(&app, &admin, "").await;
    assert_eq!(all.len(), 4, "{all:#?}");
    let outcomes: Vec<(bool, Option<&str>, u16)> = all
        .iter()
        .rev()
        .map(|d| (d.verified, d.outcome.as_deref(), d.status_code))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (true, Some("applied"), 204),
            (true, Some("duplicate"), 204),
            (false, Some("rejected"), 401),
            (false, Some("rejected"), 401),
        ]
    );
    let forged_row = &all[1];
    assert_eq!(forged_row.delivery_id.as_deref(), Some("msg_forged"));
    assert!(
        forged_row.order_id.is_none(),
        "nothing of a refused delivery is trusted"
    );
    assert!(
        forged_row
            .rejection
            .as_deref()
            .unwrap_or_default()
            .contains("signature")
    );
    assert!(
        all.iter().all(|d| d.body.is_none()),
        "lists carry no bodies"
    );
    let refused_only = deliveries(&app, &admin, "?verified=false").await;
    assert_eq!(refused_only.len(), 2);
    let for_order = deliveries(&app, &admin, &format!("?order_id={}", order.order_id)).await;
    assert_eq!(for_order.len(), 2);
    let applied = for_order
        .iter()
        .find(|d| d.outcome.as_deref() == Some("applied"))
        .expect("applied");

    // One delivery, raw.
    let one: WebhookDelivery = json_of(app.as_user(
        &admin,
        Method::GET,
        &format!("/api/admin/webhook-events/{}", applied.id),
    ))
    .await;
    let body: Value = serde_json::from_str(one.body.as_deref().expect("a body")).expect("json");
    assert_eq!(body, paid);

    // Replays: twice, concurrently — nothing changes, and it says so.
    let replay = |id: i64| {
        let (app, admin) = (&app, &admin);
        async move {
            app.as_user(
                admin,
                Method::POST,
                &format!("/api/admin/webhook-events/{id}/replay"),
            )
            .send()
            .await
            .expect("request")
        }
    };
    let (a, b) = tokio::join!(replay(applied.id), replay(applied.id));
    for response in [a, b] {
        assert_eq!(response.status(), StatusCode::OK);
        let result: ReplayResult = response.json().await.expect("result");
        assert!(result.already_applied);
        assert_eq!(result.outcome, "applied");
        assert!(
            result.message.starts_with("Already applied"),
            "{}",
            result.message
        );
    }
    let history = app
        .order(&user, order.order_id)
        .await
        .history
        .expect("history");
    assert_eq!(
        history.iter().filter(|h| h.to == OrderStatus::Paid).count(),
        1
    );
    let (status, code) = error_code(replay(forged_row.id).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "NOT_REPLAYABLE")
    );
    let (status, _) = error_code(replay(999_999).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let replays = deliveries(&app, &admin, "?outcome=duplicate").await;
    assert_eq!(
        replays
            .iter()
            .filter(|d| d.replay_of == Some(applied.id))
            .count(),
        2
    );
    let audited = audit(&app, &admin, "?action=webhook.replay").await;
    assert_eq!(audited.len(), 2);
    assert_eq!(audited[0].actor, ADMIN_USERNAME);
    assert_eq!(audited[0].target_id, applied.id.to_string());
}

#[tokio::test]
async fn refused_deliveries_are_logged_within_a_budget() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let floods = (0..60).map(|i| {
        let app = &app;
        async move {
            app.post("/api/webhooks/payment")
                .header("webhook-id", format!("flood-{i}"))
                .header("webhook-timestamp", "1")
                .header("webhook-signature", "v1,AAAA")
                .body(vec![b'x'; 10_000])
                .send()
                .await
                .expect("request")
                .status()
        }
    });
    let statuses = futures::future::join_all(floods).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    let logged = deliveries(&app, &admin, "?verified=false&limit=500").await;
    assert!(
        (1..=40).contains(&logged.len()),
        "at most two seconds' budget: {}",
        logged.len()
    );
    let one: WebhookDelivery = json_of(app.as_user(
        &admin,
        Method::GET,
        &format!("/api/admin/webhook-events/{}", logged[0].id),
    ))
    .await;
    assert!(one.body_truncated);
    assert_eq!(one.body.map(|b| b.len()), Some(4096));
}

#[tokio::test]
async fn the_audit_log_records_operator_actions_and_security_events_and_stays_as_written() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let admin = app.admin().await;
    let item = app.item("Audited Axe").price_cents(1_000).create().await;
    let patch = app
        .as_user(&admin, Method::PATCH, &format!("/api/items/{}", item.id))
        .json(&json!({ "price_cents": 1_500, "stock": 7 }))
        .send()
        .await
        .expect("request");
    assert_eq!(patch.status(), StatusCode::OK);
    let archived = app
        .as_user(&admin, Method::DELETE, &format!("/api/items/{}", item.id))
        .send()
        .await
        .expect("request");
    assert_eq!(archived.status(), StatusCode::NO_CONTENT);
    let promo = app
        .as_user(&admin, Method::POST, "/api/admin/promo-codes")
        .json(&json!({ "code": "AUDIT10", "percent_off": 10 }))
        .send()
        .await
        .expect("request");
    assert_eq!(promo.status(), StatusCode::CREATED);
    let stopped = app
        .as_user(&admin, Method::PATCH, "/api/admin/promo-codes/AUDIT10")
        .json(&json!({ "active": false }))
        .send()
        .await
        .expect("request");
    assert_eq!(stopped.status(), StatusCode::OK);
    let keyed = app.item("Audited Game").price_cents(2_000).create().await;
    let keys = app
        .as_user(
            &admin,
            Method::POST,
            &format!("/api/admin/items/{}/keys", keyed.id),
        )
        .json(&json!({ "keys": ["AUDIT-KEY-0001", "AUDIT-KEY-0002"] }))
        .send()
        .await
        .expect("request");
    assert_eq!(keys.status(), StatusCode::CREATED);
    let shield = app.item("Audited Shield").price_cents(900).create().await;
    let user = app.customer().await;
    let order: Order = app.buy(&user, shield.id).await.json().await.expect("order");
    let order = app.pay(&user, &order).await;
    let refund = app
        .as_user(
            &admin,
            Method::POST,
            &format!("/api/admin/orders/{}/refunds", order.order_id),
        )
        .header("idempotency-key", "audited-refund")
        .json(&json!({ "reason": "goodwill" }))
        .send()
        .await
        .expect("request");
    assert_eq!(refund.status(), StatusCode::ACCEPTED);
    // Security events: wrong passwords until the account locks, one for a name nobody has.
    for _ in 0..6 {
        app.login(&user.username, "not the password").await;
    }
    app.login("nobody-here", "whatever-password").await;

    let entries = audit(&app, &admin, "?limit=500").await;
    let actions: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
    for expected in [
        "admin.promote",
        "login.success",
        "item.create",
        "item.update",
        "item.archive",
        "promo.create",
        "promo.update",
        "keys.import",
        "refund.request",
        "login.failure",
        "login.lockout",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let update = entries
        .iter()
        .find(|e| e.action == "item.update")
        .expect("update");
    assert_eq!(update.actor, ADMIN_USERNAME);
    assert_eq!(update.target_id, item.id.to_string());
    assert_eq!(update.diff["price_cents"], json!([1_000, 1_500]));
    assert_eq!(update.diff["stock"], json!([null, 7]));
    assert!(update.diff.get("name").is_none(), "only what changed");
    let archive = entries
        .iter()
        .find(|e| e.action == "item.archive")
        .expect("archive");
    assert_eq!(archive.diff["active"], json!([true, false]));
    let import = entries
        .iter()
        .find(|e| e.action == "keys.import")
        .expect("import");
    assert_eq!(import.diff, json!({ "added": 2, "duplicates": 0 }));
    assert!(
        !import.diff.to_string().contains("AUDIT-KEY"),
        "keys never reach the log"
    );
    let refund_entry = entries
        .iter()
        .find(|e| e.action == "refund.request")
        .expect("refund");
    assert_eq!(refund_entry.target_id, order.order_id.to_string());
    assert_eq!(refund_entry.diff["amount_cents"], 900);
    let failures = audit(&app, &admin, "?action=login.failure").await;
    assert_eq!(
        failures.len(),
        6,
        "five refused passwords and one unknown name"
    );
    assert!(
        failures
            .iter()
            .any(|e| e.actor == "nobody-here" && e.actor_id.is_none())
    );
    let lockouts = audit(&app, &admin, "?action=login.lockout").await;
    assert_eq!(
        lockouts.len(),
        1,
        "one lockout, not one per refused attempt"
    );
    assert_eq!(lockouts[0].actor_id, Some(user.id));
    let by_actor = audit(&app, &admin, &format!("?actor={}", user.username)).await;
    assert!(by_actor.iter().all(|e| e.actor == user.username));
    let (status, _) = error_code(
        app.as_user(&admin, Method::GET, "/api/admin/audit?action=item.destroy")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Pages: `before` the last id seen.
    let page1 = audit(&app, &admin, "?limit=3").await;
    let page2 = audit(&app, &admin, &format!("?limit=3&before={}", page1[2].id)).await;
    assert!(page2.iter().all(|e| e.id < page1[2].id));

    // Append-only, whatever asks: no API writes it, and the database refuses changes.
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let response = app
            .as_user(&admin, method.clone(), "/api/admin/audit")
            .json(&json!({}))
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
    }
    let db = app.store.db();
    assert!(
        db.execute_unprepared("UPDATE audit_log SET actor = 'someone-else'")
            .await
            .is_err()
    );
    assert!(
        db.execute_unprepared("DELETE FROM audit_log")
            .await
            .is_err()
    );
    assert_eq!(audit(&app, &admin, "?limit=500").await.len(), entries.len());
}

#[tokio::test]
async fn operators_sockets_hear_that_orders_changed() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let mut operator = crate::ws::connect(&app, &admin).await;
    let mut shopper = crate::ws::connect(&app, &customer).await;
    crate::ws::wait_for_sockets(&app, 2).await;
    let potion = app.item("Watched Potion").consumable().create().await;
    let order = paid_order(&app, &customer, potion.id).await;
    let heard = loop {
        match crate::ws::next_message(&mut operator, Duration::from_secs(10)).await {
            Some(LiveMessage::OrderChanged {
                order_id, status, ..
            }) => break (order_id, status),
            Some(_) => continue,
            None => panic!("the operator heard nothing"),
        }
    };
    assert_eq!(heard, (order.order_id, OrderStatus::Paid));
    // The shopper hears their own purchase, never order_changed.
    let mut kinds = vec![];
    while let Some(message) =
        crate::ws::next_message(&mut shopper, Duration::from_millis(600)).await
    {
        kinds.push(message);
    }
    assert!(
        kinds
            .iter()
            .any(|m| matches!(m, LiveMessage::PurchaseSuccess { .. }))
    );
    assert!(
        !kinds
            .iter()
            .any(|m| matches!(m, LiveMessage::OrderChanged { .. }))
    );
}

/// Every operator route, REST and page: 401 (REST) or a login redirect (page) for anonymous
/// callers, 403 for customers.
#[tokio::test]
async fn every_operator_route_is_for_operators_only() {
    let app = TestApp::spawn().await;
    let customer = app.customer().await;
    let some_order = uuid::Uuid::new_v4();
    let rest: Vec<(Method, String)> = vec![
        (Method::GET, "/api/users".into()),
        (Method::POST, "/api/items".into()),
        (Method::PATCH, "/api/items/1".into()),
        (Method::DELETE, "/api/items/1".into()),
        (Method::GET, "/api/admin/orders".into()),
        (Method::GET, "/api/admin/orders.csv".into()),
        (Method::GET, "/api/admin/stats".into()),
        (Method::GET, "/api/admin/webhook-events".into()),
        (Method::GET, "/api/admin/webhook-events/1".into()),
        (Method::POST, "/api/admin/webhook-events/1/replay".into()),
        (Method::GET, "/api/admin/audit".into()),
        (Method::GET, "/api/admin/promo-codes".into()),
        (Method::POST, "/api/admin/promo-codes".into()),
        (Method::PATCH, "/api/admin/promo-codes/X".into()),
        (Method::GET, "/api/admin/items/1/keys".into()),
        (Method::POST, "/api/admin/items/1/keys".into()),
        (
            Method::POST,
            format!("/api/admin/orders/{some_order}/refunds"),
        ),
        (Method::POST, format!("/api/purchases/{some_order}/refund")),
    ];
    for (method, path) in &rest {
        let anonymous = app
            .http
            .request(method.clone(), app.url(path))
            .header("origin", app.origin.clone())
            .json(&json!({}))
            .send()
            .await
            .expect("request");
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path} anonymous"
        );
        let response = app
            .as_user(&customer, method.clone(), path)
            .json(&json!({}))
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{method} {path} as a customer"
        );
    }
    for page in [
        "/admin",
        "/admin/items",
        "/admin/items/new",
        "/admin/items/1",
        "/admin/orders",
        "/admin/promo-codes",
        "/admin/webhooks",
        "/admin/webhooks/1",
        "/admin/audit",
    ] {
        let response = app
            .as_user(&customer, Method::GET, page)
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{page} as a customer"
        );
        let html = response.text().await.expect("html");
        assert!(html.contains("This area is for store operators"), "{page}");
        let anonymous = app
            .get(page)
            .header("accept", "text/html")
            .send()
            .await
            .expect("request");
        assert!(
            anonymous.status().is_redirection(),
            "{page} anonymous: {}",
            anonymous.status()
        );
        let location = anonymous.headers()["location"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(location.starts_with("/login?next="), "{page}: {location}");
    }
}

#[tokio::test]
async fn best_sellers_of_past_days_are_summed_once_and_agree_with_the_lines() {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    let app = TestApp::spawn_with(vec![("SEED_CATALOG", "true".to_owned())]).await;
    let admin = app.admin().await;
    let seeded = store::seed::orders::bulk_orders(&app.store, 400, 30)
        .await
        .expect("seeded");
    assert_eq!(seeded.orders, 400);
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Days::new(29);
    let query = format!("?from={from}&to={today}");
    // What the lines say, summed here.
    let start = from.and_time(chrono::NaiveTime::MIN).and_utc();
    let lines = store::entity::order_lines::Entity::find()
        .filter(store::entity::order_lines::Column::PaidAt.gte(start))
        .all(app.store.db())
        .await
        .expect("lines");
    let mut by_item: std::collections::HashMap<i64, (i64, i64)> = Default::default();
    for l in &lines {
        let e = by_item.entry(l.item_id).or_default();
        e.0 += i64::from(l.quantity);
        e.1 += l.line_total_cents;
    }
    let mut expected: Vec<(i64, i64, i64)> =
        by_item.into_iter().map(|(k, (u, r))| (k, u, r)).collect();
    expected.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)));
    expected.truncate(10);
    let top = |s: &SalesStats| -> Vec<(i64, i64, i64)> {
        s.top_items
            .iter()
            .map(|t| (t.item_id, t.units, t.revenue_cents))
            .collect()
    };
    // First read settles the past days; the second reads them back; both agree with the lines.
    let first: SalesStats = stats(&app, &admin, &query)
        .await
        .json()
        .await
        .expect("stats");
    let second: SalesStats = stats(&app, &admin, &query)
        .await
        .json()
        .await
        .expect("stats");
    assert_eq!(
        top(&first).iter().map(|t| t.2).collect::<Vec<_>>(),
        expected.iter().map(|t| t.2).collect::<Vec<_>>()
    );
    assert_eq!(top(&first), top(&second));
    assert_eq!(first.orders_created, second.orders_created);
    assert!(first.orders_created > 300, "{}", first.orders_created);
    // A sale today still counts, on top of the settled days.
    let potion = app
        .item("Fresh Potion")
        .price_cents(50_000_000)
        .consumable()
        .create()
        .await;
    let buyer = app.customer().await;
    paid_order(&app, &buyer, potion.id).await;
    let third: SalesStats = stats(&app, &admin, &query)
        .await
        .json()
        .await
        .expect("stats");
    assert_eq!(third.top_items[0].item_id, potion.id);
}

/// Found by an attacker's pass: an item-name search listed only the orders of the first 200
/// matching items; a lone `to` meant the 30 days before it, and a range over 366 days was
/// refused; the `next` link repeated `per_page` (a 400 when followed); and `to=9999-12-31`
/// matched nothing in the audit log (the day after is in year 10000).
#[tokio::test]
async fn order_search_finds_every_match_with_open_bounds_and_a_next_link_that_works() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let admin = app.admin().await;
    let mut items = Vec::new();
    for i in 0..205 {
        items.push(
            app.item(&format!("Zqx Relic {i:03}"))
                .price_cents(100)
                .create()
                .await,
        );
    }
    let user = app.customer().await;
    for item in [&items[0], &items[204]] {
        let bought = app.buy(&user, item.id).await;
        assert_eq!(bought.status(), StatusCode::ACCEPTED);
    }
    let found: Vec<Value> =
        json_of(app.as_user(&admin, Method::GET, "/api/admin/orders?item=zqx%20relic")).await;
    assert_eq!(
        found.len(),
        2,
        "both orders, whatever the number of matching items"
    );

    for query in [
        "?to=2999-12-31",
        "?from=2001-01-01",
        "?from=2001-01-01&to=2999-12-31",
    ] {
        let found: Vec<Value> = json_of(app.as_user(
            &admin,
            Method::GET,
            &format!("/api/admin/orders{query}&item=zqx"),
        ))
        .await;
        assert_eq!(found.len(), 2, "{query}");
    }

    let first = app
        .as_user(&admin, Method::GET, "/api/admin/orders?per_page=1&item=zqx")
        .send()
        .await
        .expect("request");
    let link = first.headers()[header::LINK]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(link.matches("per_page").count(), 1, "{link}");
    let next = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .expect("a target")
        .to_owned();
    let second = app
        .as_user(&admin, Method::GET, &next)
        .send()
        .await
        .expect("request");
    assert_eq!(second.status(), StatusCode::OK, "{next}");

    let late = app
        .as_user(&admin, Method::GET, "/api/admin/audit?to=9999-12-31")
        .send()
        .await
        .expect("request");
    assert_eq!(late.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
