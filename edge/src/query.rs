//! Query strings.

use serde::de::DeserializeOwned;

/// Query parameters read as plain text fields, so that a bad value reaches the domain's
/// validation (a 422 naming the field) instead of failing extraction; only an unreadable query
/// string is a 400. A parameter holding a control character (a NUL, say) is refused with a 422
/// naming it.
pub fn query_params<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, store::Error> {
    let raw = raw.unwrap_or("");
    let unreadable = |e: serde_urlencoded::de::Error| {
        store::Error::BadRequest(format!("cannot read the query string: {e}"))
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).map_err(unreadable)?;
    for (name, value) in &pairs {
        let field = if name.chars().count() <= 40 && !name.chars().any(char::is_control) {
            name.clone()
        } else {
            "query".to_owned()
        };
        store::domain::check_text(field, value, false)?;
    }
    serde_urlencoded::from_str(raw).map_err(unreadable)
}
