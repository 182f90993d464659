//! The session cookie: its name and attributes, read with the `cookie` crate.

use http::HeaderMap;
use http::header::COOKIE;
use store::Settings;

pub const SESSION_COOKIE: &str = "gs_session";

/// The session token the request carries, if any (the first `gs_session` cookie with a value,
/// across every `Cookie` header).
pub fn token(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE)
}

/// The value of the first cookie called `name` that has one, across every `Cookie` header.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_owned())
}

/// `Set-Cookie` for a new session: `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` when the
/// store is served over https.
pub fn issue(token: &str, max_age_secs: i64, settings: &Settings) -> String {
    with_safe_attributes(SESSION_COOKIE, token, max_age_secs, settings)
}

/// `Set-Cookie` for any of the store's own cookies, with the session cookie's attributes.
pub fn with_safe_attributes(
    name: &str,
    value: &str,
    max_age_secs: i64,
    settings: &Settings,
) -> String {
    cookie::Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .secure(settings.https())
        .build()
        .to_string()
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear(settings: &Settings) -> String {
    issue("", 0, settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(COOKIE, HeaderValue::from_str(v).expect("ascii"));
        }
        map
    }

    #[test]
    fn finds_the_session_token_among_cookies() {
        assert_eq!(
            token(&headers(&["a=1; gs_session=abc; b=2"])).as_deref(),
            Some("abc")
        );
        assert_eq!(
            token(&headers(&["a=1", "gs_session=def"])).as_deref(),
            Some("def")
        );
        assert_eq!(token(&headers(&["gs_session="])), None);
        assert_eq!(token(&headers(&["other=1"])), None);
        assert_eq!(token(&headers(&[])), None);
    }

    #[test]
    fn cookies_carry_the_safe_attributes() {
        let settings = Settings::from_lookup(|_| None).expect("defaults");
        let cookie = issue("tok", 60, &settings);
        for part in [
            "gs_session=tok",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(cookie.contains(part), "{cookie}");
        }
        assert!(!cookie.contains("Secure"));
        assert!(clear(&settings).contains("Max-Age=0"));
    }
}
