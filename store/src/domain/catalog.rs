use crate::Error;

/// 2–64 characters of `a-z 0-9 -`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sku(String);

impl Sku {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let sku = raw.trim().to_ascii_lowercase();
        let valid_chars = sku
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let starts_well = sku
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if !(2..=64).contains(&sku.len()) || !valid_chars || !starts_well {
            return Err(Error::invalid(
                "sku",
                "SKU must be 2–64 characters of a-z, 0-9 and '-', starting with a letter or digit",
            ));
        }
        Ok(Self(sku))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 1–120 visible characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemName(String);

impl ItemName {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(Error::invalid("name", "name is required"));
        }
        if name.chars().count() > 120 {
            return Err(Error::invalid(
                "name",
                "name must be at most 120 characters",
            ));
        }
        super::check_text("name", name, false)?;
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Up to 2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let text = raw.trim();
        super::check_text("description", text, true)?;
        if text.chars().count() > 2000 {
            return Err(Error::invalid(
                "description",
                "description must be at most 2000 characters",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Up to 8 distinct tags of 1–24 characters of `a-z 0-9 -`, kept sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(Vec<String>);

impl Tags {
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, Error> {
        let mut tags = Vec::with_capacity(raw.len());
        for tag in raw {
            let tag = tag.as_ref().trim().to_ascii_lowercase();
            if tag.is_empty() {
                continue;
            }
            Self::check_one(&tag)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > 8 {
            return Err(Error::invalid("tags", "at most 8 tags"));
        }
        tags.sort();
        Ok(Self(tags))
    }

    /// Validates a single tag, as used in a catalog filter.
    pub fn check_one(tag: &str) -> Result<(), Error> {
        let ok = (1..=24).contains(&tag.len())
            && tag
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(
                "tags",
                "tags are 1–24 characters of a-z, 0-9 and '-'",
            ))
        }
    }

    /// The stored form: `,a,b,` so that a tag filter is `LIKE '%,tag,%'` on any database.
    pub fn to_column(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            format!(",{},", self.0.join(","))
        }
    }

    pub fn from_column(column: &str) -> Vec<String> {
        column
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// An image reference: a site path (`/covers/…`) or an absolute http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUrl(String);

impl ImageUrl {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let url = raw.trim();
        let ok = url.len() <= 500
            && !url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"')
            && ((url.starts_with('/') && !url.starts_with("//"))
                || url.starts_with("https://")
                || url.starts_with("http://"));
        if ok {
            Ok(Self(url.to_owned()))
        } else {
            Err(Error::invalid(
                "image",
                "image must be a site path like /covers/x.svg or an http(s) URL",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client's `Idempotency-Key`: 1–255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let ok = (1..=255).contains(&raw.len()) && raw.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid(
                "Idempotency-Key",
                "Idempotency-Key must be 1–255 printable ASCII characters without spaces",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus() {
        assert_eq!(
            Sku::parse("Dragon-Sword").map(|s| s.0).ok(),
            Some("dragon-sword".into())
        );
        assert!(Sku::parse("-sword").is_err());
        assert!(Sku::parse("a").is_err());
        assert!(Sku::parse("dragon sword").is_err());
        assert!(Sku::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn names_and_descriptions() {
        assert!(ItemName::parse("  ").is_err());
        assert!(ItemName::parse("Dragon Sword").is_ok());
        assert!(ItemName::parse(&"x".repeat(121)).is_err());
        assert!(ItemName::parse("bad\u{0007}").is_err());
        assert!(Description::parse("").is_ok());
        assert!(Description::parse(&"x".repeat(2001)).is_err());
        assert!(Description::parse("two\nlines\tand a tab").is_ok());
        assert_eq!(
            Description::parse("nul\0byte")
                .err()
                .and_then(|e| e.field().map(str::to_owned)),
            Some("description".to_owned())
        );
    }

    #[test]
    fn tags_are_normalised_and_round_trip() {
        let tags = Tags::parse(&["Weapon", "fire", "weapon", " "]).expect("valid");
        assert_eq!(tags.as_slice(), ["fire", "weapon"]);
        assert_eq!(tags.to_column(), ",fire,weapon,");
        assert_eq!(Tags::from_column(&tags.to_column()), vec!["fire", "weapon"]);
        assert_eq!(
            Tags::parse::<&str>(&[]).map(|t| t.to_column()).ok(),
            Some(String::new())
        );
        assert!(Tags::parse(&["no spaces"]).is_err());
        assert!(Tags::parse(&["a%"]).is_err());
        let many: Vec<String> = (0..9).map(|i| format!("t{i}")).collect();
        assert!(Tags::parse(&many).is_err());
    }

    #[test]
    fn images() {
        assert!(ImageUrl::parse("/covers/dragon-sword.svg").is_ok());
        assert!(ImageUrl::parse("https://cdn.example.com/a.png").is_ok());
        assert!(ImageUrl::parse("//evil.example.com/a.png").is_err());
        assert!(ImageUrl::parse("javascript:alert(1)").is_err());
        assert!(ImageUrl::parse("/a\" onerror=\"x").is_err());
    }

    #[test]
    fn idempotency_keys() {
        assert!(IdempotencyKey::parse("abc-123").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }
}
