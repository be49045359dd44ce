//! Personal API tokens: created for oneself, shown once, revocable.

use super::audit::{self, Subject};
use super::{App, AppError, AppResult};
use crate::store::tokens::{self as store, ApiToken};
use crate::store::users::User;
use crate::store::Actor;
use trellis_core::validate::Name;

fn subject<'a>(user: &'a User, token_id: &'a str) -> Subject<'a> {
    let s = Subject::new("api_token", token_id);
    match &user.partner_id {
        Some(p) => s.of_partner(p),
        None => s,
    }
}

/// Creates a token for `user` named `name`; returns its record and the
/// clear-text token (the only time it is seen).
pub async fn create(
    app: &App,
    actor: &Actor,
    user: &User,
    name: &str,
) -> AppResult<(ApiToken, String)> {
    let name = Name::parse("name", name, 100)?;
    let secret = crate::auth::new_api_token();
    let mut tx = app.db.begin_write().await?;
    let token = store::insert(&mut tx, &user.id, name.as_str(), &secret).await?;
    audit::record(
        &mut tx,
        actor,
        "token.create",
        subject(user, &token.id),
        None,
        Some(serde_json::json!({"name": token.name, "prefix": token.prefix, "user_id": user.id})),
    )
    .await?;
    tx.commit().await?;
    Ok((token, secret))
}

/// A user's tokens, newest first.
pub async fn list(app: &App, user: &User) -> AppResult<Vec<ApiToken>> {
    Ok(store::list(&app.db, &user.id).await?)
}

/// Revokes one of `user`'s tokens. Unknown ids and other users' tokens are "not found".
pub async fn revoke(app: &App, actor: &Actor, user: &User, token_id: &str) -> AppResult<ApiToken> {
    let mut tx = app.db.begin_write().await?;
    let before = store::get_of_user(&mut tx, &user.id, token_id)
        .await?
        .ok_or(AppError::NotFound("token"))?;
    if before.revoked_at.is_some() {
        return Ok(before);
    }
    let now = crate::db::now();
    store::set_revoked(&mut tx, token_id, &now).await?;
    audit::record(
        &mut tx,
        actor,
        "token.revoke",
        subject(user, token_id),
        Some(serde_json::json!({"revoked_at": null})),
        Some(serde_json::json!({"revoked_at": now})),
    )
    .await?;
    tx.commit().await?;
    Ok(ApiToken {
        revoked_at: Some(now),
        ..before
    })
}

/// The user a bearer token belongs to, if it is valid, not revoked and the
/// user active.
pub async fn authenticate(app: &App, secret: &str) -> AppResult<Option<User>> {
    Ok(store::authenticate(&app.db, secret).await?)
}
