//! The public listener: the router over hyper's HTTP/1.1 connections, with the two bounds
//! `axum::serve` does not set. An attacker's pass held 300 connections open for minutes by
//! sending nothing, and 100 more each with ~380 KB of headers that never ended (about 55 MB):
//! the request timeout only starts once the headers are in, and nothing capped connections.
//!
//! - **Headers in time** (`HEADER_READ_TIMEOUT_SECS`, 30): a connection must finish sending a
//!   request's headers within it, counting from when the connection (or, kept alive, its
//!   previous response) is ready for one, so an idle or trickling connection is closed.
//! - **Connections at once** (`HTTP_MAX_CONNECTIONS`, 4096): past it the listener stops
//!   accepting, and new connections wait in the kernel's queue until one closes, so neither file
//!   descriptors nor buffers grow with what one client opens. A live socket leaves this count
//!   once upgraded; `WS_MAX_CONNECTIONS` bounds those.
//!
//! Shutdown is as before: when `signal` resolves, accepting stops, each connection finishes its
//! request in flight and closes, and `serve` returns when the last one has.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

/// What one connection may buffer while its request's head arrives (hyper's default is
/// ~400 KB): above the 64 KiB URI and the 100 headers a request may have, and small enough that
/// the connection cap bounds the total (4096 × 96 KiB ≈ 400 MB at the very worst).
const MAX_HEAD_BYTES: usize = 96 * 1024;

/// The listener's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// Serves `router` on `listener` until `signal` resolves and the open connections have closed.
/// Handlers see the peer's address as `ConnectInfo<SocketAddr>`, as with axum's `serve`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    // The signal drops the only receiver; every connection watches for that.
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        signal.await;
        drop(signal_rx);
    });
    // Each connection holds a receiver; `closed()` resolves when the last has finished.
    let (close_tx, close_rx) = watch::channel(());
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = signal_tx.closed() => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = signal_tx.closed() => break,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut request: axum::http::Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                request.map(Body::new)
            },
        ));
        let signal_tx = signal_tx.clone();
        let close_rx = close_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .max_buf_size(MAX_HEAD_BYTES);
            let mut connection = pin!(
                builder
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
            );
            let mut signalled = pin!(signal_tx.closed());
            let mut closing = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::trace!(error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    () = &mut signalled, if !closing => {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(permit);
            drop(close_rx);
        });
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
}
