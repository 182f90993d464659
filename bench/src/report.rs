//! The run's report: every scenario's JSON gathered into one results file, and a table of the
//! figures beside their targets (SPEC §8, issue 7), printed and written as Markdown.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::Result;
use crate::args::Args;

/// One line of the table.
struct Row {
    scenario: String,
    measured: String,
    target: String,
    verdict: String,
    cpu: String,
}

/// A target: what was measured against what was asked.
struct Check {
    id: &'static str,
    scenario: String,
    measured: Option<f64>,
    unit: &'static str,
    bound: Bound,
}

enum Bound {
    AtLeast(f64),
    AtMost(f64),
}

impl Check {
    fn met(&self) -> Option<bool> {
        let m = self.measured?;
        Some(match self.bound {
            Bound::AtLeast(t) => m >= t,
            Bound::AtMost(t) => m <= t,
        })
    }

    fn target_text(&self) -> String {
        match self.bound {
            Bound::AtLeast(t) => format!("≥ {}", fmt_num(t, self.unit)),
            Bound::AtMost(t) => format!("≤ {}", fmt_num(t, self.unit)),
        }
    }

    fn json(&self) -> Value {
        let (kind, value) = match self.bound {
            Bound::AtLeast(t) => ("at_least", t),
            Bound::AtMost(t) => ("at_most", t),
        };
        json!({
            "id": self.id,
            "scenario": self.scenario,
            "measured": self.measured,
            "unit": self.unit,
            kind: value,
            "met": self.met(),
        })
    }
}

fn fmt_num(v: f64, unit: &str) -> String {
    let number = if v >= 1000.0 {
        let whole = v.round() as u64;
        let s = whole.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if unit.is_empty() {
        number
    } else {
        format!("{number} {unit}")
    }
}

fn read(dir: &Path, name: &str) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).ok()?;
    serde_json::from_str(&text).ok()
}

fn f(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

fn load_line(v: &Value) -> String {
    format!(
        "{} · p50 {} · p99 {}",
        fmt_num(f(v, "/rps").unwrap_or_default(), "req/s"),
        fmt_num(f(v, "/latency/p50_ms").unwrap_or_default(), "ms"),
        fmt_num(f(v, "/latency/p99_ms").unwrap_or_default(), "ms"),
    )
}

fn latency_line(v: &Value, key: &str) -> String {
    format!(
        "p50 {} · p99 {}",
        fmt_num(f(v, &format!("/{key}/p50_ms")).unwrap_or_default(), "ms"),
        fmt_num(f(v, &format!("/{key}/p99_ms")).unwrap_or_default(), "ms"),
    )
}

/// "server% / load%": how busy each side was (100% = one core), to tell which side limited.
fn cpu_note(v: &Value) -> String {
    let pct = |p: &str| f(v, p).map_or_else(|| "?".to_owned(), |x| format!("{x:.0}%"));
    if v.get("loadgen_cpu_pct").is_none() {
        return String::new();
    }
    let mut note = format!("{} / {}", pct("/server_cpu_pct"), pct("/loadgen_cpu_pct"));
    let mut ours = 0.0;
    for (name, key) in [
        ("", "/server_cpu_pct"),
        ("", "/loadgen_cpu_pct"),
        ("PostgreSQL", "/postgres_cpu_pct"),
        ("Redis", "/redis_cpu_pct"),
    ] {
        let x = f(v, key).unwrap_or_default();
        ours += x;
        if !name.is_empty() && x >= 1.0 {
            note.push_str(&format!(" · {name} {x:.0}%"));
        }
    }
    // Whatever else ran on the machine meanwhile (other users' builds and tests).
    if let Some(machine) = f(v, "/machine_cpu_pct") {
        note.push_str(&format!(" · other {:.0}%", (machine - ours).max(0.0)));
    }
    note
}

fn skipped(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{name}.skipped")))
        .map(|reason| format!("skipped: {}", reason.trim()))
        .unwrap_or_else(|_| "not run".to_owned())
}

pub fn command(args: &Args) -> Result<()> {
    let dir = Path::new(args.required("dir")?);
    let mut results = Map::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut checks: Vec<Check> = Vec::new();
    let info = |rows: &mut Vec<Row>, scenario: &str, measured: String, cpu: String| {
        rows.push(Row {
            scenario: scenario.to_owned(),
            measured,
            target: String::new(),
            verdict: String::new(),
            cpu,
        });
    };

    // 1. Catalog API against its ceiling.
    let server = read(dir, "catalog_server");
    let ceiling = read(dir, "catalog_ceiling");
    let connections = server
        .as_ref()
        .and_then(|s| s["connections"].as_u64())
        .unwrap_or(64);
    match &server {
        Some(s) => info(
            &mut rows,
            &format!("1 catalog GET /api/items?per_page=50, {connections} conns"),
            load_line(s),
            cpu_note(s),
        ),
        None => info(
            &mut rows,
            "1 catalog",
            skipped(dir, "catalog_server"),
            String::new(),
        ),
    }
    if let Some(c) = &ceiling {
        info(
            &mut rows,
            "1 ceiling: same bytes from memory (axum)",
            load_line(c),
            cpu_note(c),
        );
    }
    if let Some(s) = read(dir, "catalog_server_postgres") {
        info(
            &mut rows,
            "1 catalog on PostgreSQL + Redis (extra)",
            load_line(&s),
            cpu_note(&s),
        );
        results.insert("catalog_server_postgres".into(), s);
    }
    let ratio = match (&server, &ceiling) {
        (Some(s), Some(c)) => match (f(s, "/rps"), f(c, "/rps")) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        },
        _ => None,
    };
    checks.push(Check {
        id: "catalog_ratio",
        scenario: "1 catalog ÷ ceiling (req/s)".into(),
        measured: ratio,
        unit: "",
        bound: Bound::AtLeast(0.7),
    });
    checks.push(Check {
        id: "catalog_p99",
        scenario: "1 catalog p99".into(),
        measured: server.as_ref().and_then(|s| f(s, "/latency/p99_ms")),
        unit: "ms",
        bound: Bound::AtMost(10.0),
    });
    results.insert(
        "catalog".into(),
        json!({ "server": server, "ceiling": ceiling, "ratio": ratio }),
    );

    // 2. Server-rendered pages.
    let home = read(dir, "ssr_home");
    let item = read(dir, "ssr_item");
    let home_all = read(dir, "ssr_home_all_cores");
    if let Some(h) = &home {
        info(&mut rows, "2 SSR GET /", load_line(h), cpu_note(h));
    }
    if let Some(i) = &item {
        info(&mut rows, "2 SSR GET /items/1", load_line(i), cpu_note(i));
    }
    if let Some(h) = &home_all {
        info(
            &mut rows,
            "2 SSR GET /, server on all cores",
            load_line(h),
            cpu_note(h),
        );
    }
    // The target is for 2 cores: judged on the all-cores run when there is one.
    let (judged, on) = match &home_all {
        Some(h) => (Some(h), "all cores"),
        None => (home.as_ref(), "server's cores"),
    };
    checks.push(Check {
        id: "ssr_home_rps",
        scenario: format!("2 SSR / throughput ({on})"),
        measured: judged.and_then(|h| f(h, "/rps")),
        unit: "req/s",
        bound: Bound::AtLeast(3000.0),
    });
    checks.push(Check {
        id: "ssr_home_p99",
        scenario: format!("2 SSR / p99 ({on})"),
        measured: judged.and_then(|h| f(h, "/latency/p99_ms")),
        unit: "ms",
        bound: Bound::AtMost(50.0),
    });
    results.insert(
        "ssr".into(),
        json!({ "home": home, "item": item, "home_all_cores": home_all }),
    );

    // 3. Purchase pipeline: as fast as the buyers go, then (full runs) paced at the target rate.
    let pipeline = read(dir, "pipeline");
    let paced = read(dir, "pipeline_paced");
    for (run, name) in [(&pipeline, "pipeline"), (&paced, "pipeline_paced")] {
        let Some(p) = run else {
            if name == "pipeline" {
                info(&mut rows, "3 pipeline", skipped(dir, name), String::new());
            }
            continue;
        };
        let pace = match f(p, "/rate_limit_per_s") {
            Some(r) => format!("paced at {}", fmt_num(r, "/s")),
            None => "unpaced".to_owned(),
        };
        info(
            &mut rows,
            &format!(
                "3 pipeline, PostgreSQL + Redis, {} buyers, {pace}: confirmed",
                p["buyers"].as_u64().unwrap_or_default()
            ),
            format!(
                "{} · errors: purchase {}, webhook {}, timeouts {}",
                fmt_num(f(p, "/confirmed_per_s").unwrap_or_default(), "/s"),
                p["purchase_errors"],
                p["webhook_errors"],
                p["confirmation_timeouts"],
            ),
            cpu_note(p),
        );
        for (label, key) in [
            ("3   webhook sent → message on socket", "webhook_to_socket"),
            ("3   webhook sent → 2xx answer", "webhook_response"),
            ("3   POST /api/purchases → 202", "purchase_response"),
            (
                "3   POST /api/purchases → message on socket",
                "purchase_to_socket",
            ),
        ] {
            info(&mut rows, label, latency_line(p, key), String::new());
        }
        if let Some(seconds) = p["webhook_to_socket_per_second"].as_array() {
            let worst = |i: usize| {
                seconds
                    .iter()
                    .filter_map(|s| s.get(i).and_then(Value::as_f64))
                    .fold(0.0, f64::max)
            };
            info(
                &mut rows,
                "3   webhook → socket, worst second of the run",
                format!(
                    "p99 {} · max {}",
                    fmt_num(worst(2), "ms"),
                    fmt_num(worst(3), "ms")
                ),
                String::new(),
            );
        }
    }
    checks.push(Check {
        id: "pipeline_rate",
        scenario: "3 confirmed purchases/s (unpaced)".into(),
        measured: pipeline.as_ref().and_then(|p| f(p, "/confirmed_per_s")),
        unit: "/s",
        bound: Bound::AtLeast(500.0),
    });
    let latency_run = paced.as_ref().or(pipeline.as_ref());
    checks.push(Check {
        id: "pipeline_p99",
        scenario: format!(
            "3 webhook→socket p99 ({})",
            if paced.is_some() {
                "paced run"
            } else {
                "unpaced run"
            }
        ),
        measured: latency_run.and_then(|p| f(p, "/webhook_to_socket/p99_ms")),
        unit: "ms",
        bound: Bound::AtMost(25.0),
    });
    results.insert(
        "pipeline".into(),
        json!({ "unpaced": pipeline, "paced": paced }),
    );

    // 4. Idle websockets.
    let idle = read(dir, "idle_ws");
    match &idle {
        Some(w) => info(
            &mut rows,
            &format!(
                "4 idle websockets ({} open)",
                w["sockets_open_after_hold"].as_u64().unwrap_or_default()
            ),
            format!(
                "server RSS {} with {} sockets → {} with all ({} after closing; {} before any)",
                fmt_num(f(w, "/rss_warm_kb").unwrap_or_default(), "KB"),
                w["sockets_warm"].as_u64().unwrap_or_default(),
                fmt_num(f(w, "/rss_open_kb").unwrap_or_default(), "KB"),
                fmt_num(f(w, "/rss_after_close_kb").unwrap_or_default(), "KB"),
                fmt_num(f(w, "/rss_before_kb").unwrap_or_default(), "KB"),
            ),
            String::new(),
        ),
        None => info(
            &mut rows,
            "4 idle websockets",
            skipped(dir, "idle_ws"),
            String::new(),
        ),
    }
    checks.push(Check {
        id: "ws_memory",
        scenario: "4 memory per idle socket".into(),
        measured: idle.as_ref().and_then(|w| f(w, "/kb_per_socket")),
        unit: "KB",
        bound: Bound::AtMost(10.0),
    });
    results.insert("idle_websockets".into(), idle.unwrap_or(Value::Null));

    // 5. Front end and start-up.
    let sizes = read(dir, "sizes");
    if let Some(s) = &sizes {
        for ext in ["wasm", "js", "css"] {
            if let (Some(raw), Some(gz)) = (
                f(s, &format!("/{ext}/raw_bytes")),
                f(s, &format!("/{ext}/gzip_bytes")),
            ) {
                info(
                    &mut rows,
                    &format!("5 gamestore.{ext}"),
                    format!(
                        "{} raw · {} gzipped",
                        fmt_num(raw / 1024.0, "KB"),
                        fmt_num(gz / 1024.0, "KB")
                    ),
                    String::new(),
                );
            }
        }
    }
    checks.push(Check {
        id: "wasm_gzip",
        scenario: "5 WASM gzipped".into(),
        measured: sizes
            .as_ref()
            .and_then(|s| f(s, "/wasm/gzip_bytes"))
            .map(|b| b / 1024.0),
        unit: "KB",
        bound: Bound::AtMost(300.0),
    });
    let first = read(dir, "first_start_sqlite");
    if let Some(v) = &first {
        info(
            &mut rows,
            "5 first start, empty SQLite (migrate + seed)",
            fmt_num(f(v, "/median").unwrap_or_default(), "ms"),
            String::new(),
        );
    }
    let cold_sqlite = read(dir, "cold_start_sqlite");
    let cold_pg = read(dir, "cold_start_postgres");
    checks.push(Check {
        id: "cold_start_sqlite",
        scenario: "5 cold start → /readyz 200, migrated SQLite (median)".into(),
        measured: cold_sqlite.as_ref().and_then(|v| f(v, "/median")),
        unit: "ms",
        bound: Bound::AtMost(500.0),
    });
    if cold_pg.is_some() {
        checks.push(Check {
            id: "cold_start_postgres",
            scenario: "5 cold start → /readyz 200, migrated PostgreSQL + Redis (median)".into(),
            measured: cold_pg.as_ref().and_then(|v| f(v, "/median")),
            unit: "ms",
            bound: Bound::AtMost(500.0),
        });
    }
    results.insert(
        "frontend".into(),
        json!({
            "sizes": sizes,
            "first_start_sqlite": first,
            "cold_start_sqlite": cold_sqlite,
            "cold_start_postgres": cold_pg,
        }),
    );

    for check in &checks {
        rows.push(Row {
            scenario: check.scenario.clone(),
            measured: check
                .measured
                .map_or_else(|| "—".to_owned(), |m| fmt_num(m, check.unit)),
            target: check.target_text(),
            verdict: match check.met() {
                Some(true) => "met".into(),
                Some(false) => "MISSED".into(),
                None => "not measured".into(),
            },
            cpu: String::new(),
        });
    }

    let mode = args.get("mode").unwrap_or("full");
    let meta = json!({
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "commit": args.get("commit"),
        "worktree_dirty": args.get("dirty").map(|d| d == "true"),
        // With --skip-build the binaries may predate the commit above.
        "built_from_worktree": args.get("built").map(|b| b == "1"),
        "mode": mode,
        "label": args.get("label").filter(|l| !l.is_empty() && *l != "true"),
        "cores": args.parse_or("cores", std::thread::available_parallelism().map_or(1, usize::from))?,
        "core_split": args.get("split"),
        "cpu_model": cpu_model(),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned()),
        "loadavg_at_start": args.get("loadavg"),
        "loadavg_at_end": std::fs::read_to_string("/proc/loadavg").ok().map(|s| s.trim().to_owned()),
    });
    let mut document = meta.clone();
    document["targets"] = Value::Array(checks.iter().map(Check::json).collect());
    document["results"] = Value::Object(results);

    let out = args.required("out")?;
    std::fs::write(out, serde_json::to_vec_pretty(&document)?)
        .map_err(|e| format!("cannot write {out}: {e}"))?;

    let header = format!(
        "{}commit {} · {} · {} cores · {} · mode {mode}",
        meta["label"]
            .as_str()
            .map_or_else(String::new, |l| format!("[{l}] ")),
        meta["commit"].as_str().unwrap_or("?"),
        meta["date"].as_str().unwrap_or("?"),
        meta["cores"],
        meta["core_split"].as_str().unwrap_or("no pinning"),
    );
    println!("\n{header}\n{}", text_table(&rows));
    if let Some(md) = args.get("markdown") {
        std::fs::write(md, format!("{header}\n\n{}", markdown_table(&rows)))
            .map_err(|e| format!("cannot write {md}: {e}"))?;
    }
    println!("results: {out}");
    let missed = checks.iter().filter(|c| c.met() == Some(false)).count();
    if missed > 0 {
        println!("{missed} target(s) missed; see docs/benchmarks.md for why and what would fix it");
    }
    Ok(())
}

fn cpu_model() -> Option<String> {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
}

const HEADINGS: [&str; 5] = [
    "scenario",
    "measured",
    "target",
    "result",
    "CPU: server / load, % of a core",
];

fn cells(r: &Row) -> [&str; 5] {
    [&r.scenario, &r.measured, &r.target, &r.verdict, &r.cpu]
}

fn text_table(rows: &[Row]) -> String {
    let mut widths = HEADINGS.map(|h| h.chars().count());
    for r in rows {
        for (w, c) in widths.iter_mut().zip(cells(r)) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: [&str; 5]| {
        let mut out = String::new();
        for (c, w) in cols.iter().zip(widths) {
            out.push_str(c);
            out.push_str(&" ".repeat(w.saturating_sub(c.chars().count()) + 2));
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(HEADINGS);
    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 8));
    out.push('\n');
    for r in rows {
        out.push_str(&line(cells(r)));
    }
    out
}

fn markdown_table(rows: &[Row]) -> String {
    let mut out = format!("| {} |\n|---|---|---|---|---|\n", HEADINGS.join(" | "));
    for r in rows {
        out.push_str(&format!("| {} |\n", cells(r).join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(fmt_num(12345.6, "req/s"), "12,346 req/s");
        assert_eq!(fmt_num(1234.0, ""), "1,234");
        assert_eq!(fmt_num(123.4, "ms"), "123 ms");
        assert_eq!(fmt_num(12.34, "ms"), "12.3 ms");
        assert_eq!(fmt_num(0.714, ""), "0.71");
    }

    #[test]
    fn checks_compare_against_their_bound() {
        let mut c = Check {
            id: "x",
            scenario: "x".into(),
            measured: Some(0.8),
            unit: "",
            bound: Bound::AtLeast(0.7),
        };
        assert_eq!(c.met(), Some(true));
        c.bound = Bound::AtMost(0.7);
        assert_eq!(c.met(), Some(false));
        c.measured = None;
        assert_eq!(c.met(), None);
    }
}
