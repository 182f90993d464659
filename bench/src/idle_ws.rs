//! Idle websockets: thousands of authenticated sockets held open (answering the server's pings)
//! while the server's resident memory is read before, during and after.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::Result;
use crate::args::Args;
use crate::procfs::rss_kb;
use crate::results::IdleSockets;
use crate::sessions::{Socket, Store};

/// Upgrades in flight at once: well below the listen backlog.
const CONNECT_CONCURRENCY: usize = 128;

pub async fn command(args: &Args) -> Result<()> {
    let store = Store::new(args.required("base")?, args.get("origin"))?;
    let pid = args.required("server-pid")?;
    let target: usize = args.parse_or("sockets", 10_000)?;
    let users: usize = args.parse_or("sessions", 4)?;
    let hold = Duration::from_secs_f64(args.parse_or("hold", 5.0)?);

    let sessions = store.customers(users.max(1)).await?;
    // Let the logins' allocations settle before the baseline.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = rss_kb(pid)?;

    let open = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let open_range = |range: std::ops::Range<usize>| {
        let store = store.clone();
        let sessions = sessions.clone();
        let open = open.clone();
        let stop_rx = stop_rx.clone();
        async move {
            futures::stream::iter(range)
                .map(|i| {
                    let store = store.clone();
                    let session = sessions[i % sessions.len()].clone();
                    let open = open.clone();
                    let stop = stop_rx.clone();
                    async move {
                        let socket = store.websocket(&session).await?;
                        open.fetch_add(1, Ordering::Relaxed);
                        tokio::spawn(hold_socket(socket, stop, open));
                        Ok(())
                    }
                })
                .buffer_unordered(CONNECT_CONCURRENCY)
                .collect::<Vec<Result<()>>>()
                .await
        }
    };
    // The first tenth pays one-off costs (runtime, allocator and hub growth); the figure per
    // socket is the marginal cost of the other nine tenths.
    let warm = (target / 10).max(1).min(target);
    let mut results = open_range(0..warm).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_warm = rss_kb(pid)?;
    let held_warm = open.load(Ordering::Relaxed);
    results.extend(open_range(warm..target).await);
    let connect_secs = started.elapsed().as_secs_f64();
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(ToString::to_string))
        .collect();
    eprintln!(
        "idle-ws: {} sockets open after {connect_secs:.1} s ({} failed); holding {hold:?}",
        open.load(Ordering::Relaxed),
        failures.len()
    );
    tokio::time::sleep(hold).await;
    let rss_open = rss_kb(pid)?;
    let held = open.load(Ordering::Relaxed);

    let _ = stop_tx.send(true);
    let closing = Instant::now();
    while open.load(Ordering::Relaxed) > 0 && closing.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_closed = rss_kb(pid)?;

    let marginal = held.saturating_sub(held_warm);
    let per_socket_kb = if marginal > 0 {
        (rss_open.saturating_sub(rss_warm)) as f64 / marginal as f64
    } else {
        0.0
    };
    let result = IdleSockets {
        target_sockets: target,
        sessions: sessions.len(),
        sockets_open_after_hold: held,
        connect_failures: failures.len(),
        first_connect_failure: failures.into_iter().next(),
        connect_s: connect_secs,
        hold_s: hold.as_secs_f64(),
        rss_before_kb: rss_before,
        rss_warm_kb: rss_warm,
        sockets_warm: held_warm,
        rss_open_kb: rss_open,
        rss_after_close_kb: rss_closed,
        kb_per_socket: per_socket_kb,
    };
    eprintln!(
        "idle-ws: RSS {rss_before} KB, {rss_warm} KB with {held_warm} sockets, {rss_open} KB with \
         {held} ({per_socket_kb:.1} KB per extra socket), {rss_closed} KB after closing"
    );
    crate::write_json(args, &result)?;
    if held < target as u64 {
        return Err(format!("only {held} of {target} sockets stayed open").into());
    }
    Ok(())
}

/// Keeps one socket alive: reading it answers the server's pings. Closes on `stop`.
async fn hold_socket(mut socket: Socket, mut stop: watch::Receiver<bool>, open: Arc<AtomicU64>) {
    loop {
        tokio::select! {
            message = socket.next() => match message {
                Some(Ok(_)) => {}
                _ => break,
            },
            _ = stop.changed() => {
                let _ = socket.close(None).await;
                break;
            }
        }
    }
    open.fetch_sub(1, Ordering::Relaxed);
}
