//! What an attacker controls gets a clear 4xx, bounded work, and changes nothing: one test per
//! finding of the attack on the first release (the hardening issue), in both storage modes.

use std::time::Duration;

use api_types::{Order, OrderStatus};
use futures::StreamExt as _;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::helpers::{
    ADMIN_PASSWORD, ADMIN_USERNAME, Env, Storage, TestApp, TestUser, call_server_fn, error_code,
    json_of, payment_event, silent_provider,
};

fn env(pairs: &[(&'static str, &str)]) -> Env {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

async fn item_count(app: &TestApp) -> u64 {
    let response = app
        .get("/api/items?per_page=1")
        .send()
        .await
        .expect("request");
    response.headers()["x-total-count"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("number")
}

/// The text between `<title>` and `</title>` of a page, and how many `<title>` tags it has.
fn titles(html: &str) -> (usize, String) {
    let count = html.matches("<title>").count();
    let inner = html
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(inner, _)| inner.to_owned())
        .unwrap_or_default();
    (count, inner)
}

// 1. Stored HTML injection through <title> (and <meta>).
#[tokio::test]
async fn item_names_with_markup_are_escaped_in_the_page_head() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let name = r#"x</title><script>alert(1)</script> & "q" 'a' <b>"#;
    let description = r#"desc"><meta http-equiv="refresh" content="0;url=//evil.example">"#;
    let created: Value = json_of(
        app.as_user(&admin, Method::POST, "/api/items")
            .json(&json!({ "sku": "markup-test", "name": name, "description": description, "price_cents": 100 })),
    )
    .await;
    let id = created["id"].as_i64().expect("id");

    for path in [
        format!("/items/{id}"),
        format!("/items/{id}?confirm=1"),
        format!("/admin/items/{id}"),
    ] {
        let html = app
            .as_user(&admin, Method::GET, &path)
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("html");
        let head = html.split("</head>").next().unwrap_or_default();
        let (count, title) = titles(head);
        assert_eq!(count, 1, "{path}: one <title>");
        assert!(
            !head.contains("<script>alert"),
            "{path}: no live script in the head"
        );
        assert!(
            !head.contains("<meta http-equiv"),
            "{path}: no live meta in the head"
        );
        assert!(
            !title.contains('<') && !title.contains('"'),
            "{path}: {title}"
        );
        if path.starts_with("/items/") {
            assert!(
                title.starts_with("x&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;a&#39; &lt;b&gt;"),
                "{path}: {title}"
            );
        }
    }
}

// 2. NUL and control characters.
#[tokio::test]
async fn control_characters_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("q=%00", "q"),
        ("q=sword%00", "q"),
        ("q=%07bell", "q"),
        ("tag=potion%00", "tag"),
        ("sort=name%00", "sort"),
        ("user_agent=%1b%5b31m", "user_agent"),
    ] {
        let response = app
            .get(&format!("/api/items?{query}"))
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["field"], field, "{query}");
    }
    let page = app.get("/?q=%00").send().await.expect("request");
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let admin = app.admin().await;
    let before = item_count(&app).await;
    for (body, field) in [
        (
            json!({ "sku": "nul-desc", "name": "Nul", "description": "a\u{0}b", "price_cents": 100 }),
            "description",
        ),
        (
            json!({ "sku": "nul-name", "name": "N\u{0}ul", "price_cents": 100 }),
            "name",
        ),
        (
            json!({ "sku": "esc-desc", "name": "Esc", "description": "\u{1b}[2J", "price_cents": 100 }),
            "description",
        ),
    ] {
        let response = app
            .as_user(&admin, Method::POST, "/api/items")
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["field"], field);
    }
    assert_eq!(item_count(&app).await, before, "nothing was stored");
    let multiline = app
        .as_user(&admin, Method::POST, "/api/items")
        .json(&json!({ "sku": "multi-line", "name": "Multi", "description": "one\ntwo\tthree", "price_cents": 100 }))
        .send()
        .await
        .expect("request");
    assert_eq!(multiline.status(), StatusCode::CREATED);

    let register = app.register("nul-user", "pass\u{0}word-long").await;
    assert_eq!(register.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = register.json().await.expect("json");
    assert_eq!(body["error"]["field"], "password");
}

// 3. Open redirect after login, and a Location header that cannot be built.
#[tokio::test]
async fn login_redirects_stay_on_the_store() {
    let app = TestApp::spawn().await;
    app.register("wanderer", "correct horse battery").await;
    let login = <app::api::Login as server_fn::ServerFn>::PATH;
    for (next, expected) in [
        ("/orders", "/orders"),
        ("/%09/evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\t\\evil.example", "/"),
        ("/\\evil.example", "/"),
        ("//evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/\r\nSet-Cookie: pwned=1", "/"),
        ("/\u{0}", "/"),
        // Dot segments resolve to `//evil.example` (found by an attacker's pass).
        ("/.//evil.example/x", "/"),
        ("/a/..//evil.example", "/"),
        ("/x/%2e%2e//evil.example/p", "/"),
    ] {
        let next = if next.contains("%09") {
            // What the browser sends after decoding the address bar's `%09`.
            next.replace("%09", "\t")
        } else {
            next.to_owned()
        };
        let response = call_server_fn(
            &app,
            login,
            &[
                ("username", "wanderer"),
                ("password", "correct horse battery"),
                ("next", &next),
            ],
            "text/html",
        )
        .await;
        assert_eq!(response.status(), StatusCode::FOUND, "{next:?}");
        assert_eq!(response.headers()[header::LOCATION], expected, "{next:?}");
        assert!(response.headers().get("pwned").is_none());
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A customer's pending order for a $49.99 potion.
async fn pending_order(app: &TestApp) -> (TestUser, Order) {
    let potion = app
        .item("Health Potion")
        .price_cents(4999)
        .consumable()
        .create()
        .await;
    let user = app.customer().await;
    let response = app.buy(&user, potion.id).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    (user, response.json().await.expect("order"))
}

// 4. Unbounded signature work.
#[tokio::test]
async fn webhook_signature_lists_are_capped() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let (user, order) = pending_order(&app).await;
    let body = serde_json::to_vec(&payment_event("payment.succeeded", &order)).expect("json");
    let ts = now();
    let good = app.secret.sign("msg_cap", ts, &body);
    let send = |signature: String| {
        app.post("/api/webhooks/payment")
            .header("content-type", "application/json")
            .header("webhook-id", "msg_cap")
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body.clone())
            .send()
    };
    // Short entries that each decode to a candidate: before the cap, each cost one HMAC.
    let flood = vec!["v1,AA=="; 10_000].join(" ");
    let refused = send(format!("{flood} {good}")).await.expect("request");
    assert_eq!(
        error_code(refused).await,
        (StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE".to_owned())
    );
    // A head past what one connection may buffer (96 KiB) is refused before any handler.
    let huge = vec!["v1,AA=="; 45_000].join(" ");
    let refused = send(format!("{huge} {good}")).await.expect("request");
    assert_eq!(
        refused.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    let eleven = [good.as_str(); 11].join(" ");
    let refused = send(eleven).await.expect("request");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Pending
    );
    let mut ten = vec!["v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; 9];
    ten.push(&good);
    let accepted = send(ten.join(" ")).await.expect("request");
    assert_eq!(accepted.status(), StatusCode::NO_CONTENT);
}

// 5. Password hashing bounded; registrations limited per address.
#[tokio::test]
async fn password_hashing_is_bounded_with_503_and_retry_after() {
    let app = TestApp::spawn_with(env(&[
        ("PASSWORD_HASH_CONCURRENCY", "1"),
        ("PASSWORD_HASH_QUEUE", "0"),
    ]))
    .await;
    let attempts = (0..24).map(|i| {
        let app = &app;
        async move {
            app.post("/api/users")
                .json(&json!({ "username": format!("burst-{i}"), "password": "correct horse battery" }))
                .send()
                .await
                .expect("request")
        }
    });
    let responses = futures::future::join_all(attempts).await;
    let mut created = 0;
    let mut busy = 0;
    for response in responses {
        match response.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(response.headers().contains_key(header::RETRY_AFTER));
                assert_eq!(error_code(response).await.1, "PASSWORD_HASHING_BUSY");
                busy += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(created >= 1, "some registrations went through");
    assert!(busy >= 1, "the rest were refused, not queued without bound");
}

#[tokio::test]
async fn registrations_are_limited_per_client_address() {
    let app = TestApp::spawn_with(env(&[("REGISTRATIONS_PER_ADDRESS", "3")])).await;
    for i in 0..3 {
        assert_eq!(
            app.register(&format!("limited-{i}"), "correct horse battery")
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    let refused = app.register("limited-3", "correct horse battery").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(error_code(refused).await.1, "RATE_LIMITED");
}

// 6. The login throttle counts before it hashes, and fails closed.
#[tokio::test]
async fn concurrent_wrong_passwords_are_counted_before_any_is_verified() {
    let app = TestApp::spawn().await;
    app.register("target", "correct horse battery").await;
    let guesses = (0..12).map(|i| {
        let app = &app;
        async move {
            app.login("target", &format!("guess number {i}"))
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let verified = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(verified, 5, "{statuses:?}");
    assert_eq!(throttled, 7, "{statuses:?}");
}

#[tokio::test]
async fn logins_fail_closed_when_the_throttle_cannot_count() {
    let mut storage = Storage::fresh().await;
    storage.redis_url = Some("redis://127.0.0.1:1".to_owned());
    let app = TestApp::spawn_on(storage, vec![], |_| {}).await;
    let response = app.login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(error_code(response).await.1, "THROTTLE_UNAVAILABLE");
}

// 7. Websockets per user and per replica.
fn ws_request(
    app: &TestApp,
    user: &TestUser,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let url = app.base.replacen("http://", "ws://", 1) + "/ws";
    let mut request = url.into_client_request().expect("request");
    let headers = request.headers_mut();
    headers.insert("origin", app.origin.parse().expect("header"));
    headers.insert(
        "cookie",
        format!("gs_session={}", user.token)
            .parse()
            .expect("header"),
    );
    request
}

async fn refused_status(app: &TestApp, user: &TestUser) -> u16 {
    match tokio_tungstenite::connect_async(ws_request(app, user)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("the socket was admitted"),
    }
}

#[tokio::test]
async fn sockets_are_capped_per_user_and_per_replica() {
    let app = TestApp::spawn_with(env(&[
        ("WS_MAX_PER_USER", "2"),
        ("WS_MAX_CONNECTIONS", "3"),
    ]))
    .await;
    let alice = app.customer().await;
    let bob = app.customer().await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let (socket, _) = tokio_tungstenite::connect_async(ws_request(&app, &alice))
            .await
            .expect("admitted");
        open.push(socket);
    }
    assert_eq!(refused_status(&app, &alice).await, 429);
    let (bobs, _) = tokio_tungstenite::connect_async(ws_request(&app, &bob))
        .await
        .expect("bob's first");
    open.push(bobs);
    assert_eq!(refused_status(&app, &bob).await, 503);
    // A socket that closes gives its place back.
    let mut first = open.remove(0);
    first.close(None).await.expect("close");
    while first.next().await.is_some() {}
    for _ in 0..100 {
        if app.hub.len() < 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        tokio_tungstenite::connect_async(ws_request(&app, &bob))
            .await
            .is_ok()
    );
}

// 8. Bodies over the limit, declared or chunked, on /api and /rpc.
#[tokio::test]
async fn oversized_chunked_bodies_are_413_json_on_api_and_rpc() {
    let app = TestApp::spawn().await;
    let register = <app::api::Register as server_fn::ServerFn>::PATH;
    for path in ["/api/users", register] {
        let chunks =
            futures::stream::iter((0..160).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 64 * 1024])));
        let response = app
            .post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(header::ORIGIN, app.origin.clone())
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(
            error_code(response).await,
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE".to_owned()
            ),
            "{path}"
        );
    }
}

// 9. Server functions with arguments that do not parse.
#[tokio::test]
async fn server_functions_with_malformed_arguments_answer_400() {
    let app = TestApp::spawn().await;
    let get_item = <app::api::GetItem as server_fn::ServerFn>::PATH;
    let buy = <app::api::Buy as server_fn::ServerFn>::PATH;
    for (path, form) in [
        (get_item, vec![("id", "abc")]),
        (get_item, vec![]),
        (get_item, vec![("id", "99999999999999999999999")]),
        (buy, vec![("item_id", "1")]),
    ] {
        let response = call_server_fn(&app, path, &form, "application/json").await;
        let status = response.status();
        let body: Value = response.json().await.expect("json error");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {form:?}: {body}");
        assert_eq!(body["status"], 400);
    }
    // A browser asks for gzip: the status is still the error's own (it is set before the body
    // is compressed).
    let zipped = app
        .post(get_item)
        .header(header::ORIGIN, app.origin.clone())
        .header(header::ACCEPT, "application/json")
        .header(header::ACCEPT_ENCODING, "gzip")
        .form(&[("id", "abc")])
        .send()
        .await
        .expect("request");
    assert_eq!(zipped.status(), StatusCode::BAD_REQUEST);
}

// 10. A reused webhook-id with another body.
#[tokio::test]
async fn a_reused_webhook_id_with_another_body_is_409_and_recorded() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let (user, order) = pending_order(&app).await;
    let failed = payment_event("payment.failed", &order);
    let paid = payment_event("payment.succeeded", &order);
    assert_eq!(
        app.deliver("msg_reused", &paid).await.status(),
        StatusCode::NO_CONTENT
    );
    for _ in 0..2 {
        let reused = app.deliver("msg_reused", &failed).await;
        assert_eq!(
            error_code(reused).await,
            (StatusCode::CONFLICT, "WEBHOOK_ID_REUSED".to_owned())
        );
    }
    assert_eq!(
        app.deliver("msg_reused", &paid).await.status(),
        StatusCode::NO_CONTENT,
        "the original body again is a plain duplicate"
    );
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Paid
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
    assert_eq!(outcomes, vec!["applied", "id_reused"]);
}

// 11. Signed input longer than a column; SQLite busy is 503.
#[tokio::test]
async fn over_long_signed_fields_are_422_and_change_nothing() {
    let app = TestApp::spawn_with(env(&[
        ("SIM_DELAY_MS", "600000"),
        ("XSOLLA_WEBHOOK_SECRET", "xsolla-secret"),
    ]))
    .await;
    let (user, order) = pending_order(&app).await;
    let mut event = payment_event("payment.succeeded", &order);
    event["data"]["transaction_id"] = json!("t".repeat(300));
    let response = app.deliver("msg_long_tx", &event).await;
    assert_eq!(
        error_code(response).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_NOTIFICATION".to_owned()
        )
    );
    let long_type = json!({
        "notification_type": "p".repeat(300),
        "user": { "id": order.user_id },
        "transaction": { "id": 7, "external_id": order.order_id },
        "purchase": { "total": { "amount": 49.99, "currency": "USD" } },
    })
    .to_string();
    let response = app
        .post("/api/webhooks/payment")
        .header("content-type", "application/json")
        .header(
            "authorization",
            webhooks::xsolla::sign(long_type.as_bytes(), "xsolla-secret"),
        )
        .body(long_type)
        .send()
        .await
        .expect("request");
    assert!(response.status().is_client_error(), "{}", response.status());
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Pending
    );
}

/// SQLite only: PostgreSQL has no busy timeout (the PostgreSQL pass filters this test out).
#[tokio::test]
async fn sqlite_only_a_busy_database_answers_503() {
    let app = TestApp::spawn_with(env(&[("SQLITE_BUSY_TIMEOUT_MS", "200")])).await;
    let path = app
        .storage
        .database_url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .expect("path")
        .to_owned();
    let blocker = sea_orm::Database::connect(format!("sqlite://{path}"))
        .await
        .expect("second connection");
    use sea_orm::ConnectionTrait as _;
    blocker
        .execute_unprepared("BEGIN IMMEDIATE")
        .await
        .expect("write lock");
    let response = app.register("blocked-user", "correct horse battery").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(error_code(response).await.1, "DATABASE_BUSY");
    blocker
        .execute_unprepared("ROLLBACK")
        .await
        .expect("unlock");
    assert_eq!(
        app.register("blocked-user", "correct horse battery")
            .await
            .status(),
        StatusCode::CREATED
    );
}

// 12. Xsolla-style notifications without a total or a buyer; exact decimal amounts.
#[tokio::test]
async fn xsolla_notifications_without_total_or_buyer_are_refused_and_recorded() {
    let app = TestApp::spawn_with(env(&[
        ("SIM_DELAY_MS", "600000"),
        ("XSOLLA_WEBHOOK_SECRET", "xsolla-secret"),
    ]))
    .await;
    let (user, order) = pending_order(&app).await;
    let send = |body: Value| {
        let body = body.to_string();
        app.post("/api/webhooks/payment")
            .header("content-type", "application/json")
            .header(
                "authorization",
                webhooks::xsolla::sign(body.as_bytes(), "xsolla-secret"),
            )
            .body(body)
            .send()
    };
    let no_total = json!({
        "notification_type": "payment",
        "user": { "id": order.user_id },
        "transaction": { "id": 100, "external_id": order.order_id },
    });
    let response = send(no_total).await.expect("request");
    assert_eq!(
        error_code(response).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_NOTIFICATION".to_owned()
        )
    );
    let no_user = json!({
        "notification_type": "payment",
        "transaction": { "id": 101, "external_id": order.order_id },
        "purchase": { "total": { "amount": 49.99, "currency": "USD" } },
    });
    let response = send(no_user).await.expect("request");
    assert_eq!(
        error_code(response).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Pending
    );
    // 49.99 in floating point is 49.989999…; read as the decimal it was written as it is 4999.
    let exact = json!({
        "notification_type": "payment",
        "user": { "id": order.user_id },
        "transaction": { "id": 102, "external_id": order.order_id },
        "purchase": { "total": { "amount": 49.99, "currency": "USD" } },
    });
    assert_eq!(
        send(exact).await.expect("request").status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.order(&user, order.order_id).await.status,
        OrderStatus::Paid
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
    assert_eq!(outcomes, vec!["invalid", "invalid", "applied"]);
}

// 13. Shoppers see a stable reason; the detail is for operators.
#[tokio::test]
async fn shoppers_see_a_stable_failure_reason_and_operators_the_detail() {
    let app = TestApp::spawn_with(env(&[(
        "PAYMENT_PROVIDER_URL",
        "http://127.0.0.1:1/internal/payments/",
    )]))
    .await;
    let potion = app.item("Health Potion").consumable().create().await;
    let user = app.customer().await;
    let response = app.buy(&user, potion.id).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = response.text().await.expect("body");
    assert!(
        !body.contains("127.0.0.1") && !body.contains("internal"),
        "{body}"
    );
    let orders: Vec<Order> = json_of(app.as_user(&user, Method::GET, "/api/purchases")).await;
    let order = app.order(&user, orders[0].order_id).await;
    assert_eq!(order.status, OrderStatus::Failed);
    let reason = order.failure_reason.clone().expect("a reason");
    assert_eq!(
        reason,
        "The payment provider could not be reached. You have not been charged."
    );
    let shown = serde_json::to_string(&order).expect("json");
    assert!(
        !shown.contains("127.0.0.1") && !shown.contains("/internal/"),
        "{shown}"
    );

    let admin = app.admin().await;
    let listed: Vec<Value> = json_of(app.as_user(&admin, Method::GET, "/api/admin/orders")).await;
    let detail = listed[0]["failure_detail"]
        .as_str()
        .expect("operators see the detail");
    assert!(detail.contains("reach"), "{detail}");
}

#[tokio::test]
async fn declines_are_explained_in_the_stores_words() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let (user, order) = pending_order(&app).await;
    let mut failed = payment_event("payment.failed", &order);
    failed["data"]["reason"] = json!("card_declined <internal ref 8812 at acquirer-3>");
    assert_eq!(
        app.deliver("msg_declined", &failed).await.status(),
        StatusCode::NO_CONTENT
    );
    let order = app.order(&user, order.order_id).await;
    assert_eq!(order.status, OrderStatus::Failed);
    let shown = serde_json::to_string(&order).expect("json");
    assert!(!shown.contains("acquirer"), "{shown}");
    assert!(
        order
            .failure_reason
            .is_some_and(|r| r.contains("You have not been charged"))
    );
}

// 15. Promoting ADMIN_USERNAME revokes the account's sessions.
#[tokio::test]
async fn promoting_an_existing_account_to_admin_revokes_its_sessions() {
    let storage = Storage::fresh().await;
    let first = TestApp::spawn_on(storage.clone(), vec![], |_| {}).await;
    first.register("squatter", "squatter password").await;
    let squatter = first.session("squatter", "squatter password").await;
    let me =
        |app: &TestApp, user: &TestUser| app.as_user(user, Method::GET, "/api/users/me").send();
    assert_eq!(
        me(&first, &squatter).await.expect("request").status(),
        StatusCode::OK
    );

    let promoted = TestApp::spawn_on(
        storage.clone(),
        env(&[
            ("WEBHOOK_SECRETS", &first.secret_text),
            ("ADMIN_USERNAME", "squatter"),
            ("ADMIN_PASSWORD", "the operators' own password"),
        ]),
        |_| {},
    )
    .await;
    assert_eq!(
        me(&promoted, &squatter).await.expect("request").status(),
        StatusCode::UNAUTHORIZED,
        "the squatter's session does not survive the promotion"
    );
    let operator = promoted
        .session("squatter", "the operators' own password")
        .await;
    let body: Value = me(&promoted, &operator)
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(body["role"], "admin");

    // A restart with the same settings changes nothing and keeps the operator logged in.
    let restarted = TestApp::spawn_on(
        storage,
        env(&[
            ("WEBHOOK_SECRETS", &first.secret_text),
            ("ADMIN_USERNAME", "squatter"),
            ("ADMIN_PASSWORD", "the operators' own password"),
        ]),
        |_| {},
    )
    .await;
    assert_eq!(
        me(&restarted, &operator).await.expect("request").status(),
        StatusCode::OK
    );
}

// 16. /metrics only on its own listener.
#[tokio::test]
async fn metrics_are_not_served_on_the_public_listener() {
    let app = TestApp::spawn().await;
    let public = app.get("/metrics").send().await.expect("request");
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let text = public.text().await.expect("body");
    assert!(!text.contains("gamestore_orders"));
    let metrics = app.metrics_base.clone().expect("metrics listener");
    let scraped = app
        .http
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(
        scraped
            .text()
            .await
            .expect("body")
            .contains("gamestore_orders")
    );
}

// 17. HSTS over https.
#[tokio::test]
async fn strict_transport_security_is_sent_when_served_over_https() {
    let https = TestApp::spawn_with(env(&[("PUBLIC_URL", "https://shop.example.com")])).await;
    let response = https.get("/healthz").send().await.expect("request");
    assert_eq!(
        response.headers()[header::STRICT_TRANSPORT_SECURITY],
        "max-age=31536000; includeSubDomains"
    );
    let http = TestApp::spawn().await;
    let response = http.get("/healthz").send().await.expect("request");
    assert!(
        response
            .headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none()
    );
}

// 18. The client address behind our proxy is the rightmost entry it wrote.
#[tokio::test]
async fn forwarded_for_takes_the_entry_our_proxy_wrote() {
    let app = TestApp::spawn_with(env(&[
        ("TRUST_FORWARDED_FOR", "1"),
        ("REGISTRATIONS_PER_ADDRESS", "2"),
    ]))
    .await;
    let register = |name: String, forwarded: &'static str| {
        app.post("/api/users")
            .header("x-forwarded-for", forwarded)
            .json(&json!({ "username": name, "password": "correct horse battery" }))
            .send()
    };
    // The client varies what it writes on the left; the proxy's entry on the right is the same.
    for (i, spoof) in ["1.1.1.1, 203.0.113.7", "2.2.2.2, 203.0.113.7"]
        .iter()
        .enumerate()
    {
        let response = register(format!("proxied-{i}"), spoof)
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let refused = register("proxied-2".to_owned(), "3.3.3.3, 203.0.113.7")
        .await
        .expect("request");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let other_client = register("proxied-3".to_owned(), "1.1.1.1, 203.0.113.8")
        .await
        .expect("request");
    assert_eq!(other_client.status(), StatusCode::CREATED);
}

// The original store's clients.
#[tokio::test]
async fn the_original_stores_paths_and_fields_are_answered() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let potion = app
        .item("Health Potion")
        .price_cents(4999)
        .description("Restores 50 health points instantly.")
        .consumable()
        .create()
        .await;
    app.items(3).await;
    let items: Vec<Value> = json_of(app.get("/api/items/?per_page=3")).await;
    assert_eq!(items.len(), 3);

    let registered: Value = app
        .register("old-client", "correct horse battery")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(registered["id"], registered["user_id"]);
    let user = app.session("old-client", "correct horse battery").await;

    let placed = app
        .as_user(&user, Method::POST, "/api/purchases/")
        .json(&json!({ "item_id": potion.id }))
        .send()
        .await
        .expect("request");
    assert_eq!(placed.status(), StatusCode::ACCEPTED);
    let order: Value = placed.json().await.expect("json");
    assert_eq!(order["timestamp"], order["created_at"]);
    assert_eq!(order["item"]["price"], 49.99);
    assert!(
        order["item"]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    let listed: Vec<Value> = json_of(app.as_user(&user, Method::GET, "/api/purchases/")).await;
    assert_eq!(listed.len(), 1);

    let other = app.customer().await;
    let refused = app
        .as_user(&user, Method::DELETE, &format!("/api/users/{}", other.id))
        .json(&json!({ "password": "correct horse battery" }))
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let closed = app
        .as_user(&user, Method::DELETE, &format!("/api/users/{}", user.id))
        .json(&json!({ "password": "correct horse battery" }))
        .send()
        .await
        .expect("request");
    assert_eq!(closed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.login("old-client", "correct horse battery")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

/// A login refused because the hashing gate was full was never evaluated: it gives its slots
/// back, so a burst that overflows the gate cannot lock the account's owner out (found by an
/// attacker's pass: six 503s left the right password 429 for fifteen minutes).
#[tokio::test]
async fn logins_the_hashing_gate_turned_away_do_not_count_toward_a_lockout() {
    let app = TestApp::spawn_with(env(&[
        ("PASSWORD_HASH_CONCURRENCY", "1"),
        ("PASSWORD_HASH_QUEUE", "0"),
    ]))
    .await;
    // Six wrong guesses at once: the sixth is over the limit at once, the gate takes one and
    // turns the others away. Had the turned-away ones counted, the owner would be locked out.
    let mut checked = 0;
    for round in 0..6 {
        let name = format!("gated-{round}");
        assert_eq!(
            app.register(&name, "correct horse battery").await.status(),
            StatusCode::CREATED
        );
        let burst =
            futures::future::join_all((0..6).map(|_| app.login(&name, "wrong horse battery")))
                .await;
        let turned_away = burst
            .iter()
            .filter(|r| r.status() == StatusCode::SERVICE_UNAVAILABLE)
            .count();
        // Wait for the gate to empty, then see whether the owner still gets in.
        let own = loop {
            let response = app.login(&name, "correct horse battery").await;
            if response.status() != StatusCode::SERVICE_UNAVAILABLE {
                break response;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        // With two or more turned away, at most five attempts were evaluated or refused.
        if turned_away >= 2 {
            assert_eq!(own.status(), StatusCode::OK, "{turned_away} turned away");
            checked += 1;
        }
    }
    assert!(checked >= 1, "the gate never turned two away at once");
}

/// Closing an account checks its password, and that check counts in the account's
/// failed-login window: a session cannot guess the password faster than the login form (found
/// by an attacker's pass: about 80 guesses a second, and enough to fill the hashing gate).
#[tokio::test]
async fn closing_an_account_guesses_its_password_no_faster_than_logging_in() {
    let app = TestApp::spawn().await;
    let user = app.customer().await;
    let close = |password: &'static str| {
        app.as_user(&user, Method::DELETE, "/api/users/me")
            .json(&json!({ "password": password }))
            .send()
    };
    for _ in 0..5 {
        let wrong = close("wrong horse battery").await.expect("request");
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let refused = close("wrong horse battery").await.expect("request");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key(header::RETRY_AFTER));
    let me = app
        .as_user(&user, Method::GET, "/api/users/me")
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), StatusCode::OK, "the account is still open");
}

/// A page rendered for a logged-in visitor is theirs alone: `Cache-Control: private, no-store`
/// (a customer's shared copy of `/` keeps its `private, no-cache`); and a request id is kept
/// only when short and plain (found by an attacker's pass: no header at all on `/library`, which
/// shows license keys, and a 60 KB request id logged as sent).
#[tokio::test]
async fn personal_pages_are_never_kept_and_request_ids_are_plain() {
    let app = TestApp::spawn().await;
    let item = app.item("Private Page Sword").create().await;
    let user = app.customer().await;
    for path in [
        "/library".to_owned(),
        "/account".to_owned(),
        "/cart".to_owned(),
        "/orders".to_owned(),
        "/wishlist".to_owned(),
        format!("/items/{}?confirm=1", item.id),
    ] {
        let page = app
            .as_user(&user, Method::GET, &path)
            .send()
            .await
            .expect("request");
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert_eq!(
            page.headers()[header::CACHE_CONTROL],
            "private, no-store",
            "{path}"
        );
    }
    let home = app
        .as_user(&user, Method::GET, "/")
        .send()
        .await
        .expect("request");
    assert_eq!(home.headers()[header::CACHE_CONTROL], "private, no-cache");
    let anonymous = app.get("/login").send().await.expect("request");
    assert!(anonymous.headers().get(header::CACHE_CONTROL).is_none());

    let kept = app
        .get("/healthz")
        .header("x-request-id", "balancer-7f3a:42")
        .send()
        .await
        .expect("request");
    assert_eq!(kept.headers()["x-request-id"], "balancer-7f3a:42");
    for made_up in ["x".repeat(65), "<script>".to_owned(), "a b".to_owned()] {
        let replaced = app
            .get("/healthz")
            .header("x-request-id", &made_up)
            .send()
            .await
            .expect("request");
        let id = replaced.headers()["x-request-id"].to_str().expect("ascii");
        assert_ne!(id, made_up);
        assert_eq!(id.len(), 36, "a fresh UUID: {id}");
    }
}

/// Files from `public/` come with their precompressed copies, so every answer says it varies
/// on `Accept-Encoding` (found by an attacker's pass: only the identity copy said so).
#[tokio::test]
async fn static_files_vary_on_their_encoding() {
    let site = tempfile::tempdir().expect("temp dir");
    std::fs::write(site.path().join("hello.txt"), "hello ".repeat(100)).expect("file");
    let mut zipped = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut zipped, "hello ".repeat(100).as_bytes()).expect("gzip");
    std::fs::write(
        site.path().join("hello.txt.gz"),
        zipped.finish().expect("gzip"),
    )
    .expect("file");
    let root = site.path().display().to_string();
    let app = TestApp::spawn_with(env(&[("LEPTOS_SITE_ROOT", &root)])).await;
    for encoding in ["gzip", "identity"] {
        let file = app
            .get("/hello.txt")
            .header("accept-encoding", encoding)
            .send()
            .await
            .expect("request");
        assert_eq!(file.status(), StatusCode::OK, "{encoding}");
        assert_eq!(
            file.headers()[header::VARY],
            "accept-encoding",
            "{encoding}"
        );
    }
}

/// A JavaScript-off form post that fails lands back on its page with the error in the URL, tagged
/// by the store; a page asked for with an error the store did not tag is sent to the same page
/// without it (found by an attacker's pass: any link could make a page's own error notice say
/// "your account is locked, call …").
#[tokio::test]
async fn a_form_error_in_a_page_url_shows_only_when_the_store_put_it_there() {
    use base64::Engine as _;
    let app = TestApp::spawn().await;
    app.register("tagged", "correct horse battery").await;
    let login = <app::api::Login as server_fn::ServerFn>::PATH;
    let failed = call_server_fn(
        &app,
        login,
        &[("username", "tagged"), ("password", "wrong horse battery")],
        "text/html",
    )
    .await;
    assert_eq!(failed.status(), StatusCode::FOUND);
    let location = failed.headers()[header::LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        location.contains("__err=") && location.contains("__sig="),
        "{location}"
    );
    // The tag is bound to the posting browser by a short-lived cookie.
    let browser = form_error_cookie(&failed);
    // (The helper posts from /register; the error is the login form's, shown on /login.)
    let query = location.split_once('?').expect("a query").1;
    let page = app
        .get(&format!("/login?{query}"))
        .header(header::COOKIE, &browser)
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("data-testid=\"form-error\"") && html.contains("wrong username or password"),
        "the store's own error is shown"
    );
    // The same URL in another browser (no cookie, or another one's) shows nothing: a tagged
    // link passed on says nothing to whoever opens it.
    for other in [None, Some("gs_form_error=0123456789abcdef0123456789abcdef")] {
        let mut request = app.get(&format!("/login?{query}"));
        if let Some(cookie) = other {
            request = request.header(header::COOKIE, cookie);
        }
        let elsewhere = request.send().await.expect("request");
        assert_eq!(elsewhere.status(), StatusCode::SEE_OTHER, "{other:?}");
        assert_eq!(elsewhere.headers()[header::LOCATION], "/login");
    }
    // Words the poster chose (a repeated field's name, which the form parser would quote)
    // never make it into the error.
    let crafted = call_server_fn(
        &app,
        login,
        &[
            ("username", "tagged"),
            ("password", "x"),
            ("Your account is locked. Call us", "1"),
            ("Your account is locked. Call us", "2"),
        ],
        "text/html",
    )
    .await;
    let location = crafted.headers()[header::LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    let err = url::form_urlencoded::parse(location.split_once('?').expect("a query").1.as_bytes())
        .find(|(k, _)| k == "__err")
        .map(|(_, v)| v.into_owned())
        .expect("an error");
    let err = base64::engine::general_purpose::URL_SAFE
        .decode(err)
        .expect("base64");
    let err = String::from_utf8(err).expect("utf-8");
    assert!(
        err.contains("the form could not be read") && !err.contains("locked"),
        "{err}"
    );

    // A second failure, posted from the page that shows the first: its redirect carries only
    // the new error's tag (found by the JavaScript-off end-to-end test).
    let again = app
        .post(login)
        .header(header::ORIGIN, app.origin.clone())
        .header(header::REFERER, app.url(&format!("/login?{query}")))
        .header(header::ACCEPT, "text/html")
        .form(&[("username", "tagged"), ("password", "still wrong")])
        .send()
        .await
        .expect("request");
    let location = again.headers()[header::LOCATION]
        .to_str()
        .expect("location");
    for name in ["__path=", "__err=", "__sig="] {
        assert_eq!(location.matches(name).count(), 1, "{location}");
    }
    let browser = form_error_cookie(&again);
    let shown = app
        .get(&format!(
            "/login?{}",
            location.split_once('?').expect("a query").1
        ))
        .header(header::COOKIE, &browser)
        .send()
        .await
        .expect("request");
    assert_eq!(shown.status(), StatusCode::OK, "{location}");

    let forged = base64::engine::general_purpose::URL_SAFE.encode(
        serde_json::to_vec(&json!({
            "status": 403, "code": "X", "field": null,
            "message": "Your account is locked. Call +1-555-0100 to unlock it.",
        }))
        .expect("json"),
    );
    // A redirect the store makes elsewhere to a URL holding an error (a login's `next`) is not
    // tagged: the store tags only the error a failed server function itself put there.
    let next = format!("/login?__path={login}&__err={forged}");
    let logged_in = call_server_fn(
        &app,
        login,
        &[
            ("username", "tagged"),
            ("password", "correct horse battery"),
            ("next", &next),
        ],
        "text/html",
    )
    .await;
    // A response that sets the session cookie is never kept by a cache (as the REST login).
    assert_eq!(logged_in.headers()[header::CACHE_CONTROL], "no-store");
    let location = logged_in.headers()[header::LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(!location.contains("__sig"), "{location}");
    let followed = app
        .get(&location.replacen(&app.url(""), "", 1))
        .header("accept", "text/html")
        .send()
        .await
        .expect("request");
    assert_eq!(followed.status(), StatusCode::SEE_OTHER, "{location}");

    for query in [
        format!("{query}&__err={forged}"),
        format!("__err={forged}&{query}"),
        format!("__path={login}&__err={forged}"),
        format!("next=%2Forders&__path={login}&__err={forged}&__sig=00"),
        format!("%5F%5Fpath={login}&%5F%5Ferr={forged}"),
        format!("__p%61th={login}&__%65rr={forged}"),
    ] {
        let page = app
            .get(&format!("/login?{query}"))
            .header("accept", "text/html")
            .send()
            .await
            .expect("request");
        assert_eq!(page.status(), StatusCode::SEE_OTHER, "{query}");
        let to = page.headers()[header::LOCATION].to_str().expect("location");
        assert!(
            to == "/login" || to == "/login?next=%2Forders",
            "{query} → {to}"
        );
    }
}

/// Found by an attacker's pass: connections that sent nothing, or headers that never ended,
/// were held for as long as the client liked, with no cap on how many. Now a request's headers
/// must arrive within `HEADER_READ_TIMEOUT_SECS`, and past `HTTP_MAX_CONNECTIONS` new
/// connections wait until one closes.
#[tokio::test]
async fn idle_and_unfinished_connections_are_closed_and_capped() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = TestApp::spawn_with(vec![
        ("HEADER_READ_TIMEOUT_SECS", "2".to_owned()),
        ("HTTP_MAX_CONNECTIONS", "3".to_owned()),
    ])
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for n in 0..3 {
        let mut socket = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        if n > 0 {
            // Headers that never end.
            socket
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaa")
                .await
                .expect("write");
        }
        held.push(socket);
    }
    // The three take every slot (with whatever the test's own client keeps): a new request
    // waits.
    let fresh = || {
        reqwest::Client::builder()
            .timeout(Duration::from_millis(800))
            .build()
            .expect("client")
    };
    assert!(
        fresh().get(app.url("/healthz")).send().await.is_err(),
        "a request past the cap waited"
    );
    // Within the header timeout each is closed by the server.
    for mut socket in held {
        let mut buffer = [0_u8; 1024];
        let closed = tokio::time::timeout(Duration::from_secs(6), async {
            loop {
                match socket.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    // (hyper may say 408 first)
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "the server closed the connection");
    }
    // And the slots are free again.
    let mut answered = false;
    for _ in 0..20 {
        if let Ok(response) = fresh().get(app.url("/healthz")).send().await {
            assert_eq!(response.status(), StatusCode::OK);
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(answered);
}

/// Found by an attacker's pass: a form body that is not UTF-8 made a server function answer
/// 500 ("unexpected response").
#[tokio::test]
async fn a_form_that_is_not_utf8_is_a_bad_request() {
    let app = TestApp::spawn().await;
    let login = <app::api::Login as server_fn::ServerFn>::PATH;
    for body in [&b"username=\xff&password=bb"[..], &b"\x80"[..]] {
        let response = app
            .post(login)
            .header(header::ORIGIN, app.origin.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.to_vec())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}

/// The `gs_form_error=…` pair a failed form's redirect set, to send back as a `Cookie`.
fn form_error_cookie(response: &reqwest::Response) -> String {
    let value =
        crate::helpers::cookie_set(response, "gs_form_error").expect("the form-error cookie");
    format!("gs_form_error={value}")
}
