//! Closed-loop HTTP/1.1 load: a fixed number of keep-alive connections, each sending its next
//! request as soon as the previous response body has been read (the way `wrk` works without a
//! rate). Built directly on hyper's connection API so the generator costs far less per request
//! than the servers it measures.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::Result;
use crate::args::Args;
use crate::procfs::Meters;
use crate::results::HttpRun;
use crate::stats::Latency;

#[derive(Clone)]
pub struct Target {
    pub addr: String,
    pub host: String,
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Self> {
        let url = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        if url.scheme() != "http" {
            return Err(format!("{url}: only http:// is supported").into());
        }
        let host = url.host_str().ok_or("URL without a host")?.to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        Ok(Self {
            addr: format!("{host}:{port}"),
            host: format!("{host}:{port}"),
            path,
        })
    }
}

pub struct Spec {
    /// The URL as given, for the result.
    pub url: String,
    pub label: Option<String>,
    pub target: Target,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// A `Cookie` header for every request (a logged-in shopper's session).
    pub cookie: Option<String>,
}

#[derive(Default)]
struct ConnStats {
    latency: Latency,
    requests: u64,
    non_2xx: u64,
    errors: u64,
    reconnects: u64,
    bytes: u64,
}

impl ConnStats {
    fn merge(&mut self, other: &ConnStats) {
        self.latency.merge(&other.latency);
        self.requests += other.requests;
        self.non_2xx += other.non_2xx;
        self.errors += other.errors;
        self.reconnects += other.reconnects;
        self.bytes += other.bytes;
    }
}

/// `http`: one load run against one URL.
pub async fn command(args: &Args) -> Result<()> {
    let url = args.required("url")?;
    let spec = Spec {
        url: url.to_owned(),
        label: args.get("label").map(str::to_owned),
        target: Target::parse(url)?,
        connections: args.parse_or("connections", 64)?,
        warmup: Duration::from_secs_f64(args.parse_or("warmup", 2.0)?),
        duration: Duration::from_secs_f64(args.parse_or("duration", 10.0)?),
        cookie: None,
    };
    // `--logged-in BASE`: one fresh customer, registered through the API, makes every request.
    let spec = match args.get("logged-in") {
        Some(base) => {
            let store = crate::sessions::Store::new(base, None)?;
            let session = store.customers(1).await?.remove(0);
            Spec {
                cookie: Some(session.cookie()),
                ..spec
            }
        }
        None => spec,
    };
    let result = run(&spec, args.get("server-pid")).await?;
    eprintln!(
        "{url}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, errors {}, non-2xx {}",
        result.rps, result.latency.p50_ms, result.latency.p99_ms, result.errors, result.non_2xx,
    );
    crate::write_json(args, &result)
}

pub async fn run(spec: &Spec, server_pid: Option<&str>) -> Result<HttpRun> {
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let end = measure_from + spec.duration;
    let server_pid = server_pid.map(str::to_owned);
    let meters = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from).await;
        let meters = Meters::start(server_pid.as_deref());
        tokio::time::sleep_until(end).await;
        meters.usage()
    });
    let tasks: Vec<_> = (0..spec.connections)
        .map(|_| {
            tokio::spawn(connection(
                spec.target.clone(),
                spec.cookie.clone(),
                measure_from,
                end,
            ))
        })
        .collect();
    let mut total = ConnStats::default();
    for task in tasks {
        total.merge(&task.await?);
    }
    let cpu = meters.await?;
    let secs = spec.duration.as_secs_f64();
    if total.requests == 0 {
        return Err(format!(
            "no request to {}{} succeeded ({} errors)",
            spec.target.host, spec.target.path, total.errors
        )
        .into());
    }
    Ok(HttpRun {
        url: spec.url.clone(),
        label: spec.label.clone(),
        connections: spec.connections,
        warmup_s: spec.warmup.as_secs_f64(),
        duration_s: secs,
        requests: total.requests,
        rps: total.requests as f64 / secs,
        errors: total.errors,
        non_2xx: total.non_2xx,
        reconnects: total.reconnects,
        bytes_per_response: total.bytes / total.requests.max(1),
        latency: total.latency.summary(),
        cpu,
    })
}

/// One connection's loop; it reconnects after the server closes or an error, and only counts
/// requests that both started and finished inside the measured window.
async fn connection(
    target: Target,
    cookie: Option<String>,
    measure_from: Instant,
    end: Instant,
) -> ConnStats {
    let mut stats = ConnStats::default();
    let in_window = |t: Instant| t >= measure_from && t <= end;
    'connect: while Instant::now() < end {
        let stream = match TcpStream::connect(&target.addr).await {
            Ok(s) => s,
            Err(_) => {
                if in_window(Instant::now()) {
                    stats.errors += 1;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = match http1::handshake(TokioIo::new(stream)).await {
            Ok(pair) => pair,
            Err(_) => {
                stats.errors += 1;
                continue;
            }
        };
        tokio::spawn(conn);
        loop {
            if Instant::now() >= end {
                break 'connect;
            }
            if sender.ready().await.is_err() {
                // The server closed a kept-alive connection: open another one.
                stats.reconnects += 1;
                continue 'connect;
            }
            let mut builder = http::Request::get(target.path.as_str())
                .header(http::header::HOST, target.host.as_str())
                .header(http::header::ACCEPT, "*/*");
            if let Some(cookie) = &cookie {
                builder = builder.header(http::header::COOKIE, cookie.as_str());
            }
            let Ok(request) = builder.body(Empty::<Bytes>::new()) else {
                stats.errors += 1;
                break 'connect;
            };
            let started = Instant::now();
            let outcome = async {
                let response = sender.send_request(request).await?;
                let status = response.status();
                let mut body = response.into_body();
                let mut bytes = 0_u64;
                while let Some(frame) = body.frame().await {
                    if let Ok(data) = frame?.into_data() {
                        bytes += data.len() as u64;
                    }
                }
                Ok::<_, hyper::Error>((status, bytes))
            }
            .await;
            let finished = Instant::now();
            let counted = in_window(started) && in_window(finished);
            match outcome {
                Ok((status, bytes)) => {
                    if counted {
                        stats.requests += 1;
                        stats.bytes += bytes;
                        stats.latency.record(finished - started);
                        if !status.is_success() {
                            stats.non_2xx += 1;
                        }
                    }
                }
                Err(_) => {
                    if counted {
                        stats.errors += 1;
                    }
                    continue 'connect;
                }
            }
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        let t = Target::parse("http://127.0.0.1:8080/api/items?per_page=50").expect("valid");
        assert_eq!(t.addr, "127.0.0.1:8080");
        assert_eq!(t.path, "/api/items?per_page=50");
        let t = Target::parse("http://localhost/").expect("valid");
        assert_eq!(t.addr, "localhost:80");
        assert!(Target::parse("https://example.com/").is_err());
    }
}
