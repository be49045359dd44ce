//! Signing in and out, and accepting an invitation: throttled password
//! checks and sessions kept in the database.

use super::{users, App, AppError, AppResult};
use crate::auth;
use crate::store::users::{self as store, InviteProblem, User};
use crate::store::{sessions, throttle};
use trellis_core::org::UserStatus;
use trellis_core::validate::{check_password, Email};
use trellis_core::{FieldError, FieldErrors};

/// What a sign-in attempt came to.
pub enum SignIn {
    /// Signed in: the user and the new session's token (for the cookie).
    Ok { user: User, session: String },
    /// Too many failures for this address or e-mail: wait this many seconds.
    Throttled { retry_after: i64 },
    /// Wrong e-mail or password, or a user who may not sign in (said the
    /// same way, so that nobody learns which).
    Refused,
}

/// Checks a password sign-in from address `ip`, throttled per e-mail and
/// address; every attempt is recorded.
pub async fn sign_in(app: &App, email: &str, password: &str, ip: &str) -> AppResult<SignIn> {
    let email = email.trim().to_lowercase();
    if let Some(secs) = throttle::blocked_for(&app.db, &email, ip).await? {
        return Ok(SignIn::Throttled { retry_after: secs });
    }
    let (user, hash) = match store::credentials(&app.db, &email).await? {
        Some(c) => (Some(c.user), c.password_hash),
        None => (None, None),
    };
    // Verified even without a user, so that timing says nothing.
    let password_ok = auth::verify_password(password.to_string(), hash).await;
    let active = user
        .as_ref()
        .is_some_and(|u| u.status == UserStatus::Active);
    throttle::record(&app.db, &email, ip, password_ok && active).await?;
    let Some(user) = user.filter(|_| password_ok && active) else {
        tracing::info!(ip = %ip, "failed sign-in");
        return Ok(SignIn::Refused);
    };
    let session = sessions::create(&app.db, &user).await?;
    Ok(SignIn::Ok { user, session })
}

/// Ends a session.
pub async fn sign_out(app: &App, session: &str) -> AppResult<()> {
    Ok(sessions::delete(&app.db, session).await?)
}

/// The session a token names, if it is valid.
pub async fn lookup(app: &App, token: &str) -> AppResult<sessions::Lookup> {
    Ok(sessions::lookup(&app.db, token).await?)
}

/// The invited user of a pending invitation, without using it.
pub async fn invitation(app: &App, token: &str) -> AppResult<Result<User, InviteProblem>> {
    Ok(store::invitation(&app.db, token).await?)
}

/// Sets the invited user's password (checked against the policy, typed
/// twice alike), activates the user and signs them in, once.
pub async fn accept_invitation(
    app: &App,
    token: &str,
    password: &str,
    confirm: &str,
) -> AppResult<Result<(User, String), InviteProblem>> {
    let user = match invitation(app, token).await? {
        Err(p) => return Ok(Err(p)),
        Ok(u) => u,
    };
    let email = Email::parse("email", &user.email).ok();
    let mut errs = FieldErrors::new();
    errs.check(check_password("password", password, email.as_ref()));
    if password != confirm {
        errs.push(FieldError::new(
            "confirm",
            "mismatch",
            "The two passwords are not the same",
        ));
    }
    errs.into_result()?;
    let hash = auth::hash_password(password.to_string())
        .await
        .map_err(AppError::internal)?;
    let user = match users::accept_invitation(app, token, &hash).await? {
        Err(p) => return Ok(Err(p)),
        Ok(u) => u,
    };
    let session = sessions::create(&app.db, &user).await?;
    Ok(Ok((user, session)))
}
