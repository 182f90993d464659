//! Cross-site request forgery protection for everything that rides on the session cookie.
//!
//! The cookie is `SameSite=Lax`, and on top of that every state-changing request (any method but
//! GET/HEAD/OPTIONS, REST and server functions alike) must come from the store's own origin:
//! a present `Origin` (or, without one, `Referer`) must match `PUBLIC_URL`. A request with
//! neither header is allowed only when it carries no session cookie (API clients, curl). The
//! payment webhook is authenticated by its signature instead and is exempt.

use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;

use crate::error::plain;

/// Paths that authenticate by other means (a signature) and are exempt.
const EXEMPT_PREFIXES: [&str; 1] = ["/api/webhooks/"];

/// Whether `request` may go on: it changes no state, or it came from `own_origin` (or carries
/// no session cookie). Refused requests get [`refused`].
pub fn allows(own_origin: &str, request: &Request) -> bool {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || EXEMPT_PREFIXES
        .iter()
        .any(|p| request.uri().path().starts_with(p))
    {
        return true;
    }
    let headers = request.headers();
    let verdict = edge::from_own_pages(headers, own_origin)
        .unwrap_or_else(|| edge::session::token(headers).is_none());
    if !verdict {
        tracing::warn!(origin = ?headers.get(header::ORIGIN), path = %request.uri().path(), "cross-site request refused");
    }
    verdict
}

/// The answer to a request [`allows`] refused.
pub fn refused() -> Response {
    plain(
        StatusCode::FORBIDDEN,
        "CSRF_REJECTED",
        "this request did not come from the store's own pages",
    )
}
