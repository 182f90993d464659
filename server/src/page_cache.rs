//! Rendered HTML of the anonymous catalog pages (`/` with its query, `/items/{id}`), kept in
//! memory and served without rendering, with a fresh CSP nonce in every response; and, the same
//! way, the catalog API's list (`GET /api/items` with its query), kept whole as JSON with its
//! paging headers (`X-Total-Count`, `Link`), so a cached catalog read skips routing and the
//! handler as well. A customer's catalog page (`/` with its query, logged in) and item page
//! (`/items/{id}` without a query) are served from one shared copy too, with their own parts
//! put in per response (below).
//!
//! - **What is cached**: a `GET` of one of those pages from a visitor without a session cookie,
//!   answered 200 as HTML with a nonce CSP and no `Set-Cookie`. Anything else passes through.
//! - **Customers**: their catalog page differs from one customer to the next only in the
//!   header (their name, their cart's line count) and in the same values serialized for
//!   hydration. The shared copy is rendered once for a placeholder customer whose name, ids,
//!   creation time and line count are random values that occur nowhere else in the page (like
//!   the nonce), and is kept cut at each of them. A request authenticates the session and
//!   counts the cart's lines (what the render would have done), and gets the copy with its
//!   own values put in; those values are checked to be of characters that mean the same in
//!   HTML text, attributes and the serialized JSON (a username is `a-z 0-9 _ -`), or the page
//!   is rendered for it as before. Operators' pages (an Admin link) are always rendered. The
//!   label "1 item in your cart" differs from "N items", so one line is a copy of its own.
//!   An item page also shows whether the customer wished for the item (looked up per request
//!   and given to the render, so there is one copy for each answer); a bundle's page shows
//!   what they own of it and its price for them, so it is always rendered, as is an item page
//!   with a query (`?confirm=1` holds a purchase's idempotency key, new in every render).
//! - **Key**: the catalog's generation (its version, which every item write bumps on every
//!   replica, and the number of sale starts and ends that have passed) and the path and query.
//!   A write, or a sale starting, turns every key over; entries also live at most
//!   [`PAGE_TTL`], which bounds how old a "sale ends in …" can get.
//! - **Nonce**: the page is kept cut at each occurrence of the nonce it was rendered with (a
//!   128-bit random value, so it occurs only where the renderer put it). Each response joins
//!   the pieces around a new nonce and puts the same one in its CSP, so every response has its
//!   own, as when rendered.
//! - **Compression**: each piece is also kept raw-deflated on its own (no references across
//!   pieces), so a gzip response is the precompressed pieces with the nonce between them as
//!   stored blocks, a header and a CRC: no compression per request.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::{BufMut as _, Bytes, BytesMut};
use futures::StreamExt as _;
use http_body_util::BodyExt as _;
use rand::RngCore as _;
use store::Store;

/// How long a rendered page is kept at most.
pub const PAGE_TTL: Duration = Duration::from_secs(30);
/// Bytes of rendered pages one replica keeps (both encodings counted).
const CAPACITY_BYTES: u64 = 64 * 1024 * 1024;
/// Longest query string whose page is kept (longer ones are rendered each time).
const MAX_QUERY: usize = 256;
/// Largest page kept.
const MAX_PAGE: usize = 512 * 1024;
/// What marks a response as served through here: `public` for an anonymous page, `shared` for a
/// customer's copy. Never whether the page was already kept (a hit) or just rendered (a miss):
/// that would tell anyone whether somebody else had just asked for the same URL, a search say.
/// `gamestore_page_cache_total` on the metrics listener counts hits and misses instead.
pub const HEADER: &str = "x-page-cache";

/// One rendered page, cut at its nonce (and a customer's page at their values).
struct Page {
    /// The HTML between the holes (one more piece than holes).
    pieces: Vec<Bytes>,
    /// What goes between `pieces[i]` and `pieces[i + 1]`: an index into the values a response
    /// is made with, 0 being its nonce (see [`Customer::values`]).
    holes: Vec<u8>,
    /// Each piece raw-deflated on its own, ending byte-aligned (a sync flush).
    deflated: Vec<Bytes>,
    /// The CSP with the nonce cut out: `csp[0] + nonce + csp[1] + …`.
    csp: Vec<String>,
    content_type: HeaderValue,
    length: usize,
    /// Headers of the rendered answer sent again with every copy (the catalog's paging).
    kept: Vec<(HeaderName, HeaderValue)>,
    /// A page without a nonce (JSON): its whole gzip member, made once.
    fixed_gzip: Option<Bytes>,
}

/// Headers of a cached answer that belong to its content, so are sent with every copy.
const KEPT_HEADERS: [&str; 3] = ["x-total-count", "link", "access-control-expose-headers"];

pub struct PageCache {
    store: Store,
    pages: moka::sync::Cache<String, Arc<Page>>,
    /// Keys of customers' pages that could not be shared (an error page, say): rendered for
    /// each visitor until they expire, instead of for the placeholder first, then again.
    unshared: moka::sync::Cache<String, ()>,
}

impl PageCache {
    pub fn new(store: Store) -> Self {
        let pages = moka::sync::Cache::builder()
            .max_capacity(CAPACITY_BYTES)
            .weigher(|key: &String, page: &Arc<Page>| {
                let bytes = key.len()
                    + page.length
                    + page.deflated.iter().map(Bytes::len).sum::<usize>()
                    + page.fixed_gzip.as_ref().map_or(0, Bytes::len);
                u32::try_from(bytes).unwrap_or(u32::MAX)
            })
            .time_to_live(PAGE_TTL)
            .build();
        let unshared = moka::sync::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(PAGE_TTL)
            .build();
        Self {
            store,
            pages,
            unshared,
        }
    }
}

/// Who a cacheable page is asked for.
enum Visitor {
    Anonymous,
    /// A session cookie's token, on the catalog page `/` or an item page without a query.
    Session(String),
}

/// The item a path `/items/{id}` names, if it is one.
fn item_id(path: &str) -> Option<i64> {
    let id = path.strip_prefix("/items/")?;
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

/// Whether a request asks for a page that may be served from the cache, and for whom.
fn cacheable(request: &Request) -> Option<Visitor> {
    if request.method() != Method::GET {
        return None;
    }
    let path = request.uri().path();
    let page =
        path == "/" || path == "/api/items" || path == "/api/items/" || item_id(path).is_some();
    if !page {
        return None;
    }
    let query = request.uri().query().unwrap_or("");
    if query.len() > MAX_QUERY || query.contains("__err") || query.contains("__path") {
        return None;
    }
    let has_cookie = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|cookies| {
            cookies
                .split(';')
                .any(|c| c.trim_start().starts_with(edge::session::SESSION_COOKIE))
        });
    if !has_cookie {
        return Some(Visitor::Anonymous);
    }
    // A customer's item page is shared only without a query: `?confirm=1` carries a purchase's
    // idempotency key, made for each render.
    if path != "/" && !(item_id(path).is_some() && query.is_empty()) {
        return None;
    }
    edge::session::token(request.headers()).map(Visitor::Session)
}

pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    accepts(headers, "gzip")
}

/// Whether the client takes the content coding `coding` (RFC 9110 §12.5.3): its own entry
/// decides when there is one, else `*`'s; an entry whose `q` is zero (`q=0`, `Q=0.00`, `q=0.`)
/// refuses. So `gzip;q=0, *` refuses gzip, which an attacker's pass found was sent anyway.
pub(crate) fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    let mut named = None;
    let mut any = None;
    for offered in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = offered.split(';');
        let name = parts.next().unwrap_or("").trim();
        let taken = parts.all(|param| {
            let Some((key, value)) = param.split_once('=') else {
                return true;
            };
            !key.trim().eq_ignore_ascii_case("q") || !is_zero_weight(value.trim())
        });
        if name.eq_ignore_ascii_case(coding) {
            named = Some(named.unwrap_or(true) && taken);
        } else if name == "*" {
            any = Some(any.unwrap_or(true) && taken);
        }
    }
    named.or(any).unwrap_or(false)
}

/// Whether a `q` value is zero: `0`, or `0.` followed by up to three zeros (the grammar's
/// only spellings of it).
fn is_zero_weight(q: &str) -> bool {
    match q.strip_prefix('0') {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('.')
            .is_some_and(|digits| digits.len() <= 3 && digits.bytes().all(|b| b == b'0')),
        None => false,
    }
}

/// Answers `request` from the cache when it is a cacheable page, calling `render` (the rest of
/// the stack) on a miss and keeping what it renders; anything else goes straight to `render`.
pub async fn serve<F, Fut>(cache: &PageCache, request: Request, render: F) -> Response
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    match cacheable(&request) {
        None => return render(request).await,
        Some(Visitor::Session(token)) => {
            return serve_customer(cache, request, &token, render).await;
        }
        Some(Visitor::Anonymous) => {}
    }
    let Ok(Some(generation)) = cache.store.catalog().generation().await else {
        return render(request).await;
    };
    let key = format!(
        "{generation}|{}?{}",
        request.uri().path(),
        request.uri().query().unwrap_or("")
    );
    let gzip = accepts_gzip(request.headers());
    if let Some(page) = cache.pages.get(&key) {
        metrics::counter!("gamestore_page_cache_total", "result" => "hit").increment(1);
        return page.respond(gzip, "public", &[]);
    }
    metrics::counter!("gamestore_page_cache_total", "result" => "miss").increment(1);
    // Rendered uncompressed: the cache keeps the HTML and compresses it once.
    let mut request = request;
    request.headers_mut().remove(header::ACCEPT_ENCODING);
    let response = render(request).await;
    match Page::from_response(response, &[]).await {
        Ok(page) => {
            let page = Arc::new(page);
            cache.pages.insert(key, page.clone());
            page.respond(gzip, "public", &[])
        }
        Err(passed) => passed,
    }
}

/// A logged-in visitor's catalog or item page: from the customers' shared copy when they are
/// a customer whose values can be put in it; otherwise rendered for them (with what was
/// already looked up given to the render, so it does not look it up again).
async fn serve_customer<F, Fut>(
    cache: &PageCache,
    mut request: Request,
    token: &str,
    render: F,
) -> Response
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let store = &cache.store;
    let caller = match store.accounts().authenticate(token).await {
        Ok(user) => Some(user),
        Err(store::Error::Unauthenticated) => None,
        // The render meets the same failure and answers it as it always does.
        Err(_) => return rendered_for_one(render(request).await),
    };
    request
        .extensions_mut()
        .insert(edge::Caller(caller.clone()));
    let Some(user) = caller.filter(|u| u.user.role == api_types::Role::Customer) else {
        return rendered_for_one(render(request).await);
    };
    let Ok(lines) = store.carts().line_count(&user).await else {
        return rendered_for_one(render(request).await);
    };
    request.extensions_mut().insert(app::KnownCartLines(lines));
    let Some(customer) = Customer::of(&user.user, lines) else {
        return rendered_for_one(render(request).await);
    };
    // An item page also shows whether they wished for it: one copy for each answer.
    let (page, wish) = match item_id(request.uri().path()) {
        None => (format!("/?{}", request.uri().query().unwrap_or("")), None),
        Some(id) => {
            // A bundle's page shows which of its items they own, and its price for them: theirs
            // alone. (An unknown item is a 404, answered by the render.) The render says so
            // too, should the item have become a bundle since this replica's catalog was read.
            let bundle = store
                .catalog()
                .get_entry(id)
                .await
                .map(|entry| entry.item.is_bundle());
            if !matches!(bundle, Ok(false)) {
                return rendered_for_one(render(request).await);
            }
            let Ok(wished) = store.wishlists().contains(&user, &[id]).await else {
                return rendered_for_one(render(request).await);
            };
            let wish = app::KnownWish {
                item_id: id,
                wished: !wished.is_empty(),
            };
            request.extensions_mut().insert(wish);
            (format!("/items/{id}|wished:{}", wish.wished), Some(wish))
        }
    };
    let Ok(Some(generation)) = store.catalog().generation().await else {
        return rendered_for_one(render(request).await);
    };
    let key = format!(
        "{generation}|customer:{}|{page}",
        if lines == 1 { "one" } else { "many" },
    );
    let gzip = accepts_gzip(request.headers());
    if let Some(page) = cache.pages.get(&key) {
        metrics::counter!("gamestore_page_cache_total", "result" => "customer_hit").increment(1);
        return private(page.respond(gzip, "shared", &customer.values()));
    }
    if cache.unshared.contains_key(&key) {
        return rendered_for_one(render(request).await);
    }
    metrics::counter!("gamestore_page_cache_total", "result" => "customer_miss").increment(1);
    // The shared copy is rendered for the placeholder from the bare request (its method, URL
    // and host): nothing the visitor sent (a cookie, an encoding, a body's length) can change
    // it or make it fail.
    let (placeholder, as_user, as_lines) = Customer::placeholder(lines == 1);
    let (parts, _) = request.into_parts();
    let mut bare = parts.clone();
    bare.headers = HeaderMap::new();
    if let Some(host) = parts.headers.get(header::HOST) {
        bare.headers.insert(header::HOST, host.clone());
    }
    let mut shared = Request::from_parts(bare, Body::empty());
    shared.extensions_mut().insert(edge::Caller(Some(as_user)));
    shared
        .extensions_mut()
        .insert(app::KnownCartLines(as_lines));
    if let Some(wish) = wish {
        shared.extensions_mut().insert(wish);
    }
    let needles = placeholder.needles();
    let kept = match Page::from_response(render(shared).await, &needles).await {
        Ok(page) if page.holes.contains(&1) => Some(page),
        _ => None,
    };
    match kept {
        Some(page) => {
            let page = Arc::new(page);
            cache.pages.insert(key, page.clone());
            private(page.respond(gzip, "shared", &customer.values()))
        }
        // Not a page that can be shared (an error, say): the visitor's own render.
        None => {
            cache.unshared.insert(key, ());
            rendered_for_one(render(Request::from_parts(parts, Body::empty())).await)
        }
    }
}

/// A logged-in visitor's page rendered for them alone (an operator's, a bundle's, one the
/// shared copy could not stand for): like any page made for a session, nobody may keep it, the
/// browser included (`docs/security.md`). An attacker's pass found these said `no-cache`.
fn rendered_for_one(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

/// A page made for one visitor at a URL others share: no shared cache may keep it. (Its
/// `x-page-cache` says `shared` whether the copy was there or just made, see [`HEADER`].)
fn private(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}

/// A customer's own values in their catalog page, as they appear there (the same text in the
/// HTML and in the JSON it is hydrated from).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Customer {
    username: String,
    id: String,
    user_id: String,
    created_at: String,
    /// The cart's line count; `None` for one line, which has a copy of its own.
    lines: Option<String>,
}

impl Customer {
    /// `user`'s values, when every one of them is made of characters that need no escaping
    /// anywhere in a page (HTML text and attributes, JSON strings, script).
    fn of(user: &api_types::User, lines: u64) -> Option<Self> {
        let created_at = serde_json::to_string(&user.created_at).ok()?;
        let customer = Self {
            username: user.username.clone(),
            id: user.id.to_string(),
            user_id: user.user_id.to_string(),
            created_at: created_at.trim_matches('"').to_owned(),
            lines: (lines != 1).then(|| lines.to_string()),
        };
        let plain = |value: &str, extra: &[u8]| {
            !value.is_empty()
                && value.len() <= 64
                && value
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
        };
        (plain(&customer.username, b"_-")
            && plain(&customer.id, b"-")
            && plain(&customer.user_id, b"-")
            && plain(&customer.created_at, b"-:.+TZ"))
        .then_some(customer)
    }

    /// A customer that does not exist, whose every value is random, and the user and line
    /// count the shared copy is rendered with.
    fn placeholder(one_line: bool) -> (Self, store::accounts::CurrentUser, u64) {
        let mut rng = rand::thread_rng();
        let username: String = (0..24)
            .map(|_| char::from(b'a' + rand::Rng::gen_range(&mut rng, 0..26u8)))
            .collect();
        let seconds = rand::Rng::gen_range(&mut rng, 1_000_000_000..4_000_000_000i64);
        let nanos = rand::Rng::gen_range(&mut rng, 100_000_001..999_999_999u32);
        let created_at = chrono::DateTime::from_timestamp(seconds, nanos).unwrap_or_default();
        let lines = if one_line {
            1
        } else {
            rand::Rng::gen_range(&mut rng, 100_000_000_000..1_000_000_000_000u64)
        };
        let user = api_types::User {
            id: uuid::Uuid::new_v4(),
            user_id: uuid::Uuid::new_v4(),
            username,
            role: api_types::Role::Customer,
            created_at,
        };
        let customer = Self::of(&user, lines).expect("placeholder values are plain");
        let current = store::accounts::CurrentUser {
            user,
            session_id: String::new(),
        };
        (customer, current, lines)
    }

    /// The values a response is made with after its nonce, in the order of [`Self::needles`].
    fn values(&self) -> Vec<&[u8]> {
        let mut values = vec![
            self.username.as_bytes(),
            self.id.as_bytes(),
            self.user_id.as_bytes(),
            self.created_at.as_bytes(),
        ];
        if let Some(lines) = &self.lines {
            values.push(lines.as_bytes());
        }
        values
    }

    /// The placeholder's values, to cut its page at.
    fn needles(&self) -> Vec<Vec<u8>> {
        self.values().into_iter().map(<[u8]>::to_vec).collect()
    }
}

fn nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Cuts `haystack` at every occurrence of each of `needles` (none of them empty, none
/// overlapping another), and says which needle each cut was.
fn cut<'a>(haystack: &'a [u8], needles: &[&[u8]]) -> (Vec<&'a [u8]>, Vec<u8>) {
    let mut found: Vec<(usize, u8)> = Vec::new();
    for (index, needle) in (0u8..).zip(needles) {
        let mut from = 0;
        while let Some(at) = memchr::memmem::find(&haystack[from..], needle) {
            found.push((from + at, index));
            from += at + needle.len();
        }
    }
    found.sort_unstable();
    let (mut pieces, mut holes, mut from) = (Vec::new(), Vec::new(), 0);
    for (at, index) in found {
        if at < from {
            continue;
        }
        pieces.push(&haystack[from..at]);
        holes.push(index);
        from = at + needles[usize::from(index)].len();
    }
    pieces.push(&haystack[from..]);
    (pieces, holes)
}

/// Raw deflate of one piece with no reference outside it, ending byte-aligned and not final.
fn deflate_piece(piece: &[u8]) -> std::io::Result<Bytes> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(piece)?;
    encoder.flush()?;
    Ok(Bytes::copy_from_slice(encoder.get_ref()))
}

/// A stored (uncompressed) deflate block holding `data`, not final (`data` is ≤ 64 KiB).
fn stored_block(out: &mut BytesMut, data: &[u8]) {
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    out.put_u8(0x00);
    out.put_u16_le(len);
    out.put_u16_le(!len);
    out.put_slice(&data[..usize::from(len)]);
}

/// Reads `body` whole when it is at most `limit` bytes. A longer one is given back as a body
/// with the same bytes (what was read, then the rest); `Err(None)` when it cannot be read.
async fn read_up_to(mut body: Body, limit: usize) -> Result<Bytes, Option<Body>> {
    let mut read = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            tracing::warn!(error = %e, "a page could not be read for the page cache");
            None
        })?;
        if let Ok(data) = frame.into_data() {
            read.extend_from_slice(&data);
            if read.len() > limit {
                let head = read.freeze();
                let rest = body.into_data_stream();
                let whole =
                    futures::stream::once(async move { Ok::<_, axum::Error>(head) }).chain(rest);
                return Err(Some(Body::from_stream(whole)));
            }
        }
    }
    Ok(read.freeze())
}

impl Page {
    /// Keeps a rendered page when it may be shared, cut at its nonce and at each of `values`
    /// (a placeholder customer's); otherwise gives the response back whole.
    async fn from_response(response: Response, values: &[Vec<u8>]) -> Result<Self, Response> {
        let headers = response.headers();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let html = content_type.starts_with("text/html");
        let json = content_type.starts_with("application/json");
        // A render that says its page is the visitor's own (`Cache-Control: private`, as a
        // bundle's page for a customer does) is never kept.
        let personal = headers
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("private") || v.contains("no-store"));
        let shareable = response.status() == StatusCode::OK
            && !headers.contains_key(header::SET_COOKIE)
            && !headers.contains_key(header::CONTENT_ENCODING)
            && !personal
            && (html || json);
        let csp = headers
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let old_nonce = csp.as_deref().and_then(|csp| {
            let start = csp.find("'nonce-")? + "'nonce-".len();
            let len = csp[start..].find('\'')?;
            Some(csp[start..start + len].to_owned())
        });
        if !shareable || (!html && !values.is_empty()) {
            return Err(response);
        }
        // HTML is kept only with its nonce CSP (so each copy gets a nonce of its own); JSON has
        // neither and is kept whole.
        let (csp, old_nonce) = match (html, csp, old_nonce) {
            (true, Some(csp), Some(nonce)) if nonce.len() >= 16 => (Some(csp), Some(nonce)),
            (false, _, _) => (None, None),
            _ => return Err(response),
        };
        let kept: Vec<(HeaderName, HeaderValue)> = KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = headers.get(*name)?.clone();
                Some((HeaderName::from_static(name), value))
            })
            .collect();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static("text/html; charset=utf-8"));
        let (parts, body) = response.into_parts();
        let body = match read_up_to(body, MAX_PAGE).await {
            Ok(body) => body,
            // Too large to keep: answered as it is.
            Err(Some(whole)) => return Err(Response::from_parts(parts, whole)),
            Err(None) => return Err((StatusCode::INTERNAL_SERVER_ERROR, "").into_response()),
        };
        let (pieces, holes) = match &old_nonce {
            Some(nonce) => {
                let mut needles: Vec<&[u8]> = vec![nonce.as_bytes()];
                needles.extend(values.iter().map(Vec::as_slice));
                let (pieces, holes) = cut(&body, &needles);
                (
                    pieces.into_iter().map(Bytes::copy_from_slice).collect(),
                    holes,
                )
            }
            None => (vec![body.clone()], Vec::new()),
        };
        let deflated = pieces
            .iter()
            .map(|p| deflate_piece(p))
            .collect::<std::io::Result<Vec<_>>>();
        let Ok(deflated) = deflated else {
            return Err(Response::from_parts(parts, Body::from(body)));
        };
        let mut page = Self {
            pieces,
            holes,
            deflated,
            csp: match (&csp, &old_nonce) {
                (Some(csp), Some(nonce)) => csp.split(nonce.as_str()).map(str::to_owned).collect(),
                _ => Vec::new(),
            },
            content_type,
            length: body.len(),
            kept,
            fixed_gzip: None,
        };
        if page.csp.is_empty() {
            page.fixed_gzip = Some(page.gzip(&[]));
        }
        Ok(page)
    }

    /// The page with a nonce of its own and `values` put in its other holes (a customer's,
    /// [`Customer::values`]), gzipped when the client takes it.
    fn respond(&self, gzip: bool, how: &'static str, values: &[&[u8]]) -> Response {
        let nonce = if self.csp.is_empty() {
            String::new()
        } else {
            nonce()
        };
        let mut all: Vec<&[u8]> = vec![nonce.as_bytes()];
        all.extend_from_slice(values);
        let body = match (&self.fixed_gzip, gzip) {
            (Some(whole), true) => whole.clone(),
            (Some(_), false) => self.pieces.first().cloned().unwrap_or_default(),
            (None, true) => self.gzip(&all),
            (None, false) => self.join(&all),
        };
        let mut response = Response::new(Body::from(body));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, self.content_type.clone());
        if !self.csp.is_empty()
            && let Ok(csp) = HeaderValue::from_str(&self.csp.join(&nonce))
        {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        for (name, value) in &self.kept {
            headers.insert(name.clone(), value.clone());
        }
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        headers.insert(HEADER, HeaderValue::from_static(how));
        if gzip {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }

    /// What goes in hole `i`: one of `values` (an index out of them is left empty, which
    /// cannot happen for a page kept with as many values as it is answered with).
    fn fill<'v>(&self, i: usize, values: &[&'v [u8]]) -> &'v [u8] {
        values
            .get(usize::from(self.holes[i]))
            .copied()
            .unwrap_or_default()
    }

    fn join(&self, values: &[&[u8]]) -> Bytes {
        let extra: usize = (0..self.holes.len())
            .map(|i| self.fill(i, values).len())
            .sum();
        let mut out = BytesMut::with_capacity(self.length + extra);
        for (i, piece) in self.pieces.iter().enumerate() {
            if i > 0 {
                out.put_slice(self.fill(i - 1, values));
            }
            out.put_slice(piece);
        }
        out.freeze()
    }

    /// A gzip member: the precompressed pieces with the values between them in stored blocks,
    /// an empty final block, and the CRC and length of the whole page.
    fn gzip(&self, values: &[&[u8]]) -> Bytes {
        let size: usize = self.deflated.iter().map(Bytes::len).sum();
        let extra: usize = (0..self.holes.len())
            .map(|i| self.fill(i, values).len() + 5)
            .sum();
        let mut out = BytesMut::with_capacity(size + 32 + extra);
        out.put_slice(&[0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
        let mut crc = crc32fast::Hasher::new();
        let mut total: u32 = 0;
        for (i, (piece, deflated)) in self.pieces.iter().zip(&self.deflated).enumerate() {
            if i > 0 {
                let value = self.fill(i - 1, values);
                stored_block(&mut out, value);
                crc.update(value);
                total = total.wrapping_add(value.len() as u32);
            }
            out.put_slice(deflated);
            crc.update(piece);
            total = total.wrapping_add(piece.len() as u32);
        }
        out.put_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
        out.put_u32_le(crc.finalize());
        out.put_u32_le(total);
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn a_coding_is_taken_by_its_own_entry_else_by_the_wildcard() {
        let takes = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                value.parse().expect("header value"),
            );
            accepts(&headers, "gzip")
        };
        for yes in [
            "gzip",
            "GZIP",
            "br, gzip;q=0.5",
            "*",
            "br;q=0, *",
            "gzip;q=0.001",
            "gzip;q=1",
        ] {
            assert!(takes(yes), "{yes}");
        }
        for no in [
            "",
            "br",
            "identity",
            "gzip;q=0",
            "gzip;Q=0",
            "gzip; q=0.",
            "gzip;q=0.000",
            "gzip;q=0, *",
            "*, gzip;q=0",
            "*;q=0",
            "br, *;q=0",
        ] {
            assert!(!takes(no), "{no}");
        }
        assert!(!accepts(&HeaderMap::new(), "gzip"));
    }

    #[tokio::test]
    async fn answers_too_large_to_keep_are_given_back_whole() {
        let big = "x".repeat(MAX_PAGE + 1);
        let response = ([(header::CONTENT_TYPE, "application/json")], big.clone()).into_response();
        let Err(passed) = Page::from_response(response, &[]).await else {
            panic!("a page over the limit was kept");
        };
        assert_eq!(passed.status(), StatusCode::OK);
        let body = axum::body::to_bytes(passed.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(body, big.as_bytes());
    }

    fn page(html: &str, nonce: &str) -> Page {
        let (pieces, holes) = cut(html.as_bytes(), &[nonce.as_bytes()]);
        let pieces: Vec<Bytes> = pieces.into_iter().map(Bytes::copy_from_slice).collect();
        let deflated = pieces
            .iter()
            .map(|p| deflate_piece(p).expect("deflate"))
            .collect();
        Page {
            pieces,
            holes,
            deflated,
            csp: format!("script-src 'nonce-{nonce}'")
                .split(nonce)
                .map(str::to_owned)
                .collect(),
            content_type: HeaderValue::from_static("text/html"),
            length: html.len(),
            kept: Vec::new(),
            fixed_gzip: None,
        }
    }

    #[test]
    fn a_page_is_joined_around_a_new_nonce_plain_and_gzipped() {
        let old = "OLDNONCEOLDNONCEOLDNON";
        let html = format!(
            "<html><head><script nonce=\"{old}\">a()</script></head><body>{}<script nonce=\"{old}\" src=x></script></body></html>",
            "<p>catalog</p>".repeat(500)
        );
        let page = page(&html, old);
        assert_eq!(page.pieces.len(), 3);
        let fresh = "FRESHNONCEFRESHNONCEFR";
        let expected = html.replace(old, fresh);
        assert_eq!(&page.join(&[fresh.as_bytes()])[..], expected.as_bytes());
        let gz = page.gzip(&[fresh.as_bytes()]);
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut unzipped)
            .expect("a valid gzip member");
        assert_eq!(unzipped, expected);
        assert!(
            gz.len() < expected.len() / 4,
            "still compressed: {} bytes",
            gz.len()
        );
        assert_eq!(page.csp.join(fresh), format!("script-src 'nonce-{fresh}'"));
    }

    #[test]
    fn a_page_without_its_nonce_in_the_body_is_one_piece() {
        let page = page("<p>no scripts</p>", "NONCENONCENONCENONCE12");
        assert_eq!(page.pieces.len(), 1);
        let mut out = String::new();
        flate2::read::GzDecoder::new(&page.gzip(&[b"x"])[..])
            .read_to_string(&mut out)
            .expect("gzip");
        assert_eq!(out, "<p>no scripts</p>");
    }

    #[test]
    fn a_page_is_cut_at_each_value_and_filled_in_order() {
        let html = b"<a>NAME</a><script nonce=\"NONCE\">{\"u\":\"NAME\",\"n\":42}</script>";
        let (pieces, holes) = cut(html, &[b"NONCE", b"NAME", b"42"]);
        assert_eq!(holes, [1, 0, 1, 2]);
        assert_eq!(pieces.len(), 5);
        let pieces: Vec<Bytes> = pieces.into_iter().map(Bytes::copy_from_slice).collect();
        let deflated = pieces
            .iter()
            .map(|p| deflate_piece(p).expect("deflate"))
            .collect();
        let page = Page {
            pieces,
            holes,
            deflated,
            csp: Vec::new(),
            content_type: HeaderValue::from_static("text/html"),
            length: html.len(),
            kept: Vec::new(),
            fixed_gzip: None,
        };
        let values: [&[u8]; 3] = [b"fresh", b"bob", b"7"];
        let expected = r#"<a>bob</a><script nonce="fresh">{"u":"bob","n":7}</script>"#;
        assert_eq!(&page.join(&values)[..], expected.as_bytes());
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(&page.gzip(&values)[..])
            .read_to_string(&mut unzipped)
            .expect("gzip");
        assert_eq!(unzipped, expected);
    }

    #[test]
    fn only_values_that_need_no_escaping_are_put_in_a_page() {
        let user = |username: &str| api_types::User {
            id: uuid::Uuid::new_v4(),
            user_id: uuid::Uuid::new_v4(),
            username: username.to_owned(),
            role: api_types::Role::Customer,
            created_at: chrono::Utc::now(),
        };
        let plain = Customer::of(&user("bob_the-3rd"), 2).expect("a plain username");
        assert_eq!(plain.lines.as_deref(), Some("2"));
        assert_eq!(Customer::of(&user("bob"), 1).expect("plain").lines, None);
        for unsafe_name in ["<b>", "a\"b", "Bob", "a&b", "a'b", "", "é"] {
            assert!(
                Customer::of(&user(unsafe_name), 0).is_none(),
                "{unsafe_name}"
            );
        }
        let (placeholder, _, lines) = Customer::placeholder(false);
        assert!(lines >= 100_000_000_000);
        assert_eq!(placeholder.needles().len(), 5);
        let (one, _, lines) = Customer::placeholder(true);
        assert_eq!((one.needles().len(), lines), (4, 1));
    }

    #[test]
    fn gzip_is_negotiated_by_name_and_quality() {
        let with = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).expect("ascii"),
            );
            accepts_gzip(&h)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, gzip;q=0.8"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
