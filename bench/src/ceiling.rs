//! The ceiling: the least an axum server can do to answer the same request, namely return the
//! same bytes (and the same catalog headers) from memory. The store's figure divided by this
//! one says how much of the hardware's HTTP capacity our own work costs, and stays meaningful
//! on a noisy machine because both are measured in the same run, on the same cores.

use axum::Router;
use axum::http::{HeaderMap, HeaderName};
use bytes::Bytes;
use tokio::net::TcpListener;

use crate::Result;
use crate::args::Args;

/// Headers copied from the source response so the two answers are the same size.
const COPIED: [&str; 4] = ["content-type", "x-total-count", "link", "cache-control"];

pub async fn command(args: &Args) -> Result<()> {
    let listen = args.required("listen")?;
    let source = args.required("source")?;
    let response = reqwest::get(source).await?.error_for_status()?;
    let mut headers = HeaderMap::new();
    for name in COPIED {
        if let Some(value) = response.headers().get(name) {
            headers.insert(HeaderName::from_static(name), value.clone());
        }
    }
    let body: Bytes = response.bytes().await?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    eprintln!(
        "ceiling: serving {} bytes from {source} on {listen}",
        body.len()
    );
    let app = Router::new().fallback(move || {
        let headers = headers.clone();
        let body = body.clone();
        async move { (headers, body) }
    });
    axum::serve(listener, app).await?;
    Ok(())
}
