//! E-mail: messages wait in the outbox (written in the same transaction as
//! the change they report) and a job delivers them over SMTP.
//!
//! Without `smtp_url` configured nothing is sent: the messages stay in the
//! outbox, where vendor admins read them (`/admin/outbox`). With it, every
//! instance runs the delivery job; a lease on each message keeps two
//! instances from sending the same one, and a failed attempt is retried with
//! back-off (30 s doubling, at most an hour) up to [`MAX_ATTEMPTS`] times.
//! A permanent refusal (a 5xx reply, an address that does not parse) fails
//! the message at once.

use crate::db::{self, Db};
use crate::store::StoreResult;
use chrono::{Duration, Utc};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use sqlx::Row;

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long one instance owns a message it is sending.
const LEASE_SECONDS: i64 = 120;
/// Messages per round of the job.
const BATCH: i64 = 50;
/// Links of invitations carry a secret: the outbox page never shows them, and
/// they are erased once the message is sent.
pub const INVITE_PATH: &str = "/invite/";

/// The link that accepts an invitation, on the server at `public_url`.
pub fn invite_url(public_url: &str, token: &str) -> String {
    format!("{public_url}{INVITE_PATH}{token}")
}

/// Sends e-mail over SMTP.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

/// Why an SMTP setting is unusable, and which (`smtp_url`, `mail_from`).
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct MailConfigError {
    pub key: &'static str,
    pub message: String,
}

impl Mailer {
    /// `url`: `smtp://host:25` (plain), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (TLS). `from`: `Name <addr>`.
    pub fn new(url: &str, from: &str) -> Result<Mailer, MailConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailConfigError {
                key: "smtp_url",
                message: format!(
                    "'{}' is not an SMTP URL like smtp://host:25, smtp://user:pass@host:587?tls=required or smtps://user:pass@host:465 ({e})",
                    crate::config::redact_url(url)
                ),
            })?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = from.parse::<Mailbox>().map_err(|e| MailConfigError {
            key: "mail_from",
            message: format!(
                "'{from}' is not a sender address like Trellis <prm@example.com> ({e})"
            ),
        })?;
        Ok(Mailer { transport, from })
    }

    async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), Failure> {
        let to = to
            .parse::<Mailbox>()
            .map_err(|e| Failure::Permanent(format!("recipient '{to}': {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| Failure::Permanent(format!("cannot build the message: {e}")))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| {
            if e.is_permanent() {
                Failure::Permanent(e.to_string())
            } else {
                Failure::Transient(e.to_string())
            }
        })
    }
}

enum Failure {
    Permanent(String),
    Transient(String),
}

/// What one round of delivery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// The delay before attempt `attempts + 1`.
fn backoff(attempts: i64) -> Duration {
    Duration::seconds((30_i64 << attempts.clamp(0, 7)).min(3_600))
}

/// The text of an e-mail: the message, then the link to open.
pub fn body_with_link(body: &str, link: Option<&str>, public_url: &str) -> String {
    match link {
        Some(l) if l.starts_with('/') => format!("{body}\n\n{public_url}{l}\n"),
        Some(l) => format!("{body}\n\n{l}\n"),
        None => format!("{body}\n"),
    }
}

/// Sends the e-mails that are due, each claimed under a lease first.
pub async fn deliver_due(db: &Db, mailer: &Mailer, public_url: &str) -> StoreResult<Round> {
    let now = db::now();
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM outbox WHERE channel = 'email' AND sent_at IS NULL AND failed_at IS NULL \
         AND (next_attempt_at IS NULL OR next_attempt_at <= $1) \
         AND (lease_until IS NULL OR lease_until < $1) ORDER BY at, id LIMIT $2",
    )
    .bind(&now)
    .bind(BATCH)
    .fetch_all(db.pool())
    .await?;
    let mut round = Round::default();
    for id in due {
        let now = db::now();
        let lease = db::fmt_time(Utc::now() + Duration::seconds(LEASE_SECONDS));
        let claimed = sqlx::query(
            "UPDATE outbox SET lease_until = $1 WHERE id = $2 AND sent_at IS NULL AND failed_at IS NULL \
             AND (lease_until IS NULL OR lease_until < $3)",
        )
        .bind(&lease)
        .bind(&id)
        .bind(&now)
        .execute(db.pool())
        .await?
        .rows_affected()
            == 1;
        if !claimed {
            continue; // another instance has it
        }
        let row = sqlx::query(
            "SELECT recipient, subject, body, link, attempts FROM outbox WHERE id = $1",
        )
        .bind(&id)
        .fetch_one(db.pool())
        .await?;
        let recipient: String = row.try_get("recipient")?;
        let subject: String = row.try_get("subject")?;
        let body: String = row.try_get("body")?;
        let link = db::opt_str(&row, "link")?;
        let attempts: i64 = row.try_get::<i64, _>("attempts")? + 1;
        let text = body_with_link(&body, link.as_deref(), public_url);
        match mailer.send(&recipient, &subject, text).await {
            Ok(()) => {
                let kept_link = link.filter(|l| !l.starts_with(INVITE_PATH));
                sqlx::query(
                    "UPDATE outbox SET sent_at = $1, attempts = $2, last_error = NULL, lease_until = NULL, link = $3 WHERE id = $4",
                )
                .bind(db::now())
                .bind(attempts)
                .bind(kept_link)
                .bind(&id)
                .execute(db.pool())
                .await?;
                round.sent += 1;
            }
            Err(failure) => {
                let (error, give_up) = match failure {
                    Failure::Permanent(e) => (e, true),
                    Failure::Transient(e) => (e, attempts >= MAX_ATTEMPTS),
                };
                // The recipient is personal data; the outbox row keeps it.
                tracing::warn!(outbox_id = %id, attempts, give_up, error = %error, "e-mail not delivered");
                let next = db::fmt_time(Utc::now() + backoff(attempts));
                sqlx::query(
                    "UPDATE outbox SET attempts = $1, last_error = $2, lease_until = NULL, \
                     next_attempt_at = $3, failed_at = $4 WHERE id = $5",
                )
                .bind(attempts)
                .bind(&error)
                .bind(&next)
                .bind(give_up.then(db::now))
                .bind(&id)
                .execute(db.pool())
                .await?;
                if give_up {
                    round.failed += 1;
                } else {
                    round.retried += 1;
                }
            }
        }
    }
    Ok(round)
}

/// Delivers due e-mail every `every` until the task is aborted.
pub async fn delivery_job(db: Db, mailer: Mailer, public_url: String, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match deliver_due(&db, &mailer, &public_url).await {
            Ok(r) if r == Round::default() => {}
            Ok(r) => tracing::info!(
                sent = r.sent,
                retried = r.retried,
                failed = r.failed,
                "e-mail delivery"
            ),
            Err(e) => tracing::warn!(error = %e, "e-mail delivery failed; retrying"),
        }
    }
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
pub async fn outbox(db: &Db, status: Option<&str>, limit: i64) -> StoreResult<Vec<OutboxMail>> {
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

/// Notifies a user in the portal and by e-mail (inside the caller's transaction).
pub async fn notify_user(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
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
    queue(tx, Some(user_id), email, subject, body, Some(link)).await
}

/// Queues one e-mail (inside the caller's transaction).
pub async fn queue(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(1), Duration::seconds(60));
        assert_eq!(backoff(3), Duration::seconds(240));
        assert_eq!(backoff(7), Duration::seconds(3_600));
        assert_eq!(backoff(40), Duration::seconds(3_600));
    }

    #[test]
    fn links_become_absolute() {
        assert_eq!(
            body_with_link("Approved.", Some("/deals/7"), "https://prm.example.com"),
            "Approved.\n\nhttps://prm.example.com/deals/7\n"
        );
        assert_eq!(body_with_link("Hi.", None, "x"), "Hi.\n");
    }

    #[test]
    fn bad_settings_are_named() {
        let e = Mailer::new("ftp://x", "a@b.c").unwrap_err().to_string();
        assert!(e.contains("not an SMTP URL"), "{e}");
        let e = Mailer::new("smtp://user:secret@localhost:25", "not an address")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a sender address"), "{e}");
        assert!(!e.contains("secret"));
    }
}
