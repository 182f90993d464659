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
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok());
    let has_session = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| store::accounts::cookie::token(c).is_some());
    let verdict = match (origin, referer) {
        (Some(origin), _) => same_origin(origin, &own),
        (None, Some(referer)) => referer_matches(referer, &own),
        (None, None) => !has_session,
    };
    if verdict {
        next.run(request).await
    } else {
        tracing::warn!(?origin, ?referer, path = %request.uri().path(), "cross-site request refused");
        plain(
            StatusCode::FORBIDDEN,
            "CSRF_REJECTED",
            "this request did not come from the store's own pages",
        )
    }
}

fn same_origin(origin: &str, own: &str) -> bool {
    origin.trim_end_matches('/').eq_ignore_ascii_case(own)
}

fn referer_matches(referer: &str, own: &str) -> bool {
    url::Url::parse(referer)
        .map(|u| u.origin().ascii_serialization().eq_ignore_ascii_case(own))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_match_exactly() {
        let own = "http://127.0.0.1:3000";
        assert!(same_origin("http://127.0.0.1:3000", own));
        assert!(!same_origin("http://127.0.0.1:3001", own));
        assert!(!same_origin("https://evil.example", own));
        assert!(!same_origin("null", own));
        assert!(referer_matches("http://127.0.0.1:3000/items/1?x=y", own));
        assert!(!referer_matches("http://127.0.0.1:3000.evil.example/", own));
        assert!(!referer_matches("not a url", own));
    }
}
