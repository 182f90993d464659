//! Latency histograms (HDR, microsecond resolution) and small-sample summaries.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::Result;
use crate::args::Args;
use crate::results::{LatencySummary, Samples};

/// Microseconds from 1 µs to 120 s at three significant figures.
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Self {
        // The bounds are constants that satisfy the constructor's preconditions.
        Self(
            Histogram::new_with_bounds(1, 120_000_000, 3)
                .unwrap_or_else(|_| unreachable!("valid histogram bounds")),
        )
    }

    pub fn record(&mut self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(micros.max(1));
    }

    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides, so adding cannot fail; a failure would only lose samples.
        let _ = self.0.add(&other.0);
    }

    pub fn summary(&self) -> LatencySummary {
        let ms = |micros: u64| micros as f64 / 1000.0;
        if self.0.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: self.0.len(),
            mean_ms: self.0.mean() / 1000.0,
            p50_ms: ms(self.0.value_at_quantile(0.50)),
            p90_ms: ms(self.0.value_at_quantile(0.90)),
            p99_ms: ms(self.0.value_at_quantile(0.99)),
            p999_ms: ms(self.0.value_at_quantile(0.999)),
            max_ms: ms(self.0.max()),
        }
    }
}

/// `samples`: summarises a handful of values measured by the script (cold starts).
pub fn samples_command(args: &Args) -> Result<()> {
    let name = args.required("name")?;
    let unit = args.get("unit").unwrap_or("ms");
    let mut values: Vec<f64> = args
        .required("values")?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--values: {e}"))?;
    values.sort_by(f64::total_cmp);
    let (Some(&min), Some(&max)) = (values.first(), values.last()) else {
        return Err("--values is empty".into());
    };
    let result = Samples {
        name: name.to_owned(),
        unit: unit.to_owned(),
        median: median(&values),
        min,
        max,
        samples: values,
    };
    eprintln!(
        "{name}: median {:.1} {unit} over {} samples",
        result.median,
        result.samples.len()
    );
    crate::write_json(args, &result)
}

/// The median of sorted values.
pub fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => f64::midpoint(sorted[n / 2 - 1], sorted[n / 2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = Latency::new();
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.summary();
        assert_eq!(s.count, 100);
        assert!((s.p50_ms - 50.0).abs() < 0.1, "{}", s.p50_ms);
        assert!((s.p99_ms - 99.0).abs() < 0.1, "{}", s.p99_ms);
        assert!((s.max_ms - 100.0).abs() < 0.1, "{}", s.max_ms);
    }

    #[test]
    fn merging_adds_counts() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        a.record(Duration::from_micros(10));
        b.record(Duration::from_micros(20));
        a.merge(&b);
        assert_eq!(a.summary().count, 2);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[1.0, 2.0, 3.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 3.0, 5.0]), 2.5);
    }
}
