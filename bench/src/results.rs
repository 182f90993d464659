//! What each scenario subcommand writes to `--out` and `report` reads back: one type per result
//! file, so the writer and the reader cannot disagree about a field's name or shape.

use serde::{Deserialize, Serialize};

/// Latency percentiles of one histogram, in milliseconds.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// CPU time over the measured window, as % of one core (`None`: the process could not be read).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuUsage {
    /// Every process on the machine, other users' included.
    pub machine_cpu_pct: Option<f64>,
    pub loadgen_cpu_pct: Option<f64>,
    pub server_cpu_pct: Option<f64>,
    /// Every PostgreSQL process, whoever it serves.
    pub postgres_cpu_pct: Option<f64>,
    /// Every Redis process, whoever it serves.
    pub redis_cpu_pct: Option<f64>,
}

/// `bench http`: one closed-loop load run against one URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpRun {
    pub url: String,
    /// The scenario's name in `scripts/bench` (`catalog_server`, `ssr_home`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub connections: usize,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub requests: u64,
    pub rps: f64,
    pub errors: u64,
    pub non_2xx: u64,
    pub reconnects: u64,
    pub bytes_per_response: u64,
    pub latency: LatencySummary,
    #[serde(flatten)]
    pub cpu: CpuUsage,
}

/// `bench pipeline`: buyers buying while this process plays the payment provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineRun {
    pub buyers: usize,
    /// The open-loop schedule's rate; `None` when each buyer buys as fast as it can.
    pub rate_limit_per_s: Option<f64>,
    pub item_id: i64,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub provider_delay_ms: u64,
    pub confirmed: u64,
    pub confirmed_per_s: f64,
    pub purchases: u64,
    pub purchase_errors: u64,
    pub first_purchase_error: Option<String>,
    pub confirmation_timeouts: u64,
    pub intents_received: u64,
    pub webhook_errors: u64,
    pub failed_messages: u64,
    /// Webhook sent → `purchase_success` on the buyer's socket.
    pub webhook_to_socket: LatencySummary,
    /// The same, one entry per second of the window.
    pub webhook_to_socket_per_second: Vec<SecondLatency>,
    /// The store's answer time to the webhook request.
    pub webhook_response: LatencySummary,
    /// `POST /api/purchases` → 202.
    pub purchase_response: LatencySummary,
    /// `POST /api/purchases` sent → confirmation on the socket.
    pub purchase_to_socket: LatencySummary,
    #[serde(flatten)]
    pub cpu: CpuUsage,
}

/// One second of a latency timeline, written compactly as `[count, p50_ms, p99_ms, max_ms]`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "(u64, f64, f64, f64)", into = "(u64, f64, f64, f64)")]
pub struct SecondLatency {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl From<(u64, f64, f64, f64)> for SecondLatency {
    fn from((count, p50_ms, p99_ms, max_ms): (u64, f64, f64, f64)) -> Self {
        Self {
            count,
            p50_ms,
            p99_ms,
            max_ms,
        }
    }
}

impl From<SecondLatency> for (u64, f64, f64, f64) {
    fn from(s: SecondLatency) -> Self {
        (s.count, s.p50_ms, s.p99_ms, s.max_ms)
    }
}

impl From<&LatencySummary> for SecondLatency {
    fn from(s: &LatencySummary) -> Self {
        Self {
            count: s.count,
            p50_ms: s.p50_ms,
            p99_ms: s.p99_ms,
            max_ms: s.max_ms,
        }
    }
}

/// `bench idle-ws`: the server's resident memory around thousands of idle sockets, in KiB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdleSockets {
    pub target_sockets: usize,
    pub sessions: usize,
    pub sockets_open_after_hold: u64,
    pub connect_failures: usize,
    pub first_connect_failure: Option<String>,
    pub connect_s: f64,
    pub hold_s: f64,
    pub rss_before_kb: u64,
    /// With the first tenth of the sockets open (the one-off costs paid).
    pub rss_warm_kb: u64,
    pub sockets_warm: u64,
    pub rss_open_kb: u64,
    pub rss_after_close_kb: u64,
    /// The marginal cost of the sockets opened after the warm tenth.
    pub kb_per_socket: f64,
}

/// `bench sizes`: the release bundle's files, raw and gzipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleSizes {
    pub wasm: FileSize,
    pub js: FileSize,
    /// A bundle without a stylesheet is a valid build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub css: Option<FileSize>,
    pub wasm_custom_sections: Vec<String>,
    /// No `name` or `.debug*` custom section in the WASM.
    pub release_build: bool,
}

impl BundleSizes {
    /// The files by extension, in the report's order.
    pub fn files(&self) -> impl Iterator<Item = (&'static str, &FileSize)> {
        [
            ("wasm", Some(&self.wasm)),
            ("js", Some(&self.js)),
            ("css", self.css.as_ref()),
        ]
        .into_iter()
        .filter_map(|(ext, size)| Some((ext, size?)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FileSize {
    pub raw_bytes: usize,
    /// At `gzip -9`, what a CDN would serve.
    pub gzip_bytes: usize,
}

/// `bench samples`: a handful of values the script measured itself (start-up times).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    pub name: String,
    pub unit: String,
    /// Sorted ascending.
    pub samples: Vec<f64>,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    use super::*;

    /// Reads a result as the earlier, untyped writers wrote it, and checks that writing it
    /// again gives the same fields, names and values.
    fn same_when_rewritten<T: Serialize + DeserializeOwned>(written: &str) -> T {
        let typed: T = serde_json::from_str(written).expect("reads as its type");
        let rewritten = serde_json::to_value(&typed).expect("serialises");
        let original: Value = serde_json::from_str(written).expect("valid JSON");
        assert_eq!(rewritten, original);
        typed
    }

    #[test]
    fn http_runs_keep_their_fields() {
        let run: HttpRun = same_when_rewritten(
            r#"{"bytes_per_response": 16171, "connections": 64, "duration_s": 3.0, "errors": 0,
            "label": "catalog_server", "latency": {"count": 42578, "max_ms": 26.815,
            "mean_ms": 4.499230776457324, "p50_ms": 3.979, "p90_ms": 8.199, "p999_ms": 21.775,
            "p99_ms": 13.367}, "loadgen_cpu_pct": 34.00111338912534,
            "machine_cpu_pct": 185.47383198674927, "non_2xx": 0,
            "postgres_cpu_pct": 0.6671720575062924, "reconnects": 0, "redis_cpu_pct": null,
            "requests": 42578, "rps": 14192.666666666666, "server_cpu_pct": 57.33535379297743,
            "url": "http://127.0.0.1:45405/api/items?per_page=50", "warmup_s": 1.0}"#,
        );
        assert_eq!(run.cpu.server_cpu_pct, Some(57.33535379297743));
        assert_eq!(run.cpu.redis_cpu_pct, None);

        let unlabelled = HttpRun { label: None, ..run };
        let value = serde_json::to_value(&unlabelled).expect("serialises");
        assert!(value.get("label").is_none());
    }

    #[test]
    fn pipeline_runs_keep_their_fields() {
        let run: PipelineRun = same_when_rewritten(
            r#"{"buyers": 16, "confirmation_timeouts": 0, "confirmed": 73,
            "confirmed_per_s": 24.333333333333332, "duration_s": 3.0, "failed_messages": 0,
            "first_purchase_error": null, "intents_received": 89, "item_id": 4,
            "loadgen_cpu_pct": 0.6666331374641737, "machine_cpu_pct": 27.026627976204683,
            "postgres_cpu_pct": 7.006903549386398, "provider_delay_ms": 0, "purchase_errors": 0,
            "purchase_response": {"count": 73, "max_ms": 59.711, "mean_ms": 34.99216438356166,
            "p50_ms": 35.231, "p90_ms": 50.143, "p999_ms": 59.711, "p99_ms": 59.711},
            "purchase_to_socket": {"count": 57, "max_ms": 113.919, "mean_ms": 66.94259649122806,
            "p50_ms": 64.415, "p90_ms": 98.687, "p999_ms": 113.919, "p99_ms": 113.919},
            "purchases": 89, "rate_limit_per_s": null, "redis_cpu_pct": 0.33366207378030466,
            "server_cpu_pct": 3.9998040176027456, "warmup_s": 1.0, "webhook_errors": 0,
            "webhook_response": {"count": 76, "max_ms": 96.703, "mean_ms": 41.0243157894737,
            "p50_ms": 38.399, "p90_ms": 64.607, "p999_ms": 96.703, "p99_ms": 96.703},
            "webhook_to_socket": {"count": 73, "max_ms": 3266.559, "mean_ms": 85.20476712328767,
            "p50_ms": 38.591, "p90_ms": 66.943, "p999_ms": 3266.559, "p99_ms": 3266.559},
            "webhook_to_socket_per_second": [[0, 0.0, 0.0, 0.0], [73, 38.591, 3266.559, 3266.559]]}"#,
        );
        assert_eq!(
            run.webhook_to_socket_per_second[1],
            SecondLatency {
                count: 73,
                p50_ms: 38.591,
                p99_ms: 3266.559,
                max_ms: 3266.559
            }
        );
    }

    #[test]
    fn idle_sockets_sizes_and_samples_keep_their_fields() {
        same_when_rewritten::<IdleSockets>(
            r#"{"connect_failures": 0, "connect_s": 1.278223881, "first_connect_failure": null,
            "hold_s": 2.0, "kb_per_socket": 10.466666666666667, "rss_after_close_kb": 54100,
            "rss_before_kb": 99664, "rss_open_kb": 60932, "rss_warm_kb": 51512, "sessions": 4,
            "sockets_open_after_hold": 1000, "sockets_warm": 100, "target_sockets": 1000}"#,
        );
        let sizes: BundleSizes = same_when_rewritten(
            r#"{"css": {"gzip_bytes": 6048, "raw_bytes": 22909},
            "js": {"gzip_bytes": 7621, "raw_bytes": 27339}, "release_build": true,
            "wasm": {"gzip_bytes": 466344, "raw_bytes": 1265893},
            "wasm_custom_sections": ["producers", "target_features"]}"#,
        );
        let order: Vec<_> = sizes.files().map(|(ext, _)| ext).collect();
        assert_eq!(order, ["wasm", "js", "css"]);
        same_when_rewritten::<BundleSizes>(
            r#"{"js": {"gzip_bytes": 7621, "raw_bytes": 27339}, "release_build": false,
            "wasm": {"gzip_bytes": 466344, "raw_bytes": 1265893},
            "wasm_custom_sections": ["name"]}"#,
        );
        same_when_rewritten::<Samples>(
            r#"{"max": 408.8, "median": 374.45000000000005, "min": 340.1,
            "name": "cold_start_postgres", "samples": [340.1, 408.8], "unit": "ms"}"#,
        );
    }
}
