//! Prometheus metrics at `/metrics`: HTTP requests by route, orders by status, webhook outcomes,
//! open sockets, catalog cache results, and the time from a webhook's arrival to its message on
//! the buyer's socket. Domain counters are recorded in `store` through the `metrics` facade.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;

const LATENCY_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = builder
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::debug!("a metrics recorder was already installed");
        }
        handle
    })
}

/// Request counts and latencies by method, route template and status. The handles for each
/// combination are registered once; a request after that costs one map lookup, no label strings.
#[derive(Default)]
pub struct HttpMetrics {
    by_route: RwLock<HashMap<String, Vec<RouteHandles>>>,
}

struct RouteHandles {
    method: &'static str,
    status: u16,
    count: Counter,
    latency: Histogram,
}

impl HttpMetrics {
    /// Counts one request; `route` is the matched route template (`None`: no route matched).
    pub fn record(&self, method: &Method, route: Option<&str>, status: StatusCode, took: Duration) {
        let method = method_label(method);
        let route = route.unwrap_or("unmatched");
        let status = status.as_u16();
        let find = |handles: &[RouteHandles]| {
            handles
                .iter()
                .find(|h| h.method == method && h.status == status)
                .map(|h| (h.count.clone(), h.latency.clone()))
        };
        let known = self
            .by_route
            .read()
            .ok()
            .and_then(|map| map.get(route).and_then(|h| find(h)));
        let (count, latency) = match known {
            Some(handles) => handles,
            None => {
                let labels = [
                    ("method", method.to_owned()),
                    ("route", route.to_owned()),
                    ("status", status.to_string()),
                ];
                let handles = RouteHandles {
                    method,
                    status,
                    count: metrics::counter!("gamestore_http_requests_total", &labels),
                    latency: metrics::histogram!(
                        "gamestore_http_request_duration_seconds",
                        &labels
                    ),
                };
                let pair = (handles.count.clone(), handles.latency.clone());
                if let Ok(mut map) = self.by_route.write() {
                    let entry = map.entry(route.to_owned()).or_default();
                    if find(entry).is_none() {
                        entry.push(handles);
                    }
                }
                pair
            }
        };
        count.increment(1);
        latency.record(took.as_secs_f64());
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// `GET /metrics` in the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Response {
    metrics::gauge!("gamestore_websockets_open").set(state.hub.len() as f64);
    match state.store.orders().count_by_status().await {
        Ok(counts) => {
            for (status, n) in counts {
                metrics::gauge!("gamestore_orders", "status" => status.as_str()).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "order counts unavailable for metrics"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle().render(),
    )
        .into_response()
}

/// Records how long a webhook's notification took to reach a socket.
pub fn observe_delivery(received_at_ms: i64) {
    let now = chrono::Utc::now().timestamp_millis();
    let seconds = (now - received_at_ms).max(0) as f64 / 1000.0;
    metrics::histogram!("gamestore_webhook_to_socket_seconds").record(seconds);
}
