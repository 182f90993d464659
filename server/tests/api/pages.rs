//! Server-rendered pages: the HTML carries the content (JavaScript is optional).

use reqwest::{Method, StatusCode};

use crate::helpers::{TestApp, TestUser, call_server_fn, payment_event, silent_provider};

#[tokio::test]
async fn the_catalog_page_is_server_rendered_with_items() {
    let app = TestApp::spawn().await;
    app.item("Dragon Sword").price_cents(99999).create().await;
    app.items(20).await;
    let response = app.get("/").send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(html.contains("Dragon Sword"));
    assert!(html.contains("$999.99"));
    assert!(html.contains("21 items"));
    assert!(
        html.contains("/pkg/gamestore.js"),
        "hydration script present"
    );
    assert!(html.contains("rel=\"next\""));
}

#[tokio::test]
async fn the_catalog_page_follows_the_url() {
    let app = TestApp::spawn().await;
    for (name, price_cents) in [
        ("Phoenix Elixir", 19900),
        ("Elixir of Strength", 7999),
        ("Dragon Sword", 99999),
    ] {
        app.item(name).price_cents(price_cents).create().await;
    }
    let html = app
        .get("/?q=elixir&sort=-price")
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(html.contains("Phoenix Elixir") && html.contains("Elixir of Strength"));
    assert!(!html.contains("Dragon Sword"));
    let empty = app
        .get("/?q=nothing-matches-this")
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(empty.contains("No items match"));
    let bad = app.get("/?page=0").send().await.expect("request");
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.expect("html").contains("page must be"));
}

#[tokio::test]
async fn item_pages_render_and_missing_ones_are_404() {
    let app = TestApp::spawn().await;
    let sword = app
        .item("Dragon Sword")
        .description("A legendary sword forged in dragon fire.")
        .create()
        .await;
    let html = app
        .get(&format!("/items/{}", sword.id))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(html.contains("A legendary sword forged in dragon fire"));
    assert!(html.contains("Log in to buy"));
    assert_eq!(
        app.get("/items/99999")
            .send()
            .await
            .expect("request")
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/no/such/page")
            .send()
            .await
            .expect("request")
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn account_pages_redirect_anonymous_visitors_to_log_in() {
    let app = TestApp::spawn().await;
    for path in ["/orders", "/library"] {
        let response = app
            .get(path)
            .header("accept", "text/html")
            .send()
            .await
            .expect("request");
        assert!(
            response.status().is_redirection(),
            "{path}: {}",
            response.status()
        );
        let location = response.headers()["location"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert_eq!(location, format!("/login?next={path}"));
    }
    let user = app.customer().await;
    let html = app
        .as_user(&user, Method::GET, "/library")
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(html.contains("Your library is empty"));
    assert!(html.contains(&user.username));
}

#[tokio::test]
async fn admin_pages_are_for_admins() {
    let app = TestApp::spawn().await;
    app.item("Dragon Sword").sku("dragon-sword").create().await;
    let user = app.customer().await;
    let response = app
        .as_user(&user, Method::GET, "/admin/items")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let admin = app.admin().await;
    let html = app
        .as_user(&admin, Method::GET, "/admin/items")
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(html.contains("dragon-sword"));
}

#[tokio::test]
async fn server_function_errors_carry_their_own_status() {
    let app = TestApp::spawn().await;
    let register = <app::api::Register as server_fn::ServerFn>::PATH;
    let login = <app::api::Login as server_fn::ServerFn>::PATH;
    let json = "application/json";

    // As the hydrated page calls it: the error's status and the JSON error.
    let invalid = call_server_fn(
        &app,
        register,
        &[("username", "x"), ("password", "long enough pw")],
        json,
    )
    .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = invalid.json().await.expect("json");
    assert_eq!(body["field"], "username");

    let created = call_server_fn(
        &app,
        register,
        &[("username", "sfn-user"), ("password", "long enough pw")],
        json,
    )
    .await;
    assert!(created.status().is_success() || created.status().is_redirection());
    let taken = call_server_fn(
        &app,
        register,
        &[("username", "SFN-user"), ("password", "long enough pw")],
        json,
    )
    .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);

    let wrong = call_server_fn(
        &app,
        login,
        &[("username", "sfn-user"), ("password", "not the password")],
        json,
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // A plain form post (JavaScript off) still goes back to the form with the error in the URL.
    let form = call_server_fn(
        &app,
        register,
        &[("username", "x"), ("password", "long enough pw")],
        "text/html",
    )
    .await;
    assert_eq!(form.status(), StatusCode::FOUND);
    let location = form.headers()[reqwest::header::LOCATION]
        .to_str()
        .expect("location");
    assert!(
        location.starts_with(&app.url("/register")) && location.contains("__err="),
        "{location}"
    );
}

/// The CSP nonce a response carries, in its header.
fn csp_nonce(response: &reqwest::Response) -> String {
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let start = csp.find("'nonce-").expect("a nonce") + "'nonce-".len();
    csp[start..start + csp[start..].find('\'').expect("closed")].to_owned()
}

#[tokio::test]
async fn anonymous_catalog_pages_come_from_the_page_cache_with_a_nonce_of_their_own() {
    let app = TestApp::spawn().await;
    let sword = app.item("Cached Sword").price_cents(1_500).create().await;
    let fetch = |path: String, gzip: bool| {
        let app = &app;
        async move {
            let mut request = app.get(&path);
            if gzip {
                request = request.header("accept-encoding", "gzip");
            }
            request.send().await.expect("request")
        }
    };
    for path in [
        "/".to_owned(),
        format!("/items/{}", sword.id),
        "/?q=cached&sort=price".to_owned(),
    ] {
        let (misses, hits) = public_pages(&app).await;
        let first = fetch(path.clone(), false).await;
        assert_eq!(
            first.headers()[server::page_cache::HEADER],
            "public",
            "{path}"
        );
        assert_eq!(
            public_pages(&app).await,
            (misses + 1, hits),
            "{path} rendered"
        );
        let first_nonce = csp_nonce(&first);
        let first_html = first.text().await.expect("html");
        let second = fetch(path.clone(), false).await;
        assert_eq!(
            second.headers()[server::page_cache::HEADER],
            "public",
            "{path}: a hit looks the same as a miss"
        );
        assert_eq!(
            public_pages(&app).await,
            (misses + 1, hits + 1),
            "{path} kept"
        );
        let second_nonce = csp_nonce(&second);
        assert_ne!(
            first_nonce, second_nonce,
            "every response has its own nonce"
        );
        let second_html = second.text().await.expect("html");
        assert!(
            second_html.contains(&format!("nonce=\"{second_nonce}\"")),
            "{path}"
        );
        assert!(!second_html.contains(&first_nonce));
        assert_eq!(second_html.replace(&second_nonce, &first_nonce), first_html);
        assert!(second_html.contains("Cached Sword"));

        // Gzipped, from the same entry.
        let zipped = fetch(path.clone(), true).await;
        assert_eq!(zipped.headers()["content-encoding"], "gzip");
        assert_eq!(zipped.headers()[server::page_cache::HEADER], "public");
        assert_eq!(
            public_pages(&app).await,
            (misses + 1, hits + 2),
            "{path} kept"
        );
        let nonce = csp_nonce(&zipped);
        let bytes = zipped.bytes().await.expect("body");
        let mut html = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut html)
            .expect("gzip");
        assert_eq!(html.replace(&nonce, &first_nonce), first_html);
    }

    // A logged-in shopper's item page is their own (the customers' copy, with their values
    // put in: see below), never the anonymous one.
    let user = app.customer().await;
    let mine = app
        .as_user(&user, Method::GET, &format!("/items/{}", sword.id))
        .send()
        .await
        .expect("request");
    assert_eq!(mine.headers()[server::page_cache::HEADER], "shared");
    assert_eq!(mine.headers()["cache-control"], "private, no-cache");
    assert!(mine.text().await.expect("html").contains(&user.username));

    // A write turns the pages over at once.
    let admin = app.admin().await;
    let renamed = app
        .as_user(&admin, Method::PATCH, &format!("/api/items/{}", sword.id))
        .json(&serde_json::json!({ "name": "Renamed Sword" }))
        .send()
        .await
        .expect("request");
    assert_eq!(renamed.status(), StatusCode::OK);
    let (misses, hits) = public_pages(&app).await;
    let after = fetch(format!("/items/{}", sword.id), false).await;
    assert_eq!(public_pages(&app).await, (misses + 1, hits));
    assert!(after.text().await.expect("html").contains("Renamed Sword"));

    // Errors, other pages and server-function error redirects are not kept.
    let missing = fetch("/items/999999".to_owned(), false).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers().get(server::page_cache::HEADER).is_none());
    let login = fetch("/login".to_owned(), false).await;
    assert!(login.headers().get(server::page_cache::HEADER).is_none());
}

/// `path` rendered for `user` (a path the page cache does not serve), as [`normalized`].
async fn rendered_for(app: &TestApp, user: &TestUser, path: &str) -> String {
    let response = app
        .as_user(user, Method::GET, path)
        .send()
        .await
        .expect("request");
    assert!(response.headers().get(server::page_cache::HEADER).is_none());
    normalized(response).await
}

/// `path` for `user` from the customers' shared copy (gzipped if asked), checked to be sent as
/// theirs alone, as [`normalized`].
async fn shared_for(app: &TestApp, user: &TestUser, path: &str, gzip: bool) -> String {
    let mut request = app.as_user(user, Method::GET, path);
    if gzip {
        request = request.header("accept-encoding", "gzip");
    }
    let shared = request.send().await.expect("request");
    assert_eq!(shared.status(), StatusCode::OK);
    assert_eq!(shared.headers()[server::page_cache::HEADER], "shared");
    assert!(shared.headers().get("set-cookie").is_none());
    assert_eq!(shared.headers()["cache-control"], "private, no-cache");
    normalized(shared).await
}

/// How many pages of one kind the cache has counted under `result` so far (its metric, since
/// the response itself never says whether it was a hit).
async fn page_cache_count(app: &TestApp, result: &str) -> u64 {
    let metrics = app.scrape_metrics().await;
    let prefix = format!("gamestore_page_cache_total{{result=\"{result}\"}}");
    metrics
        .lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .unwrap_or(0)
}

/// How many customers' shared copies have been made and served so far.
async fn customer_copies(app: &TestApp) -> (u64, u64) {
    (
        page_cache_count(app, "customer_miss").await,
        page_cache_count(app, "customer_hit").await,
    )
}

/// How many anonymous pages have been rendered and kept (misses), and answered from a kept
/// copy (hits), so far.
async fn public_pages(app: &TestApp) -> (u64, u64) {
    (
        page_cache_count(app, "miss").await,
        page_cache_count(app, "hit").await,
    )
}

/// A page with its nonce (from its CSP) replaced by a fixed one, gunzipped if it came zipped.
async fn normalized(response: reqwest::Response) -> String {
    let nonce = csp_nonce(&response);
    let zipped = response
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    let bytes = response.bytes().await.expect("body");
    let html = if zipped {
        let mut html = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut html)
            .expect("gzip");
        html
    } else {
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    };
    html.replace(&nonce, "NONCE")
}

#[tokio::test]
async fn a_customers_catalog_page_is_the_shared_copy_with_their_own_values_put_in() {
    let app = TestApp::spawn().await;
    let sword = app.item("Shared Sword").price_cents(1_500).create().await;
    let shield = app.item("Shared Shield").price_cents(2_500).create().await;
    let axe = app.item("Shared Axe").price_cents(3_500).create().await;
    // A query longer than the cache keeps is rendered every time, and unknown parameters
    // change nothing: the same page, rendered, is the reference.
    let rendered_path = format!("/?pad={}", "x".repeat(300));
    let anonymous = app.get("/").send().await.expect("request");
    assert_eq!(anonymous.headers()[server::page_cache::HEADER], "public");
    let reference = app.get(&rendered_path).send().await.expect("request");
    assert!(
        reference
            .headers()
            .get(server::page_cache::HEADER)
            .is_none()
    );
    assert_eq!(normalized(anonymous).await, normalized(reference).await);

    let (alice, bob, carol) = (
        app.customer().await,
        app.customer().await,
        app.customer().await,
    );
    app.put_in_cart(&bob, &sword, 1).await;
    for item in [&sword, &shield, &axe] {
        app.put_in_cart(&carol, item, 1).await;
    }
    for (user, lines) in [(&alice, 0), (&bob, 1), (&carol, 3), (&alice, 0)] {
        let reference = rendered_for(&app, user, &rendered_path).await;
        assert!(reference.contains(&user.username));
        assert!(reference.contains(&format!("data-count=\"{lines}\"")));
        for gzip in [false, true, false] {
            assert_eq!(
                shared_for(&app, user, "/", gzip).await,
                reference,
                "{} with {lines} line(s), gzip {gzip}",
                user.username
            );
        }
    }

    // A page that cannot be shared (a bad query: 4xx) is rendered for the visitor, and the
    // next visitor's is not rendered for the placeholder first again.
    for (i, user) in [&bob, &carol, &bob].into_iter().enumerate() {
        let (before, _) = customer_copies(&app).await;
        let bad = app
            .as_user(user, Method::GET, "/?page=abc")
            .send()
            .await
            .expect("request");
        assert!(bad.status().is_client_error(), "{}", bad.status());
        assert!(bad.headers().get(server::page_cache::HEADER).is_none());
        assert_eq!(bad.headers()["cache-control"], "private, no-store");
        assert!(bad.text().await.expect("html").contains(&user.username));
        let (after, _) = customer_copies(&app).await;
        assert_eq!(after - before, u64::from(i < 2), "request {i}");
    }

    // A session that has ended sees the anonymous page; an operator's page is rendered.
    let logout = app
        .as_user(&alice, Method::POST, "/api/users/logout")
        .send()
        .await
        .expect("request");
    assert!(logout.status().is_success(), "{}", logout.status());
    let ended = app
        .as_user(&alice, Method::GET, "/")
        .send()
        .await
        .expect("request");
    assert!(ended.headers().get(server::page_cache::HEADER).is_none());
    let ended = ended.text().await.expect("html");
    assert!(!ended.contains(&alice.username) && ended.contains("Sign up"));
    let admin = app.admin().await;
    let operator = app
        .as_user(&admin, Method::GET, "/")
        .send()
        .await
        .expect("request");
    assert!(operator.headers().get(server::page_cache::HEADER).is_none());
    assert!(
        operator
            .text()
            .await
            .expect("html")
            .contains("href=\"/admin\"")
    );
}

#[tokio::test]
async fn a_customers_item_page_is_the_shared_copy_with_their_own_values_put_in() {
    let app = TestApp::spawn_with(silent_provider()).await;
    let sword = app
        .item("Shared Item Sword")
        .price_cents(1_500)
        .create()
        .await;
    let shield = app
        .item("Shared Item Shield")
        .price_cents(2_500)
        .create()
        .await;
    let (alice, bob, carol) = (
        app.customer().await,
        app.customer().await,
        app.customer().await,
    );
    app.put_in_cart(&bob, &sword, 1).await;
    app.put_in_cart(&carol, &sword, 1).await;
    app.put_in_cart(&carol, &shield, 1).await;
    for user in [&alice, &carol] {
        let wished = app
            .as_user(user, Method::PUT, &format!("/api/wishlist/{}", sword.id))
            .send()
            .await
            .expect("request");
        assert!(wished.status().is_success(), "{}", wished.status());
    }
    let page = format!("/items/{}", sword.id);
    // A query is rendered every time, and this one changes nothing: the reference.
    let rendered_path = format!("{page}?pad=x");
    let before = customer_copies(&app).await;
    for (user, lines, wished) in [
        (&alice, 0, true),
        (&bob, 1, false),
        (&carol, 2, true),
        (&alice, 0, true),
    ] {
        let reference = rendered_for(&app, user, &rendered_path).await;
        assert!(reference.contains(&user.username));
        assert!(reference.contains(&format!("data-count=\"{lines}\"")));
        assert!(reference.contains(&format!("aria-pressed=\"{wished}\"")));
        assert!(reference.contains("Shared Item Sword"));
        for gzip in [false, true] {
            assert_eq!(
                shared_for(&app, user, &page, gzip).await,
                reference,
                "{} with {lines} line(s), wished {wished}, gzip {gzip}",
                user.username
            );
        }
    }

    // Alice's copy (no line, wished) is made once and served to Carol (two lines, wished)
    // too; Bob's (one line, not wished) is a copy of its own.
    let after = customer_copies(&app).await;
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (2, 6),
        "(copies made, copies served)"
    );

    // Taking the wish back shows at once: the other copy.
    let unwished = app
        .as_user(
            &alice,
            Method::DELETE,
            &format!("/api/wishlist/{}", sword.id),
        )
        .send()
        .await
        .expect("request");
    assert!(unwished.status().is_success(), "{}", unwished.status());
    let after = app
        .as_user(&alice, Method::GET, &page)
        .send()
        .await
        .expect("request");
    assert_eq!(after.headers()[server::page_cache::HEADER], "shared");
    assert!(
        after
            .text()
            .await
            .expect("html")
            .contains("aria-pressed=\"false\"")
    );

    // The purchase confirmation carries an idempotency key of its own: rendered every time.
    let mut keys = Vec::new();
    for _ in 0..2 {
        let confirm = app
            .as_user(&bob, Method::GET, &format!("{page}?confirm=1"))
            .send()
            .await
            .expect("request");
        assert!(confirm.headers().get(server::page_cache::HEADER).is_none());
        let html = confirm.text().await.expect("html");
        let key = html
            .split("name=\"idempotency_key\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("an idempotency key")
            .to_owned();
        keys.push(key);
    }
    assert_ne!(keys[0], keys[1]);

    // A bundle's page shows what this customer owns of it and its price for them: theirs.
    let admin = app.admin().await;
    let bundle: api_types::Item = app
        .as_user(&admin, Method::POST, "/api/items")
        .json(&serde_json::json!({
            "sku": "shared-set", "name": "Shared Set", "price_cents": 1,
            "bundle_item_ids": [sword.id, shield.id], "bundle_discount_percent": 20,
        }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("bundle");
    let order: api_types::Order = app.buy(&bob, sword.id).await.json().await.expect("order");
    app.deliver(
        "msg_shared_sword",
        &payment_event("payment.succeeded", &order),
    )
    .await;
    app.wait_for(&bob, order.order_id, api_types::OrderStatus::Paid)
        .await;
    for (user, owns) in [(&bob, true), (&alice, false), (&bob, true)] {
        let response = app
            .as_user(user, Method::GET, &format!("/items/{}", bundle.id))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get(server::page_cache::HEADER).is_none());
        assert_eq!(response.headers()["cache-control"], "private, no-store");
        let html = response.text().await.expect("html");
        assert!(html.contains(&user.username));
        assert_eq!(html.contains("badge owned"), owns, "{}", user.username);
        // 20 % off what they do not own: the shield alone, or both.
        let price = if owns { "$20.00" } else { "$32.00" };
        assert!(
            html.contains(&format!("Complete the set for {price}")),
            "{}",
            user.username
        );
    }
    // With a query string, or a trailing slash (a 404), the page is still the visitor's own:
    // an attacker's pass found these said `no-cache`.
    for path in [
        format!("/items/{}?a=1", bundle.id),
        format!("/items/{}/", bundle.id),
    ] {
        let response = app
            .as_user(&bob, Method::GET, &path)
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.headers()["cache-control"],
            "private, no-store",
            "{path}"
        );
    }

    // An item that became a bundle after this replica last read the catalog: the render
    // says the page is the customer's own, and no copy is kept of it.
    let helm = app
        .item("Shared Item Helm")
        .price_cents(1_000)
        .create()
        .await;
    // (The item API reads it through the catalog cache, where it stays a plain item.)
    let warm = app
        .get(&format!("/api/items/{}", helm.id))
        .send()
        .await
        .expect("request");
    assert_eq!(warm.status(), StatusCode::OK);
    use sea_orm::ConnectionTrait as _;
    app.store
        .db()
        .execute_unprepared(&format!(
            "UPDATE items SET bundle_item_ids = ',{},{},', bundle_discount_percent = 20 WHERE id = {}",
            sword.id, shield.id, helm.id
        ))
        .await
        .expect("update");
    for _ in 0..2 {
        let stale = app
            .as_user(&bob, Method::GET, &format!("/items/{}", helm.id))
            .send()
            .await
            .expect("request");
        assert_eq!(stale.status(), StatusCode::OK);
        assert_eq!(stale.headers()["cache-control"], "private, no-store");
        let html = stale.text().await.expect("html");
        assert!(html.contains(&bob.username));
        assert!(html.contains("badge owned"), "Bob's own bundle view");
    }

    // An unknown item is the usual 404 page.
    let missing = app
        .as_user(&bob, Method::GET, "/items/999999")
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers().get(server::page_cache::HEADER).is_none());
}

#[tokio::test]
async fn the_catalog_list_is_served_from_the_cache_with_its_paging_headers() {
    let app = TestApp::spawn().await;
    app.items(5).await;
    let path = "/api/items?per_page=2&page=2&sort=price";
    let (misses, hits) = public_pages(&app).await;
    let first = app.get(path).send().await.expect("request");
    assert_eq!(first.headers()[server::page_cache::HEADER], "public");
    assert_eq!(public_pages(&app).await, (misses + 1, hits));
    let (total, link) = (
        first.headers()["x-total-count"].clone(),
        first.headers()["link"].clone(),
    );
    let first_body = first.bytes().await.expect("body");

    let second = app.get(path).send().await.expect("request");
    assert_eq!(second.headers()[server::page_cache::HEADER], "public");
    assert_eq!(public_pages(&app).await, (misses + 1, hits + 1));
    assert_eq!(second.headers()["x-total-count"], total);
    assert_eq!(second.headers()["link"], link);
    assert_eq!(second.headers()["content-type"], "application/json");
    assert!(second.headers().get("content-security-policy").is_some());
    assert_eq!(second.bytes().await.expect("body"), first_body);

    let zipped = app
        .get(path)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("request");
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(public_pages(&app).await, (misses + 1, hits + 2));
    let bytes = zipped.bytes().await.expect("body");
    let mut json = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut json)
        .expect("gzip");
    assert_eq!(json, first_body);

    // A write turns it over; bad queries and logged-in callers are answered, not kept.
    let added = app
        .item("Newest Cached Potion")
        .price_cents(1)
        .create()
        .await;
    let after = app
        .get("/api/items?sort=price")
        .send()
        .await
        .expect("request");
    assert_eq!(public_pages(&app).await, (misses + 2, hits + 2));
    let items: Vec<api_types::Item> = after.json().await.expect("items");
    assert_eq!(items.first().map(|i| i.id), Some(added.id));
    for _ in 0..2 {
        let bad = app
            .get("/api/items?per_page=0")
            .send()
            .await
            .expect("request");
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.headers().get(server::page_cache::HEADER).is_none());
    }
    let user = app.customer().await;
    let mine = app
        .as_user(&user, Method::GET, "/api/items")
        .send()
        .await
        .expect("request");
    assert_eq!(mine.status(), StatusCode::OK);
    assert!(mine.headers().get(server::page_cache::HEADER).is_none());
}
