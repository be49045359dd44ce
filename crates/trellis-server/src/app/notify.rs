//! Telling people what happened: in-app notifications and e-mails, queued in
//! the outbox inside the transaction of the change they report, so that a
//! change and its notifications commit or fail together.

use super::{AppResult, Tx};
use crate::store::outbox;
use crate::store::users::Recipient;

/// Notifies each user in the portal and by e-mail; `link` is a path.
pub async fn users(
    tx: &mut Tx,
    to: &[Recipient],
    subject: &str,
    body: &str,
    link: &str,
) -> AppResult<()> {
    for r in to {
        outbox::in_app(tx, &r.id, &r.email, subject, body, link).await?;
        outbox::email(tx, Some(&r.id), &r.email, subject, body, Some(link)).await?;
    }
    Ok(())
}

/// E-mails someone who may have no account (an applicant, say).
pub async fn email(tx: &mut Tx, to: &str, subject: &str, body: &str) -> AppResult<()> {
    outbox::email(tx, None, to, subject, body, None).await?;
    Ok(())
}

/// A user's in-app notifications, newest first.
pub use outbox::{mark_read, notifications, Notification};

/// The newest e-mails of the outbox, optionally of one status (vendor admins).
pub async fn outbox(
    app: &super::App,
    who: &trellis_core::access::Principal,
    status: Option<&str>,
) -> AppResult<Vec<outbox::OutboxMail>> {
    if !who.can_read_audit() {
        return Err(super::AppError::forbidden(
            "the outbox is for vendor admins",
        ));
    }
    Ok(outbox::mails(&app.db, status, 200).await?)
}
