//! Response hardening: security headers on everything, a strict default CSP for responses
//! that do not bring their own (HTML pages set a per-response nonce CSP in `app::shell`), and
//! `Strict-Transport-Security` when the store is served over https.

use axum::http::{HeaderMap, HeaderValue, header};

const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// A year, and for subdomains too: once a browser has seen the store over https it never
/// tries plain http again.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Adds the security headers to a response's `headers`; `https` is whether `PUBLIC_URL` is an
/// https URL.
pub fn add_headers(headers: &mut HeaderMap, https: bool) {
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        );
    }
}
