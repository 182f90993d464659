use chrono::{DateTime, Datelike as _, Utc};

use crate::Error;

/// Refuses a moment outside the years 1970–9998. SQLite keeps timestamps as text and compares
/// them as text, which orders them by time only while the year has four digits: a sale ending
/// in `+10000` sorted before today, so the catalog's price filters and the wishlist sweep saw
/// it ended while checkout charged the sale price (an attacker's pass). The console's date
/// filters keep to the same years.
pub fn check_time(field: &'static str, value: DateTime<Utc>) -> Result<(), Error> {
    if (1970..=9998).contains(&value.year()) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("{field} must be a moment from 1970 to 9998"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_digit_years_from_1970_only() {
        let at = |text: &str| text.parse::<DateTime<Utc>>().expect("a moment");
        assert!(check_time("t", at("1970-01-01T00:00:00Z")).is_ok());
        assert!(check_time("t", at("9998-12-31T23:59:59Z")).is_ok());
        for bad in [
            "1969-12-31T23:59:59Z",
            "9999-01-01T00:00:00Z",
            "+10000-01-01T00:00:00Z",
        ] {
            assert!(check_time("t", at(bad)).is_err(), "{bad}");
        }
    }
}
