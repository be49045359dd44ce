//! Users of the vendor and of partner organisations, and their invitations.

use super::{
    decode_cursor, encode_cursor, page_limit, Arg, Sql, StoreError, StoreResult, Tx, USER_EMAIL,
};
use crate::db::{self, Db};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};
use trellis_core::org::{Role, UserStatus};
use utoipa::ToSchema;

/// How long an invitation link stays valid.
pub const INVITE_TTL_HOURS: i64 = 72;

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The partner organisation for partner roles; absent for vendor users.
    pub partner_id: Option<String>,
    pub status: UserStatus,
    pub created_at: String,
    pub updated_at: String,
}

/// A user together with the stored password hash, for sign-in only.
pub struct Credentials {
    pub user: User,
    pub password_hash: Option<String>,
}

/// A validated new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub partner_id: Option<String>,
    /// Set for users created with a password; `None` creates an invited user.
    pub password_hash: Option<String>,
}

/// Reads a user from a row holding every `users` column (possibly joined).
pub(crate) fn from_row(r: &AnyRow) -> StoreResult<User> {
    let role: String = r.try_get("role")?;
    let status: String = r.try_get("status")?;
    Ok(User {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: Role::parse("role", &role).map_err(|e| StoreError::Internal(e.to_string()))?,
        partner_id: db::opt_str(r, "partner_id")?,
        status: UserStatus::parse("status", &status)
            .map_err(|e| StoreError::Internal(e.to_string()))?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<User>> {
    let row = sqlx::query("SELECT * FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The user with an e-mail address (any letter case).
pub async fn by_email(db: &Db, email: &str) -> StoreResult<Option<User>> {
    let row = sqlx::query("SELECT * FROM users WHERE email = $1")
        .bind(email.trim().to_lowercase())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn credentials(db: &Db, email: &str) -> StoreResult<Option<Credentials>> {
    let row = sqlx::query("SELECT * FROM users WHERE email = $1")
        .bind(email.trim().to_lowercase())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref()
        .map(|r| {
            Ok(Credentials {
                user: from_row(r)?,
                password_hash: db::opt_str(r, "password_hash")?,
            })
        })
        .transpose()
}

/// Filters for listing users, sorted by e-mail.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub partner_id: Option<String>,
    /// Only vendor users.
    pub vendor_only: bool,
    pub role: Option<Role>,
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub async fn list(db: &Db, f: &UserFilter) -> StoreResult<(Vec<User>, Option<String>)> {
    let limit = page_limit(f.limit);
    let mut q = Sql::new("SELECT * FROM users WHERE 1 = 1");
    if let Some(p) = &f.partner_id {
        q.push(" AND partner_id = ").bind_text(p);
    }
    if f.vendor_only {
        q.push(" AND partner_id IS NULL");
    }
    if let Some(r) = f.role {
        q.push(" AND role = ").bind_text(r.as_str());
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!("%{}%", db::like_escape(&text.to_lowercase()));
        q.push(" AND email LIKE ")
            .bind_text(pattern)
            .push(" ESCAPE '\\'");
    }
    if let Some(c) = &f.cursor {
        let parts = decode_cursor("cursor", c, 1)?;
        q.push(" AND email > ").bind_text(parts[0].clone());
    }
    q.push(" ORDER BY email LIMIT ").bind(Arg::Int(limit + 1));
    let rows = q.query().fetch_all(db.pool()).await?;
    let mut items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|u| encode_cursor(&[&u.email]))
    } else {
        None
    };
    Ok((items, next))
}

/// Vendor users who can be assigned as channel managers.
pub async fn channel_managers(db: &Db) -> StoreResult<Vec<User>> {
    let rows = sqlx::query(
        "SELECT * FROM users WHERE role IN ('channel-manager', 'vendor-admin') \
         AND status <> 'disabled' ORDER BY name",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Inserts a user: active with a password hash, else invited.
pub async fn insert(tx: &mut Tx, new: &NewUser) -> StoreResult<User> {
    let id = uuid::Uuid::now_v7().to_string();
    let status = if new.password_hash.is_some() {
        UserStatus::Active
    } else {
        UserStatus::Invited
    };
    sqlx::query(
        "INSERT INTO users (id, email, name, role, partner_id, status, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(&id)
    .bind(&new.email)
    .bind(&new.name)
    .bind(new.role.as_str())
    .bind(new.partner_id.as_deref())
    .bind(status.as_str())
    .bind(new.password_hash.as_deref())
    .bind(db::now())
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        StoreError::on_unique(e, USER_EMAIL, || {
            format!("a user with e-mail '{}' already exists", new.email)
        })
    })?;
    get_in(tx, &id).await
}

pub async fn get_in(tx: &mut Tx, id: &str) -> StoreResult<User> {
    let row = sqlx::query("SELECT * FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    from_row(&row)
}

/// Stores a single-use invitation for a user, valid [`INVITE_TTL_HOURS`];
/// only the token's hash is kept.
pub async fn insert_invitation(
    tx: &mut Tx,
    user_id: &str,
    created_by: Option<&str>,
    token: &str,
) -> StoreResult<()> {
    let now = chrono::Utc::now();
    sqlx::query(
        "INSERT INTO invitations (token_hash, user_id, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(crate::auth::sha256_hex(token.as_bytes()))
    .bind(user_id)
    .bind(created_by)
    .bind(db::fmt_time(now))
    .bind(db::fmt_time(
        now + chrono::Duration::hours(INVITE_TTL_HOURS),
    ))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether a user has this e-mail address.
pub async fn exists(tx: &mut Tx, email: &str) -> StoreResult<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(found.is_some())
}

/// The partner organisation of a user (`None` for vendor users and unknown ids).
pub async fn partner_of(tx: &mut Tx, user_id: &str) -> StoreResult<Option<String>> {
    let own: Option<Option<String>> =
        sqlx::query_scalar("SELECT partner_id FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(own.flatten())
}

/// How many users a partner has.
pub async fn count_of_partner(tx: &mut Tx, partner_id: &str) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE partner_id = $1")
            .bind(partner_id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Why an invitation cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum InviteProblem {
    Unknown,
    Used,
    Expired,
}

/// Looks up a pending invitation without using it.
pub async fn invitation(db: &Db, token: &str) -> StoreResult<Result<User, InviteProblem>> {
    let row =
        sqlx::query("SELECT user_id, expires_at, used_at FROM invitations WHERE token_hash = $1")
            .bind(crate::auth::sha256_hex(token.as_bytes()))
            .fetch_optional(db.pool())
            .await?;
    let Some(row) = row else {
        return Ok(Err(InviteProblem::Unknown));
    };
    if db::opt_str(&row, "used_at")?.is_some() {
        return Ok(Err(InviteProblem::Used));
    }
    let expires: String = row.try_get("expires_at")?;
    if expires <= db::now() {
        return Ok(Err(InviteProblem::Expired));
    }
    let user_id: String = row.try_get("user_id")?;
    Ok(get(db, &user_id).await?.ok_or(InviteProblem::Unknown))
}

/// Uses an invitation once: marks it used if it is unused and unexpired at
/// `now`, and returns its user's id (`None` otherwise). The conditional
/// UPDATE is the single-use guarantee: two concurrent acceptances cannot
/// both match `used_at IS NULL`.
pub async fn use_invitation(tx: &mut Tx, token: &str, now: &str) -> StoreResult<Option<String>> {
    let hash = crate::auth::sha256_hex(token.as_bytes());
    let done = sqlx::query(
        "UPDATE invitations SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(&hash)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(None);
    }
    Ok(Some(
        sqlx::query_scalar("SELECT user_id FROM invitations WHERE token_hash = $1")
            .bind(&hash)
            .fetch_one(&mut **tx)
            .await?,
    ))
}

/// Sets a user's password and makes the user active.
pub async fn activate(
    tx: &mut Tx,
    user_id: &str,
    password_hash: &str,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $2, status = 'active', updated_at = $3 WHERE id = $1",
    )
    .bind(user_id)
    .bind(password_hash)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Someone to notify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub id: String,
    pub email: String,
}

fn recipients(rows: &[sqlx::any::AnyRow]) -> StoreResult<Vec<Recipient>> {
    rows.iter()
        .map(|r| {
            Ok(Recipient {
                id: r.try_get("id")?,
                email: r.try_get("email")?,
            })
        })
        .collect()
}

/// The partner's channel manager, if active.
pub async fn channel_manager_of(tx: &mut Tx, partner_id: &str) -> StoreResult<Vec<Recipient>> {
    let rows = sqlx::query(
        "SELECT u.id, u.email FROM users u JOIN partners p ON p.channel_manager_id = u.id \
         WHERE p.id = $1 AND u.status = 'active'",
    )
    .bind(partner_id)
    .fetch_all(&mut **tx)
    .await?;
    recipients(&rows)
}

/// The active vendor admins.
pub async fn vendor_admins(tx: &mut Tx) -> StoreResult<Vec<Recipient>> {
    let rows = sqlx::query(
        "SELECT id, email FROM users WHERE role = 'vendor-admin' AND status = 'active'",
    )
    .fetch_all(&mut **tx)
    .await?;
    recipients(&rows)
}

/// The partner's active admins, and `also` (one of its users) if active.
pub async fn partner_admins_and(
    tx: &mut Tx,
    partner_id: &str,
    also: Option<&str>,
) -> StoreResult<Vec<Recipient>> {
    let rows = sqlx::query(
        "SELECT id, email FROM users WHERE partner_id = $1 AND status = 'active' \
         AND (role = 'partner-admin' OR id = $2)",
    )
    .bind(partner_id)
    .bind(also.unwrap_or(""))
    .fetch_all(&mut **tx)
    .await?;
    recipients(&rows)
}
