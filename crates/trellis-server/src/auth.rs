//! Secrets: password hashing (argon2id), random tokens, and the hashes under
//! which tokens are stored. A token's clear text exists only in the response
//! that hands it out; the database keeps its SHA-256.

use crate::store::StoreError;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Prefix of API tokens, so a leaked one is recognisable in logs and scanners.
pub const API_TOKEN_PREFIX: &str = "trl_";

/// Hashes a password with argon2id and a random salt (PHC string format).
pub async fn hash_password(password: String) -> Result<String, StoreError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| StoreError::Internal(format!("password hashing task failed: {e}")))?
}

/// Checks a password against a stored hash. With no stored hash it still does
/// the same work against a dummy hash, so response time does not reveal
/// whether an account exists.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let dummy = dummy_hash();
        let (hash, real) = match &stored {
            Some(h) => (h.as_str(), true),
            None => (dummy, false),
        };
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && real
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"not-a-real-password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// `n` random bytes from the OS generator, hex-encoded.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A new API token: `trl_` followed by 40 hex characters (160 bits).
pub fn new_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", random_hex(20))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Constant-time comparison for CSRF tokens.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = hash_password("violet-harbour-42".into()).await.unwrap();
        let b = hash_password("violet-harbour-42".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(verify_password("violet-harbour-42".into(), Some(a.clone())).await);
        assert!(!verify_password("violet-harbour-43".into(), Some(a)).await);
        assert!(!verify_password("not-a-real-password".into(), None).await);
    }

    #[test]
    fn tokens() {
        let t = new_api_token();
        assert!(t.starts_with("trl_") && t.len() == 44);
        assert_ne!(new_api_token(), t);
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
