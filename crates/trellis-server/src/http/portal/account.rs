//! The signed-in user's API tokens.

use super::{error_map, error_page, render, CsrfForm, PortalUser};
use crate::app::{tokens, AppError};
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

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
        },
    )
}

pub async fn show(State(state): State<AppState>, who: PortalUser, uri: Uri) -> Response {
    page(&state, &who, Some(&uri), None, None).await
}

#[derive(Deserialize)]
pub struct NewToken {
    #[serde(default)]
    name: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    CsrfForm { who, form }: CsrfForm<NewToken>,
) -> Response {
    match tokens::create(&state, &who.actor, &who.user, &form.name).await {
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
