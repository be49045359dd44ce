//! Personal API tokens: created for oneself, shown once, revocable, with
//! scopes (what they may be used for) and a last day.

use super::audit::{self, Subject};
use super::{App, AppError, AppResult};
use crate::store::tokens::{self as store, ApiToken, Presented};
use crate::store::users::User;
use crate::store::Actor;
use chrono::{Days, NaiveDate};
use serde::Deserialize;
use trellis_core::org::TokenScope;
use trellis_core::validate::Name;
use trellis_core::{FieldError, FieldErrors};
use utoipa::ToSchema;

fn subject<'a>(user: &'a User, token_id: &'a str) -> Subject<'a> {
    let s = Subject::new("api_token", token_id);
    match &user.partner_id {
        Some(p) => s.of_partner(p),
        None => s,
    }
}

/// A token to create.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    /// `read`, `deals`, `incentives` and/or `admin` (default: `admin`, every
    /// right of its user).
    #[schema(value_type = Option<Vec<TokenScope>>)]
    pub scopes: Option<Vec<String>>,
    /// The last day the token works, YYYY-MM-DD, at most three years ahead
    /// (default: a year from today).
    pub expires_on: Option<String>,
}

/// Tokens live a year unless told otherwise, and three years at most.
pub const DEFAULT_DAYS: u64 = 365;
pub const MAX_DAYS: u64 = 3 * 366;

struct Checked {
    name: String,
    scopes: Vec<TokenScope>,
    expires_on: String,
}

impl NewToken {
    fn check(&self, today: NaiveDate) -> Result<Checked, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(Name::parse("name", &self.name, 100));
        let mut scopes = Vec::new();
        match &self.scopes {
            None => scopes.push(TokenScope::Admin),
            Some(list) if list.is_empty() => errs.push(FieldError::new(
                "scopes",
                "required",
                "choose at least one scope: read, deals, incentives or admin",
            )),
            Some(list) => {
                for (i, s) in list.iter().enumerate() {
                    if let Some(s) = errs.check(TokenScope::parse(&format!("scopes[{i}]"), s)) {
                        if !scopes.contains(&s) {
                            scopes.push(s);
                        }
                    }
                }
            }
        }
        let latest = today + Days::new(MAX_DAYS);
        let expires_on = match self
            .expires_on
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Some(today + Days::new(DEFAULT_DAYS)),
            Some(raw) => {
                match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                    Ok(d) if d < today => {
                        errs.push(FieldError::new(
                            "expires_on",
                            "out-of-range",
                            "expires_on must not be in the past",
                        ));
                        None
                    }
                    Ok(d) if d > latest => {
                        errs.push(FieldError::new(
                        "expires_on",
                        "out-of-range",
                        format!("expires_on must be at most three years ahead ({latest} or earlier)"),
                    ));
                        None
                    }
                    Ok(d) => Some(d),
                    Err(_) => {
                        errs.push(FieldError::new(
                            "expires_on",
                            "invalid-value",
                            "expires_on must be a date like 2027-12-31",
                        ));
                        None
                    }
                }
            }
        };
        errs.into_result()?;
        let (Some(name), Some(expires_on)) = (name, expires_on) else {
            unreachable!("every None recorded an error");
        };
        Ok(Checked {
            name: name.into_string(),
            scopes,
            expires_on: expires_on.format("%Y-%m-%d").to_string(),
        })
    }
}

/// Creates a token with every right of `user`, for the default time (the
/// command line and tests); see [`create_with`].
pub async fn create(
    app: &App,
    actor: &Actor,
    user: &User,
    name: &str,
) -> AppResult<(ApiToken, String)> {
    let new = NewToken {
        name: name.to_string(),
        ..NewToken::default()
    };
    create_with(app, actor, user, &new).await
}

/// Creates a token for `user`; returns its record and the clear-text token
/// (the only time it is seen).
pub async fn create_with(
    app: &App,
    actor: &Actor,
    user: &User,
    new: &NewToken,
) -> AppResult<(ApiToken, String)> {
    let c = new.check(chrono::Utc::now().date_naive())?;
    let secret = crate::auth::new_api_token();
    let mut tx = app.db.begin_write().await?;
    let token = store::insert(
        &mut tx,
        &user.id,
        &c.name,
        &secret,
        &c.scopes,
        Some(&c.expires_on),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        "token.create",
        subject(user, &token.id),
        None,
        Some(
            serde_json::json!({"name": token.name, "prefix": token.prefix, "user_id": user.id,
            "scopes": token.scopes, "expires_on": token.expires_on}),
        ),
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

/// Why a token is not accepted.
pub enum Refused {
    /// Unknown, revoked, or its user is disabled.
    Unknown,
    /// Past its last day (given).
    Expired(String),
}

/// The token a request presents, if it is valid: known, not revoked, not
/// past its last day, and its user active.
pub async fn authenticate(app: &App, secret: &str) -> AppResult<Result<Presented, Refused>> {
    let Some(p) = store::authenticate(&app.db, secret).await? else {
        return Ok(Err(Refused::Unknown));
    };
    let today = super::today();
    match p.expires_on.as_deref() {
        Some(last) if last < today.as_str() => Ok(Err(Refused::Expired(last.to_string()))),
        _ => Ok(Ok(p)),
    }
}
