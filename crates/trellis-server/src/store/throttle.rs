//! Login throttling, kept in the database so every instance sees the same counts.
//!
//! An account is locked after [`MAX_FAILURES_PER_ACCOUNT`] failed sign-ins within
//! [`WINDOW_MINUTES`] since its last success; an address after
//! [`MAX_FAILURES_PER_IP`] failures on any accounts in the same window.

use super::StoreResult;
use crate::db::{self, Db};
use chrono::{Duration, Utc};

pub const WINDOW_MINUTES: i64 = 15;
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
pub const MAX_FAILURES_PER_IP: i64 = 30;

/// `Some(seconds)` to wait when sign-in from `ip` for `email` is blocked.
pub async fn blocked_for(db: &Db, email: &str, ip: &str) -> StoreResult<Option<i64>> {
    let since = db::fmt_time(Utc::now() - Duration::minutes(WINDOW_MINUTES));
    let per_account: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM login_attempts WHERE email = $1 AND success = 0 AND at > $2 \
         AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE email = $1 AND success = 1), '')",
    )
    .bind(email)
    .bind(&since)
    .fetch_one(db.pool())
    .await?;
    let per_ip: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM login_attempts WHERE ip = $1 AND success = 0 AND at > $2",
    )
    .bind(ip)
    .bind(&since)
    .fetch_one(db.pool())
    .await?;
    if per_account >= MAX_FAILURES_PER_ACCOUNT || per_ip >= MAX_FAILURES_PER_IP {
        Ok(Some(WINDOW_MINUTES * 60))
    } else {
        Ok(None)
    }
}

pub async fn record(db: &Db, email: &str, ip: &str, success: bool) -> StoreResult<()> {
    sqlx::query("INSERT INTO login_attempts (email, ip, at, success) VALUES ($1, $2, $3, $4)")
        .bind(email)
        .bind(ip)
        .bind(db::now())
        .bind(i64::from(success))
        .execute(db.pool())
        .await?;
    Ok(())
}
