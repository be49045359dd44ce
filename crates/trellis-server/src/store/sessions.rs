//! Portal sessions, stored in the database so several instances can share them.
//! The cookie carries a random token; the table keeps only its SHA-256.

use super::audit::{self, Change};
use super::users::User;
use super::{Actor, StoreResult};
use crate::auth;
use crate::db::{self, Db};
use chrono::{Duration, Utc};
use sqlx::Row;

/// A session ends this long after sign-in, whatever happens.
pub const ABSOLUTE_TTL_HOURS: i64 = 24 * 7;
/// A session ends after this long without a request.
pub const IDLE_TTL_MINUTES: i64 = 12 * 60;

/// A live session and its user.
pub struct Session {
    pub user: User,
    pub csrf_token: String,
}

/// Creates a session for `user` (audited as a sign-in); returns the cookie token.
pub async fn create(db: &Db, user: &User) -> StoreResult<String> {
    let token = auth::random_hex(32);
    let now = Utc::now();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(auth::sha256_hex(token.as_bytes()))
    .bind(&user.id)
    .bind(auth::random_hex(32))
    .bind(db::fmt_time(now))
    .bind(db::fmt_time(now + Duration::hours(ABSOLUTE_TTL_HOURS)))
    .execute(&mut *tx)
    .await?;
    let actor = Actor {
        user_id: Some(user.id.clone()),
        email: user.email.clone(),
        request_id: None,
    };
    audit::record(
        &mut tx,
        &actor,
        Change {
            action: "user.sign-in",
            object_type: "user",
            object_id: &user.id,
            partner_id: user.partner_id.as_deref(),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// Outcome of presenting a session cookie.
pub enum Lookup {
    Valid(Box<Session>),
    /// Known but past its absolute or idle limit (it is deleted).
    Expired,
    Unknown,
}

/// Resolves a cookie token to its session, enforcing both time limits and
/// refreshing the idle timer at most once a minute.
pub async fn lookup(db: &Db, token: &str) -> StoreResult<Lookup> {
    let hash = auth::sha256_hex(token.as_bytes());
    // One round trip for the session and its user: this runs on every portal request.
    let row = sqlx::query(
        "SELECT u.*, s.csrf_token, s.last_seen_at, s.expires_at \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(Lookup::Unknown);
    };
    let now = Utc::now();
    let expires: String = row.try_get("expires_at")?;
    let last_seen: String = row.try_get("last_seen_at")?;
    let idle_limit = db::fmt_time(now - Duration::minutes(IDLE_TTL_MINUTES));
    if expires <= db::fmt_time(now) || last_seen <= idle_limit {
        delete(db, token).await?;
        return Ok(Lookup::Expired);
    }
    let user = super::users::from_row(&row)?;
    if user.status != trellis_core::org::UserStatus::Active {
        delete(db, token).await?;
        return Ok(Lookup::Unknown);
    }
    if last_seen < db::fmt_time(now - Duration::minutes(1)) {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(&hash)
            .bind(db::fmt_time(now))
            .execute(db.pool())
            .await?;
    }
    Ok(Lookup::Valid(Box::new(Session {
        user,
        csrf_token: row.try_get("csrf_token")?,
    })))
}

pub async fn delete(db: &Db, token: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(auth::sha256_hex(token.as_bytes()))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Removes sessions past their absolute limit; returns how many.
pub async fn purge_expired(db: &Db) -> StoreResult<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(db::now())
        .execute(db.pool())
        .await?;
    Ok(r.rows_affected())
}
