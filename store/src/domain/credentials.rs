use secrecy::{ExposeSecret, SecretString};

use crate::Error;

/// 3–32 characters of `a-z 0-9 _ -`. Input is lower-cased first, so uniqueness is
/// case-insensitive by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let name = raw.trim().to_lowercase();
        let len = name.chars().count();
        if len < 3 {
            return Err(Error::invalid(
                "username",
                "username must be at least 3 characters",
            ));
        }
        if len > 32 {
            return Err(Error::invalid(
                "username",
                "username must be at most 32 characters",
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            return Err(Error::invalid(
                "username",
                "username may only contain letters, digits, '_' and '-'",
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 8–128 characters (OWASP: allow long passphrases; no composition rules). Never printed.
pub struct Password(SecretString);

impl Password {
    pub const MIN: usize = 8;
    pub const MAX: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, Error> {
        let len = raw.chars().count();
        if len < Self::MIN {
            return Err(Error::invalid(
                "password",
                format!("password must be at least {} characters", Self::MIN),
            ));
        }
        if len > Self::MAX {
            return Err(Error::invalid(
                "password",
                format!("password must be at most {} characters", Self::MAX),
            ));
        }
        super::check_text("password", raw, false)?;
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_validated() {
        assert_eq!(
            Username::parse("  Alice_01 ").map(|u| u.0).ok(),
            Some("alice_01".into())
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(&"a".repeat(33)).is_err());
        assert!(Username::parse(&"a".repeat(32)).is_ok());
        assert!(Username::parse("bob smith").is_err());
        assert!(Username::parse("bob@example").is_err());
        assert!(Username::parse("zoë").is_err());
        assert!(Username::parse("bob-the_builder").is_ok());
    }

    #[test]
    fn passwords_allow_long_passphrases() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("exactly8").is_ok());
        assert!(Password::parse(&"x".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse("correct horse battery staple ✓").is_ok());
        assert!(Password::parse("correct\0horse").is_err());
        assert_eq!(
            format!("{:?}", Password::parse("hunter2hunter2").ok()),
            "Some(Password(***))"
        );
    }
}
