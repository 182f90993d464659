//! The Xsolla-style compatibility scheme: `Authorization: Signature <hex sha1(body ++ secret)>`.

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// The header value for `body` under `secret`.
pub fn sign(body: &[u8], secret: &str) -> String {
    format!("Signature {}", hex::encode(digest(body, secret)))
}

/// Whether an `Authorization` header value carries the right signature for `body`.
pub fn verify(authorization: &str, body: &[u8], secret: &str) -> bool {
    let Some(given) = authorization.trim().strip_prefix("Signature ") else {
        return false;
    };
    let Ok(given) = hex::decode(given.trim()) else {
        return false;
    };
    digest(body, secret).as_slice().ct_eq(&given).into()
}

fn digest(body: &[u8], secret: &str) -> [u8; 20] {
    let mut hasher = Sha1::new();
    hasher.update(body);
    hasher.update(secret.as_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_tampering() {
        let body = br#"{"notification_type":"payment"}"#;
        let header = sign(body, "s3cret");
        assert!(verify(&header, body, "s3cret"));
        assert!(!verify(&header, body, "other"));
        assert!(!verify(
            &header,
            br#"{"notification_type":"refund"}"#,
            "s3cret"
        ));
        assert!(!verify("Bearer abc", body, "s3cret"));
        assert!(!verify("Signature zz", body, "s3cret"));
    }

    #[test]
    fn matches_a_hand_computed_digest() {
        // sha1("{}" ++ "key") computed independently with `printf '{}key' | sha1sum`.
        assert_eq!(
            sign(b"{}", "key"),
            "Signature 8c08a3948bb65361ca63a847ff71f1e19ee7aa74"
        );
    }
}
