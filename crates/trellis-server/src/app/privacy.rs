//! A person's data: everything held about them, read out as one document,
//! and erasure (personal fields replaced by a pseudonym, the audit trail kept
//! with the pseudonym). Vendor admins only; both are audited.

use super::audit::{self, Subject};
use super::{App, AppError, AppResult};
use crate::store::privacy::{self as store, Person};
use crate::store::users::{self, User};
use crate::store::Actor;
use serde::Serialize;
use serde_json::{Map, Value};
use trellis_core::access::Principal;
use trellis_core::org::{Role, UserStatus};
use utoipa::ToSchema;

/// Everything Trellis holds about one person, section by section: their
/// account, sessions, API tokens (never the secret), invitations, sign-in
/// attempts, messages, partner applications they made, agreements they
/// accepted, deals they registered, what they did to deals, partners,
/// onboarding tasks, statements and sales imports, and the audit entries
/// by or about them.
#[derive(Serialize, ToSchema)]
pub struct PersonalData {
    /// When this export was made (RFC 3339, UTC).
    pub exported_at: String,
    pub user_id: String,
    /// Section name → its records (each an object of stored fields).
    #[schema(value_type = Object)]
    pub sections: Map<String, Value>,
}

/// What erasing a person did.
#[derive(Serialize, ToSchema)]
pub struct Erasure {
    pub user_id: String,
    /// The address the account and the audit trail now show instead of theirs.
    pub pseudonym: String,
    /// Records changed or removed, by kind (only kinds with any).
    #[schema(value_type = Object)]
    pub changed: Map<String, Value>,
}

/// The display name an erased person is shown with.
pub const ERASED_NAME: &str = "Erased person";

/// The address an erased user keeps (unique, never deliverable).
pub fn pseudonym_email(user_id: &str) -> String {
    format!("erased-{user_id}@erased.invalid")
}

/// Whether a stored address is one left by erasing.
pub fn is_erased(email: &str) -> bool {
    email.ends_with("@erased.invalid")
}

/// Vendor admins only. Partners are told nothing of people outside their
/// organisation, so to them any id is unknown (404), as elsewhere.
fn allowed(who: &Principal) -> AppResult<()> {
    if who.role.is_partner() {
        return Err(AppError::NotFound("user"));
    }
    if who.role != Role::VendorAdmin {
        return Err(AppError::forbidden(
            "only vendor admins can export or erase a person's data",
        ));
    }
    Ok(())
}

async fn person(app: &App, user_id: &str) -> AppResult<User> {
    users::get(&app.db, user_id)
        .await?
        .ok_or(AppError::NotFound("user"))
}

/// Everything held about a user, as one document. Recorded in the audit
/// trail (who read whose data).
pub async fn export(
    app: &App,
    who: &Principal,
    actor: &Actor,
    user_id: &str,
) -> AppResult<PersonalData> {
    allowed(who)?;
    let user = person(app, user_id).await?;
    let p = Person {
        id: &user.id,
        email: &user.email,
        name: &user.name,
    };
    let sections = store::export(&app.db, &p)
        .await?
        .into_iter()
        .map(|(name, rows)| (name.to_string(), Value::Array(rows)))
        .collect();
    let mut tx = app.db.begin_write().await?;
    audit::record(
        &mut tx,
        actor,
        "user.export-personal-data",
        subject(&user),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(PersonalData {
        exported_at: crate::db::now(),
        user_id: user.id,
        sections,
    })
}

fn subject(user: &User) -> Subject<'_> {
    let s = Subject::new("user", &user.id);
    match &user.partner_id {
        Some(p) => s.of_partner(p),
        None => s,
    }
}

/// Erases a person: in one transaction, their e-mail and name become a
/// pseudonym, the account is disabled, sessions, invitations, tokens and
/// unsent mail go, and every record of what they did keeps the pseudonym.
/// Not oneself (another admin must do it) and not the last active vendor
/// admin; a person already erased is a conflict.
pub async fn erase(app: &App, who: &Principal, actor: &Actor, user_id: &str) -> AppResult<Erasure> {
    allowed(who)?;
    let user = person(app, user_id).await?;
    if who.user_id == user.id {
        return Err(AppError::forbidden(
            "you cannot erase your own data; another vendor admin must do it",
        ));
    }
    if is_erased(&user.email) {
        return Err(AppError::Conflict {
            field: "id",
            message: "this person's data has already been erased".into(),
        });
    }
    let mut tx = app.db.begin_write().await?;
    if user.role == Role::VendorAdmin && user.status == UserStatus::Active {
        let admins = users::vendor_admins(&mut tx).await?;
        if admins.iter().all(|a| a.id == user.id) {
            return Err(AppError::Conflict {
                field: "id",
                message:
                    "this is the last active vendor admin; make someone else a vendor admin first"
                        .into(),
            });
        }
    }
    let p = Person {
        id: &user.id,
        email: &user.email,
        name: &user.name,
    };
    let pseudonym = pseudonym_email(&user.id);
    let into = Person {
        id: &user.id,
        email: &pseudonym,
        name: ERASED_NAME,
    };
    let counts = store::erase(&mut tx, app.db.backend(), &p, &into).await?;
    let changed: Map<String, Value> = counts
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.to_string(), Value::from(n)))
        .collect();
    audit::record(
        &mut tx,
        actor,
        "user.erase",
        subject(&user),
        None,
        Some(serde_json::json!({ "pseudonym": pseudonym, "changed": changed })),
    )
    .await?;
    tx.commit().await?;
    Ok(Erasure {
        user_id: user.id,
        pseudonym,
        changed,
    })
}
