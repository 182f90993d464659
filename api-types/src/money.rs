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

/// The amount as a plain decimal in major units ("1234.56"), as typed in a form.
pub fn format_decimal(cents: i64, currency: &str) -> String {
    let exp = currency_exponent(currency).unwrap_or(2);
    if exp == 0 {
        return cents.to_string();
    }
    let scale = 10i64.pow(exp);
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale as u64,
        abs % scale as u64,
        width = exp as usize
    )
}

/// Parses a price typed in major units ("9.99", "10", "0.5") into exact minor units, without
/// going through floating point.
pub fn parse_price(text: &str, currency: &str) -> Result<i64, String> {
    let exp = currency_exponent(currency).unwrap_or(2) as usize;
    let text = text.trim().trim_start_matches(['$', '€', '£', '¥']);
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !digits_only(whole) || !digits_only(frac) {
        return Err("price must be a number like 9.99".to_owned());
    }
    if frac.len() > exp {
        return Err(format!(
            "price has at most {exp} decimal places in {currency}"
        ));
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "price is too large".to_owned())?
    };
    let frac_value: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<exp$}")
            .parse()
            .map_err(|_| "price must be a number like 9.99".to_owned())?
    };
    whole
        .checked_mul(10i64.pow(exp as u32))
        .and_then(|w| w.checked_add(frac_value))
        .ok_or_else(|| "price is too large".to_owned())
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
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
    fn parses_prices_exactly() {
        assert_eq!(parse_price("9.99", "USD"), Ok(999));
        assert_eq!(format_decimal(123456, "USD"), "1234.56");
        assert_eq!(format_decimal(500, "JPY"), "500");
        assert_eq!(parse_price("10", "USD"), Ok(1000));
        assert_eq!(parse_price("0.5", "USD"), Ok(50));
        assert_eq!(parse_price("$1234.56", "USD"), Ok(123456));
        assert_eq!(parse_price("500", "JPY"), Ok(500));
        assert!(parse_price("5.5", "JPY").is_err());
        assert!(parse_price("9.999", "USD").is_err());
        assert!(parse_price("abc", "USD").is_err());
        assert!(parse_price("", "USD").is_err());
        assert!(parse_price("-1", "USD").is_err());
        assert!(parse_price("99999999999999999999", "USD").is_err());
    }

    #[test]
    fn major_units_for_legacy_clients() {
        assert_eq!(major_units(99999, "USD"), 999.99);
        assert_eq!(major_units(500, "JPY"), 500.0);
    }
}
