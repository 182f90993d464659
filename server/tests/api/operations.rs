//! What operators and tooling rely on: the OpenAPI description, metrics, security headers,
//! request ids, limits, and a graceful shutdown that drains first.

use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use serde_json::Value;

use crate::helpers::{TestApp, error_code};

#[tokio::test]
async fn the_openapi_description_covers_the_rest_api() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/openapi.json").send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let spec: Value = response.json().await.expect("json");
    assert!(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3."))
    );
    let paths = spec["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/users", "post"),
        ("/api/users", "get"),
        ("/api/users/login", "post"),
        ("/api/users/logout", "post"),
        ("/api/users/me", "get"),
        ("/api/users/me", "delete"),
        ("/api/items", "get"),
        ("/api/items", "post"),
        ("/api/items/{id}", "get"),
        ("/api/items/{id}", "patch"),
        ("/api/items/{id}", "delete"),
        ("/api/purchases", "post"),
        ("/api/purchases", "get"),
        ("/api/purchases/{order_id}", "get"),
        ("/api/purchases/{order_id}/refund", "post"),
        ("/api/admin/orders", "get"),
        ("/api/admin/orders/{order_id}/refunds", "post"),
        ("/api/admin/items/{id}/keys", "post"),
        ("/api/admin/items/{id}/keys", "get"),
        ("/api/users/me/gifts", "get"),
        ("/api/users/me/email", "get"),
        ("/api/users/me/email", "put"),
        ("/api/users/me/email", "delete"),
        ("/api/users/me/email/resend", "post"),
        ("/api/users/email/verify", "post"),
        ("/api/purchases/{order_id}/refunds", "post"),
        ("/api/admin/stats", "get"),
        ("/api/admin/orders.csv", "get"),
        ("/api/admin/webhook-events", "get"),
        ("/api/admin/webhook-events/{id}", "get"),
        ("/api/admin/webhook-events/{id}/replay", "post"),
        ("/api/admin/audit", "get"),
        ("/api/webhooks/payment", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} undocumented"
        );
    }
    assert!(spec["components"]["schemas"]["Item"]["properties"]["price_cents"].is_object());
    let schemas = &spec["components"]["schemas"];
    assert!(schemas["Order"]["properties"]["refunded_cents"].is_object());
    assert!(schemas["RefundAccepted"]["properties"]["refund_id"].is_object());
    assert!(schemas["KeysAdded"]["properties"]["duplicates"].is_object());
    assert!(schemas["EmailStatus"]["properties"]["verified"].is_object());
    assert!(schemas["OwnRefund"]["properties"]["line_item_ids"].is_object());
    assert!(schemas["Order"]["properties"]["refundable_until"].is_object());
    assert!(schemas["SalesStats"]["properties"]["conversion"].is_object());
    assert!(schemas["WebhookDelivery"]["properties"]["verified"].is_object());
    assert!(schemas["AuditEntry"]["properties"]["diff"].is_object());
    let csv = &paths["/api/admin/items/{id}/keys"]["post"]["requestBody"]["content"];
    assert!(
        csv["text/csv"].is_object() && csv["application/json"].is_object(),
        "{csv}"
    );
}

#[tokio::test]
async fn metrics_count_requests_webhooks_and_sockets() {
    let app = TestApp::spawn().await;
    let potion = app.item("Health Potion").consumable().create().await;
    app.get("/api/items").send().await.expect("request");
    app.get("/api/items").send().await.expect("request");
    let user = app.customer().await;
    let response = app.buy(&user, potion.id).await;
    let order: api_types::Order = response.json().await.expect("json");
    app.wait_for(&user, order.order_id, api_types::OrderStatus::Paid)
        .await;

    let text = app.scrape_metrics().await;
    for needle in [
        "gamestore_http_requests_total{method=\"GET\",route=\"/api/items\",status=\"200\"}",
        "gamestore_http_request_duration_seconds_bucket",
        "gamestore_catalog_cache_total{result=\"local_hit\"}",
        "gamestore_webhooks_total{scheme=\"standard\",outcome=\"applied\"}",
        "gamestore_order_transitions_total{to=\"paid\"}",
        "gamestore_orders{status=\"paid\"} 1",
        "gamestore_websockets_open 0",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}");
    }
}

#[tokio::test]
async fn responses_carry_security_headers_and_pages_a_nonce_csp() {
    let app = TestApp::spawn().await;
    let page = app.get("/").send().await.expect("request");
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii")
        .to_owned();
    let html = page.text().await.expect("html");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the CSP");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries the CSP nonce"
    );
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"));

    let api = app.get("/api/items").send().await.expect("request");
    let headers = api.headers();
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(
        headers[header::REFERRER_POLICY],
        "strict-origin-when-cross-origin"
    );
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii")
            .contains("default-src 'none'")
    );
}

#[tokio::test]
async fn request_ids_are_kept_or_made_and_echoed() {
    let app = TestApp::spawn().await;
    let given = app
        .get("/healthz")
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .expect("request");
    assert_eq!(given.headers()["x-request-id"], "trace-me-123");
    let made = app.get("/healthz").send().await.expect("request");
    assert_eq!(made.headers()["x-request-id"].len(), 36);
}

#[tokio::test]
async fn oversized_bodies_and_wrong_methods_get_json_errors() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(server::BODY_LIMIT + 1);
    let response = app
        .post("/api/users")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_code(response).await,
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE".to_owned()
        )
    );
    let response = app
        .http
        .request(Method::PUT, app.url("/api/items"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_code(response).await,
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED".to_owned()
        )
    );
}

#[tokio::test]
async fn responses_are_compressed_for_clients_that_ask() {
    let app = TestApp::spawn().await;
    app.items(10).await;
    let response = app
        .get("/api/items?per_page=100")
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("request");
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    assert_eq!(response.headers()[header::VARY], "accept-encoding");
    let gzipped = response.bytes().await.expect("body");
    let plain = app
        .get("/api/items?per_page=100")
        .send()
        .await
        .expect("request");
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let plain = plain.bytes().await.expect("body");
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&gzipped[..]),
        &mut unzipped,
    )
    .expect("valid gzip");
    assert_eq!(unzipped, plain, "the catalog's gzip copy is the same JSON");
    // The compressed copy is kept with the cached page: the same bytes again.
    let again = app
        .get("/api/items?per_page=100")
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .send()
        .await
        .expect("request")
        .bytes()
        .await
        .expect("body");
    assert_eq!(again, gzipped);
}

#[tokio::test]
async fn requests_are_counted_by_route_template_not_by_path() {
    let app = TestApp::spawn().await;
    app.items(3).await;
    for path in [
        "/api/items/1",
        "/api/items/2",
        "/api/items?per_page=2",
        "/no/such/page",
    ] {
        app.get(path).send().await.expect("request");
    }
    let text = app.scrape_metrics().await;
    let count = |labels: &str| {
        text.lines()
            .find(|l| l.starts_with("gamestore_http_requests_total{") && l.contains(labels))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<f64>().ok())
    };
    assert!(
        count(r#"route="/api/items/{id}""#).is_some_and(|n| n >= 2.0),
        "two item reads under one route: {text}"
    );
    assert!(count(r#"route="/api/items""#).is_some());
    assert!(count(r#"route="unmatched""#).is_some());
    assert!(!text.contains(r#"route="/api/items/1""#));
}

#[tokio::test]
async fn shutdown_reports_unready_while_draining_and_finishes_requests() {
    let mut app = TestApp::spawn_with(vec![("SHUTDOWN_DRAIN_SECS", "2".to_owned())]).await;
    assert_eq!(
        app.get("/readyz").send().await.expect("request").status(),
        StatusCode::OK
    );
    app.shutdown();
    // The signal is taken up asynchronously: poll until readiness changes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let ready = loop {
        let ready = app.get("/readyz").send().await.expect("request");
        if ready.status() != StatusCode::OK || tokio::time::Instant::now() >= deadline {
            break ready;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "draining");
    assert_eq!(
        app.get("/api/items")
            .send()
            .await
            .expect("request")
            .status(),
        StatusCode::OK
    );
}
