//! `bench`: the load generator and helpers behind `scripts/bench` (see `docs/benchmarks.md`).
//!
//! The script owns every process (it builds, starts, pins and stops the servers); this binary
//! only generates load, plays the payment provider, measures and reports. Each scenario
//! subcommand writes one JSON object to `--out`; `report` gathers them into the run's table and
//! results file.

mod args;
mod ceiling;
mod dashboard;
mod http_load;
mod idle_ws;
mod pipeline;
mod procfs;
mod report;
mod results;
mod sessions;
mod sizes;
mod stats;

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use args::Args;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T, E = Error> = std::result::Result<T, E>;

const USAGE: &str = "\
usage: bench <command> [--key value ...]

commands (times in seconds):
  http        --url U [--connections 64] [--warmup 2] [--duration 10] [--server-pid P]
              [--logged-in BASE] --out F
              --logged-in: as one customer registered at BASE (its session cookie on every request)
  ceiling     --listen ADDR --source URL        serve SOURCE's body from memory
  pipeline    --base U --provider-listen ADDR --secret whsec_... [--buyers 100] [--item 4]
              [--warmup 3] [--duration 20] [--rate PER_S] [--provider-delay-ms 0]
              [--server-pid P] --out F
  dashboard   --base U --username A --password P [--queries 10] [--orders N] --out-dir DIR
              times GET /api/admin/stats over 7, 30 and 90 days (dashboard_<n>d.json)
  idle-ws     --base U [--sockets 10000] [--sessions 4] [--hold 5] --server-pid P --out F
  sizes       --pkg DIR [--name gamestore] --out F
  samples     --name N --values \"1.2 3.4\" [--unit ms] --out F
  wait-ready  --url U [--since-ns EPOCH_NS] [--pid P] [--timeout 60]
              prints the ms since --since-ns; fails early if process P exits
  free-port   prints a free loopback TCP port
  gen-secret  prints a fresh whsec_ secret
  report      --dir RUN_DIR --out FILE.json [--markdown FILE.md] [--commit C] [--mode M]
              [--split S] [--cores N]
";

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let Some(command) = argv.next() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let args = match Args::parse(argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match runtime(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(&command, &args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One worker per core this process may run on (`taskset` narrows it), or `--threads`.
/// A single core gets the lighter current-thread scheduler.
fn runtime(args: &Args) -> Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = args.parse_or("threads", cores)?;
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    Ok(runtime)
}

async fn dispatch(command: &str, args: &Args) -> Result<()> {
    match command {
        "http" => http_load::command(args).await,
        "ceiling" => ceiling::command(args).await,
        "pipeline" => pipeline::command(args).await,
        "idle-ws" => idle_ws::command(args).await,
        "dashboard" => dashboard::command(args).await,
        "sizes" => sizes::command(args),
        "samples" => stats::samples_command(args),
        "wait-ready" => wait_ready(args).await,
        "free-port" => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            println!("{}", listener.local_addr()?.port());
            Ok(())
        }
        "gen-secret" => {
            println!("{}", webhooks::SigningSecret::generate());
            Ok(())
        }
        "report" => report::command(args),
        other => Err(format!("unknown command `{other}`\n{USAGE}").into()),
    }
}

/// Polls `--url` every millisecond until it answers 200, then prints the milliseconds elapsed
/// since `--since-ns` (the script's clock reading just before it started the server).
async fn wait_ready(args: &Args) -> Result<()> {
    let url = args.required("url")?;
    let since_ns: u128 = args.parse_or("since-ns", epoch_ns())?;
    let timeout = Duration::from_secs_f64(args.parse_or("timeout", 60.0)?);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(2))
        .build()?;
    let pid = args.get("pid");
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(pid) = pid
            && !procfs::alive(pid)
        {
            return Err(format!("process {pid} exited before {url} answered").into());
        }
        if let Ok(response) = client.get(url).send().await
            && response.status() == reqwest::StatusCode::OK
        {
            let elapsed_ns = epoch_ns().saturating_sub(since_ns);
            println!("{:.1}", elapsed_ns as f64 / 1e6);
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("{url} did not answer 200 within {timeout:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn epoch_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Writes a scenario's result where `--out` says, pretty-printed.
pub fn write_json(args: &Args, value: &impl serde::Serialize) -> Result<()> {
    let path = args.required("out")?;
    std::fs::write(path, serde_json::to_vec_pretty(value)?)
        .map_err(|e| format!("cannot write {path}: {e}"))?;
    Ok(())
}
