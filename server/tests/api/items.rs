use api_types::Item;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;

use crate::helpers::{TestApp, error_code, json_of};

async fn list(app: &TestApp, query: &str) -> (Vec<Value>, u64, Option<String>) {
    let response = app
        .get(&format!("/api/items{query}"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    let total = response.headers()["x-total-count"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("number");
    let link = response
        .headers()
        .get(header::LINK)
        .map(|v| v.to_str().expect("ascii").to_owned());
    let items: Vec<Value> = response.json().await.expect("bare array");
    (items, total, link)
}

fn names(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|i| i["name"].as_str().expect("name"))
        .collect()
}

/// A small catalog with something for every search, filter and sort below to tell apart,
/// created in this order (so Hero's Cape is the newest).
async fn small_catalog(app: &TestApp) {
    for (name, price_cents, tags, description) in [
        (
            "Dragon Sword",
            99999,
            &["weapon", "legendary", "fire"][..],
            "A legendary sword forged in dragon fire.",
        ),
        (
            "Dragon Egg",
            79999,
            &["pet", "fire"],
            "Hatches into a loyal baby dragon.",
        ),
        (
            "Frost Dagger",
            15999,
            &["weapon", "ice"],
            "A slim blade of never-melting ice.",
        ),
        (
            "Shadow Dagger",
            25999,
            &["weapon", "stealth"],
            "Strikes from the dark.",
        ),
        (
            "Bone Dagger",
            9999,
            &["trinket"],
            "A dagger for the mantelpiece, not for a fight.",
        ),
        (
            "Health Potion",
            4999,
            &["potion", "healing"],
            "Restores 50 health points. Tastes faintly of strawberries.",
        ),
        (
            "Mana Potion",
            3999,
            &["potion", "magic"],
            "Restores 50 mana points.",
        ),
        (
            "Pouch of Gold",
            999,
            &["currency"],
            "A thousand gold coins.",
        ),
        (
            "Hero's Cape",
            4999,
            &["cosmetic"],
            "Billows dramatically even indoors.",
        ),
    ] {
        app.item(name)
            .price_cents(price_cents)
            .tags(tags)
            .description(description)
            .create()
            .await;
    }
}

#[tokio::test]
async fn the_catalog_is_a_bare_array_with_paging_headers() {
    let app = TestApp::spawn().await;
    app.item("Dragon Sword")
        .sku("dragon-sword")
        .price_cents(99999)
        .tags(&["weapon", "legendary"])
        .create()
        .await;
    app.items(20).await;
    let (items, total, link) = list(&app, "").await;
    assert_eq!(items.len(), 20);
    assert_eq!(total, 21);
    assert_eq!(link.as_deref(), Some("</api/items?page=2>; rel=\"next\""));
    let sword = &list(&app, "?q=dragon%20sword").await.0[0];
    assert_eq!(sword["name"], "Dragon Sword");
    assert_eq!(sword["price_cents"], 99999);
    assert_eq!(sword["price"], 999.99);
    assert_eq!(sword["currency"], "USD");
    assert_eq!(sword["image"], "/covers/dragon-sword.svg");
    assert!(
        sword["tags"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("weapon")))
    );
}

#[tokio::test]
async fn paging_edges() {
    let app = TestApp::spawn().await;
    app.items(45).await;
    let (items, _, link) = list(&app, "?page=2").await;
    assert_eq!(items.len(), 20);
    assert_eq!(
        link.as_deref(),
        Some("</api/items?page=3>; rel=\"next\", </api/items>; rel=\"prev\"")
    );
    let (items, _, link) = list(&app, "?page=3").await;
    assert_eq!(items.len(), 5);
    assert_eq!(link.as_deref(), Some("</api/items?page=2>; rel=\"prev\""));
    let (items, total, link) = list(&app, "?page=9").await;
    assert!(items.is_empty());
    assert_eq!(total, 45);
    assert_eq!(link.as_deref(), Some("</api/items?page=3>; rel=\"prev\""));
    let (items, _, link) = list(&app, "?per_page=100").await;
    assert_eq!(items.len(), 45);
    assert_eq!(link, None);
    let (items, _, _) = list(&app, "?per_page=1&page=45").await;
    assert_eq!(items.len(), 1);
}

#[tokio::test]
async fn search_matches_names_and_descriptions_case_insensitively() {
    let app = TestApp::spawn().await;
    small_catalog(&app).await;
    let (items, total, _) = list(&app, "?q=DRAGON").await;
    assert_eq!(total, 2);
    assert_eq!(names(&items), vec!["Dragon Egg", "Dragon Sword"]);
    let (items, _, _) = list(&app, "?q=strawberries").await;
    assert_eq!(names(&items), vec!["Health Potion"]);
    // LIKE wildcards in the search text are literal.
    assert_eq!(list(&app, "?q=%25").await.1, 0);
    assert_eq!(list(&app, "?q=_").await.1, 0);
    assert_eq!(list(&app, "?q=no-such-thing").await.0.len(), 0);
}

#[tokio::test]
async fn filters_by_tag_and_price() {
    let app = TestApp::spawn().await;
    small_catalog(&app).await;
    let (items, total, _) = list(&app, "?tag=potion&per_page=100").await;
    assert_eq!(total, 2);
    assert!(items.iter().all(|i| {
        i["tags"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("potion")))
    }));
    assert_eq!(list(&app, "?tag=unknown-tag").await.1, 0);

    let (items, _, _) = list(&app, "?min_price=50000&per_page=100").await;
    assert!(
        !items.is_empty()
            && items
                .iter()
                .all(|i| i["price_cents"].as_i64() >= Some(50000))
    );
    let (items, _, _) = list(&app, "?max_price=2999&per_page=100").await;
    assert!(
        !items.is_empty()
            && items
                .iter()
                .all(|i| i["price_cents"].as_i64() <= Some(2999))
    );
    let (items, _, _) = list(&app, "?min_price=4999&max_price=4999").await;
    assert_eq!(names(&items), vec!["Health Potion", "Hero's Cape"]);
    let (items, _, _) = list(&app, "?tag=weapon&max_price=20000&q=dagger").await;
    assert_eq!(names(&items), vec!["Frost Dagger"]);
}

#[tokio::test]
async fn sorts() {
    let app = TestApp::spawn().await;
    small_catalog(&app).await;
    let prices = |items: &[Value]| {
        items
            .iter()
            .map(|i| i["price_cents"].as_i64().expect("price"))
            .collect::<Vec<_>>()
    };

    let (items, _, _) = list(&app, "?per_page=100").await;
    let mut sorted = names(&items)
        .iter()
        .map(|n| n.to_owned())
        .collect::<Vec<_>>();
    sorted.sort();
    assert_eq!(names(&items), sorted);

    let (items, _, _) = list(&app, "?sort=price&per_page=100").await;
    assert!(prices(&items).windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(items[0]["name"], "Pouch of Gold");

    let (items, _, _) = list(&app, "?sort=-price&per_page=100").await;
    assert!(prices(&items).windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(items[0]["name"], "Dragon Sword");

    let (items, _, _) = list(&app, "?sort=newest&per_page=3").await;
    assert_eq!(items[0]["name"], "Hero's Cape");
}

#[tokio::test]
async fn invalid_parameters_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("?page=0", "page"),
        ("?page=two", "page"),
        ("?per_page=101", "per_page"),
        ("?per_page=0", "per_page"),
        ("?sort=cheapest", "sort"),
        ("?min_price=-5", "min_price"),
        ("?max_price=9.99", "max_price"),
        ("?min_price=500&max_price=100", "min_price"),
        ("?tag=No%20Spaces", "tag"),
    ] {
        let response = app
            .get(&format!("/api/items{query}"))
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
}

#[tokio::test]
async fn single_items() {
    let app = TestApp::spawn().await;
    let sword = app.item("Dragon Sword").sku("dragon-sword").create().await;
    let response = app
        .get(&format!("/api/items/{}", sword.id))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let item: Value = response.json().await.expect("json");
    assert_eq!(item["sku"], "dragon-sword");
    for path in ["/api/items/99999", "/api/items/abc", "/api/items/-1"] {
        let missing = app.get(path).send().await.expect("request");
        assert_eq!(error_code(missing).await.0, StatusCode::NOT_FOUND, "{path}");
    }
}

fn new_item(sku: &str) -> Value {
    json!({
        "sku": sku,
        "name": "Moon Lance",
        "description": "Glows under a full moon.",
        "price_cents": 12345,
        "currency": "USD",
        "tags": ["weapon", "Moon"],
    })
}

#[tokio::test]
async fn only_admins_write_items() {
    let app = TestApp::spawn().await;
    let existing = app.item("Dragon Sword").create().await;
    let existing_path = format!("/api/items/{}", existing.id);
    let anonymous = app
        .post("/api/items")
        .json(&new_item("moon-lance"))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let customer = app.customer().await;
    for (method, path) in [
        (Method::POST, "/api/items"),
        (Method::PATCH, existing_path.as_str()),
        (Method::DELETE, existing_path.as_str()),
    ] {
        let denied = app
            .as_user(&customer, method.clone(), path)
            .json(&new_item("moon-lance"))
            .send()
            .await
            .expect("request");
        assert_eq!(denied.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    assert_eq!(list(&app, "").await.1, 1);
}

#[tokio::test]
async fn admins_create_edit_and_archive_items_with_validation() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;

    let created = app
        .as_user(&admin, Method::POST, "/api/items")
        .json(&new_item("moon-lance"))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), StatusCode::CREATED);
    let item: Value = created.json().await.expect("json");
    assert_eq!(item["tags"], json!(["moon", "weapon"]));
    assert_eq!(item["image"], "/covers/moon-lance.svg");
    assert_eq!(item["price"], 123.45);
    let id = item["id"].as_i64().expect("id");

    let duplicate = app
        .as_user(&admin, Method::POST, "/api/items")
        .json(&new_item("Moon-Lance"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_code(duplicate).await,
        (StatusCode::CONFLICT, "SKU_TAKEN".to_owned())
    );

    for (patch, field) in [
        (json!({ "sku": "bad sku" }), "sku"),
        (json!({ "name": "" }), "name"),
        (json!({ "price_cents": 0 }), "price_cents"),
        (json!({ "currency": "XYZ" }), "currency"),
        (json!({ "tags": ["no spaces"] }), "tags"),
        (json!({ "image": "javascript:alert(1)" }), "image"),
        (json!({ "description": "x".repeat(2001) }), "description"),
    ] {
        let response = app
            .as_user(&admin, Method::PATCH, &format!("/api/items/{id}"))
            .json(&patch)
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{patch}"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["field"], field);
    }
    let wrong_type = app
        .as_user(&admin, Method::POST, "/api/items")
        .json(&json!({ "sku": "x1", "name": "X", "price_cents": "ten" }))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong_type.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let patched = app
        .as_user(&admin, Method::PATCH, &format!("/api/items/{id}"))
        .json(&json!({ "price_cents": 999 }))
        .send()
        .await
        .expect("request");
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.expect("json");
    assert_eq!(patched["price_cents"], 999);
    assert_eq!(patched["name"], "Moon Lance");

    let missing = app
        .as_user(&admin, Method::PATCH, "/api/items/99999")
        .json(&json!({ "name": "x" }))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let archived = app
        .as_user(&admin, Method::DELETE, &format!("/api/items/{id}"))
        .send()
        .await
        .expect("request");
    assert_eq!(archived.status(), StatusCode::NO_CONTENT);
    let still_there: Value = json_of(app.get(&format!("/api/items/{id}"))).await;
    assert_eq!(still_there["active"], false);
}

#[tokio::test]
async fn every_write_is_visible_at_once_through_the_cache() {
    let app = TestApp::spawn().await;
    let shield = app
        .item("Magic Shield")
        .sku("magic-shield")
        .price_cents(49999)
        .create()
        .await;
    // The cheapest item until the shield's price drops below it.
    app.item("Pouch of Gold").price_cents(999).create().await;
    let shield_path = format!("/api/items/{}", shield.id);
    let admin = app.admin().await;
    // Warm the caches.
    assert!(
        !app.store
            .catalog()
            .tags()
            .await
            .expect("tags")
            .contains(&"moon".to_owned())
    );
    assert_eq!(list(&app, "?q=lance").await.1, 0);
    assert_eq!(list(&app, "").await.1, 2);
    let before: Value = json_of(app.get(&shield_path)).await;

    let created: Value = json_of(
        app.as_user(&admin, Method::POST, "/api/items")
            .json(&new_item("moon-lance")),
    )
    .await;
    let id = created["id"].as_i64().expect("id");
    assert_eq!(list(&app, "?q=lance").await.1, 1);
    assert_eq!(list(&app, "").await.1, 3);
    assert!(
        app.store
            .catalog()
            .tags()
            .await
            .expect("tags")
            .contains(&"moon".to_owned())
    );

    app.as_user(&admin, Method::PATCH, &shield_path)
        .json(&json!({ "price_cents": 100 }))
        .send()
        .await
        .expect("request");
    let after: Value = json_of(app.get(&shield_path)).await;
    assert_eq!(before["price_cents"], 49999);
    assert_eq!(after["price_cents"], 100);
    assert_eq!(
        list(&app, "?sort=price&per_page=1").await.0[0]["sku"],
        "magic-shield"
    );

    app.as_user(&admin, Method::DELETE, &format!("/api/items/{id}"))
        .send()
        .await
        .expect("request");
    assert_eq!(list(&app, "?q=lance").await.1, 0);
    assert_eq!(list(&app, "").await.1, 2);
}

/// Production mode only: embedded mode is a single process by definition. Each replica keeps
/// its own copy of the catalog version: a write announces the new one on the `catalog`
/// channel, and a copy is never older than `VERSION_STALENESS` either way.
#[tokio::test]
async fn postgres_only_a_write_on_one_replica_reaches_another_within_the_staleness_bound() {
    crate::helpers::require_postgres();
    let bound = store::catalog::cache::VERSION_STALENESS + Duration::from_millis(500);
    let a = TestApp::spawn().await;
    let b = a.replica().await;
    let admin = a.admin().await;
    assert_eq!(list(&b, "?q=lance").await.1, 0);
    assert_eq!(list(&a, "?q=lance").await.1, 0);
    a.as_user(&admin, Method::POST, "/api/items")
        .json(&new_item("moon-lance"))
        .send()
        .await
        .expect("request");
    // The writer sees it at once; the other replica as soon as the announcement lands.
    assert_eq!(list(&a, "?q=lance").await.1, 1);
    let written = tokio::time::Instant::now();
    while list(&b, "?q=lance").await.1 != 1 {
        assert!(
            written.elapsed() < bound,
            "replica b still stale after {:?}",
            written.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // An announcement that never arrives (a reconnect): the version moves in Redis only, and
    // the other replica still catches up within the bound.
    use sea_orm::{ActiveModelTrait as _, Set};
    store::entity::items::ActiveModel {
        sku: Set("star-lance".to_owned()),
        name: Set("Star Lance".to_owned()),
        description: Set(String::new()),
        price_cents: Set(100),
        currency: Set("USD".to_owned()),
        image: Set(String::new()),
        tags: Set(String::new()),
        consumable: Set(false),
        active: Set(true),
        committed: Set(0),
        sellouts: Set(0),
        bundle_item_ids: Set(String::new()),
        created_at: Set(chrono::Utc::now()),
        updated_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(a.store.db())
    .await
    .expect("a row written behind the store's back");
    assert_eq!(
        list(&b, "?q=lance").await.1,
        1,
        "b's copy is still in force"
    );
    a.store.cache().incr("catalog:version").await.expect("incr");
    let bumped = tokio::time::Instant::now();
    while list(&b, "?q=lance").await.1 != 2 {
        assert!(
            bumped.elapsed() < bound,
            "replica b stale after {:?} without an announcement",
            bumped.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn covers_are_generated_svg() {
    let app = TestApp::spawn().await;
    let sword = app.item("Dragon Sword").create().await;
    let response = app.get(&sword.image).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "image/svg+xml");
    assert!(response.text().await.expect("text").starts_with("<svg"));
    assert_eq!(
        app.get("/covers/..%2Fetc.svg")
            .send()
            .await
            .expect("request")
            .status(),
        StatusCode::NOT_FOUND
    );
}

/// The sample catalog `SEED_CATALOG=true` gives a new shop: 45 items, the original store's five
/// first (its clients know them by id), and no more on a second start.
#[tokio::test]
async fn the_sample_catalog_is_seeded_once_with_the_original_five_first() {
    let seeded = || vec![("SEED_CATALOG", "true".to_owned())];
    let app = TestApp::spawn_with(seeded()).await;
    assert_eq!(list(&app, "").await.1, 45);
    let mut first_five = Vec::new();
    for id in 1..=5 {
        let item: Item = json_of(app.get(&format!("/api/items/{id}"))).await;
        first_five.push((item.sku, item.price_cents));
    }
    assert_eq!(
        first_five,
        [
            ("dragon-sword", 99999),
            ("magic-shield", 49999),
            ("speed-boots", 29999),
            ("health-potion", 4999),
            ("wizard-hat", 19999),
        ]
        .map(|(sku, cents)| (sku.to_owned(), cents))
    );

    let restarted = TestApp::spawn_on(app.storage.clone(), seeded(), |_| {}).await;
    assert_eq!(list(&restarted, "").await.1, 45);
}
