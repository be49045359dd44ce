//! People of the vendor and of partner organisations: creating, inviting
//! (a single-use link by e-mail), accepting an invitation, listing.

use super::audit::{self, Audited, Subject};
use super::{onboarding, App, AppError, AppResult, Tx};
use crate::store::outbox::INVITE_PATH;
use crate::store::partners::Partner;
use crate::store::users::{
    self as store, InviteProblem, NewUser, User, UserFilter, INVITE_TTL_HOURS,
};
use crate::store::Actor;
use serde::{Deserialize, Serialize};
use trellis_core::access::Principal;
use trellis_core::org::{Role, UserStatus};
use trellis_core::program::model::TaskEvent;
use trellis_core::validate::{Email, Name};
use trellis_core::{FieldError, FieldErrors};
use utoipa::ToSchema;

impl Audited for User {
    fn subject(&self) -> Subject<'_> {
        let s = Subject::new("user", &self.id);
        match &self.partner_id {
            Some(p) => s.of_partner(p),
            None => s,
        }
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "email": self.email, "name": self.name, "role": self.role,
            "partner_id": self.partner_id, "status": self.status,
        })
    }
}

/// The link that accepts an invitation, on the server at `public_url`.
pub fn invite_url(public_url: &str, token: &str) -> String {
    format!("{public_url}{INVITE_PATH}{token}")
}

/// Someone to invite. They get a single-use link to set their password.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct InviteUser {
    pub email: String,
    pub name: String,
    /// For a partner: `partner-admin` or `partner-user`. For the vendor:
    /// `vendor-admin` or `channel-manager`.
    pub role: String,
}

/// The invited user and the link that lets them set a password. The link is
/// shown only in this response; it expires after 72 hours and works once.
#[derive(Serialize, ToSchema)]
pub struct Invitation {
    pub user: User,
    pub invite_url: String,
}

impl InviteUser {
    pub fn validate(&self, partner_id: Option<&str>) -> Result<NewUser, FieldErrors> {
        let mut errs = FieldErrors::new();
        let email = errs.check(Email::parse("email", &self.email));
        let name = errs.check(Name::parse("name", &self.name, 120));
        let role = errs.check(Role::parse("role", &self.role));
        if let Some(r) = role {
            if r.is_partner() != partner_id.is_some() {
                errs.push(FieldError::new(
                    "role",
                    "invalid-value",
                    if partner_id.is_some() {
                        "role must be partner-admin or partner-user for a partner's user"
                    } else {
                        "role must be vendor-admin or channel-manager for a vendor user"
                    },
                ));
            }
        }
        errs.into_result()?;
        let (Some(email), Some(name), Some(role)) = (email, name, role) else {
            unreachable!("every None recorded an error");
        };
        Ok(NewUser {
            email: email.as_str().to_string(),
            name: name.into_string(),
            role,
            partner_id: partner_id.map(str::to_string),
            password_hash: None,
        })
    }
}

async fn insert(tx: &mut Tx, actor: &Actor, new: &NewUser, action: &str) -> AppResult<User> {
    if new.role.is_partner() != new.partner_id.is_some() {
        return Err(AppError::field(
            "role",
            "role-partner-mismatch",
            "partner roles need a partner and vendor roles must have none",
        ));
    }
    let user = store::insert(tx, new).await?;
    audit::created(tx, actor, action, &user).await?;
    Ok(user)
}

/// Creates a user who can sign in at once (command line, demo).
pub async fn create(app: &App, actor: &Actor, new: NewUser) -> AppResult<User> {
    let mut tx = app.db.begin_write().await?;
    let user = insert(&mut tx, actor, &new, "user.create").await?;
    tx.commit().await?;
    Ok(user)
}

/// Invites a user inside the caller's transaction: the user, the hashed
/// single-use token, and the e-mail with the link (queued in the outbox).
/// Returns the user and the token (clear text, to be handed out once).
pub(crate) async fn invite_in(
    tx: &mut Tx,
    actor: &Actor,
    new: NewUser,
) -> AppResult<(User, String)> {
    let new = NewUser {
        password_hash: None,
        ..new
    };
    let user = insert(tx, actor, &new, "user.invite").await?;
    let token = crate::auth::random_hex(32);
    store::insert_invitation(tx, &user.id, actor.user_id.as_deref(), &token).await?;
    crate::store::outbox::email(
        tx,
        Some(&user.id),
        &user.email,
        "Your invitation to Trellis",
        &format!(
            "{} invited you to Trellis as {}. Open the link below to set your password; it works once and for {INVITE_TTL_HOURS} hours.",
            actor.email,
            user.role.label()
        ),
        Some(&format!("{INVITE_PATH}{token}")),
    )
    .await?;
    if let Some(pid) = &user.partner_id {
        onboarding::on_event(tx, actor, pid, TaskEvent::UserAdded).await?;
    }
    Ok((user, token))
}

/// Invites a checked new user (the command line, which decides its own
/// rights); the API and the portal go through [`invite_into_partner`] and
/// [`invite_vendor`].
pub async fn invite_new(app: &App, actor: &Actor, new: NewUser) -> AppResult<Invitation> {
    invite(app, actor, new).await
}

async fn invite(app: &App, actor: &Actor, new: NewUser) -> AppResult<Invitation> {
    let mut tx = app.db.begin_write().await?;
    let (user, token) = invite_in(&mut tx, actor, new).await?;
    tx.commit().await?;
    Ok(Invitation {
        user,
        invite_url: invite_url(&app.public_url(), &token),
    })
}

/// What inviting into a partner gave: the link itself (vendor staff, who
/// may see who has an account), or only word that an e-mail went out
/// (the partner's own admins, see [`InvitationSent`]).
pub enum Invited {
    Link(Invitation),
    Sent(InvitationSent),
}

/// The answer partner admins get to an invitation, the same whether or not
/// the address already has an account, so that inviting cannot be used to
/// find out who uses Trellis. The new user gets the link by e-mail; the
/// owner of an address in use gets a note instead.
#[derive(Serialize, ToSchema)]
pub struct InvitationSent {
    pub email: String,
    pub message: String,
}

/// Invites a user into a partner the caller can see (see
/// [`super::partners::visible`]), after the policy check.
pub async fn invite_into_partner(
    app: &App,
    who: &Principal,
    actor: &Actor,
    partner: &Partner,
    body: &InviteUser,
) -> AppResult<Invited> {
    let new = body.validate(Some(&partner.id))?;
    if !who.can_invite(partner.as_ref(), new.role) {
        return Err(AppError::forbidden(
            "you cannot invite users into this partner",
        ));
    }
    if who.is_vendor() {
        return Ok(Invited::Link(invite(app, actor, new).await?));
    }
    let email = new.email.clone();
    let mut tx = app.db.begin_write().await?;
    if store::exists(&mut tx, &email).await? {
        crate::store::outbox::email(
            &mut tx,
            None,
            &email,
            "Someone tried to invite you to Trellis",
            &format!(
                "{} tried to invite this address into {} on Trellis, but it already has an account. \
                 Nothing has changed; if you expected this, ask them to contact the vendor.",
                actor.email, partner.name
            ),
            None,
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            "user.invite-existing",
            Subject::new("partner", &partner.id).of_partner(&partner.id),
            None,
            Some(serde_json::json!({ "role": new.role })),
        )
        .await?;
    } else {
        invite_in(&mut tx, actor, new).await?;
    }
    tx.commit().await?;
    Ok(Invited::Sent(InvitationSent {
        message: format!("If {email} can be invited, an invitation is on its way by e-mail."),
        email,
    }))
}

/// Invites a vendor user (vendor admins).
pub async fn invite_vendor(
    app: &App,
    who: &Principal,
    actor: &Actor,
    body: &InviteUser,
) -> AppResult<Invitation> {
    if !who.can_manage_vendor_users() {
        return Err(AppError::forbidden(
            "only vendor admins can invite vendor users",
        ));
    }
    let new = body.validate(None)?;
    invite(app, actor, new).await
}

/// Uses an invitation: sets the password and activates the user, once.
pub async fn accept_invitation(
    app: &App,
    token: &str,
    password_hash: &str,
) -> AppResult<Result<User, InviteProblem>> {
    let mut tx = app.db.begin_write().await?;
    let now = crate::db::now();
    let Some(user_id) = store::use_invitation(&mut tx, token, &now).await? else {
        drop(tx);
        return Ok(match store::invitation(&app.db, token).await? {
            Err(p) => Err(p),
            Ok(_) => Err(InviteProblem::Used),
        });
    };
    let before = store::get_in(&mut tx, &user_id).await?;
    store::activate(&mut tx, &user_id, password_hash, &now).await?;
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
    audit::changed(&mut tx, &actor, "user.accept-invitation", &before, &after).await?;
    tx.commit().await?;
    Ok(Ok(after))
}

/// A partner's users (the partner must be visible to the caller).
pub async fn list_of_partner(
    app: &App,
    partner: &Partner,
    mut filter: UserFilter,
) -> AppResult<(Vec<User>, Option<String>)> {
    filter.partner_id = Some(partner.id.clone());
    filter.vendor_only = false;
    Ok(store::list(&app.db, &filter).await?)
}

/// Vendor users who can be assigned as channel managers.
pub async fn channel_managers(app: &App) -> AppResult<Vec<User>> {
    Ok(store::channel_managers(&app.db).await?)
}

/// Every user (vendor admins).
pub async fn list_all(
    app: &App,
    who: &Principal,
    filter: &UserFilter,
) -> AppResult<(Vec<User>, Option<String>)> {
    if !who.can_manage_vendor_users() {
        return Err(AppError::forbidden("only vendor admins can list all users"));
    }
    Ok(store::list(&app.db, filter).await?)
}
