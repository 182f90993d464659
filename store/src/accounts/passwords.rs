//! Passwords: argon2id at OWASP's minimum, hashed on the blocking pool behind a bounded gate,
//! and a dummy hash so a login for a missing user costs as much as a wrong password.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore as _;

use super::Accounts;
use crate::domain::Password;
use crate::{Error, Result};

impl Accounts<'_> {
    pub(super) async fn hash(&self, password: Password) -> Result<String> {
        self.store
            .hash_gate()
            .run(move || hash_password(&password))
            .await?
    }

    /// Verifies `candidate` against a stored hash on the bounded hashing pool. Over-long input
    /// is never a valid password; only a bounded slice is hashed so the cost stays fixed.
    pub(super) async fn verify(&self, hash: String, candidate: &str) -> Result<bool> {
        let candidate: String = candidate.chars().take(Password::MAX + 1).collect();
        self.store
            .hash_gate()
            .run(move || verify_password(&hash, &candidate))
            .await?
    }
}

/// argon2id at OWASP's recommended minimum: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .unwrap_or_else(|_| unreachable!("constant parameters are valid"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_password(password: &Password) -> Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

fn verify_password(hash: &str, candidate: &str) -> Result<bool> {
    let parsed = PasswordHash::new(hash).map_err(Error::internal)?;
    Ok(argon2()
        .verify_password(candidate.as_bytes(), &parsed)
        .is_ok())
}

/// Bounds the password hashing running at once: each argon2id hash holds 19 MiB and a core for
/// tens of milliseconds, so unbounded parallel registrations or logins would exhaust memory.
/// `permits` hashes run on the blocking pool; up to `queue` more wait for a slot (briefly);
/// anything beyond is refused at once with 503 and `Retry-After`.
pub struct HashGate {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    admitted: std::sync::atomic::AtomicUsize,
    capacity: usize,
}

/// Longest a hash waits for a free slot before the request is refused.
const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl HashGate {
    pub fn new(permits: usize, queue: usize) -> Self {
        let permits = permits.max(1);
        Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(permits)),
            admitted: std::sync::atomic::AtomicUsize::new(0),
            capacity: permits + queue,
        }
    }

    /// Runs `work` on the blocking pool once a slot is free. The slot stays taken until the
    /// work ends, even if the request that asked for it has gone away.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        use std::sync::atomic::Ordering;
        struct Admission<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Admission<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let busy = || Error::Unavailable {
            code: "PASSWORD_HASHING_BUSY",
            message: "too many sign-ins at once; try again in a moment".to_owned(),
        };
        let admission = Admission(&self.admitted);
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            metrics::counter!("gamestore_password_hash_refused_total").increment(1);
            return Err(busy());
        }
        let permit = tokio::time::timeout(HASH_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(Error::internal)?;
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        });
        let result = task.await.map_err(Error::internal);
        drop(admission);
        result
    }
}

/// A hash of a random password, verified against when a login names no existing user so the
/// answer takes as long as a wrong password would.
pub(crate) fn dummy_hash() -> Result<String> {
    let mut raw = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut raw);
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2()
        .hash_password(hex::encode(raw).as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let hash =
            hash_password(&Password::parse("correct horse").expect("valid")).expect("hashes");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(&hash, "correct horse").expect("verifies"));
        assert!(!verify_password(&hash, "wrong horse").expect("verifies"));
    }

    #[tokio::test]
    async fn the_hash_gate_refuses_work_beyond_its_capacity() {
        let gate = std::sync::Arc::new(HashGate::new(1, 1));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = std::sync::Arc::new(std::sync::Mutex::new(wait));
        let running = {
            let (gate, wait) = (gate.clone(), wait.clone());
            tokio::spawn(async move {
                gate.run(move || {
                    let _ = wait.lock().map(|w| w.recv());
                })
                .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let queued = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.run(|| 2).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let refused = gate.run(|| 3).await;
        assert_eq!(
            refused.err().map(|e| e.code()),
            Some("PASSWORD_HASHING_BUSY")
        );
        release.send(()).expect("release");
        assert!(running.await.expect("joins").is_ok());
        assert_eq!(queued.await.expect("joins").ok(), Some(2));
        assert_eq!(gate.run(|| 4).await.ok(), Some(4));
    }
}
