use crate::Error;

/// Longest address stored (RFC 5321's path limit, less the angle brackets).
const MAX_LEN: usize = 254;

/// An email address a shopper gave for their receipts: one `@`, a local part of printable
/// ASCII without spaces, quotes or brackets (no quoted or commented forms), and a domain of
/// dot-separated labels with at least one dot. Stored as given, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let value = raw.trim();
        let invalid = |why: &str| Error::invalid("email", format!("email {why}"));
        if value.is_empty() {
            return Err(invalid("is required"));
        }
        if value.len() > MAX_LEN {
            return Err(invalid("must be at most 254 characters"));
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err(invalid("must look like name@example.com"));
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        if !local_ok {
            return Err(invalid(
                "must look like name@example.com (letters, digits and . _ + - before the @)",
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !domain_ok {
            return Err(invalid(
                "must have a domain such as example.com after the @",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "ada@example.com",
            "  Ada.Lovelace+games@mail.example.co.uk ",
            "x@a-b.io",
        ] {
            let parsed = EmailAddress::parse(ok).expect(ok);
            assert_eq!(parsed.as_str(), ok.trim());
        }
    }

    #[test]
    fn refuses_what_a_mail_header_could_be_bent_by() {
        for bad in [
            "",
            "ada",
            "ada@localhost",
            "@example.com",
            "ada@",
            "ada@@example.com",
            "a b@example.com",
            "ada@exa mple.com",
            "\"ada\"@example.com",
            "ada@example.com\r\nBcc: victim@example.com",
            "ada@example.com>",
            "<ada@example.com",
            "ada@example..com",
            ".ada@example.com",
            "ada.@example.com",
            "ad..a@example.com",
            "ada@-example.com",
            "ädä@example.com",
            "ada@exämple.com",
        ] {
            let e = EmailAddress::parse(bad).expect_err(bad);
            assert_eq!(e.field(), Some("email"), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(EmailAddress::parse(&long).is_err());
        let longer = format!("a@{}.com", "b".repeat(260));
        assert!(EmailAddress::parse(&longer).is_err());
    }
}
