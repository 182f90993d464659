//! Process memory and CPU time from `/proc` (Linux), to say how busy each side of a run was.

use std::time::Instant;

use crate::Result;
use crate::results::CpuUsage;

/// Linux reports CPU times in USER_HZ ticks, which is 100 on every mainstream architecture.
const TICKS_PER_SEC: f64 = 100.0;

/// Resident set size in KiB (`VmRSS` in `/proc/PID/status`).
pub fn rss_kb(pid: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status").into())
}

/// Whether the process still runs (a zombie waiting for its parent has exited).
pub fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
        !status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z'))
    })
}

/// User + system CPU ticks of the whole process (every thread).
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; the fields after its closing parenthesis do not.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name and state.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// User + system CPU ticks of every process with this command name (PostgreSQL backends,
/// Redis): shared services are measured as a whole, other users included.
fn cpu_ticks_by_name(name: &str) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == name)
        })
        .filter_map(|pid| cpu_ticks(&pid))
        .sum()
}

/// Busy CPU ticks of the whole machine, every core (everything but idle and I/O wait).
fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some(total.saturating_sub(idle))
}

/// CPU use of a process over an interval, as a percentage of one core.
pub struct CpuMeter {
    pid: String,
    ticks: Option<u64>,
    since: Instant,
}

impl CpuMeter {
    pub fn start(pid: &str) -> Self {
        Self {
            pid: pid.to_owned(),
            ticks: cpu_ticks(pid),
            since: Instant::now(),
        }
    }

    pub fn percent(&self) -> Option<f64> {
        let now = cpu_ticks(&self.pid)?;
        let elapsed = self.since.elapsed().as_secs_f64();
        if elapsed <= 0.0 {
            return None;
        }
        Some((now.checked_sub(self.ticks?)? as f64 / TICKS_PER_SEC) / elapsed * 100.0)
    }
}

/// Measures this process and, when known, the server over the same interval; and the
/// PostgreSQL and Redis processes, whoever they serve.
pub struct Meters {
    own: CpuMeter,
    server: Option<CpuMeter>,
    services: Vec<(&'static str, u64)>,
    machine: Option<u64>,
    since: Instant,
}

const SERVICES: [&str; 2] = ["postgres", "redis-server"];

impl Meters {
    pub fn start(server_pid: Option<&str>) -> Self {
        Self {
            own: CpuMeter::start("self"),
            server: server_pid.map(CpuMeter::start),
            services: SERVICES
                .iter()
                .map(|name| (*name, cpu_ticks_by_name(name)))
                .collect(),
            machine: machine_busy_ticks(),
            since: Instant::now(),
        }
    }

    pub fn usage(&self) -> CpuUsage {
        let elapsed = self.since.elapsed().as_secs_f64().max(1e-9);
        let service = |name: &str| {
            self.services
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, before)| {
                    cpu_ticks_by_name(name).saturating_sub(*before) as f64 / TICKS_PER_SEC / elapsed
                        * 100.0
                })
        };
        let machine = match (self.machine, machine_busy_ticks()) {
            (Some(a), Some(b)) => {
                Some(b.saturating_sub(a) as f64 / TICKS_PER_SEC / elapsed * 100.0)
            }
            _ => None,
        };
        CpuUsage {
            machine_cpu_pct: machine,
            loadgen_cpu_pct: self.own.percent(),
            server_cpu_pct: self.server.as_ref().and_then(CpuMeter::percent),
            postgres_cpu_pct: service("postgres"),
            redis_cpu_pct: service("redis-server"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        assert!(rss_kb("self").is_ok_and(|kb| kb > 0));
        assert!(cpu_ticks("self").is_some());
        assert!(alive("self"));
        assert!(machine_busy_ticks().is_some());
        assert!(!alive("999999999"));
    }
}
