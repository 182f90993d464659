//! The Standard Webhooks verifier on arbitrary headers and bodies: it must never panic, and a
//! delivery signed with the secret must verify whatever the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webhooks::standard::{self, SigningSecret, StandardHeaders};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_700_000_000;

fuzz_target!(|input: (&str, &str, &str, &[u8])| {
    let (id, timestamp, signature, body) = input;
    let Ok(secret) = SigningSecret::parse(SECRET) else {
        return;
    };
    let secrets = [secret];
    let _ = standard::verify(
        &secrets,
        StandardHeaders { id, timestamp, signature },
        body,
        NOW,
    );
    let good = secrets[0].sign(id, NOW, body);
    let verified = standard::verify(
        &secrets,
        StandardHeaders { id, timestamp: &NOW.to_string(), signature: &good },
        body,
        NOW,
    );
    assert!(verified.is_ok(), "a correctly signed delivery must verify");
    let _ = SigningSecret::parse(signature);
});
