//! The signed-in user's API tokens.

use super::{error_map, error_page, render, CsrfForm, PortalUser};
use crate::app::{tokens, AppError};
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};

async fn page(
    state: &AppState,
    who: &PortalUser,
    uri: Option<&Uri>,
    new_token: Option<String>,
    errors: Option<trellis_core::FieldErrors>,
) -> Response {
    let list = match tokens::list(state, &who.user).await {
        Ok(t) => t,
        Err(e) => return error_page(state, e),
    };
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        state,
        status,
        "account.html",
        minijinja::context! {
            title => "API tokens", nav => "account", me => who.me(), csrf => who.csrf,
            flash => uri.and_then(super::flash), tokens => list, new_token, errors => errors.as_ref().map(error_map),
            default_expiry => (chrono::Utc::now().date_naive() + chrono::Days::new(tokens::DEFAULT_DAYS)).to_string(),
            latest_expiry => (chrono::Utc::now().date_naive() + chrono::Days::new(tokens::MAX_DAYS)).to_string(),
            today => crate::app::today(),
        },
    )
}

pub async fn show(State(state): State<AppState>, who: PortalUser, uri: Uri) -> Response {
    page(&state, &who, Some(&uri), None, None).await
}

/// The form: a name, a box per scope (the field repeats), a last day.
pub async fn create_token(
    State(state): State<AppState>,
    CsrfForm { who, form }: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| form.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
    let new = tokens::NewToken {
        name: get("name").unwrap_or_default(),
        scopes: Some(
            form.iter()
                .filter(|(f, _)| f == "scopes")
                .map(|(_, v)| v.clone())
                .collect(),
        ),
        expires_on: get("expires_on"),
    };
    match tokens::create_with(&state, &who.actor, &who.user, &new).await {
        Ok((_, secret)) => page(&state, &who, None, Some(secret), None).await,
        Err(AppError::Invalid(errs)) => page(&state, &who, None, None, Some(errs)).await,
        Err(e) => error_page(&state, e),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { who, .. }: CsrfForm<super::NoFields>,
) -> Response {
    match tokens::revoke(&state, &who.actor, &who.user, &id).await {
        Ok(_) => Redirect::to("/account?msg=revoked").into_response(),
        Err(e) => error_page(&state, e),
    }
}
