//! Cross-site request forgery protection for everything that rides on the session cookie.
//!
//! The cookie is `SameSite=Lax`, and on top of that every state-changing request (any method but
//! GET/HEAD/OPTIONS, REST and server functions alike) must come from the store's own origin:
//! a present `Origin` (or, without one, `Referer`) must match `PUBLIC_URL`. A request with
//! neither header is allowed only when it carries no session cookie (API clients, curl). The
//! payment webhook is authenticated by its signature instead and is exempt.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::error::plain;

const EXEMPT_PREFIXES: [&str; 1] = ["/api/webhooks/"];

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || EXEMPT_PREFIXES
        .iter()
        .any(|p| request.uri().path().starts_with(p))
    {
        return next.run(request).await;
    }
    let own = state.store.settings().public_origin();
    let headers = request.headers();
    let verdict = edge::from_own_pages(headers, &own)
        .unwrap_or_else(|| edge::session::token(headers).is_none());
    if verdict {
        next.run(request).await
    } else {
        tracing::warn!(origin = ?headers.get(header::ORIGIN), path = %request.uri().path(), "cross-site request refused");
        plain(
            StatusCode::FORBIDDEN,
            "CSRF_REJECTED",
            "this request did not come from the store's own pages",
        )
    }
}
