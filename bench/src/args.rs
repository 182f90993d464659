//! `--key value` arguments: the harness is driven by a script, so a map is all it needs.

use std::collections::HashMap;
use std::str::FromStr;

use crate::Result;

pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    pub fn parse(argv: impl Iterator<Item = String>) -> Result<Self> {
        let mut values = HashMap::new();
        let mut argv = argv.peekable();
        while let Some(arg) = argv.next() {
            let Some(key) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument `{arg}`").into());
            };
            let value = match argv.peek() {
                Some(next) if !next.starts_with("--") => argv.next().unwrap_or_default(),
                _ => "true".to_owned(),
            };
            values.insert(key.to_owned(), value);
        }
        Ok(Self { values })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn required(&self, key: &str) -> Result<&str> {
        self.get(key)
            .ok_or_else(|| format!("--{key} is required").into())
    }

    pub fn parse_or<T: FromStr>(&self, key: &str, default: T) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e| format!("--{key} {raw}: {e}").into()),
        }
    }

    pub fn parse_opt<T: FromStr>(&self, key: &str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        self.get(key)
            .map(|raw| {
                raw.parse()
                    .map_err(|e| format!("--{key} {raw}: {e}").into())
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Args {
        Args::parse(list.iter().map(|s| (*s).to_owned())).expect("valid arguments")
    }

    #[test]
    fn values_flags_and_defaults() {
        let a = args(&["--connections", "64", "--quick", "--url", "http://x/"]);
        assert_eq!(a.parse_or("connections", 1_usize).ok(), Some(64));
        assert_eq!(a.get("quick"), Some("true"));
        assert_eq!(a.required("url").ok(), Some("http://x/"));
        assert_eq!(a.parse_or("duration", 10.0).ok(), Some(10.0));
        assert!(a.required("out").is_err());
        assert!(a.parse_or::<u32>("url", 0).is_err());
    }

    #[test]
    fn rejects_positional_arguments() {
        assert!(Args::parse(["oops".to_owned()].into_iter()).is_err());
    }
}
