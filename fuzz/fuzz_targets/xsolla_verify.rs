//! The Xsolla-style verifier on arbitrary headers and bodies: never panics, and its own
//! signature always verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webhooks::xsolla;

fuzz_target!(|input: (&str, &[u8], &str)| {
    let (authorization, body, secret) = input;
    let _ = xsolla::verify(authorization, body, secret);
    assert!(xsolla::verify(&xsolla::sign(body, secret), body, secret));
});
