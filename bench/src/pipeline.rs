//! The purchase pipeline: many logged-in buyers, each with a websocket, buy in a loop while this
//! process plays the payment provider. It accepts the store's payment intents on its own
//! listener (the store's `PAYMENT_PROVIDER_URL`), and sends each one's signed
//! `payment.succeeded` webhook after `--provider-delay-ms`.
//!
//! Measured: confirmed purchases per second (a `purchase_success` message on the buyer's
//! socket), and the latency from the moment the webhook is sent to the moment that message
//! arrives, which covers verification, the order transition's transaction, the publish through
//! the live channel (Redis in production mode) and the socket write.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Json, State};
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{SecondsFormat, Utc};
use futures::StreamExt as _;
use paysim::{Event, EventData, EventKind, PaymentIntent};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;
use webhooks::SigningSecret;

use crate::Result;
use crate::args::Args;
use crate::procfs::Meters;
use crate::results::{PipelineRun, SecondLatency};
use crate::sessions::{Session, Store};
use crate::stats::Latency;

/// How long a buyer waits for its confirmation before counting a timeout and buying again.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

struct Window {
    from: Instant,
    until: Instant,
}

impl Window {
    fn contains(&self, t: Instant) -> bool {
        t >= self.from && t <= self.until
    }
}

/// What the provider side and the socket readers share.
struct Shared {
    window: Window,
    /// Open-loop pacing: nanoseconds between purchases (0: each buyer buys as fast as it can).
    period_ns: u64,
    /// The next free purchase slot, in nanoseconds after `start`.
    next_slot: AtomicU64,
    start: Instant,
    secret: SigningSecret,
    provider_delay: Duration,
    http: reqwest::Client,
    /// When each order's webhook was sent.
    sent: Mutex<HashMap<Uuid, Instant>>,
    /// Webhook sent → message on the buyer's socket.
    delivery: Mutex<Latency>,
    /// The same, per second of the window: stalls show up as a bad second, not a bad run.
    timeline: Mutex<Vec<Latency>>,
    /// The store's answer time to the webhook request.
    webhook: Mutex<Latency>,
    intents: AtomicU64,
    webhook_errors: AtomicU64,
    confirmed: AtomicU64,
    failed_messages: AtomicU64,
}

#[derive(Default)]
struct BuyerStats {
    /// `POST /api/purchases` answer time.
    purchase: Latency,
    /// Purchase request sent → confirmation on the socket.
    end_to_end: Latency,
    purchases: u64,
    purchase_errors: u64,
    timeouts: u64,
    first_error: Option<String>,
}

pub async fn command(args: &Args) -> Result<()> {
    let store = Store::new(args.required("base")?, args.get("origin"))?;
    let secret =
        SigningSecret::parse(args.required("secret")?).map_err(|e| format!("--secret: {e}"))?;
    let listen = args.required("provider-listen")?;
    let buyers: usize = args.parse_or("buyers", 100)?;
    let item_id: i64 = args.parse_or("item", 4)?;
    let warmup = Duration::from_secs_f64(args.parse_or("warmup", 3.0)?);
    let duration = Duration::from_secs_f64(args.parse_or("duration", 20.0)?);
    let provider_delay = Duration::from_millis(args.parse_or("provider-delay-ms", 0)?);
    let rate: f64 = args.parse_or("rate", 0.0)?;

    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    eprintln!("pipeline: registering {buyers} buyers");
    let sessions = store.customers(buyers).await?;

    // The window starts once everyone is logged in and connected.
    let mut sockets = Vec::with_capacity(buyers);
    for session in &sessions {
        sockets.push(store.websocket(session).await?);
    }
    let start = Instant::now();
    let shared = Arc::new(Shared {
        window: Window {
            from: start + warmup,
            until: start + warmup + duration,
        },
        period_ns: if rate > 0.0 { (1e9 / rate) as u64 } else { 0 },
        next_slot: AtomicU64::new(0),
        start,
        secret,
        provider_delay,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(4096)
            .tcp_nodelay(true)
            .build()?,
        sent: Mutex::new(HashMap::new()),
        delivery: Mutex::new(Latency::new()),
        timeline: Mutex::new(
            (0..duration.as_secs_f64().ceil() as usize)
                .map(|_| Latency::new())
                .collect(),
        ),
        webhook: Mutex::new(Latency::new()),
        intents: AtomicU64::new(0),
        webhook_errors: AtomicU64::new(0),
        confirmed: AtomicU64::new(0),
        failed_messages: AtomicU64::new(0),
    });
    let provider = Router::new()
        .route("/payment-intents", post(accept_intent))
        .with_state(shared.clone());
    let provider = tokio::spawn(async move { axum::serve(listener, provider).await });

    let server_pid = args.get("server-pid").map(str::to_owned);
    let from = shared.window.from;
    let until = shared.window.until;
    let meters = tokio::spawn(async move {
        tokio::time::sleep_until(from).await;
        let meters = Meters::start(server_pid.as_deref());
        tokio::time::sleep_until(until).await;
        meters.usage()
    });

    let pace = if rate > 0.0 {
        format!("{rate} purchases/s in all")
    } else {
        "as fast as they can".to_owned()
    };
    eprintln!(
        "pipeline: {buyers} buyers buying item {item_id}, {pace}, for {warmup:?} + {duration:?}"
    );
    let mut tasks = Vec::with_capacity(buyers);
    for (session, socket) in sessions.into_iter().zip(sockets) {
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(read_socket(socket, tx, shared.clone()));
        tasks.push(tokio::spawn(buyer(
            store.clone(),
            session,
            item_id,
            rx,
            shared.clone(),
        )));
    }
    let mut totals = BuyerStats::default();
    for task in tasks {
        let stats = task.await?;
        totals.purchase.merge(&stats.purchase);
        totals.end_to_end.merge(&stats.end_to_end);
        totals.purchases += stats.purchases;
        totals.purchase_errors += stats.purchase_errors;
        totals.timeouts += stats.timeouts;
        if totals.first_error.is_none() {
            totals.first_error = stats.first_error;
        }
    }
    let cpu = meters.await?;
    provider.abort();

    let secs = duration.as_secs_f64();
    let confirmed = shared.confirmed.load(Ordering::Relaxed);
    let result = PipelineRun {
        buyers,
        rate_limit_per_s: (rate > 0.0).then_some(rate),
        item_id,
        warmup_s: warmup.as_secs_f64(),
        duration_s: secs,
        provider_delay_ms: provider_delay.as_millis() as u64,
        confirmed,
        confirmed_per_s: confirmed as f64 / secs,
        purchases: totals.purchases,
        purchase_errors: totals.purchase_errors,
        first_purchase_error: totals.first_error,
        confirmation_timeouts: totals.timeouts,
        intents_received: shared.intents.load(Ordering::Relaxed),
        webhook_errors: shared.webhook_errors.load(Ordering::Relaxed),
        failed_messages: shared.failed_messages.load(Ordering::Relaxed),
        webhook_to_socket: lock(&shared.delivery).summary(),
        webhook_to_socket_per_second: lock(&shared.timeline)
            .iter()
            .map(|l| SecondLatency::from(&l.summary()))
            .collect(),
        webhook_response: lock(&shared.webhook).summary(),
        purchase_response: totals.purchase.summary(),
        purchase_to_socket: totals.end_to_end.summary(),
        cpu,
    };
    eprintln!(
        "pipeline: {:.0} confirmed/s, webhook→socket p50 {:.2} ms p99 {:.2} ms, \
         purchase errors {}, timeouts {}, webhook errors {}",
        result.confirmed_per_s,
        result.webhook_to_socket.p50_ms,
        result.webhook_to_socket.p99_ms,
        result.purchase_errors,
        result.confirmation_timeouts,
        result.webhook_errors,
    );
    crate::write_json(args, &result)?;
    if confirmed == 0 {
        return Err(format!(
            "no purchase was confirmed (first purchase error: {})",
            result.first_purchase_error.as_deref().unwrap_or("none")
        )
        .into());
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `POST /payment-intents`: accept at once, deliver the webhook in the background.
async fn accept_intent(
    State(shared): State<Arc<Shared>>,
    Json(intent): Json<PaymentIntent>,
) -> (StatusCode, Json<Value>) {
    shared.intents.fetch_add(1, Ordering::Relaxed);
    let transaction_id = format!("tx_bench_{}", intent.order_id.simple());
    tokio::spawn(deliver(shared, intent, transaction_id.clone()));
    (
        StatusCode::ACCEPTED,
        Json(json!({ "transaction_id": transaction_id, "status": "accepted" })),
    )
}

async fn deliver(shared: Arc<Shared>, intent: PaymentIntent, transaction_id: String) {
    if !shared.provider_delay.is_zero() {
        tokio::time::sleep(shared.provider_delay).await;
    }
    let event = Event {
        kind: EventKind::Succeeded,
        timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        data: EventData {
            order_id: intent.order_id,
            transaction_id,
            amount_cents: intent.amount_cents,
            currency: intent.currency,
            user_id: intent.user_id,
            reason: None,
            refund_id: None,
        },
    };
    let Ok(body) = serde_json::to_vec(&event) else {
        shared.webhook_errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let id = format!("msg_{}", intent.order_id.simple());
    let timestamp = Utc::now().timestamp();
    let signature = shared.secret.sign(&id, timestamp, &body);
    let sent = Instant::now();
    lock(&shared.sent).insert(intent.order_id, sent);
    let response = shared
        .http
        .post(&intent.callback_url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let answered = Instant::now();
    match response {
        Ok(r) if r.status().is_success() => {
            if shared.window.contains(sent) {
                lock(&shared.webhook).record(answered - sent);
            }
        }
        _ => {
            shared.webhook_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Reads one buyer's socket: times each confirmation against its webhook and hands the order id
/// to the buyer (the message may arrive before the buyer has even read its 202).
async fn read_socket(
    mut socket: crate::sessions::Socket,
    confirmations: mpsc::Sender<Uuid>,
    shared: Arc<Shared>,
) {
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let received = Instant::now();
        let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let Some(order_id) = value["order_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
        else {
            continue;
        };
        if value["type"] != "purchase_success" {
            shared.failed_messages.fetch_add(1, Ordering::Relaxed);
        } else if let Some(sent) = lock(&shared.sent).remove(&order_id)
            && shared.window.contains(received)
        {
            lock(&shared.delivery).record(received - sent);
            let second = (received - shared.window.from).as_secs() as usize;
            if let Some(bucket) = lock(&shared.timeline).get_mut(second) {
                bucket.record(received - sent);
            }
            shared.confirmed.fetch_add(1, Ordering::Relaxed);
        }
        if confirmations.send(order_id).await.is_err() {
            break;
        }
    }
    let _ = socket.close(None).await;
}

/// Buys in a loop: purchase, wait for its confirmation, buy again, until the window closes.
async fn buyer(
    store: Store,
    session: Session,
    item_id: i64,
    mut confirmations: mpsc::Receiver<Uuid>,
    shared: Arc<Shared>,
) -> BuyerStats {
    let mut stats = BuyerStats::default();
    let url = format!("{}/api/purchases", store.base);
    let cookie = session.cookie();
    while Instant::now() < shared.window.until {
        if shared.period_ns > 0 {
            // Claim the next slot of the schedule; a late buyer catches up at once.
            let slot = shared
                .next_slot
                .fetch_add(shared.period_ns, Ordering::Relaxed);
            tokio::time::sleep_until(shared.start + Duration::from_nanos(slot)).await;
            if Instant::now() >= shared.window.until {
                break;
            }
        }
        let started = Instant::now();
        let response = store
            .http
            .post(&url)
            .header("cookie", &cookie)
            .header("origin", &store.origin)
            .json(&json!({ "item_id": item_id }))
            .send()
            .await;
        let answered = Instant::now();
        let order_id = match response {
            Ok(r) if r.status() == reqwest::StatusCode::ACCEPTED => r
                .json::<Value>()
                .await
                .ok()
                .and_then(|v| v["order_id"].as_str().and_then(|s| Uuid::parse_str(s).ok())),
            Ok(r) => {
                if stats.first_error.is_none() {
                    let status = r.status();
                    stats.first_error =
                        Some(format!("{status} {}", r.text().await.unwrap_or_default()));
                }
                None
            }
            Err(e) => {
                stats.first_error.get_or_insert_with(|| e.to_string());
                None
            }
        };
        let Some(order_id) = order_id else {
            stats.purchase_errors += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        stats.purchases += 1;
        if shared.window.contains(started) {
            stats.purchase.record(answered - started);
        }
        let deadline = Instant::now() + CONFIRM_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, confirmations.recv()).await {
                Ok(Some(id)) if id == order_id => {
                    let now = Instant::now();
                    if shared.window.contains(started) && shared.window.contains(now) {
                        stats.end_to_end.record(now - started);
                    }
                    break;
                }
                // A late confirmation of an order that already timed out.
                Ok(Some(_)) => {}
                Ok(None) => return stats,
                Err(_) => {
                    stats.timeouts += 1;
                    break;
                }
            }
        }
    }
    stats
}
