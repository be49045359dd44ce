//! One way to record a change in the audit trail, inside the change's own
//! transaction: what was done, to which object, its state before and after.

use super::{App, AppError, AppResult, Tx};
use crate::store::audit::{self as trail, AuditEntry, AuditFilter, Change};
use crate::store::Actor;
use serde_json::Value;
use trellis_core::access::Principal;

/// The object a change is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// `partner`, `deal`, `user`, `program`, …
    pub kind: &'static str,
    pub id: &'a str,
    /// The partner organisation it belongs to, if any.
    pub partner_id: Option<&'a str>,
}

impl<'a> Subject<'a> {
    pub fn new(kind: &'static str, id: &'a str) -> Subject<'a> {
        Subject {
            kind,
            id,
            partner_id: None,
        }
    }

    /// The same subject, belonging to `partner_id`.
    pub fn of_partner(self, partner_id: &'a str) -> Subject<'a> {
        Subject {
            partner_id: Some(partner_id),
            ..self
        }
    }
}

/// An object whose changes are audited: what it is and what it looked like.
pub trait Audited {
    fn subject(&self) -> Subject<'_>;
    /// The fields worth keeping before and after a change.
    fn snapshot(&self) -> Value;
}

/// Records `action` on `subject` with its state before and after.
pub async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    subject: Subject<'_>,
    before: Option<Value>,
    after: Option<Value>,
) -> AppResult<()> {
    trail::record(
        tx,
        actor,
        Change {
            action,
            object_type: subject.kind,
            object_id: subject.id,
            partner_id: subject.partner_id,
            before,
            after,
        },
    )
    .await?;
    Ok(())
}

/// Records the creation of `after`.
pub async fn created(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    after: &impl Audited,
) -> AppResult<()> {
    record(
        tx,
        actor,
        action,
        after.subject(),
        None,
        Some(after.snapshot()),
    )
    .await
}

/// Records a change from `before` to `after` (the same object).
pub async fn changed<T: Audited>(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    before: &T,
    after: &T,
) -> AppResult<()> {
    record(
        tx,
        actor,
        action,
        after.subject(),
        Some(before.snapshot()),
        Some(after.snapshot()),
    )
    .await
}

/// One page of the trail, newest first (vendor admins).
pub async fn list(
    app: &App,
    who: &Principal,
    filter: &AuditFilter,
) -> AppResult<(Vec<AuditEntry>, Option<String>)> {
    if !who.can_read_audit() {
        return Err(AppError::forbidden(
            "only vendor admins can read the audit trail",
        ));
    }
    Ok(trail::list(&app.db, filter).await?)
}
