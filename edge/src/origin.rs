//! Whether a request comes from the store's own pages: `Origin` (or, without one, `Referer`)
//! against `PUBLIC_URL`'s origin. Used by the CSRF guard and the websocket upgrade.

use http::{HeaderMap, header};

/// Whether `origin` is exactly the store's own origin (`own` as `PUBLIC_URL` gives it).
pub fn same_origin(origin: &str, own: &str) -> bool {
    origin.trim_end_matches('/').eq_ignore_ascii_case(own)
}

fn referer_matches(referer: &str, own: &str) -> bool {
    url::Url::parse(referer)
        .map(|u| u.origin().ascii_serialization().eq_ignore_ascii_case(own))
        .unwrap_or(false)
}

/// What the request's headers say about where it came from: `Some(true)` from our pages,
/// `Some(false)` from elsewhere, `None` when it names no origin at all (API clients, curl).
pub fn from_own_pages(headers: &HeaderMap, own: &str) -> Option<bool> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match (text(header::ORIGIN), text(header::REFERER)) {
        (Some(origin), _) => Some(same_origin(origin, own)),
        (None, Some(referer)) => Some(referer_matches(referer, own)),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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

    #[test]
    fn origin_wins_over_referer_and_neither_is_unknown() {
        let own = "http://127.0.0.1:3000";
        let mut h = HeaderMap::new();
        assert_eq!(from_own_pages(&h, own), None);
        h.insert(
            header::REFERER,
            HeaderValue::from_static("http://127.0.0.1:3000/x"),
        );
        assert_eq!(from_own_pages(&h, own), Some(true));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert_eq!(from_own_pages(&h, own), Some(false));
    }
}
