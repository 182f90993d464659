//! Ids as they arrive in paths and forms. A malformed id names nothing, so it is a 404 like an
//! unknown one: ids reveal nothing about what exists.

use uuid::Uuid;

pub fn item_id(raw: &str) -> Result<i64, store::Error> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| store::Error::NotFound("item"))
}

pub fn order_id(raw: &str) -> Result<Uuid, store::Error> {
    Uuid::parse_str(raw.trim()).map_err(|_| store::Error::NotFound("order"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_ids_are_not_found() {
        assert_eq!(item_id("42").ok(), Some(42));
        assert_eq!(item_id("4x").err().map(|e| e.status()), Some(404));
        assert_eq!(
            item_id("99999999999999999999").err().map(|e| e.status()),
            Some(404)
        );
        assert!(order_id(&Uuid::nil().to_string()).is_ok());
        assert_eq!(order_id("nope").err().map(|e| e.status()), Some(404));
    }
}
