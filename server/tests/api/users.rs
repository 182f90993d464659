use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, header};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, session_cookie, set_cookie_header};

#[tokio::test]
async fn registering_returns_the_user() {
    let app = TestApp::spawn().await;
    let response = app.register("Alice_01", "correct horse battery").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["username"], "alice_01");
    assert_eq!(body["role"], "customer");
    assert!(body["user_id"].as_str().is_some());
    assert!(body.get("password_hash").is_none() && body.get("password").is_none());
}

#[tokio::test]
async fn usernames_are_unique_case_insensitively() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.register("bob", "password-one").await.status(),
        StatusCode::CREATED
    );
    let again = app.register("BOB", "password-two").await;
    assert_eq!(
        error_code(again).await,
        (StatusCode::CONFLICT, "USERNAME_TAKEN".to_owned())
    );
}

#[tokio::test]
async fn invalid_registrations_name_the_field() {
    let app = TestApp::spawn().await;
    for (username, password, field) in [
        ("ab", "long enough", "username"),
        ("has space", "long enough", "username"),
        (&"x".repeat(33) as &str, "long enough", "username"),
        ("carol", "short", "password"),
        ("carol", &"p".repeat(129) as &str, "password"),
    ] {
        let response = app.register(username, password).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{username}/{password}"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["field"], field);
        assert_eq!(body["error"]["code"], "VALIDATION_FAILED");
    }
    assert_eq!(
        app.register("carol", &"p".repeat(128)).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn malformed_bodies_are_4xx_json() {
    let app = TestApp::spawn().await;
    let broken = app
        .post("/api/users")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .expect("request");
    assert_eq!(error_code(broken).await.0, StatusCode::BAD_REQUEST);
    let shape = app
        .post("/api/users")
        .json(&json!({ "username": 5 }))
        .send()
        .await
        .expect("request");
    assert_eq!(error_code(shape).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let media = app
        .post("/api/users")
        .body("username=x")
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_code(media).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id() {
    let app = TestApp::spawn().await;
    app.register("dave", "correct horse battery").await;
    let row = store::entity::users::Entity::find()
        .filter(store::entity::users::Column::Username.eq("dave"))
        .one(app.store.db())
        .await
        .expect("query")
        .expect("user row");
    assert!(
        row.password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        row.password_hash
    );
    assert!(!row.password_hash.contains("correct horse"));
}

#[tokio::test]
async fn login_accepts_json_and_oauth2_forms_and_sets_a_safe_cookie() {
    let app = TestApp::spawn().await;
    app.register("erin", "correct horse battery").await;

    let json_login = app.login("erin", "correct horse battery").await;
    assert_eq!(json_login.status(), StatusCode::OK);
    let cookie = set_cookie_header(&json_login);
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );
    let body: Value = json_login.json().await.expect("json");
    assert_eq!(body["username"], "erin");
    assert_eq!(body["role"], "customer");
    assert!(body["user_id"].is_string());

    let form = app
        .post("/api/users/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&username=erin&password=correct+horse+battery")
        .send()
        .await
        .expect("request");
    assert_eq!(form.status(), StatusCode::OK);
}

#[tokio::test]
async fn cookies_are_secure_when_the_store_is_served_over_https() {
    let app =
        TestApp::spawn_with(vec![("PUBLIC_URL", "https://shop.example.com".to_owned())]).await;
    app.register("frank", "correct horse battery").await;
    let response = app.login("frank", "correct horse battery").await;
    assert!(set_cookie_header(&response).contains("; Secure"));
}

#[tokio::test]
async fn every_login_gets_a_new_session_id() {
    let app = TestApp::spawn().await;
    app.register("gina", "correct horse battery").await;
    let first = session_cookie(&app.login("gina", "correct horse battery").await);
    let second = session_cookie(&app.login("gina", "correct horse battery").await);
    assert!(first.is_some() && second.is_some());
    assert_ne!(first, second);
}

#[tokio::test]
async fn wrong_credentials_are_401_whether_or_not_the_user_exists() {
    let app = TestApp::spawn().await;
    app.register("hank", "correct horse battery").await;
    let wrong = app.login("hank", "wrong password").await;
    assert_eq!(
        error_code(wrong).await,
        (StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS".to_owned())
    );
    let nobody = app.login("nobody-here", "wrong password").await;
    assert_eq!(
        error_code(nobody).await,
        (StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS".to_owned())
    );
}

/// A login for a missing user runs the same argon2 verification as a wrong password. Checked
/// as a ratio of medians, so a slow machine cannot make it fail: skipping the hash would make
/// unknown users roughly 50 times faster.
#[tokio::test]
async fn unknown_users_cost_as_much_as_wrong_passwords() {
    // Limits high enough that the throttle stays out of the measurement.
    let app = TestApp::spawn_on(crate::helpers::Storage::fresh().await, vec![], |s| {
        s.login_throttle.per_account = 1000;
        s.login_throttle.per_address = 1000;
    })
    .await;
    app.register("ivan", "correct horse battery").await;
    async fn median(app: &TestApp, username: &str) -> Duration {
        let mut samples = Vec::new();
        for _ in 0..7 {
            let started = Instant::now();
            let response = app.login(username, "not the password").await;
            samples.push(started.elapsed());
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        samples.sort();
        samples[3]
    }
    let wrong_password = median(&app, "ivan").await;
    let unknown_user = median(&app, "ghost-user").await;
    let ratio = unknown_user.as_secs_f64() / wrong_password.as_secs_f64();
    assert!(
        ratio > 0.4,
        "unknown user {unknown_user:?} vs wrong password {wrong_password:?}"
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_per_account() {
    let app = TestApp::spawn().await;
    app.register("judy", "correct horse battery").await;
    for _ in 0..5 {
        assert_eq!(
            app.login("judy", "nope nope nope").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = app.login("judy", "correct horse battery").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = throttled.headers()[header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry_after > 0 && retry_after <= 15 * 60);
    assert_eq!(error_code(throttled).await.1, "RATE_LIMITED");
    // Another account from the same address is not locked out by judy's failures.
    app.register("kate", "correct horse battery").await;
    assert_eq!(
        app.login("kate", "correct horse battery").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_per_address() {
    let app = TestApp::spawn_on(crate::helpers::Storage::fresh().await, vec![], |s| {
        s.login_throttle.per_address = 4;
    })
    .await;
    for i in 0..4 {
        assert_eq!(
            app.login(&format!("who-{i}"), "wrong password")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.login("who-else", "wrong password").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn me_needs_a_valid_session() {
    let app = TestApp::spawn().await;
    let user = app.customer().await;
    let me = app
        .as_user(&user, Method::GET, "/api/users/me")
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), StatusCode::OK);
    let body: Value = me.json().await.expect("json");
    assert_eq!(body["username"], user.username);

    let anonymous = app.get("/api/users/me").send().await.expect("request");
    assert_eq!(
        error_code(anonymous).await,
        (StatusCode::UNAUTHORIZED, "NOT_AUTHENTICATED".to_owned())
    );
    let forged = app
        .get("/api/users/me")
        .header(header::COOKIE, format!("gs_session={}", "a".repeat(64)))
        .send()
        .await
        .expect("request");
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_revokes_the_session_server_side() {
    let app = TestApp::spawn().await;
    let user = app.customer().await;
    let out = app
        .as_user(&user, Method::POST, "/api/users/logout")
        .send()
        .await
        .expect("request");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(set_cookie_header(&out).contains("Max-Age=0"));
    // The old cookie, replayed, no longer works.
    let me = app
        .as_user(&user, Method::GET, "/api/users/me")
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let again = app
        .as_user(&user, Method::POST, "/api/users/logout")
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookie_requests_from_other_origins_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.customer().await;
    let cookie = format!("gs_session={}", user.token);

    let cross = app
        .post("/api/users/logout")
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_code(cross).await,
        (StatusCode::FORBIDDEN, "CSRF_REJECTED".to_owned())
    );
    let bare = app
        .post("/api/users/logout")
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    let bad_referer = app
        .post("/api/users/logout")
        .header(header::COOKIE, &cookie)
        .header(header::REFERER, "https://evil.example/page")
        .send()
        .await
        .expect("request");
    assert_eq!(bad_referer.status(), StatusCode::FORBIDDEN);

    // Server functions sit behind the same guard.
    let path = <app::api::Logout as server_fn::ServerFn>::PATH;
    let sfn = app
        .post(path)
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(sfn.status(), StatusCode::FORBIDDEN);

    // The session survived all of that; a same-origin referer works.
    let own = app
        .post("/api/users/logout")
        .header(header::COOKIE, &cookie)
        .header(header::REFERER, app.url("/orders"))
        .send()
        .await
        .expect("request");
    assert_eq!(own.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn only_admins_list_users() {
    let app = TestApp::spawn().await;
    let anonymous = app.get("/api/users").send().await.expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let customer = app.customer().await;
    let denied = app
        .as_user(&customer, Method::GET, "/api/users")
        .send()
        .await
        .expect("request");
    assert_eq!(error_code(denied).await.0, StatusCode::FORBIDDEN);
    let admin = app.admin().await;
    let listed = app
        .as_user(&admin, Method::GET, "/api/users")
        .send()
        .await
        .expect("request");
    assert_eq!(listed.status(), StatusCode::OK);
    let users: Vec<Value> = listed.json().await.expect("json");
    assert!(users.iter().any(|u| u["username"] == customer.username));
    assert!(users.iter().any(|u| u["role"] == "admin"));
}

#[tokio::test]
async fn deleting_an_account_needs_the_password_and_keeps_orders() {
    let app = TestApp::spawn().await;
    let potion = app.item("Health Potion").consumable().create().await;
    let user = app.customer().await;
    let order = app.buy(&user, potion.id).await;
    assert_eq!(order.status(), StatusCode::ACCEPTED);

    let wrong = app
        .as_user(&user, Method::DELETE, "/api/users/me")
        .json(&json!({ "password": "not it" }))
        .send()
        .await
        .expect("request");
    assert_eq!(error_code(wrong).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let deleted = app
        .as_user(&user, Method::DELETE, "/api/users/me")
        .json(&json!({ "password": "correct horse battery" }))
        .send()
        .await
        .expect("request");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    assert_eq!(
        app.login(&user.username, "correct horse battery")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let me = app
        .as_user(&user, Method::GET, "/api/users/me")
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let admin = app.admin().await;
    let orders = app
        .as_user(
            &admin,
            Method::GET,
            &format!("/api/purchases?user_id={}", user.id),
        )
        .send()
        .await
        .expect("request");
    let orders: Vec<Value> = orders.json().await.expect("json");
    assert_eq!(orders.len(), 1);
}
