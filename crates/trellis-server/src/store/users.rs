//! Users of the vendor and of partner organisations, and their invitations.

use super::audit::{self, Change};
use super::{decode_cursor, encode_cursor, page_limit, Actor, Arg, Sql, StoreError, StoreResult};
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
    #[schema(value_type = String, example = "partner-admin")]
    pub role: Role,
    /// The partner organisation for partner roles; absent for vendor users.
    pub partner_id: Option<String>,
    #[schema(value_type = String, example = "active")]
    pub status: UserStatus,
    pub created_at: String,
    pub updated_at: String,
}

impl User {
    fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({
            "email": self.email, "name": self.name, "role": self.role,
            "partner_id": self.partner_id, "status": self.status,
        })
    }
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

async fn insert(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    actor: &Actor,
    new: &NewUser,
    action: &str,
) -> StoreResult<User> {
    if new.role.is_partner() != new.partner_id.is_some() {
        return Err(StoreError::Invalid(
            trellis_core::FieldError::new(
                "role",
                "role-partner-mismatch",
                "partner roles need a partner and vendor roles must have none",
            )
            .into(),
        ));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let status = if new.password_hash.is_some() {
        UserStatus::Active
    } else {
        UserStatus::Invited
    };
    let res = sqlx::query(
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
    .await;
    match res {
        Err(e) if db::is_unique_violation(&e) => {
            return Err(StoreError::Conflict {
                field: "email",
                message: format!("a user with e-mail '{}' already exists", new.email),
            })
        }
        r => r?,
    };
    let row = sqlx::query("SELECT * FROM users WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut **tx)
        .await?;
    let user = from_row(&row)?;
    audit::record(
        tx,
        actor,
        Change {
            action,
            object_type: "user",
            object_id: &id,
            partner_id: user.partner_id.as_deref(),
            before: None,
            after: Some(user.audit_json()),
        },
    )
    .await?;
    Ok(user)
}

/// Creates a user who can sign in at once (CLI, demo).
pub async fn create(db: &Db, actor: &Actor, new: NewUser) -> StoreResult<User> {
    let mut tx = db.begin_write().await?;
    let user = insert(&mut tx, actor, &new, "user.create").await?;
    tx.commit().await?;
    Ok(user)
}

/// Creates an invited user and a single-use invitation; returns the user and
/// the invitation token (clear text, to be handed out once).
pub async fn invite(db: &Db, actor: &Actor, new: NewUser) -> StoreResult<(User, String)> {
    let mut tx = db.begin_write().await?;
    let invited = invite_in(&mut tx, actor, new).await?;
    tx.commit().await?;
    Ok(invited)
}

/// Invites a user inside the caller's transaction: the user, the hashed
/// single-use token, and the e-mail with the link (queued in the outbox).
pub(crate) async fn invite_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    actor: &Actor,
    new: NewUser,
) -> StoreResult<(User, String)> {
    let user = insert(
        tx,
        actor,
        &NewUser {
            password_hash: None,
            ..new
        },
        "user.invite",
    )
    .await?;
    let token = crate::auth::random_hex(32);
    let now = chrono::Utc::now();
    sqlx::query(
        "INSERT INTO invitations (token_hash, user_id, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(crate::auth::sha256_hex(token.as_bytes()))
    .bind(&user.id)
    .bind(actor.user_id.as_deref())
    .bind(db::fmt_time(now))
    .bind(db::fmt_time(
        now + chrono::Duration::hours(INVITE_TTL_HOURS),
    ))
    .execute(&mut **tx)
    .await?;
    crate::mail::queue(
        tx,
        Some(&user.id),
        &user.email,
        "Your invitation to Trellis",
        &format!(
            "{} invited you to Trellis as {}. Open the link below to set your password; it works once and for {INVITE_TTL_HOURS} hours.",
            actor.email,
            user.role.label()
        ),
        Some(&format!("{}{token}", crate::mail::INVITE_PATH)),
    )
    .await?;
    if let Some(pid) = &user.partner_id {
        crate::store::onboarding::on_event(
            tx,
            actor,
            pid,
            trellis_core::program::model::TaskEvent::UserAdded,
        )
        .await?;
    }
    Ok((user, token))
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

/// Uses an invitation: sets the password and activates the user, once.
pub async fn accept_invitation(
    db: &Db,
    token: &str,
    password_hash: &str,
) -> StoreResult<Result<User, InviteProblem>> {
    let mut tx = db.begin_write().await?;
    let now = db::now();
    // The conditional UPDATE is the single-use guarantee: two concurrent
    // acceptances cannot both match `used_at IS NULL`.
    let hash = crate::auth::sha256_hex(token.as_bytes());
    let done = sqlx::query(
        "UPDATE invitations SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(&hash)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        drop(tx);
        return match invitation(db, token).await? {
            Err(p) => Ok(Err(p)),
            Ok(_) => Ok(Err(InviteProblem::Used)),
        };
    }
    let user_id: String =
        sqlx::query_scalar("SELECT user_id FROM invitations WHERE token_hash = $1")
            .bind(&hash)
            .fetch_one(&mut *tx)
            .await?;
    let before_row = sqlx::query("SELECT * FROM users WHERE id = $1")
        .bind(&user_id)
        .fetch_one(&mut *tx)
        .await?;
    let before = from_row(&before_row)?;
    sqlx::query(
        "UPDATE users SET password_hash = $2, status = 'active', updated_at = $3 WHERE id = $1",
    )
    .bind(&user_id)
    .bind(password_hash)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    let after = User {
        status: UserStatus::Active,
        updated_at: now,
        ..before.clone()
    };
    let actor = Actor {
        user_id: Some(after.id.clone()),
        email: after.email.clone(),
        request_id: None,
    };
    audit::record(
        &mut tx,
        &actor,
        Change {
            action: "user.accept-invitation",
            object_type: "user",
            object_id: &after.id,
            partner_id: after.partner_id.as_deref(),
            before: Some(before.audit_json()),
            after: Some(after.audit_json()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(after))
}
