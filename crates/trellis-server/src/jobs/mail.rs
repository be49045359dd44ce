//! E-mail delivery: messages wait in the outbox (written in the same transaction as
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
use crate::store::outbox;
use crate::store::StoreResult;
use chrono::{Duration, Utc};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long one instance owns a message it is sending.
const LEASE_SECONDS: i64 = 120;
/// How long an instance keeps trying to record a message it has sent (well
/// inside the lease, so that no other instance takes the message meanwhile).
const RECORD_FOR: std::time::Duration = std::time::Duration::from_secs(60);
/// Messages per round of the job.
const BATCH: i64 = 50;
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

    async fn send(
        &self,
        outbox_id: &str,
        to: &str,
        subject: &str,
        body: String,
    ) -> Result<(), Failure> {
        let to = to
            .parse::<Mailbox>()
            .map_err(|e| Failure::Permanent(format!("recipient '{to}': {e}")))?;
        let message = Message::builder()
            .message_id(Some(message_id(outbox_id, &self.from)))
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

/// The Message-ID of an outbox message: the same on every attempt, so that a
/// message sent twice (an instance that dies, or loses the database, between
/// the SMTP server's acceptance and recording it) can be recognised as one.
fn message_id(outbox_id: &str, from: &Mailbox) -> String {
    format!("<{outbox_id}@{}>", from.email.domain())
}

/// Records a delivery, retrying through a database outage for up to
/// [`RECORD_FOR`]: the message is out, and unrecorded it would be sent again
/// when its lease ends.
async fn record_sent(db: &Db, id: &str, attempts: i64, link: Option<&str>) -> StoreResult<()> {
    let started = std::time::Instant::now();
    let mut wait = std::time::Duration::from_millis(250);
    loop {
        match outbox::sent(db, id, attempts, link).await {
            Ok(()) => return Ok(()),
            Err(e) if started.elapsed() + wait < RECORD_FOR => {
                tracing::warn!(outbox_id = %id, error = %e, "e-mail sent but not recorded yet; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(5));
            }
            Err(e) => return Err(e),
        }
    }
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
    let mut round = Round::default();
    for id in outbox::due_mails(db, &db::now(), BATCH).await? {
        let lease = db::fmt_time(Utc::now() + Duration::seconds(LEASE_SECONDS));
        if !outbox::claim(db, &id, &db::now(), &lease).await? {
            continue; // another instance has it
        }
        let m = outbox::mail(db, &id).await?;
        let attempts = m.attempts + 1;
        let text = body_with_link(&m.body, m.link.as_deref(), public_url);
        match mailer.send(&id, &m.recipient, &m.subject, text).await {
            Ok(()) => {
                record_sent(db, &id, attempts, m.link.as_deref()).await?;
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
                outbox::attempt_failed(db, &id, attempts, &error, &next, give_up).await?;
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
    fn message_ids_name_the_outbox_row() {
        let from: Mailbox = "Trellis <prm@example.com>".parse().unwrap();
        assert_eq!(
            message_id("01a2-b3", &from),
            "<01a2-b3@example.com>".to_string()
        );
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
