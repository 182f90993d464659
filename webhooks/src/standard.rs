//! [Standard Webhooks](https://www.standardwebhooks.com/) v1 signatures.
//!
//! `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, possibly several
//! space-separated signatures (any one may match); the secret is `whsec_<base64 key>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a delivery's timestamp may be from our clock, in either direction.
pub const TOLERANCE_SECS: i64 = 5 * 60;
/// Most signatures a `webhook-signature` header may list. Providers send one, or two while they
/// rotate keys; the cap keeps the work an unauthenticated caller can ask for fixed.
pub const MAX_SIGNATURES: usize = 10;
/// Longest `webhook-signature` header accepted, in bytes (ten `v1,` entries fit comfortably).
pub const MAX_SIGNATURE_HEADER: usize = 1024;
const SECRET_PREFIX: &str = "whsec_";

type HmacSha256 = Hmac<Sha256>;

/// A Standard Webhooks signing key. Deliberately not `Debug`/`Serialize`: it must never be logged
/// or sent anywhere.
#[derive(Clone)]
pub struct SigningSecret {
    key: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("webhook secret must start with `whsec_`")]
    MissingPrefix,
    #[error("webhook secret is not valid base64 after `whsec_`")]
    NotBase64,
    #[error("webhook secret key is empty")]
    Empty,
}

impl SigningSecret {
    /// Parses a `whsec_<base64>` secret.
    pub fn parse(raw: &str) -> Result<Self, SecretError> {
        let encoded = raw
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let key = B64.decode(encoded).map_err(|_| SecretError::NotBase64)?;
        if key.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self { key })
    }

    /// A fresh random secret, in its `whsec_` form.
    pub fn generate() -> String {
        use rand::RngCore as _;
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        format!("{SECRET_PREFIX}{}", B64.encode(key))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// Whether two secrets hold the same key (compared in constant time).
    pub fn same_key(&self, other: &SigningSecret) -> bool {
        self.key.ct_eq(&other.key).into()
    }

    /// The `v1,<base64>` signature of one delivery.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self.mac(id, timestamp, body).finalize().into_bytes();
        format!("v1,{}", B64.encode(tag))
    }
}

/// The three headers of a delivery, as received.
#[derive(Debug, Clone, Copy)]
pub struct StandardHeaders<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("webhook-timestamp is not a unix timestamp")]
    BadTimestamp,
    #[error("webhook-timestamp is more than five minutes in the past")]
    TooOld,
    #[error("webhook-timestamp is more than five minutes in the future")]
    TooNew,
    #[error("no v1 signature in webhook-signature")]
    NoSignature,
    #[error("webhook-signature lists too many signatures or is too long")]
    TooManySignatures,
    #[error("no signature matches")]
    Mismatch,
}

/// Verifies a delivery against every configured secret (several during a rotation).
/// `now` is the current unix time, passed in so tests can pin it.
pub fn verify(
    secrets: &[SigningSecret],
    headers: StandardHeaders<'_>,
    body: &[u8],
    now: i64,
) -> Result<i64, VerifyError> {
    let timestamp: i64 = headers
        .timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    // Widened, so that no timestamp (i64::MIN included) can overflow the difference.
    let age = i128::from(now) - i128::from(timestamp);
    if age > i128::from(TOLERANCE_SECS) {
        return Err(VerifyError::TooOld);
    }
    if -age > i128::from(TOLERANCE_SECS) {
        return Err(VerifyError::TooNew);
    }
    if headers.signature.len() > MAX_SIGNATURE_HEADER {
        return Err(VerifyError::TooManySignatures);
    }
    let entries: Vec<&str> = headers.signature.split_whitespace().collect();
    if entries.len() > MAX_SIGNATURES {
        return Err(VerifyError::TooManySignatures);
    }
    let candidates: Vec<Vec<u8>> = entries
        .iter()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| B64.decode(encoded).ok())
        .collect();
    if candidates.is_empty() {
        return Err(VerifyError::NoSignature);
    }
    // One MAC over the body per secret, compared with every candidate: the cost is bounded by
    // the number of secrets, never by what the caller sends.
    let any_match = secrets.iter().any(|secret| {
        let expected = secret
            .mac(headers.id, timestamp, body)
            .finalize()
            .into_bytes();
        candidates.iter().fold(false, |found, candidate| {
            found | bool::from(expected.as_slice().ct_eq(candidate))
        })
    });
    if any_match {
        Ok(timestamp)
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vector published by the Standard Webhooks project (libraries' shared test suite).
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TS: i64 = 1614265330;
    const VECTOR_BODY: &str = r#"{"test": 2432232314}"#;
    const VECTOR_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn secret() -> SigningSecret {
        SigningSecret::parse(VECTOR_SECRET).expect("valid secret")
    }

    fn headers<'a>(ts: &'a str, sig: &'a str) -> StandardHeaders<'a> {
        StandardHeaders {
            id: VECTOR_ID,
            timestamp: ts,
            signature: sig,
        }
    }

    #[test]
    fn signs_the_published_test_vector() {
        assert_eq!(
            secret().sign(VECTOR_ID, VECTOR_TS, VECTOR_BODY.as_bytes()),
            VECTOR_SIG
        );
    }

    #[test]
    fn verifies_the_published_test_vector() {
        let ts = VECTOR_TS.to_string();
        let got = verify(
            &[secret()],
            headers(&ts, VECTOR_SIG),
            VECTOR_BODY.as_bytes(),
            VECTOR_TS,
        );
        assert_eq!(got, Ok(VECTOR_TS));
    }

    #[test]
    fn any_one_of_several_signatures_may_match() {
        let ts = VECTOR_TS.to_string();
        let list = format!("v1,Zm9v v2,abc {VECTOR_SIG}");
        assert!(
            verify(
                &[secret()],
                headers(&ts, &list),
                VECTOR_BODY.as_bytes(),
                VECTOR_TS
            )
            .is_ok()
        );
    }

    #[test]
    fn any_one_of_several_secrets_may_match() {
        let other = SigningSecret::parse(&SigningSecret::generate()).expect("generated");
        let ts = VECTOR_TS.to_string();
        assert!(
            verify(
                &[other, secret()],
                headers(&ts, VECTOR_SIG),
                VECTOR_BODY.as_bytes(),
                VECTOR_TS
            )
            .is_ok()
        );
    }

    #[test]
    fn rejects_tampered_body_wrong_secret_and_bad_timestamps() {
        let ts = VECTOR_TS.to_string();
        let h = headers(&ts, VECTOR_SIG);
        assert_eq!(
            verify(&[secret()], h, br#"{"test": 2432232315}"#, VECTOR_TS),
            Err(VerifyError::Mismatch)
        );
        let other = SigningSecret::parse(&SigningSecret::generate()).expect("generated");
        assert_eq!(
            verify(&[other], h, VECTOR_BODY.as_bytes(), VECTOR_TS),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(
                &[secret()],
                h,
                VECTOR_BODY.as_bytes(),
                VECTOR_TS + TOLERANCE_SECS + 1
            ),
            Err(VerifyError::TooOld)
        );
        assert_eq!(
            verify(
                &[secret()],
                h,
                VECTOR_BODY.as_bytes(),
                VECTOR_TS - TOLERANCE_SECS - 1
            ),
            Err(VerifyError::TooNew)
        );
        // The extremes neither overflow nor pass: far in the past is too old, far ahead too new.
        for (ts, expected) in [
            (i64::MIN, VerifyError::TooOld),
            (i64::MIN + 1, VerifyError::TooOld),
            (i64::MAX, VerifyError::TooNew),
        ] {
            let ts = ts.to_string();
            assert_eq!(
                verify(
                    &[secret()],
                    headers(&ts, VECTOR_SIG),
                    VECTOR_BODY.as_bytes(),
                    VECTOR_TS
                ),
                Err(expected),
                "{ts}"
            );
        }
        assert_eq!(
            verify(
                &[secret()],
                headers("yesterday", VECTOR_SIG),
                VECTOR_BODY.as_bytes(),
                VECTOR_TS
            ),
            Err(VerifyError::BadTimestamp)
        );
        assert_eq!(
            verify(
                &[secret()],
                headers(&ts, "v2,abc"),
                VECTOR_BODY.as_bytes(),
                VECTOR_TS
            ),
            Err(VerifyError::NoSignature)
        );
    }

    #[test]
    fn long_signature_lists_are_refused_before_any_mac() {
        let ts = VECTOR_TS.to_string();
        let eleven = [VECTOR_SIG; MAX_SIGNATURES + 1].join(" ");
        assert_eq!(
            verify(
                &[secret()],
                headers(&ts, &eleven),
                VECTOR_BODY.as_bytes(),
                VECTOR_TS
            ),
            Err(VerifyError::TooManySignatures)
        );
        let ten = [VECTOR_SIG; MAX_SIGNATURES].join(" ");
        assert!(ten.len() <= MAX_SIGNATURE_HEADER);
        assert!(
            verify(
                &[secret()],
                headers(&ts, &ten),
                VECTOR_BODY.as_bytes(),
                VECTOR_TS
            )
            .is_ok()
        );
        let padded = format!("{VECTOR_SIG}{}", " ".repeat(MAX_SIGNATURE_HEADER));
        assert_eq!(
            verify(
                &[secret()],
                headers(&ts, &padded),
                VECTOR_BODY.as_bytes(),
                VECTOR_TS
            ),
            Err(VerifyError::TooManySignatures)
        );
    }

    #[test]
    fn parses_secrets_strictly() {
        assert_eq!(
            SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").err(),
            Some(SecretError::MissingPrefix)
        );
        assert_eq!(
            SigningSecret::parse("whsec_!!!").err(),
            Some(SecretError::NotBase64)
        );
        assert_eq!(
            SigningSecret::parse("whsec_").err(),
            Some(SecretError::Empty)
        );
    }
}
