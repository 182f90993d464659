//! Form errors in page URLs, tagged. A JavaScript-off form post that fails lands back on its
//! page with the error in the URL (`?__path=…&__err=…`, Leptos's server-function redirect), and
//! the page shows it in its own error notice. Unchecked, anyone could link to a store page whose
//! notice says what they like ("your account is locked, call …"). So the redirect's `Location`
//! gets a tag (`__sig`, keyed by the store, see `Store::url_error_tag`), and a page request
//! whose error has no valid tag is sent to the same page without it (303).
//!
//! The tag also covers a random value the redirect hands the posting browser in a short-lived
//! cookie (`gs_form_error`). Some errors repeat what was posted (serde's "multiple values for
//! one key: <field name>"), so a tag on the URL alone would let anyone post a crafted form,
//! keep the tagged URL and send it to others; bound to the cookie, the URL shows its error
//! only in the browser that posted the form.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use store::Store;

/// The cookie that ties a tagged error to the browser whose form post failed.
const BROWSER_COOKIE: &str = "gs_form_error";
/// How long a failed form's error can be shown again (a reload, the back button).
const BROWSER_COOKIE_SECS: i64 = 600;

const PATH: &str = "__path";
const ERR: &str = "__err";
const SIG: &str = "__sig";

/// A page request carrying an error without its valid tag: the redirect to the same page
/// without the error's parameters. `None` for everything else.
pub fn refuse_untagged(store: &Store, request: &Request) -> Option<Response> {
    let query = request.uri().query()?;
    // Most queries name no error: skip parsing them (a name may be percent-encoded, `%5F%5Ferr`
    // or `__%65rr`, which the renderer decodes, hence the `%`).
    if !query.contains("err") && !query.contains('%') {
        return None;
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let err = pairs.iter().find(|(k, _)| k == ERR).map(|(_, v)| v)?;
    // One of each, or none: the page reads the last `__err`, so a second one after a tagged
    // error would be shown unchecked.
    let once = [PATH, ERR, SIG]
        .iter()
        .all(|name| pairs.iter().filter(|(k, _)| k == name).count() <= 1);
    let path = pairs
        .iter()
        .find(|(k, _)| k == PATH)
        .map_or("", |(_, v)| v.as_str());
    let browser = edge::session::cookie_value(request.headers(), BROWSER_COOKIE);
    let tagged = pairs
        .iter()
        .find(|(k, _)| k == SIG)
        .zip(browser)
        .is_some_and(|((_, sig), browser)| *sig == store.url_error_tag(path, err, &browser));
    if once && tagged {
        return None;
    }
    let rest: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != PATH && k != ERR && k != SIG)
        .collect();
    let mut target = request.uri().path().to_owned();
    if !rest.is_empty() {
        target.push('?');
        target.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(rest)
                .finish(),
        );
    }
    let location = HeaderValue::try_from(target).unwrap_or(HeaderValue::from_static("/"));
    Some((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

/// Tags the error a failed server function's redirect puts in its `Location`. Only such a
/// redirect (it carries `serverfnerror: <the function's path>`) is tagged, and only its own
/// error: any other redirect to a URL with an `__err` (a login's `next`, say) would otherwise
/// make the store tag words of the caller's choosing.
pub fn tag_redirect(store: &Store, response: &mut Response) {
    let Some(failed) = response
        .headers()
        .get("serverfnerror")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return;
    };
    let Some(location) = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let Some((_, query)) = location.split_once('?') else {
        return;
    };
    let query = query.split('#').next().unwrap_or(query);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    // The redirect goes back to the page the form was on, whose URL may hold an earlier error
    // and its tag: Leptos appends the new `__path` and `__err` after the old ones. Only the
    // newest error (the last, which the page reads) stays, with its own tag.
    let Some(err) = pairs.iter().rev().find(|(k, _)| k == ERR).map(|(_, v)| v) else {
        return;
    };
    let path = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == PATH)
        .map_or("", |(_, v)| v.as_str());
    if path != failed {
        return;
    }
    let browser = uuid::Uuid::new_v4().simple().to_string();
    let tag = store.url_error_tag(path, err, &browser);
    let base = location.split_once('?').map_or(location, |(base, _)| base);
    let fragment = location.split_once('#').map(|(_, fragment)| fragment);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(
        pairs
            .iter()
            .filter(|(k, _)| k != PATH && k != ERR && k != SIG),
    );
    query.append_pair(PATH, path);
    query.append_pair(ERR, err);
    query.append_pair(SIG, &tag);
    let mut tagged = format!("{base}?{}", query.finish());
    if let Some(fragment) = fragment {
        tagged.push('#');
        tagged.push_str(fragment);
    }
    let Ok(value) = HeaderValue::try_from(tagged) else {
        return;
    };
    response.headers_mut().insert(header::LOCATION, value);
    let cookie = edge::session::with_safe_attributes(
        BROWSER_COOKIE,
        &browser,
        BROWSER_COOKIE_SECS,
        store.settings(),
    );
    if let Ok(cookie) = HeaderValue::try_from(cookie) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
}
