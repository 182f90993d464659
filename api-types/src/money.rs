//! Money is integer minor units plus an ISO-4217 code; these helpers only *display* it.

/// Currencies the store accepts, with their minor-unit exponent.
pub const SUPPORTED_CURRENCIES: [(&str, u32); 6] = [
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("CAD", 2),
    ("AUD", 2),
    ("JPY", 0),
];

pub fn currency_exponent(currency: &str) -> Option<u32> {
    SUPPORTED_CURRENCIES
        .iter()
        .find(|(code, _)| *code == currency)
        .map(|(_, exp)| *exp)
}

/// The amount in major units, for the API's legacy `price` field only (never for arithmetic).
pub fn major_units(cents: i64, currency: &str) -> f64 {
    let exp = currency_exponent(currency).unwrap_or(2);
    cents as f64 / 10f64.powi(exp as i32)
}

/// `$9.99`, `€5.00`, `£1.50`, `¥500`, or `12.00 CAD`: exact, from the integer amount.
pub fn format_money(cents: i64, currency: &str) -> String {
    let exp = currency_exponent(currency).unwrap_or(2);
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let number = if exp == 0 {
        group_thousands(abs)
    } else {
        let scale = 10u64.pow(exp);
        format!(
            "{}.{:0width$}",
            group_thousands(abs / scale),
            abs % scale,
            width = exp as usize
        )
    };
    match currency {
        "USD" => format!("{sign}${number}"),
        "EUR" => format!("{sign}€{number}"),
        "GBP" => format!("{sign}£{number}"),
        "JPY" => format!("{sign}¥{number}"),
        other => format!("{sign}{number} {other}"),
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_exactly() {
        assert_eq!(format_money(99999, "USD"), "$999.99");
        assert_eq!(format_money(4999, "USD"), "$49.99");
        assert_eq!(format_money(5, "EUR"), "€0.05");
        assert_eq!(format_money(123456789, "USD"), "$1,234,567.89");
        assert_eq!(format_money(500, "JPY"), "¥500");
        assert_eq!(format_money(1200, "CAD"), "12.00 CAD");
        assert_eq!(format_money(-150, "GBP"), "-£1.50");
    }

    #[test]
    fn major_units_for_legacy_clients() {
        assert_eq!(major_units(99999, "USD"), 999.99);
        assert_eq!(major_units(500, "JPY"), 500.0);
    }
}
