//! `TestApp`: the real router on a random port with its own database and cache namespace.
//!
//! The backend comes from `TEST_BACKEND`: `sqlite` (default: a fresh SQLite file and the
//! in-process cache) or `postgres` (a fresh PostgreSQL database per test on `TEST_DATABASE_URL`,
//! and Redis on `TEST_REDIS_URL` under a key prefix of its own).

use std::collections::HashMap;
use std::time::Duration;

use api_types::{Item, NewItem, Order, OrderStatus};
use reqwest::{RequestBuilder, Response, StatusCode, header};
use sea_orm::{ConnectionTrait as _, Database};
use serde_json::{Value, json};
use uuid::Uuid;

use server::Application;
use store::{Settings, Store};
use webhooks::SigningSecret;

pub const ADMIN_USERNAME: &str = "root-admin";
pub const ADMIN_PASSWORD: &str = "admin-password-123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// For tests named `postgres_only_*`, which need several replicas sharing Redis: scripts/test
/// filters them out of the SQLite pass, so they are listed as skipped there, not passed.
pub fn require_postgres() {
    assert_eq!(
        backend(),
        Backend::Postgres,
        "this test needs TEST_BACKEND=postgres (scripts/test runs it in the PostgreSQL pass)"
    );
}

fn pg_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned())
}

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Where a test's data lives; shared by replicas of the same test.
#[derive(Clone)]
pub struct Storage {
    pub database_url: String,
    pub redis_url: Option<String>,
    pub prefix: String,
    _dir: Option<std::sync::Arc<tempfile::TempDir>>,
}

impl Storage {
    pub async fn fresh() -> Self {
        let id = Uuid::new_v4().simple().to_string();
        match backend() {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("store.db");
                Self {
                    database_url: format!("sqlite://{}?mode=rwc", path.display()),
                    redis_url: None,
                    prefix: format!("test:{id}:"),
                    _dir: Some(std::sync::Arc::new(dir)),
                }
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let name = format!("gs_test_{id}");
                let conn = Database::connect(&admin)
                    .await
                    .expect("PostgreSQL reachable at TEST_DATABASE_URL");
                conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                conn.close().await.ok();
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_owned())
                    .unwrap_or(admin);
                Self {
                    database_url: format!("{base}/{name}"),
                    redis_url: Some(redis_url()),
                    prefix: format!("test:{id}:"),
                    _dir: None,
                }
            }
        }
    }
}

pub struct TestApp {
    /// Where the server listens (`http://127.0.0.1:port`).
    pub base: String,
    /// Where `/metrics` is served (its own listener), when it is.
    pub metrics_base: Option<String>,
    /// The store's own origin (`PUBLIC_URL`), which browsers send as `Origin`.
    pub origin: String,
    pub store: Store,
    pub storage: Storage,
    pub secret: SigningSecret,
    pub secret_text: String,
    pub hub: server::ws::Hub,
    pub http: reqwest::Client,
    /// The operator session that [`ItemBuilder`] creates items with, logged in on first use.
    item_admin: tokio::sync::OnceCell<TestUser>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Extra environment for a test's store.
pub type Env = Vec<(&'static str, String)>;

impl TestApp {
    /// The Prometheus text from the metrics listener.
    pub async fn scrape_metrics(&self) -> String {
        let metrics = self.metrics_base.clone().expect("metrics listener");
        self.http
            .get(format!("{metrics}/metrics"))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("metrics text")
    }

    pub async fn spawn() -> Self {
        Self::spawn_with(vec![]).await
    }

    pub async fn spawn_with(env: Env) -> Self {
        Self::spawn_on(Storage::fresh().await, env, |_| {}).await
    }

    /// Full control: storage (share it to run replicas), environment, and settings tweaks.
    pub async fn spawn_on(storage: Storage, env: Env, tweak: impl FnOnce(&mut Settings)) -> Self {
        let secret_text = SigningSecret::generate();
        let mut vars: HashMap<&str, String> = HashMap::from([
            ("DATABASE_URL", storage.database_url.clone()),
            ("LEPTOS_SITE_ADDR", "127.0.0.1:0".to_owned()),
            ("WEBHOOK_SECRETS", secret_text.clone()),
            // A PostgreSQL store is production, which needs its own key for license keys.
            ("KEYS_ENCRYPTION_KEY", "7e57".repeat(16)),
            ("ADMIN_USERNAME", ADMIN_USERNAME.to_owned()),
            ("ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()),
            ("REDIS_KEY_PREFIX", storage.prefix.clone()),
            ("SIM_DELAY_MS", "50".to_owned()),
            ("SIM_RETRY_BASE_MS", "50".to_owned()),
            ("ORDER_EXPIRY_SWEEP_SECS", "3600".to_owned()),
            // A PostgreSQL store counts as production, which refuses to run the simulator
            // unless asked for by name.
            ("PAYMENT_PROVIDER_URL", "builtin".to_owned()),
            // Tests register many accounts from one address; the limit has its own test.
            ("REGISTRATIONS_PER_ADDRESS", "100000".to_owned()),
            ("METRICS_ADDR", "127.0.0.1:0".to_owned()),
            // Tests create the items they need (`TestApp::item`); a test about the sample
            // catalog asks for it with `SEED_CATALOG=true`.
            ("SEED_CATALOG", "false".to_owned()),
        ]);
        if let Some(redis) = &storage.redis_url {
            vars.insert("REDIS_URL", redis.clone());
        }
        for (k, v) in env {
            vars.insert(k, v);
        }
        let mut config =
            server::Config::from_lookup(|k| vars.get(k).cloned()).expect("valid test settings");
        tweak(&mut config.store);
        let secret = config.store.webhook_secrets[0].clone();
        let secret_text = vars.get("WEBHOOK_SECRETS").cloned().unwrap_or(secret_text);
        let app = Application::build(config)
            .await
            .expect("application starts");
        let base = format!("http://{}", app.local_addr());
        let metrics_base = app.metrics_addr().map(|addr| format!("http://{addr}"));
        let origin = app.state.store.settings().public_origin();
        let store = app.state.store.clone();
        let hub = app.state.hub.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(app.serve(async move {
            let _ = rx.await;
        }));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Self {
            base,
            metrics_base,
            origin,
            store,
            storage,
            secret,
            secret_text,
            hub,
            http,
            item_admin: tokio::sync::OnceCell::new(),
            shutdown: Some(tx),
        }
    }

    /// Starts a graceful shutdown (as SIGTERM would).
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Another server over the same database and cache: a second replica.
    pub async fn replica(&self) -> Self {
        self.replica_with(vec![]).await
    }

    /// A second replica with extra environment.
    pub async fn replica_with(&self, mut env: Env) -> Self {
        env.push(("WEBHOOK_SECRETS", self.secret_text.clone()));
        Self::spawn_on(self.storage.clone(), env, |_| {}).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.http.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.http.post(self.url(path))
    }

    /// A request as `user`: their cookie, and the store's own Origin (as a browser would send).
    pub fn as_user(&self, user: &TestUser, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header(header::COOKIE, format!("gs_session={}", user.token))
            .header(header::ORIGIN, self.origin.clone())
    }

    pub async fn register(&self, username: &str, password: &str) -> Response {
        self.post("/api/users")
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("request")
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.post("/api/users/login")
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("request")
    }

    /// Logs in and returns the session.
    pub async fn session(&self, username: &str, password: &str) -> TestUser {
        let response = self.login(username, password).await;
        assert_eq!(response.status(), StatusCode::OK, "login as {username}");
        let token = session_cookie(&response).expect("session cookie");
        let body: Value = response.json().await.expect("json");
        TestUser {
            token,
            id: body["user_id"]
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .expect("user_id"),
            username: username.to_owned(),
        }
    }

    /// A newly registered, logged-in customer.
    pub async fn customer(&self) -> TestUser {
        let username = format!("user-{}", &Uuid::new_v4().simple().to_string()[..12]);
        let password = "correct horse battery";
        assert_eq!(
            self.register(&username, password).await.status(),
            StatusCode::CREATED
        );
        self.session(&username, password).await
    }

    pub async fn admin(&self) -> TestUser {
        self.session(ADMIN_USERNAME, ADMIN_PASSWORD).await
    }

    /// An item named `name` to create through the admin API, with a SKU of its own unless
    /// `.sku(…)` says otherwise: `app.item("Sword").price_cents(999).create().await`.
    pub fn item(&self, name: &str) -> ItemBuilder<'_> {
        ItemBuilder {
            app: self,
            item: NewItem {
                sku: unique_sku(name),
                name: name.to_owned(),
                price_cents: 1000,
                currency: "USD".to_owned(),
                ..NewItem::default()
            },
        }
    }

    /// `n` plain items named `Item 01`, `Item 02`, …, created in that order (so their names,
    /// ids and creation times sort alike).
    pub async fn items(&self, n: usize) -> Vec<Item> {
        let mut items = Vec::with_capacity(n);
        for i in 1..=n {
            items.push(self.item(&format!("Item {i:02}")).create().await);
        }
        items
    }

    pub async fn buy(&self, user: &TestUser, item_id: i64) -> Response {
        self.as_user(user, reqwest::Method::POST, "/api/purchases")
            .json(&json!({ "item_id": item_id }))
            .send()
            .await
            .expect("request")
    }

    pub async fn order(&self, user: &TestUser, order_id: Uuid) -> Order {
        let response = self
            .as_user(
                user,
                reqwest::Method::GET,
                &format!("/api/purchases/{order_id}"),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("order json")
    }

    /// Polls until the order reaches `status` (payments are asynchronous).
    pub async fn wait_for(&self, user: &TestUser, order_id: Uuid, status: OrderStatus) -> Order {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let order = self.order(user, order_id).await;
            if order.status == status {
                return order;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "order {order_id} stuck in {:?}, wanted {status:?}",
                order.status
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends a Standard Webhooks delivery signed with the store's secret.
    pub async fn deliver(&self, id: &str, body: &Value) -> Response {
        let raw = serde_json::to_vec(body).expect("json");
        self.deliver_raw(id, &raw, &self.secret, chrono::Utc::now().timestamp())
            .await
    }

    pub async fn deliver_raw(
        &self,
        id: &str,
        raw: &[u8],
        secret: &SigningSecret,
        timestamp: i64,
    ) -> Response {
        self.post("/api/webhooks/payment")
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", secret.sign(id, timestamp, raw))
            .body(raw.to_vec())
            .send()
            .await
            .expect("request")
    }
}

/// An item being described for [`TestApp::item`]; nothing is stored until `create`.
#[must_use = "the item is only created by `.create().await`"]
pub struct ItemBuilder<'a> {
    app: &'a TestApp,
    item: NewItem,
}

impl ItemBuilder<'_> {
    pub fn sku(mut self, sku: &str) -> Self {
        sku.clone_into(&mut self.item.sku);
        self
    }

    pub fn description(mut self, description: &str) -> Self {
        description.clone_into(&mut self.item.description);
        self
    }

    pub fn price_cents(mut self, cents: i64) -> Self {
        self.item.price_cents = cents;
        self
    }

    pub fn currency(mut self, currency: &str) -> Self {
        currency.clone_into(&mut self.item.currency);
        self
    }

    pub fn tags(mut self, tags: &[&str]) -> Self {
        self.item.tags = tags.iter().map(|t| (*t).to_owned()).collect();
        self
    }

    /// Bought again and again rather than owned once.
    pub fn consumable(mut self) -> Self {
        self.item.consumable = true;
        self
    }

    /// Creates the item as an operator (`POST /api/items`) and returns it as the API does.
    pub async fn create(self) -> Item {
        let app = self.app;
        let admin = app.item_admin.get_or_init(|| app.admin()).await;
        let response = app
            .as_user(admin, reqwest::Method::POST, "/api/items")
            .json(&self.item)
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "creating item {}",
            self.item.sku
        );
        response.json().await.expect("item json")
    }
}

/// A SKU from `name` with a random suffix, so that a test may create the same name twice.
fn unique_sku(name: &str) -> String {
    let mut slug = name
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    slug.truncate(40);
    let slug = match slug.trim_end_matches('-') {
        "" => "item",
        slug => slug,
    };
    format!("{slug}-{}", &Uuid::new_v4().simple().to_string()[..8])
}

pub struct TestUser {
    pub token: String,
    pub id: Uuid,
    pub username: String,
}

pub fn session_cookie(response: &Response) -> Option<String> {
    cookie_set(response, "gs_session")
}

/// The value `response` sets for the cookie `name`, unless it sets none or an empty one.
pub fn cookie_set(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(name)?.strip_prefix('='))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        .filter(|t| !t.is_empty())
}

pub fn set_cookie_header(response: &Response) -> String {
    response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A payment event body as the provider sends it.
pub fn payment_event(kind: &str, order: &Order) -> Value {
    json!({
        "type": kind,
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "data": {
            "order_id": order.order_id,
            "transaction_id": format!("tx_test_{}", order.order_id.simple()),
            "amount_cents": order.amount_cents,
            "currency": order.currency,
            "user_id": order.user_id,
        }
    })
}

/// Calls a server function the way a page does: from the page, with `accept` telling a hydrated
/// call (`application/json`) from a plain form post (`text/html`).
pub async fn call_server_fn(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    accept: &str,
) -> Response {
    app.post(path)
        .header(header::ORIGIN, app.origin.clone())
        .header(header::REFERER, app.url("/register"))
        .header(header::ACCEPT, accept)
        .form(form)
        .send()
        .await
        .expect("request")
}

/// Sends `request` and reads its JSON body.
pub async fn json_of<T: serde::de::DeserializeOwned>(request: RequestBuilder) -> T {
    request
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

pub async fn error_code(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("error body is JSON");
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// A store whose simulator never calls back within a test (orders stay pending).
pub fn silent_provider() -> Env {
    vec![("SIM_DELAY_MS", "600000".to_owned())]
}

/// A stand-in payment provider over HTTP (`PAYMENT_PROVIDER_URL`): takes every intent and
/// refund request it is sent, remembers them, and never calls back (tests deliver the
/// webhooks). `refund_answer` set to a status code makes it answer refund requests with that
/// instead of 202 (it still remembers them).
#[derive(Clone)]
pub struct StandIn {
    pub url: String,
    pub intents: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    pub refunds: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    pub refund_answer: std::sync::Arc<std::sync::atomic::AtomicU16>,
}

impl StandIn {
    pub async fn start() -> Self {
        use axum::routing::post;
        let stand_in = Self {
            url: String::new(),
            intents: Default::default(),
            refunds: Default::default(),
            refund_answer: Default::default(),
        };
        let (intents, refunds, fail) = (
            stand_in.intents.clone(),
            stand_in.refunds.clone(),
            stand_in.refund_answer.clone(),
        );
        let router = axum::Router::new()
            .route(
                "/payment-intents",
                post(move |axum::Json(body): axum::Json<Value>| {
                    let intents = intents.clone();
                    async move {
                        intents.lock().expect("lock").push(body);
                        (
                            StatusCode::ACCEPTED,
                            axum::Json(json!({"status": "accepted"})),
                        )
                    }
                }),
            )
            .route(
                "/refunds",
                post(move |axum::Json(body): axum::Json<Value>| {
                    let (refunds, answer) = (refunds.clone(), fail.clone());
                    async move {
                        refunds.lock().expect("lock").push(body);
                        match answer.load(std::sync::atomic::Ordering::SeqCst) {
                            0 => (
                                StatusCode::ACCEPTED,
                                axum::Json(json!({"status": "accepted"})),
                            ),
                            code => (
                                StatusCode::from_u16(code).expect("status"),
                                axum::Json(json!({"error": "as told"})),
                            ),
                        }
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        Self {
            url: format!("http://{addr}/"),
            ..stand_in
        }
    }

    /// The store's environment for it.
    pub fn env(&self) -> Env {
        vec![("PAYMENT_PROVIDER_URL", self.url.clone())]
    }

    /// Answers refund requests with `code` from now on (0: takes them, 202).
    pub fn answer_refunds(&self, code: u16) {
        self.refund_answer
            .store(code, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn refund_requests(&self) -> Vec<Value> {
        self.refunds.lock().expect("lock").clone()
    }
}

/// A `payment.refunded` for (part of) `order`, answering the store's refund `refund_id`
/// (none: one the provider made unasked).
pub fn refund_event(order: &Order, amount_cents: i64, refund_id: Option<Uuid>) -> Value {
    let mut event = payment_event("payment.refunded", order);
    event["data"]["amount_cents"] = json!(amount_cents);
    if let Some(id) = refund_id {
        event["data"]["refund_id"] = json!(id);
    }
    event
}

impl TestApp {
    /// Puts `quantity` of `item` in the user's cart.
    pub async fn put_in_cart(&self, user: &TestUser, item: &Item, quantity: u32) {
        let put = self
            .as_user(
                user,
                reqwest::Method::PUT,
                &format!("/api/cart/lines/{}", item.id),
            )
            .json(&json!({ "quantity": quantity }))
            .send()
            .await
            .expect("request");
        assert_eq!(
            put.status(),
            StatusCode::OK,
            "putting {} in the cart",
            item.id
        );
    }

    /// Checks the user's cart out with `body` (`{}`, or a gift).
    pub async fn check_out(&self, user: &TestUser, body: Value) -> Response {
        self.as_user(user, reqwest::Method::POST, "/api/cart/checkout")
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// The ids of the items in the user's library.
    pub async fn library_ids(&self, user: &TestUser) -> std::collections::HashSet<i64> {
        self.store
            .orders()
            .library(user.id)
            .await
            .expect("library")
            .iter()
            .map(|e| e.item.id)
            .collect()
    }

    /// Pays an order the way the provider would (for stand-in and silent providers).
    pub async fn pay(&self, user: &TestUser, order: &Order) -> Order {
        let paid = self
            .deliver(
                &format!("msg_paid_{}", order.order_id.simple()),
                &payment_event("payment.succeeded", order),
            )
            .await;
        assert_eq!(paid.status(), StatusCode::NO_CONTENT);
        self.wait_for(user, order.order_id, OrderStatus::Paid).await
    }
}

/// A real SMTP server (PyPI's aiosmtpd, `tests/support/smtp_sink.py`) that keeps what it is
/// sent. Its Python comes from `MAIL_SINK_PYTHON`, else the venv `scripts/test` makes.
pub struct MailSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

/// One message as the sink received and decoded it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Mail {
    pub rcpt: Vec<String>,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl Mail {
    pub fn text(&self) -> &str {
        self.text.as_deref().unwrap_or_default()
    }

    pub fn html(&self) -> &str {
        self.html.as_deref().unwrap_or_default()
    }
}

impl MailSink {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// `--refuse`: every recipient is refused with a permanent 550.
    pub fn refusing() -> Self {
        Self::start_with(&["--refuse"])
    }

    fn start_with(args: &[&str]) -> Self {
        use std::io::BufRead as _;
        let python = std::env::var("MAIL_SINK_PYTHON").unwrap_or_else(|_| {
            format!(
                "{}/.cache/gamestore/mailsink/bin/python",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = std::process::Command::new(&python)
            .arg(script)
            .arg(dir.path())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start the SMTP sink with {python} ({e}): run scripts/test, which \
                     installs aiosmtpd, or set MAIL_SINK_PYTHON to a Python that has it"
                )
            });
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the sink prints its port");
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("the SMTP sink did not start (is aiosmtpd installed in {python}?)")
        });
        Self { port, dir, child }
    }

    /// The store's environment for sending here, with a quick outbox.
    pub fn env(&self) -> Env {
        vec![
            ("SMTP_URL", format!("smtp://127.0.0.1:{}", self.port)),
            ("OUTBOX_POLL_MS", "100".to_owned()),
        ]
    }

    /// Everything received so far, in order.
    pub fn messages(&self) -> Vec<Mail> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .expect("sink dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| {
                serde_json::from_slice(&std::fs::read(p).expect("read message"))
                    .expect("message json")
            })
            .collect()
    }

    /// Waits until `n` messages have arrived (at most 20 s) and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited for {n} messages, got {}: {messages:#?}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The messages sent to `address`.
    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.messages()
            .into_iter()
            .filter(|m| m.rcpt.iter().any(|r| r.eq_ignore_ascii_case(address)))
            .collect()
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The verification token in a verification message's link.
pub fn verification_token(mail: &Mail) -> String {
    let text = mail.text();
    let start = text.find("token=").expect("a verification link") + "token=".len();
    text[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect()
}

/// Gives `user` the verified address `address`, through the link the store mails to `sink`.
pub async fn verify_address(app: &TestApp, sink: &MailSink, user: &TestUser, address: &str) {
    let before = sink.to(address).len();
    let set = app
        .as_user(user, reqwest::Method::PUT, "/api/users/me/email")
        .json(&json!({ "email": address }))
        .send()
        .await
        .expect("request");
    assert_eq!(set.status(), StatusCode::ACCEPTED);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let link = loop {
        if let Some(mail) = sink.to(address).into_iter().nth(before) {
            break mail;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no verification link for {address}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let verified = app
        .post("/api/users/email/verify")
        .json(&json!({ "token": verification_token(&link) }))
        .send()
        .await
        .expect("request");
    assert_eq!(verified.status(), StatusCode::OK);
}
