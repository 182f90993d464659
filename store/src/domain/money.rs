use api_types::currency_exponent;

use crate::Error;

/// An amount in integer minor units of a supported ISO-4217 currency. Never floating point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    cents: i64,
    currency: String,
}

impl Money {
    /// Largest accepted price: 1,000,000.00 in major units.
    pub const MAX_CENTS: i64 = 100_000_000;

    pub fn parse(cents: i64, currency: &str) -> Result<Self, Error> {
        let currency = currency.trim().to_ascii_uppercase();
        if currency_exponent(&currency).is_none() {
            return Err(Error::invalid(
                "currency",
                format!(
                    "currency must be one of {}",
                    api_types::SUPPORTED_CURRENCIES
                        .iter()
                        .map(|(c, _)| *c)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if cents <= 0 {
            return Err(Error::invalid(
                "price_cents",
                "price must be greater than zero",
            ));
        }
        if cents > Self::MAX_CENTS {
            return Err(Error::invalid("price_cents", "price is too large"));
        }
        Ok(Self { cents, currency })
    }

    pub fn cents(&self) -> i64 {
        self.cents
    }

    pub fn currency(&self) -> &str {
        &self.currency
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_positive_amounts_in_known_currencies() {
        let m = Money::parse(999, "usd").expect("valid");
        assert_eq!((m.cents(), m.currency()), (999, "USD"));
        assert!(Money::parse(0, "USD").is_err());
        assert!(Money::parse(-1, "USD").is_err());
        assert!(Money::parse(Money::MAX_CENTS + 1, "USD").is_err());
        assert!(Money::parse(100, "XYZ").is_err());
        assert_eq!(
            Money::parse(100, "XYZ")
                .err()
                .and_then(|e| e.field().map(str::to_owned)),
            Some("currency".into())
        );
    }
}
