//! Server-side helpers for server functions: the store, and the shared edge (`edge`) applied to
//! the request a server function runs in, so the caller, the client address and the cookies
//! mean exactly what they mean for the REST API.

use axum::extract::FromRequestParts;
use http::header::SET_COOKIE;
use http::request::Parts;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use store::Store;
use store::accounts::{CurrentUser, NewSession};

use crate::error::AppError;

pub fn store() -> Result<Store, AppError> {
    use_context::<Store>()
        .ok_or_else(|| AppError::new(500, "INTERNAL", "store missing from context"))
}

/// Runs one of the edge's extractors on the current request, as an axum handler would.
pub async fn extract<T>() -> Result<T, AppError>
where
    T: FromRequestParts<Store, Rejection = edge::ApiError>,
{
    let store = store()?;
    let mut parts = use_context::<Parts>()
        .ok_or_else(|| AppError::new(500, "INTERNAL", "request missing from context"))?;
    T::from_request_parts(&mut parts, &store)
        .await
        .map_err(|edge::ApiError(e)| e.into())
}

/// What one request provides to everything rendered or run for it.
pub fn provide_request_context(store: Store) {
    provide_context(store);
    provide_context(RequestCaller::default());
}

/// The request's caller, looked up once: a page's server functions (the header's user, the
/// cart badge, the page's own data) run in the same request and would otherwise each
/// authenticate the cookie again. Not kept on error, so a failed lookup is retried.
#[derive(Clone, Default)]
struct RequestCaller(std::sync::Arc<tokio::sync::OnceCell<Option<CurrentUser>>>);

/// The logged-in caller, if any. An invalid or expired session is simply "not logged in".
pub async fn current_user() -> Result<Option<CurrentUser>, AppError> {
    if use_context::<Parts>().is_none() {
        return Ok(None);
    }
    let lookup = || async {
        let edge::Caller(user) = extract().await?;
        Ok::<_, AppError>(user)
    };
    match use_context::<RequestCaller>() {
        Some(RequestCaller(cell)) => cell.get_or_try_init(lookup).await.cloned(),
        None => lookup().await,
    }
}

/// The caller's cart line count when the edge already knows it for this request (the page
/// cache looks it up for a customer's catalog page, and renders its shared copy with a
/// placeholder: see `server/src/page_cache.rs`).
#[derive(Debug, Clone, Copy)]
pub struct KnownCartLines(pub u64);

/// The count the edge put on the request, if any.
pub fn known_cart_lines() -> Option<u64> {
    use_context::<Parts>()?
        .extensions
        .get::<KnownCartLines>()
        .map(|KnownCartLines(n)| *n)
}

/// Whether the caller has wished for an item, when the edge already knows it for this request
/// (the page cache looks it up for a customer's item page: see `server/src/page_cache.rs`).
#[derive(Debug, Clone, Copy)]
pub struct KnownWish {
    pub item_id: i64,
    pub wished: bool,
}

/// What the edge put on the request about `item_id`, if anything.
pub fn known_wish(item_id: i64) -> Option<bool> {
    use_context::<Parts>()?
        .extensions
        .get::<KnownWish>()
        .filter(|known| known.item_id == item_id)
        .map(|known| known.wished)
}

/// Marks the response as the caller's own (`Cache-Control: private, no-store`): it shows them
/// more than the page cache puts in a customer's shared copy, so no copy is kept of it, by the
/// page cache or the browser (`docs/security.md`).
pub fn personal_page() {
    if let Some(options) = use_context::<ResponseOptions>() {
        options.insert_header(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("private, no-store"),
        );
    }
}

pub async fn require_user() -> Result<CurrentUser, AppError> {
    let edge::Auth(user) = extract().await?;
    Ok(user)
}

pub async fn require_admin() -> Result<CurrentUser, AppError> {
    let edge::Admin(user) = extract().await?;
    Ok(user)
}

/// The client's address, as the REST API determines it.
pub fn client_ip(store: &Store) -> Option<std::net::IpAddr> {
    let parts = use_context::<Parts>()?;
    edge::client_ip(&parts, store.settings().trusted_proxies)
}

/// Sets a cookie on the response, which no cache may then keep (as the REST login says).
pub fn set_cookie(value: &str) {
    if let (Some(options), Ok(value)) = (
        use_context::<ResponseOptions>(),
        http::HeaderValue::from_str(value),
    ) {
        options.append_header(SET_COOKIE, value);
        options.insert_header(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
    }
}

/// Logs `username` in and sets the session cookie on the response.
pub async fn start_session(
    store: &Store,
    username: &str,
    password: &str,
) -> Result<api_types::User, AppError> {
    let (user, session) = store
        .accounts()
        .login(username, password, client_ip(store))
        .await?;
    issue_cookie(store, &session);
    Ok(user)
}

/// Sets the cookie of a freshly opened session on the response.
pub fn issue_cookie(store: &Store, session: &NewSession) {
    set_cookie(&edge::session::issue(
        &session.token,
        session.max_age_secs,
        store.settings(),
    ));
}

/// Clears the session cookie on the response.
pub fn clear_cookie(store: &Store) {
    set_cookie(&edge::session::clear(store.settings()));
}

/// Where a form posted from the page at `path` goes when it succeeded: back to that page as the
/// poster saw it (its `Referer`'s query kept, so an operator's search and page survive), with
/// `flag` (`name=value`) set for the page to say so; just `path?flag` when the `Referer` is
/// missing or another page. Only `path` is ever the target, and the query loses any form
/// error's parameters (`__err`, `__path`, `__sig`) and any earlier `flag`.
pub fn back_to(path: &str, flag: &str) -> String {
    let name = flag.split('=').next().unwrap_or(flag);
    let query = use_context::<Parts>()
        .and_then(|parts| parts.headers.get(http::header::REFERER).cloned())
        .and_then(|referer| referer.to_str().ok()?.parse::<http::Uri>().ok())
        .filter(|uri| uri.path() == path)
        .and_then(|uri| uri.query().map(str::to_owned))
        .unwrap_or_default();
    // Names are compared decoded, as the page reads them (`_%5Ferr` is `__err`).
    let kept = query.split('&').filter(|pair| {
        let key = percent_decoded(pair.split('=').next().unwrap_or_default());
        !key.is_empty() && !key.starts_with("__") && key != name
    });
    let mut target = format!("{path}?");
    for pair in kept {
        target.push_str(pair);
        target.push('&');
    }
    target.push_str(flag);
    target
}

/// `text` with its `%XX` escapes and `+` decoded, as a query's name is read (bytes that are not
/// UTF-8 become U+FFFD).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |at: usize| bytes.get(at).and_then(|b| char::from(*b).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match (byte, hex(at + 1), hex(at + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.extend(u8::try_from(high * 16 + low).ok());
                at += 3;
            }
            (b'+', ..) => {
                out.push(b' ');
                at += 1;
            }
            _ => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn back_from(referer: Option<&str>) -> String {
        let owner = Owner::new();
        owner.with(|| {
            let mut request = http::Request::builder().uri("/rpc/refund_order");
            if let Some(referer) = referer {
                request = request.header(http::header::REFERER, referer);
            }
            let (parts, ()) = request.body(()).expect("request").into_parts();
            provide_context(parts);
            back_to("/admin/orders", "refund=asked")
        })
    }

    #[test]
    fn a_form_goes_back_to_its_page_with_the_search_kept_and_only_to_that_page() {
        assert_eq!(
            back_from(Some(
                "http://127.0.0.1:3000/admin/orders?status=paid&page=2"
            )),
            "/admin/orders?status=paid&page=2&refund=asked"
        );
        // A form error's parameters and an earlier flag are dropped.
        assert_eq!(
            back_from(Some(
                "http://127.0.0.1:3000/admin/orders?refund=asked&__err=x&%5F%5Fsig=y&username=bo"
            )),
            "/admin/orders?username=bo&refund=asked"
        );
        // Names are compared decoded.
        assert_eq!(
            back_from(Some(
                "http://127.0.0.1:3000/admin/orders?_%5Ferr=x&%5f_path=y&%72efund=x&page=3"
            )),
            "/admin/orders?page=3&refund=asked"
        );
        assert_eq!(percent_decoded("a%2"), "a%2");
        assert_eq!(percent_decoded("%zz+%41"), "%zz A");
        // Another page, or none: the page itself.
        assert_eq!(
            back_from(Some("https://elsewhere.example/phish?x=1")),
            "/admin/orders?refund=asked"
        );
        assert_eq!(back_from(None), "/admin/orders?refund=asked");
    }
}
