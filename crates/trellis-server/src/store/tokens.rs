//! Personal API tokens: shown once, stored as SHA-256, revocable.

use super::users::User;
use super::{StoreError, StoreResult, Tx};
use crate::auth;
use crate::db::{self, Db};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};
use trellis_core::org::TokenScope;
use utoipa::ToSchema;

/// What is known about a token after it was created (never the token itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    /// What the token may be used for.
    pub scopes: Vec<TokenScope>,
    /// The last day (UTC) the token works; absent: it does not expire.
    pub expires_on: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// Scopes as stored: names separated by spaces.
fn scopes_of(raw: &str) -> StoreResult<Vec<TokenScope>> {
    raw.split_whitespace()
        .map(|s| {
            TokenScope::parse("scopes", s)
                .map_err(|e| StoreError::Internal(format!("stored token scope: {}", e.message)))
        })
        .collect()
}

fn from_row(r: &AnyRow) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        scopes: scopes_of(&r.try_get::<String, _>("scopes")?)?,
        expires_on: db::opt_str(r, "expires_on")?,
        created_at: r.try_get("created_at")?,
        last_used_at: db::opt_str(r, "last_used_at")?,
        revoked_at: db::opt_str(r, "revoked_at")?,
    })
}

/// A token as a request presents it: its user and what it may do.
pub struct Presented {
    pub user: User,
    pub token_id: String,
    pub scopes: Vec<TokenScope>,
    pub expires_on: Option<String>,
}

/// Stores a token (by its hash) for a user; returns its record.
pub async fn insert(
    tx: &mut Tx,
    user_id: &str,
    name: &str,
    secret: &str,
    scopes: &[TokenScope],
    expires_on: Option<&str>,
) -> StoreResult<ApiToken> {
    let id = uuid::Uuid::now_v7().to_string();
    let prefix: String = secret
        .chars()
        .take(auth::API_TOKEN_PREFIX.len() + 6)
        .collect();
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at, scopes, expires_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(name)
    .bind(auth::sha256_hex(secret.as_bytes()))
    .bind(&prefix)
    .bind(db::now())
    .bind(
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    )
    .bind(expires_on)
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query("SELECT * FROM api_tokens WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut **tx)
        .await?;
    from_row(&row)
}

/// The token a request presents, if it exists, is not revoked and its user
/// is active (expiry is the caller's to judge).
pub async fn authenticate(db: &Db, secret: &str) -> StoreResult<Option<Presented>> {
    if !secret.starts_with(auth::API_TOKEN_PREFIX) {
        return Ok(None);
    }
    let hash = auth::sha256_hex(secret.as_bytes());
    // One round trip for the token and its active user: this runs on every API request.
    let row = sqlx::query(
        "SELECT u.*, t.id AS token_id, t.last_used_at AS token_last_used_at, \
         t.scopes AS token_scopes, t.expires_on AS token_expires_on \
         FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.status = 'active'",
    )
    .bind(&hash)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let user = super::users::from_row(&row)?;
    let token_id: String = row.try_get("token_id")?;
    // Record use at most once a minute to keep reads cheap.
    let now = chrono::Utc::now();
    let stale = db::fmt_time(now - chrono::Duration::minutes(1));
    let last: Option<String> = db::opt_str(&row, "token_last_used_at")?;
    if last.is_none_or(|l| l < stale) {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(&token_id)
            .bind(db::fmt_time(now))
            .execute(db.pool())
            .await?;
    }
    Ok(Some(Presented {
        user,
        token_id,
        scopes: scopes_of(&row.try_get::<String, _>("token_scopes")?)?,
        expires_on: db::opt_str(&row, "token_expires_on")?,
    }))
}

pub async fn list(db: &Db, user_id: &str) -> StoreResult<Vec<ApiToken>> {
    let rows =
        sqlx::query("SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id")
            .bind(user_id)
            .fetch_all(db.pool())
            .await?;
    rows.iter().map(from_row).collect()
}

/// One of a user's tokens, read inside a transaction.
pub async fn get_of_user(
    tx: &mut Tx,
    user_id: &str,
    token_id: &str,
) -> StoreResult<Option<ApiToken>> {
    sqlx::query("SELECT * FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(token_id)
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Marks a token revoked at `now`.
pub async fn set_revoked(tx: &mut Tx, token_id: &str, now: &str) -> StoreResult<()> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1")
        .bind(token_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
