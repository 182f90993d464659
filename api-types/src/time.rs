//! Timestamp display without chrono's strftime machinery (which would weigh on the WASM bundle).

use chrono::{DateTime, Datelike as _, Timelike as _, Utc};

/// `2026-11-29 12:05 UTC`
pub fn format_minute(at: &DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// `12:05:09`
pub fn format_clock(at: &DateTime<Utc>) -> String {
    format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn formats_like_strftime_would() {
        let at = Utc
            .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .single()
            .expect("valid");
        assert_eq!(
            format_minute(&at),
            at.format("%Y-%m-%d %H:%M UTC").to_string()
        );
        assert_eq!(format_clock(&at), "03:04:05");
    }
}
