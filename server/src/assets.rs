//! The WASM bundle, its JavaScript loader and the stylesheet, served from memory under names
//! that carry their content's hash (`/pkg/gamestore.<hash>.wasm`), so browsers may keep them
//! for a year (`Cache-Control: immutable`) and a new build is a new URL.
//!
//! Loaded once at start-up in production (`LEPTOS_ENV=PROD`) from the site's `pkg` directory:
//! the hash is over all three files, and the pages name them through Leptos's `output_name`
//! (the hydration loader builds `{output_name}.js` and `.wasm` from it, the shell the
//! stylesheet). Brotli and gzip copies come from the release build's `--precompress`
//! (`gamestore.wasm.br`, `.gz`); without them gzip is made on first request. The plain names
//! stay served, revalidated by `ETag`, for pages rendered before a deploy. In development the
//! files change under a running server, so they are served from disk as before.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sha2::{Digest as _, Sha256};

/// A year: hashed names never change content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The plain names: keep, but ask before each use.
const REVALIDATE: &str = "no-cache";

/// The bundle's files, kept in memory.
pub struct Assets {
    /// The name without extension, as built (`gamestore`).
    plain: String,
    /// The same with the content hash (`gamestore.3f2a…`).
    hashed: String,
    files: Vec<Asset>,
}

struct Asset {
    extension: &'static str,
    content_type: &'static str,
    etag: HeaderValue,
    raw: Bytes,
    brotli: Option<Bytes>,
    gzip: OnceLock<Bytes>,
}

const KINDS: [(&str, &str); 3] = [
    ("js", "text/javascript"),
    ("wasm", "application/wasm"),
    ("css", "text/css; charset=utf-8"),
];

impl Assets {
    /// Reads `{pkg_dir}/{name}.{js,wasm,css}` and their `.br`/`.gz` copies. `None` (with a
    /// warning) when a file is missing: the pages then name the plain files.
    pub fn load(pkg_dir: &Path, name: &str) -> Option<Self> {
        let mut hasher = Sha256::new();
        let mut files = Vec::with_capacity(KINDS.len());
        for (extension, content_type) in KINDS {
            let path = pkg_dir.join(format!("{name}.{extension}"));
            let raw = match std::fs::read(&path) {
                Ok(raw) => Bytes::from(raw),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "bundle file unreadable; serving the bundle under its plain names");
                    return None;
                }
            };
            hasher.update(extension.as_bytes());
            hasher.update((raw.len() as u64).to_le_bytes());
            hasher.update(&raw);
            let sibling = |suffix: &str| {
                std::fs::read(pkg_dir.join(format!("{name}.{extension}.{suffix}")))
                    .ok()
                    .map(Bytes::from)
            };
            let gzip = OnceLock::new();
            if let Some(gz) = sibling("gz") {
                let _ = gzip.set(gz);
            }
            files.push(Asset {
                extension,
                content_type,
                etag: HeaderValue::from_static("\"\""),
                raw,
                brotli: sibling("br"),
                gzip,
            });
        }
        let hash = hex::encode(&hasher.finalize()[..8]);
        for file in &mut files {
            file.etag = HeaderValue::try_from(format!("\"{hash}\""))
                .unwrap_or(HeaderValue::from_static("\"\""));
        }
        Some(Self {
            plain: name.to_owned(),
            hashed: format!("{name}.{hash}"),
            files,
        })
    }

    /// The name the pages use for the bundle (`gamestore.<hash>`).
    pub fn hashed_name(&self) -> &str {
        &self.hashed
    }

    /// `GET /pkg/{file}`.
    pub async fn serve(
        State(assets): State<Arc<Assets>>,
        UrlPath(file): UrlPath<String>,
        headers: HeaderMap,
    ) -> Response {
        let Some((stem, extension)) = file.rsplit_once('.') else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let cache = if stem == assets.hashed {
            IMMUTABLE
        } else if stem == assets.plain {
            REVALIDATE
        } else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let Some(asset) = assets.files.iter().find(|f| f.extension == extension) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        if cache == REVALIDATE
            && headers
                .get(header::IF_NONE_MATCH)
                .is_some_and(|tag| tag == asset.etag)
        {
            return (
                StatusCode::NOT_MODIFIED,
                [(header::ETAG, asset.etag.clone())],
            )
                .into_response();
        }
        let (body, coding) = if let Some(br) = asset
            .brotli
            .as_ref()
            .filter(|_| crate::page_cache::accepts(&headers, "br"))
        {
            (br.clone(), Some("br"))
        } else if crate::page_cache::accepts_gzip(&headers) {
            (asset.gzipped().clone(), Some("gzip"))
        } else {
            (asset.raw.clone(), None)
        };
        let mut response = Response::new(Body::from(body));
        let out = response.headers_mut();
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        out.insert(header::ETAG, asset.etag.clone());
        out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if let Some(coding) = coding {
            out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
        response
    }
}

impl Asset {
    fn gzipped(&self) -> &Bytes {
        self.gzip.get_or_init(|| {
            use std::io::Write as _;
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = encoder.write_all(&self.raw);
            Bytes::from(encoder.finish().unwrap_or_default())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(with_brotli: bool) -> (tempfile::TempDir, Arc<Assets>) {
        let dir = tempfile::tempdir().expect("temp dir");
        for (extension, _) in KINDS {
            std::fs::write(
                dir.path().join(format!("gamestore.{extension}")),
                format!("{extension} content {}", "x".repeat(200)),
            )
            .expect("write");
        }
        if with_brotli {
            std::fs::write(dir.path().join("gamestore.wasm.br"), b"pretend brotli").expect("br");
        }
        let assets = Assets::load(dir.path(), "gamestore").expect("loads");
        (dir, Arc::new(assets))
    }

    async fn get(assets: &Arc<Assets>, file: &str, headers: &[(&str, &str)]) -> Response {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                header::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        Assets::serve(State(assets.clone()), UrlPath(file.to_owned()), map).await
    }

    async fn body(response: Response) -> Bytes {
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
    }

    #[tokio::test]
    async fn hashed_names_are_immutable_and_negotiate_brotli_then_gzip() {
        let (_dir, assets) = bundle(true);
        let name = assets.hashed_name().to_owned();
        assert!(name.starts_with("gamestore.") && name.len() == "gamestore.".len() + 16);

        let wasm = get(
            &assets,
            &format!("{name}.wasm"),
            &[("accept-encoding", "gzip, br")],
        )
        .await;
        assert_eq!(wasm.status(), StatusCode::OK);
        assert_eq!(wasm.headers()[header::CACHE_CONTROL], IMMUTABLE);
        assert_eq!(wasm.headers()[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(wasm.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(body(wasm).await, &b"pretend brotli"[..]);

        // No brotli copy of the script: gzip, made from the file.
        let js = get(
            &assets,
            &format!("{name}.js"),
            &[("accept-encoding", "gzip, br")],
        )
        .await;
        assert_eq!(js.headers()[header::CONTENT_ENCODING], "gzip");
        let mut unzipped = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&body(js).await[..]),
            &mut unzipped,
        )
        .expect("gzip");
        assert!(unzipped.starts_with("js content"));

        let refused = get(
            &assets,
            &format!("{name}.css"),
            &[("accept-encoding", "br;q=0")],
        )
        .await;
        assert!(refused.headers().get(header::CONTENT_ENCODING).is_none());
        assert!(body(refused).await.starts_with(b"css content"));
    }

    #[tokio::test]
    async fn plain_names_revalidate_and_unknown_names_are_404() {
        let (_dir, assets) = bundle(false);
        let plain = get(&assets, "gamestore.js", &[]).await;
        assert_eq!(plain.headers()[header::CACHE_CONTROL], REVALIDATE);
        let etag = plain.headers()[header::ETAG]
            .to_str()
            .expect("etag")
            .to_owned();
        let again = get(&assets, "gamestore.js", &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        for unknown in [
            "gamestore.0000000000000000.js",
            "gamestore.exe",
            "other.js",
            "gamestore",
            "",
        ] {
            assert_eq!(
                get(&assets, unknown, &[]).await.status(),
                StatusCode::NOT_FOUND,
                "{unknown}"
            );
        }
    }

    #[test]
    fn a_changed_file_changes_the_name_and_a_missing_one_turns_hashing_off() {
        let (dir, assets) = bundle(false);
        std::fs::write(dir.path().join("gamestore.css"), "changed").expect("write");
        let changed = Assets::load(dir.path(), "gamestore").expect("loads");
        assert_ne!(changed.hashed_name(), assets.hashed_name());
        std::fs::remove_file(dir.path().join("gamestore.wasm")).expect("remove");
        assert!(Assets::load(dir.path(), "gamestore").is_none());
    }
}
