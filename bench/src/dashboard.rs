//! `bench dashboard`: how long the operator dashboard's figures take to compute, over 7, 30 and
//! 90 days, on a database the script filled with `server seed-orders` (1 million orders in a
//! full run). Queries run one at a time, as one operator's page loads do; the first of each
//! range is a warm-up.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::Result;
use crate::args::Args;
use crate::results::Samples;
use crate::stats::median;

pub async fn command(args: &Args) -> Result<()> {
    let base = args.required("base")?.trim_end_matches('/').to_owned();
    let username = args.required("username")?;
    let password = args.required("password")?;
    let queries: usize = args.parse_or("queries", 10)?;
    let dir = std::path::PathBuf::from(args.required("out-dir")?);
    let orders: u64 = args.parse_or("orders", 0)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let login = http
        .post(format!("{base}/api/users/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await?;
    if !login.status().is_success() {
        return Err(format!("operator login failed: {}", login.status()).into());
    }
    let cookie = login
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("gs_session="))
        .and_then(|rest| rest.split(';').next())
        .ok_or("no session cookie")?
        .to_owned();
    let today = chrono::Utc::now().date_naive();
    for days in [7u64, 30, 90] {
        let from = today - chrono::Days::new(days - 1);
        let url = format!("{base}/api/admin/stats?from={from}&to={today}");
        let mut samples = Vec::with_capacity(queries);
        let mut created = 0;
        for i in 0..=queries {
            let started = Instant::now();
            let response = http
                .get(&url)
                .header(reqwest::header::COOKIE, format!("gs_session={cookie}"))
                .send()
                .await?;
            if !response.status().is_success() {
                return Err(format!("GET {url}: {}", response.status()).into());
            }
            let body: serde_json::Value = response.json().await?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            created = body["orders_created"].as_u64().unwrap_or(0);
            if i > 0 {
                samples.push(ms);
            }
        }
        samples.sort_by(f64::total_cmp);
        let name = format!("dashboard_{days}d");
        let result = Samples {
            name: name.clone(),
            unit: "ms".to_owned(),
            median: median(&samples),
            min: samples.first().copied().unwrap_or(0.0),
            max: samples.last().copied().unwrap_or(0.0),
            samples,
        };
        eprintln!(
            "{name}: median {:.1} ms (max {:.1}) over {queries} queries; {created} orders in range of {orders} seeded",
            result.median, result.max
        );
        std::fs::write(
            dir.join(format!("{name}.json")),
            serde_json::to_vec_pretty(&result)?,
        )?;
    }
    Ok(())
}
