//! Partner pages: list with search and filters, create, detail, edit, invite.

use super::page::PageQuery;
use super::{
    error_map, error_page, flash, form_outcome, message_page, render, urlencode, CsrfForm,
    PortalUser,
};
use crate::app::partners::{self as app, CreatePartner, UpdatePartner};
use crate::app::users::{self, InviteUser};
use crate::app::AppError;
use crate::http::api::partners::PartnerQuery;
use crate::http::AppState;
use crate::store::partners::Partner;
use crate::store::users::UserFilter;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use trellis_core::country::COUNTRIES;
use trellis_core::org::PartnerStatus;
use trellis_core::FieldErrors;

fn status_options() -> Vec<(&'static str, &'static str)> {
    PartnerStatus::ALL
        .iter()
        .map(|s| (s.as_str(), s.as_str()))
        .collect()
}

fn country_options() -> Vec<(&'static str, String)> {
    COUNTRIES
        .iter()
        .map(|(c, n)| (*c, format!("{n} ({c})")))
        .collect()
}

async fn manager_options(state: &AppState) -> Result<Vec<(String, String)>, Response> {
    users::channel_managers(state)
        .await
        .map(|ms| {
            ms.into_iter()
                .map(|u| (u.id, format!("{} ({})", u.name, u.role.label())))
                .collect()
        })
        .map_err(|e| error_page(state, e))
}

pub async fn list(
    State(state): State<AppState>,
    who: PortalUser,
    uri: Uri,
    PageQuery(q): PageQuery<PartnerQuery>,
) -> Response {
    let filtered = [&q.q, &q.status, &q.partner_type, &q.region]
        .iter()
        .any(|v| v.as_deref().is_some_and(|s| !s.is_empty()));
    let (items, next, error) = match q.to_filter() {
        Ok(filter) => match app::list(&state, &who.principal, &filter).await {
            Ok((items, next)) => (items, next, None),
            Err(AppError::Invalid(errs)) => (vec![], None, Some(errs.0[0].message.clone())),
            Err(e) => return error_page(&state, e),
        },
        Err(errs) => (
            vec![],
            None,
            Some(
                errs.0
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
    };
    // Keep the filters, replace the cursor.
    let base: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .filter(|(k, v)| k != "cursor" && k != "msg" && !v.is_empty())
        .collect();
    let qs = |extra: Option<&str>| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.extend_pairs(base.iter());
        if let Some(c) = extra {
            s.append_pair("cursor", c);
        }
        let s = s.finish();
        if s.is_empty() {
            "/partners".to_string()
        } else {
            format!("/partners?{s}")
        }
    };
    let next_url = next.as_deref().map(|c| qs(Some(c)));
    // Status counts and filter menus are vendor tools; partner users see one organisation.
    let (counts, types, regions) = match app::facets(&state, &who.principal).await {
        Ok(f) => (f.counts, f.types, f.regions),
        Err(e) => return error_page(&state, e),
    };
    render(
        &state,
        StatusCode::OK,
        "partners.html",
        minijinja::context! {
            title => "Partners", nav => "partners", me => who.me(), csrf => who.csrf, flash => flash(&uri),
            partners => items, next_url, first_url => qs(None), cursor => q.cursor,
            f => minijinja::context! { q => q.q, status => q.status, type => q.partner_type, region => q.region },
            filtered, counts, types, regions, error,
            statuses => PartnerStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            can_create => who.principal.can_create_partner(),
        },
    )
}

#[derive(Serialize, Default)]
struct PartnerValues {
    name: String,
    slug: String,
    partner_type: String,
    region: String,
    country: String,
    status: String,
    website: String,
    channel_manager_id: String,
}

async fn new_form_page(
    state: &AppState,
    who: &PortalUser,
    v: PartnerValues,
    errors: Option<FieldErrors>,
) -> Response {
    let managers = if who.principal.can_manage_vendor_users() {
        match manager_options(state).await {
            Ok(m) => m,
            Err(r) => return r,
        }
    } else {
        vec![]
    };
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        state,
        status,
        "partner_form.html",
        minijinja::context! {
            title => "New partner", nav => "partners", me => who.me(), csrf => who.csrf,
            v, errors => errors.as_ref().map(error_map), countries => country_options(),
            status_options => status_options(), managers,
        },
    )
}

pub async fn new_form(State(state): State<AppState>, who: PortalUser) -> Response {
    if !who.principal.can_create_partner() {
        return message_page(
            &state,
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Only vendor users can create partners.",
        );
    }
    new_form_page(
        &state,
        &who,
        PartnerValues {
            status: "prospect".into(),
            ..Default::default()
        },
        None,
    )
    .await
}

pub async fn create(
    State(state): State<AppState>,
    CsrfForm { who, form }: CsrfForm<CreatePartner>,
) -> Response {
    if !who.principal.can_create_partner() {
        return message_page(
            &state,
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Only vendor users can create partners.",
        );
    }
    let values = PartnerValues {
        name: form.name.clone(),
        slug: form.slug.clone().unwrap_or_default(),
        partner_type: form.partner_type.clone(),
        region: form.region.clone(),
        country: form.country.clone(),
        status: form.status.clone().unwrap_or_default(),
        website: form.website.clone().unwrap_or_default(),
        channel_manager_id: form.channel_manager_id.clone().unwrap_or_default(),
    };
    match app::create(&state, &who.principal, &who.actor, &form).await {
        Ok(p) => Redirect::to(&format!("/partners/{}?msg=created", p.id)).into_response(),
        Err(e) => match form_outcome(&state, e) {
            Ok(errs) => new_form_page(&state, &who, values, Some(errs)).await,
            Err(page) => page,
        },
    }
}

fn values_of(p: &Partner) -> PartnerValues {
    PartnerValues {
        name: p.name.clone(),
        slug: p.slug.clone(),
        partner_type: p.partner_type.clone(),
        region: p.region.clone(),
        country: p.country.clone(),
        status: p.status.as_str().to_string(),
        website: p.website.clone().unwrap_or_default(),
        channel_manager_id: p.channel_manager_id.clone().unwrap_or_default(),
    }
}

/// What the detail page shows besides the partner.
#[derive(Default)]
struct DetailExtras {
    values: Option<PartnerValues>,
    errors: Option<FieldErrors>,
    invite_values: Option<InviteUser>,
    invite_errors: Option<FieldErrors>,
    invite_url: Option<String>,
    invited_email: Option<String>,
    /// Partner users learn only that an invitation is on its way.
    invite_sent: Option<String>,
    flash: Option<&'static str>,
}

async fn detail_page(state: &AppState, who: &PortalUser, p: Partner, x: DetailExtras) -> Response {
    let filter = UserFilter {
        limit: Some(200),
        ..Default::default()
    };
    let (users, _) = match users::list_of_partner(state, &p, filter).await {
        Ok(u) => u,
        Err(e) => return error_page(state, e),
    };
    let can_manage = who.principal.can_manage_partner(p.as_ref());
    let can_edit = can_manage || who.principal.can_edit_partner_profile(p.as_ref());
    let managers = if who.principal.can_manage_vendor_users() {
        match manager_options(state).await {
            Ok(m) => m,
            Err(r) => return r,
        }
    } else {
        vec![]
    };
    let status = if x.errors.is_some() || x.invite_errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let nav = if who.principal.is_vendor() {
        "partners"
    } else {
        "organisation"
    };
    let iv = x
        .invite_values
        .map(|i| minijinja::context! { name => i.name, email => i.email, role => i.role });
    render(
        state,
        status,
        "partner.html",
        minijinja::context! {
            title => p.name.clone(), nav, me => who.me(), csrf => who.csrf, flash => x.flash,
            country_name => trellis_core::country::name(&p.country).unwrap_or(""),
            v => x.values.unwrap_or_else(|| values_of(&p)), errors => x.errors.as_ref().map(error_map),
            iv, invite_errors => x.invite_errors.as_ref().map(error_map),
            invite_url => x.invite_url, invited_email => x.invited_email, invite_sent => x.invite_sent,
            users, can_edit, can_manage, managers,
            can_invite => who.principal.can_invite(p.as_ref(), trellis_core::org::Role::PartnerUser),
            countries => country_options(), status_options => status_options(),
            p,
        },
    )
}

pub(super) async fn load_visible(
    state: &AppState,
    who: &PortalUser,
    id: &str,
) -> Result<Partner, Response> {
    app::visible(state, &who.principal, id)
        .await
        .map_err(|e| error_page(state, e))
}

pub async fn show(
    State(state): State<AppState>,
    who: PortalUser,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    match load_visible(&state, &who, &id).await {
        Ok(p) => {
            detail_page(
                &state,
                &who,
                p,
                DetailExtras {
                    flash: flash(&uri),
                    ..Default::default()
                },
            )
            .await
        }
        Err(r) => r,
    }
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { who, form }: CsrfForm<UpdatePartner>,
) -> Response {
    let p = match load_visible(&state, &who, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut values = values_of(&p);
    // Show what was typed if the form comes back with errors.
    if let Some(x) = &form.name {
        values.name = x.clone()
    }
    if let Some(x) = &form.slug {
        values.slug = x.clone()
    }
    if let Some(x) = &form.partner_type {
        values.partner_type = x.clone()
    }
    if let Some(x) = &form.region {
        values.region = x.clone()
    }
    if let Some(x) = &form.country {
        values.country = x.clone()
    }
    if let Some(x) = &form.status {
        values.status = x.clone()
    }
    if let Some(x) = &form.website {
        values.website = x.clone().unwrap_or_default()
    }
    if let Some(x) = &form.channel_manager_id {
        values.channel_manager_id = x.clone().unwrap_or_default()
    }
    let result = match form.validate() {
        Ok(patch) => app::update(&state, &who.principal, &who.actor, p.clone(), patch).await,
        Err(errs) => Err(AppError::Invalid(errs)),
    };
    match result {
        Ok(p) => Redirect::to(&format!("/partners/{}?msg=saved", urlencode(&p.id))).into_response(),
        Err(e) => match form_outcome(&state, e) {
            Ok(errs) => {
                detail_page(
                    &state,
                    &who,
                    p,
                    DetailExtras {
                        values: Some(values),
                        errors: Some(errs),
                        ..Default::default()
                    },
                )
                .await
            }
            Err(page) => page,
        },
    }
}

pub async fn invite(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { who, form }: CsrfForm<InviteUser>,
) -> Response {
    let p = match load_visible(&state, &who, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match users::invite_into_partner(&state, &who.principal, &who.actor, &p, &form).await {
        Ok(users::Invited::Link(inv)) => {
            detail_page(
                &state,
                &who,
                p,
                DetailExtras {
                    invite_url: Some(inv.invite_url),
                    invited_email: Some(inv.user.email),
                    ..Default::default()
                },
            )
            .await
        }
        Ok(users::Invited::Sent(sent)) => {
            detail_page(
                &state,
                &who,
                p,
                DetailExtras {
                    invite_sent: Some(sent.email),
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => match form_outcome(&state, e) {
            Ok(errs) => {
                detail_page(
                    &state,
                    &who,
                    p,
                    DetailExtras {
                        invite_values: Some(form),
                        invite_errors: Some(errs),
                        ..Default::default()
                    },
                )
                .await
            }
            Err(page) => page,
        },
    }
}
