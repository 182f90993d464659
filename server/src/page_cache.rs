//! Rendered HTML of the anonymous catalog pages (`/` with its query, `/items/{id}`), kept in
//! memory and served without rendering, with a fresh CSP nonce in every response; and, the same
//! way, the catalog API's list (`GET /api/items` with its query), kept whole as JSON with its
//! paging headers (`X-Total-Count`, `Link`), so a cached catalog read skips routing and the
//! handler as well.
//!
//! - **What is cached**: a `GET` of one of those pages from a visitor without a session cookie,
//!   answered 200 as HTML with a nonce CSP and no `Set-Cookie`. Anything else passes through.
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
/// What marks a response as served from here, for tests and the benchmark.
pub const HEADER: &str = "x-page-cache";

/// One rendered page, cut at its nonce.
struct Page {
    /// The HTML between the nonce's occurrences (one more piece than occurrences).
    pieces: Vec<Bytes>,
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
        Self { store, pages }
    }
}

/// Whether a request asks for a page that may be served from the cache.
fn cacheable(request: &Request) -> bool {
    if request.method() != Method::GET {
        return false;
    }
    let path = request.uri().path();
    let page = path == "/"
        || path == "/api/items"
        || path == "/api/items/"
        || path.strip_prefix("/items/").is_some_and(|id| {
            !id.is_empty() && id.len() <= 18 && id.bytes().all(|b| b.is_ascii_digit())
        });
    if !page {
        return false;
    }
    let query = request.uri().query().unwrap_or("");
    if query.len() > MAX_QUERY || query.contains("__err") || query.contains("__path") {
        return false;
    }
    !request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|cookies| {
            cookies
                .split(';')
                .any(|c| c.trim_start().starts_with(edge::session::SESSION_COOKIE))
        })
}

pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    accepts(headers, "gzip")
}

/// Whether the client takes the content coding `coding` (named, or through `*`, and not
/// refused with `q=0`).
pub(crate) fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|offered| {
            let mut parts = offered.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
            });
            (name.eq_ignore_ascii_case(coding) || name == "*") && !refused
        })
}

/// Answers `request` from the cache when it is a cacheable page, calling `render` (the rest of
/// the stack) on a miss and keeping what it renders; anything else goes straight to `render`.
pub async fn serve<F, Fut>(cache: &PageCache, request: Request, render: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    if !cacheable(&request) {
        return render(request).await;
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
        return page.respond(gzip, "hit");
    }
    metrics::counter!("gamestore_page_cache_total", "result" => "miss").increment(1);
    // Rendered uncompressed: the cache keeps the HTML and compresses it once.
    let mut request = request;
    request.headers_mut().remove(header::ACCEPT_ENCODING);
    let response = render(request).await;
    match Page::from_response(response).await {
        Ok(page) => {
            let page = Arc::new(page);
            cache.pages.insert(key, page.clone());
            page.respond(gzip, "miss")
        }
        Err(passed) => passed,
    }
}

fn nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Cuts `haystack` at every occurrence of `needle`.
fn split_at<'a>(haystack: &'a [u8], needle: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = haystack;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        pieces.push(&rest[..at]);
        rest = &rest[at + needle.len()..];
    }
    pieces.push(rest);
    pieces
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
    /// Keeps a rendered page when it may be shared; otherwise gives the response back whole.
    async fn from_response(response: Response) -> Result<Self, Response> {
        let headers = response.headers();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let html = content_type.starts_with("text/html");
        let json = content_type.starts_with("application/json");
        let shareable = response.status() == StatusCode::OK
            && !headers.contains_key(header::SET_COOKIE)
            && !headers.contains_key(header::CONTENT_ENCODING)
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
        if !shareable {
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
        let pieces: Vec<Bytes> = match &old_nonce {
            Some(nonce) => split_at(&body, nonce.as_bytes())
                .into_iter()
                .map(Bytes::copy_from_slice)
                .collect(),
            None => vec![body.clone()],
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
            page.fixed_gzip = Some(page.gzip(b""));
        }
        Ok(page)
    }

    /// The page with a nonce of its own, gzipped when the client takes it.
    fn respond(&self, gzip: bool, how: &'static str) -> Response {
        let nonce = if self.csp.is_empty() {
            String::new()
        } else {
            nonce()
        };
        let body = match (&self.fixed_gzip, gzip) {
            (Some(whole), true) => whole.clone(),
            (Some(_), false) => self.pieces.first().cloned().unwrap_or_default(),
            (None, true) => self.gzip(nonce.as_bytes()),
            (None, false) => self.join(nonce.as_bytes()),
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

    fn join(&self, nonce: &[u8]) -> Bytes {
        let mut out = BytesMut::with_capacity(self.length + nonce.len() * self.pieces.len());
        for (i, piece) in self.pieces.iter().enumerate() {
            if i > 0 {
                out.put_slice(nonce);
            }
            out.put_slice(piece);
        }
        out.freeze()
    }

    /// A gzip member: the precompressed pieces with the nonce between them in stored blocks,
    /// an empty final block, and the CRC and length of the whole page.
    fn gzip(&self, nonce: &[u8]) -> Bytes {
        let size: usize = self.deflated.iter().map(Bytes::len).sum();
        let mut out = BytesMut::with_capacity(size + 32 + (nonce.len() + 5) * self.pieces.len());
        out.put_slice(&[0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
        let mut crc = crc32fast::Hasher::new();
        let mut total: u32 = 0;
        for (i, (piece, deflated)) in self.pieces.iter().zip(&self.deflated).enumerate() {
            if i > 0 {
                stored_block(&mut out, nonce);
                crc.update(nonce);
                total = total.wrapping_add(nonce.len() as u32);
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

    #[tokio::test]
    async fn answers_too_large_to_keep_are_given_back_whole() {
        let big = "x".repeat(MAX_PAGE + 1);
        let response = ([(header::CONTENT_TYPE, "application/json")], big.clone()).into_response();
        let Err(passed) = Page::from_response(response).await else {
            panic!("a page over the limit was kept");
        };
        assert_eq!(passed.status(), StatusCode::OK);
        let body = axum::body::to_bytes(passed.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(body, big.as_bytes());
    }

    fn page(html: &str, nonce: &str) -> Page {
        let pieces: Vec<Bytes> = split_at(html.as_bytes(), nonce.as_bytes())
            .into_iter()
            .map(Bytes::copy_from_slice)
            .collect();
        let deflated = pieces
            .iter()
            .map(|p| deflate_piece(p).expect("deflate"))
            .collect();
        Page {
            pieces,
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
        assert_eq!(&page.join(fresh.as_bytes())[..], expected.as_bytes());
        let gz = page.gzip(fresh.as_bytes());
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
        flate2::read::GzDecoder::new(&page.gzip(b"x")[..])
            .read_to_string(&mut out)
            .expect("gzip");
        assert_eq!(out, "<p>no scripts</p>");
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
