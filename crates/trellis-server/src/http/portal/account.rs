//! The signed-in user's API tokens.

use super::{error_map, internal_page, not_found_page, render, CsrfForm, PortalUser};
use crate::http::AppState;
use crate::store::{tokens, StoreError};
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use trellis_core::validate::Name;

async fn page(
    state: &AppState,
    who: &PortalUser,
    uri: Option<&Uri>,
    new_token: Option<String>,
    errors: Option<trellis_core::FieldErrors>,
) -> Response {
    let list = match tokens::list(&state.db, &who.user.id).await {
        Ok(t) => t,
        Err(e) => return internal_page(state, e),
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
    let name = match Name::parse("name", &form.name, 100) {
        Ok(n) => n,
        Err(e) => return page(&state, &who, None, None, Some(e.into())).await,
    };
    match tokens::create(&state.db, &who.actor, &who.user, name.as_str()).await {
        Ok((_, secret)) => page(&state, &who, None, Some(secret), None).await,
        Err(e) => internal_page(&state, e),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { who, .. }: CsrfForm<super::NoFields>,
) -> Response {
    match tokens::revoke(&state.db, &who.actor, &who.user, &id).await {
        Ok(_) => Redirect::to("/account?msg=revoked").into_response(),
        Err(StoreError::NotFound(_)) => not_found_page(&state),
        Err(e) => internal_page(&state, e),
    }
}
