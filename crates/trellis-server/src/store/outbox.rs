//! The outbox: in-app notifications and e-mails waiting for delivery, written
//! in the transaction of the change they report.

use super::{StoreResult, Tx};
use crate::db::{self, Db};
use serde::Serialize;
use sqlx::Row;

/// Links of invitations carry a secret: the outbox page never shows them, and
/// they are erased once the message is sent.
pub const INVITE_PATH: &str = "/invite/";

/// Queues an in-app notification for a user.
pub async fn in_app(
    tx: &mut Tx,
    user_id: &str,
    email: &str,
    subject: &str,
    body: &str,
    link: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (id, at, channel, user_id, recipient, subject, body, link) \
         VALUES ($1, $2, 'in-app', $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(db::now())
    .bind(user_id)
    .bind(email)
    .bind(subject)
    .bind(body)
    .bind(link)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queues one e-mail.
pub async fn email(
    tx: &mut Tx,
    user_id: Option<&str>,
    recipient: &str,
    subject: &str,
    body: &str,
    link: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (id, at, channel, user_id, recipient, subject, body, link) \
         VALUES ($1, $2, 'email', $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(db::now())
    .bind(user_id)
    .bind(recipient)
    .bind(subject)
    .bind(body)
    .bind(link)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An in-app notification.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: String,
    pub at: String,
    pub subject: String,
    pub body: String,
    pub link: Option<String>,
    pub read: bool,
}

/// A user's in-app notifications, newest first (at most 100).
pub async fn notifications(db: &Db, user_id: &str) -> StoreResult<Vec<Notification>> {
    let rows = sqlx::query(
        "SELECT id, at, subject, body, link, read_at FROM outbox WHERE user_id = $1 AND channel = 'in-app' \
         ORDER BY at DESC, id DESC LIMIT 100",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Notification {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                subject: r.try_get("subject")?,
                body: r.try_get("body")?,
                link: db::opt_str(r, "link")?,
                read: db::opt_str(r, "read_at")?.is_some(),
            })
        })
        .collect()
}

/// Marks all of a user's in-app notifications read.
pub async fn mark_read(db: &Db, user_id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE outbox SET read_at = $1 WHERE user_id = $2 AND channel = 'in-app' AND read_at IS NULL")
        .bind(db::now())
        .bind(user_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// An e-mail in the outbox, as vendor admins see it.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxMail {
    pub id: String,
    pub at: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub link: Option<String>,
    /// `queued`, `sent` or `failed`.
    pub status: &'static str,
    pub sent_at: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
}

/// The newest e-mails (at most `limit`), optionally only one status.
pub async fn mails(db: &Db, status: Option<&str>, limit: i64) -> StoreResult<Vec<OutboxMail>> {
    let filter = match status {
        Some("queued") => " AND sent_at IS NULL AND failed_at IS NULL",
        Some("sent") => " AND sent_at IS NOT NULL",
        Some("failed") => " AND failed_at IS NOT NULL",
        _ => "",
    };
    let rows = sqlx::query(&format!(
        "SELECT id, at, recipient, subject, body, link, sent_at, failed_at, attempts, last_error, next_attempt_at \
         FROM outbox WHERE channel = 'email'{filter} ORDER BY at DESC, id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let sent_at = db::opt_str(r, "sent_at")?;
            let failed = db::opt_str(r, "failed_at")?.is_some();
            Ok(OutboxMail {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                recipient: r.try_get("recipient")?,
                subject: r.try_get("subject")?,
                body: r.try_get("body")?,
                link: db::opt_str(r, "link")?.map(|l| {
                    if l.starts_with(INVITE_PATH) {
                        format!("{INVITE_PATH}(hidden)")
                    } else {
                        l
                    }
                }),
                status: if sent_at.is_some() {
                    "sent"
                } else if failed {
                    "failed"
                } else {
                    "queued"
                },
                sent_at,
                attempts: r.try_get("attempts")?,
                last_error: db::opt_str(r, "last_error")?,
                next_attempt_at: db::opt_str(r, "next_attempt_at")?,
            })
        })
        .collect()
}

/// E-mails due for an attempt at `now` that no instance holds (at most `limit`).
pub async fn due_mails(db: &Db, now: &str, limit: i64) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM outbox WHERE channel = 'email' AND sent_at IS NULL AND failed_at IS NULL \
         AND (next_attempt_at IS NULL OR next_attempt_at <= $1) \
         AND (lease_until IS NULL OR lease_until < $1) ORDER BY at, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Takes a lease on an e-mail until `lease`; `false` when another instance holds it.
pub async fn claim(db: &Db, id: &str, now: &str, lease: &str) -> StoreResult<bool> {
    Ok(sqlx::query(
        "UPDATE outbox SET lease_until = $1 WHERE id = $2 AND sent_at IS NULL AND failed_at IS NULL \
         AND (lease_until IS NULL OR lease_until < $3)",
    )
    .bind(lease)
    .bind(id)
    .bind(now)
    .execute(db.pool())
    .await?
    .rows_affected()
        == 1)
}

/// An e-mail to send.
#[derive(Debug, Clone)]
pub struct Mail {
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub link: Option<String>,
    pub attempts: i64,
}

pub async fn mail(db: &Db, id: &str) -> StoreResult<Mail> {
    let row =
        sqlx::query("SELECT recipient, subject, body, link, attempts FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_one(db.pool())
            .await?;
    Ok(Mail {
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        link: db::opt_str(&row, "link")?,
        attempts: row.try_get("attempts")?,
    })
}

/// Records a delivery; the link is kept unless it carries a secret.
pub async fn sent(db: &Db, id: &str, attempts: i64, link: Option<&str>) -> StoreResult<()> {
    let kept = link.filter(|l| !l.starts_with(INVITE_PATH));
    sqlx::query(
        "UPDATE outbox SET sent_at = $1, attempts = $2, last_error = NULL, lease_until = NULL, link = $3 WHERE id = $4",
    )
    .bind(db::now())
    .bind(attempts)
    .bind(kept)
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records a failed attempt: retried at `next`, or given up.
pub async fn attempt_failed(
    db: &Db,
    id: &str,
    attempts: i64,
    error: &str,
    next: &str,
    give_up: bool,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE outbox SET attempts = $1, last_error = $2, lease_until = NULL, \
         next_attempt_at = $3, failed_at = $4 WHERE id = $5",
    )
    .bind(attempts)
    .bind(error)
    .bind(next)
    .bind(give_up.then(db::now))
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}
