use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, backend, error_code};

#[tokio::test]
async fn healthz_answers() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_checks_the_database_and_cache() {
    let app = TestApp::spawn().await;
    let response = app.get("/readyz").send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    let expected = match backend() {
        Backend::Sqlite => "in-process",
        Backend::Postgres => "redis",
    };
    assert_eq!(body["cache_backend"], expected);
}

#[tokio::test]
async fn a_redis_outage_degrades_readiness_but_the_catalog_still_serves() {
    // The catalog is written while the cache is up (operators cannot log in without it)...
    let healthy = TestApp::spawn().await;
    let sword = healthy.item("Dragon Sword").create().await;
    healthy.items(2).await;
    // ...and served by a replica whose Redis is down.
    let mut storage = healthy.storage.clone();
    storage.redis_url = Some("redis://127.0.0.1:1".to_owned());
    let app = TestApp::spawn_on(storage, vec![], |_| {}).await;

    let ready = app.get("/readyz").send().await.expect("request");
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["cache"], "unavailable");

    let items = app.get("/api/items").send().await.expect("request");
    assert_eq!(items.status(), StatusCode::OK);
    assert_eq!(items.headers()["x-total-count"], "3");
    let item = app
        .get(&format!("/api/items/{}", sword.id))
        .send()
        .await
        .expect("request");
    assert_eq!(item.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_api_paths_answer_json_404() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/nope").send().await.expect("request");
    assert_eq!(
        error_code(response).await,
        (StatusCode::NOT_FOUND, "NOT_FOUND".to_owned())
    );
}
