//! Personal API tokens: shown once, stored as SHA-256, revocable.

use super::audit::{self, Change};
use super::users::User;
use super::{Actor, StoreError, StoreResult};
use crate::auth;
use crate::db::{self, Db};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};
use utoipa::ToSchema;

/// What is known about a token after it was created (never the token itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

fn from_row(r: &AnyRow) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        created_at: r.try_get("created_at")?,
        last_used_at: db::opt_str(r, "last_used_at")?,
        revoked_at: db::opt_str(r, "revoked_at")?,
    })
}

/// Creates a token for `user`; returns its record and the clear-text token.
pub async fn create(
    db: &Db,
    actor: &Actor,
    user: &User,
    name: &str,
) -> StoreResult<(ApiToken, String)> {
    let secret = auth::new_api_token();
    let id = uuid::Uuid::now_v7().to_string();
    let prefix: String = secret
        .chars()
        .take(auth::API_TOKEN_PREFIX.len() + 6)
        .collect();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(name)
    .bind(auth::sha256_hex(secret.as_bytes()))
    .bind(&prefix)
    .bind(db::now())
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query("SELECT * FROM api_tokens WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
    let token = from_row(&row)?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "token.create",
            object_type: "api_token",
            object_id: &id,
            partner_id: user.partner_id.as_deref(),
            before: None,
            after: Some(serde_json::json!({"name": name, "prefix": prefix, "user_id": user.id})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((token, secret))
}

/// The user a bearer token belongs to, if it is valid, not revoked and the user active.
pub async fn authenticate(db: &Db, secret: &str) -> StoreResult<Option<User>> {
    if !secret.starts_with(auth::API_TOKEN_PREFIX) {
        return Ok(None);
    }
    let hash = auth::sha256_hex(secret.as_bytes());
    // One round trip for the token and its active user: this runs on every API request.
    let row = sqlx::query(
        "SELECT u.*, t.id AS token_id, t.last_used_at AS token_last_used_at \
         FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.status = 'active'",
    )
    .bind(&hash)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let user = super::users::from_row(&row)?;
    // Record use at most once a minute to keep reads cheap.
    let now = chrono::Utc::now();
    let stale = db::fmt_time(now - chrono::Duration::minutes(1));
    let last: Option<String> = db::opt_str(&row, "token_last_used_at")?;
    if last.is_none_or(|l| l < stale) {
        let id: String = row.try_get("token_id")?;
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(db::fmt_time(now))
            .execute(db.pool())
            .await?;
    }
    Ok(Some(user))
}

pub async fn list(db: &Db, user_id: &str) -> StoreResult<Vec<ApiToken>> {
    let rows =
        sqlx::query("SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id")
            .bind(user_id)
            .fetch_all(db.pool())
            .await?;
    rows.iter().map(from_row).collect()
}

/// Revokes one of `user`'s tokens. Unknown ids and other users' tokens are "not found".
pub async fn revoke(db: &Db, actor: &Actor, user: &User, token_id: &str) -> StoreResult<ApiToken> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query("SELECT * FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(token_id)
        .bind(&user.id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("token"))?;
    let before = from_row(&row)?;
    if before.revoked_at.is_some() {
        return Ok(before);
    }
    let now = db::now();
    sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1")
        .bind(token_id)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "token.revoke",
            object_type: "api_token",
            object_id: token_id,
            partner_id: user.partner_id.as_deref(),
            before: Some(serde_json::json!({"revoked_at": null})),
            after: Some(serde_json::json!({"revoked_at": now})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ApiToken {
        revoked_at: Some(now),
        ..before
    })
}
