use std::borrow::Cow;

use crate::Error;

/// Refuses control characters in text a client sends: NUL makes SQLite's `LIKE` match
/// everything and PostgreSQL refuse the row, and the others have no place in a store's text.
/// `multiline` text (descriptions) may hold tabs and line breaks.
pub fn check_text(
    field: impl Into<Cow<'static, str>>,
    value: &str,
    multiline: bool,
) -> Result<(), Error> {
    let allowed = |c: char| multiline && matches!(c, '\t' | '\n' | '\r');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        let field = field.into();
        let message = if multiline {
            format!("{field} must not contain control characters other than tabs and line breaks")
        } else {
            format!("{field} must not contain control characters")
        };
        return Err(Error::invalid(field, message));
    }
    // Direction overrides and isolates reorder what follows them on screen and in email
    // ("gpj.exe" shown as "exe.jpg"); a store's names and messages have no use for them.
    if value
        .chars()
        .any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
    {
        let field = field.into();
        let message = format!("{field} must not contain text-direction override characters");
        return Err(Error::invalid(field, message));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_control_characters_naming_the_field() {
        assert!(check_text("q", "dragon sword", false).is_ok());
        for bad in [
            "a\0b",
            "a\u{7}",
            "a\u{1b}[31m",
            "a\u{7f}",
            "a\u{85}",
            "line\nbreak",
            "invoice\u{202E}gpj.exe",
            "a\u{2066}b",
        ] {
            let e = check_text("q", bad, false).expect_err(bad);
            assert_eq!(e.field(), Some("q"));
            assert_eq!(e.status(), 422);
        }
        assert!(check_text("description", "one\ntwo\tthree\r\n", true).is_ok());
        assert!(check_text("description", "nul\0", true).is_err());
        assert!(check_text("description", "right\u{202E}to left", true).is_err());
        assert!(
            check_text("q", "שלום dragon", false).is_ok(),
            "right-to-left text itself"
        );
    }
}
