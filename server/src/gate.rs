//! The one middleware every request crosses, as a single tower service: one future per request
//! instead of a stack of `from_fn` layers, each of which boxed a future, cloned its state and
//! went through `Next`.
//!
//! In order, for each request:
//! 1. its id: `X-Request-Id` as sent, or a new UUID; kept on the request, echoed on the answer,
//!    and carried by the request's `tracing` span;
//! 2. the page cache for catalog pages ([`crate::page_cache`]: anonymous ones, and customers'
//!    catalog page with their own values put in), which answers without the rest;
//! 3. the body read whole up to [`crate::BODY_LIMIT`] ([`crate::body`]) and the cross-site check
//!    for state-changing requests ([`crate::csrf`]);
//! 4. the routed handler, within [`crate::REQUEST_TIMEOUT`] (then 408);
//! 5. on the way out: a framework error under `/api/` gets the API's JSON shape
//!    ([`crate::error`]), every answer the security headers
//!    ([`crate::security`]); the request is counted by route ([`crate::metrics`]) and logged
//!    (5xx as errors).
//!
//! It is added with `Router::layer`, so it runs after routing and sees the matched route. A
//! server function's error status is set by a layer of its own inside the compression
//! ([`crate::error::server_fn_status`]), since it reads the error body.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service, ServiceExt as _};
use tracing::Instrument as _;

use crate::metrics::HttpMetrics;
use crate::page_cache::PageCache;
use crate::{REQUEST_TIMEOUT, body, csrf, error, security, url_error};

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What the gate needs, shared by every route's copy of it.
pub struct Gate {
    /// `PUBLIC_URL`'s origin, which state-changing requests must come from.
    own_origin: String,
    https: bool,
    pages: PageCache,
    metrics: HttpMetrics,
    store: store::Store,
}

impl Gate {
    pub fn new(store: store::Store) -> Self {
        let settings = store.settings();
        Self {
            own_origin: settings.public_origin(),
            https: settings.https(),
            pages: PageCache::new(store.clone()),
            metrics: HttpMetrics::default(),
            store,
        }
    }

    /// The layer to add to the router.
    pub fn layer(self) -> GateLayer {
        GateLayer(Arc::new(self))
    }

    async fn handle<S>(&self, inner: S, mut request: Request) -> Response
    where
        S: Service<Request, Response = Response, Error = Infallible> + Clone,
    {
        let started = Instant::now();
        // A caller's own id is kept (to follow a request through a balancer) when it is short
        // and plain; anything else is replaced, so the logs never carry what a caller made up.
        let id = match request.headers().get(&REQUEST_ID).filter(|id| plain_id(id)) {
            Some(id) => id.clone(),
            None => {
                let id = HeaderValue::try_from(uuid::Uuid::new_v4().to_string())
                    .unwrap_or(HeaderValue::from_static("-"));
                request.headers_mut().insert(REQUEST_ID.clone(), id.clone());
                id
            }
        };
        let method = request.method().clone();
        let with_session = edge::session::token(request.headers()).is_some();
        let path = request.uri().path();
        let api = path.starts_with("/api/");
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned());
        let span = tracing::info_span!(
            "request",
            request_id = %id.to_str().unwrap_or("-"),
            method = %method,
            path = %path,
        );
        let seen = Seen {
            api,
            with_session,
            id,
            started,
            method,
            route,
        };

        let forged = (seen.method == axum::http::Method::GET && !api)
            .then(|| url_error::refuse_untagged(&self.store, &request))
            .flatten();
        let answer = async {
            if let Some(refused) = forged {
                return self.finish(refused, &seen);
            }
            let served = tokio::time::timeout(
                REQUEST_TIMEOUT,
                crate::page_cache::serve(&self.pages, request, move |request| {
                    // Called once, or twice for a customer's page the cache could not keep.
                    let inner = inner.clone();
                    async move {
                        let request = match body::read_whole(request).await {
                            Ok(request) => request,
                            Err(refused) => return refused,
                        };
                        if !csrf::allows(&self.own_origin, &request) {
                            return csrf::refused();
                        }
                        let Ok(response) = inner.oneshot(request).await;
                        response
                    }
                }),
            )
            .await;
            let mut response =
                served.unwrap_or_else(|_| StatusCode::REQUEST_TIMEOUT.into_response());
            if response.status().is_redirection() {
                url_error::tag_redirect(&self.store, &mut response);
            }
            self.finish(response, &seen)
        };
        answer.instrument(span).await
    }

    /// What every response gets on its way out: JSON errors under `/api`, the security headers
    /// (and `Cache-Control` for a logged-in visitor's page), the request id, a log line and
    /// the metrics.
    fn finish(&self, response: Response, seen: &Seen) -> Response {
        let Seen {
            api,
            with_session,
            id,
            started,
            method,
            route,
        } = seen;
        let mut response = error::json_errors(*api, response);
        let headers = response.headers_mut();
        // A page rendered for a logged-in visitor is theirs alone (a library shows license
        // keys, an account its email): no cache may keep it, unless it says otherwise (a
        // customer's shared copy is `private, no-cache`).
        if *with_session
            && !headers.contains_key(header::CACHE_CONTROL)
            && headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("text/html"))
        {
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
        }
        security::add_headers(headers, self.https);
        headers.insert(REQUEST_ID.clone(), id.clone());
        let status = response.status();
        let took = started.elapsed();
        if status.is_server_error() {
            tracing::error!(
                status = status.as_u16(),
                latency_ms = took.as_millis() as u64,
                "request failed"
            );
        } else {
            tracing::debug!(
                status = status.as_u16(),
                latency_ms = took.as_millis() as u64,
                "finished"
            );
        }
        self.metrics.record(method, route.as_deref(), status, took);
        response
    }
}

/// What the gate noted of a request on its way in, for its response on the way out.
struct Seen {
    api: bool,
    with_session: bool,
    id: HeaderValue,
    started: Instant,
    method: axum::http::Method,
    route: Option<String>,
}

/// A request id worth keeping: 1–64 characters of letters, digits and `-_.:`.
fn plain_id(id: &HeaderValue) -> bool {
    let id = id.as_bytes();
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// What [`page_policy`] needs.
pub struct PolicyInputs {
    pub own_origin: String,
    pub leptos_options: Arc<leptos::prelude::LeptosOptions>,
}

/// A rendered page always leaves with its own nonce policy. Leptos sets it while rendering
/// (`app::shell`), but end-to-end runs under load showed, rarely, a page whose nonce policy was
/// not in the response: it then got the strict default (`default-src 'none'`, see
/// [`crate::security`]), which blocks its stylesheet and hydration. For such a page the policy
/// is made here from the nonce in its HTML, and the event is logged. A layer inside the
/// compression (it reads the body).
pub async fn page_policy(State(inputs): State<Arc<PolicyInputs>>, response: Response) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if !html
        || response
            .headers()
            .contains_key(header::CONTENT_SECURITY_POLICY)
        || response.headers().contains_key(header::CONTENT_ENCODING)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 4 * 1024 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let nonce = nonce_in(&bytes);
    tracing::warn!(
        found = nonce.is_some(),
        "a rendered page came without its content security policy"
    );
    if let Some(nonce) = nonce
        && let Ok(value) = HeaderValue::from_str(&app::content_security_policy(
            nonce,
            Some(&inputs.own_origin),
            &inputs.leptos_options,
        ))
    {
        parts.headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The nonce of the first `nonce="…"` attribute in a page (letters, digits, `+/=_-` only).
fn nonce_in(html: &[u8]) -> Option<&str> {
    let marker = b"nonce=\"";
    let start = html.windows(marker.len()).position(|w| w == marker)? + marker.len();
    let len = html[start..].iter().position(|&b| b == b'"')?;
    let nonce = std::str::from_utf8(&html[start..start + len]).ok()?;
    let valid = (16..=128).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-'));
    valid.then_some(nonce)
}

/// [`Gate`] as a tower layer.
#[derive(Clone)]
pub struct GateLayer(Arc<Gate>);

impl<S> Layer<S> for GateLayer {
    type Service = GateService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GateService {
            gate: self.0.clone(),
            inner,
        }
    }
}

/// One route's handler behind the [`Gate`].
#[derive(Clone)]
pub struct GateService<S> {
    gate: Arc<Gate>,
    inner: S,
}

impl<S> Service<Request> for GateService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Axum's routes are always ready; readiness is taken by the clone in `call`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone is the one that was polled ready (tower's usual swap).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        Box::pin(async move { Ok(gate.handle(inner, request).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::nonce_in;

    #[test]
    fn finds_the_page_nonce_and_nothing_else() {
        let page = br#"<script type="module" nonce="m0P5rOkFY27t7V9cRF37PA">x</script>"#;
        assert_eq!(nonce_in(page), Some("m0P5rOkFY27t7V9cRF37PA"));
        assert_eq!(nonce_in(b"<p>no nonce here</p>"), None);
        assert_eq!(nonce_in(br#"<x nonce="short">"#), None);
        assert_eq!(
            nonce_in(br#"<x nonce="abcdefghijklmnop'; script-src *">"#),
            None
        );
        assert_eq!(nonce_in(br#"<x nonce="abcdefghijklmnopqrstu"#), None);
    }
}
