//! Deal pages. Partners: their registrations and a one-page registration form
//! that shows only what the program requires (optional fields folded away)
//! and suggests their earlier customers. Vendor: the approval queue ordered by
//! waiting time against the SLA, a registration beside its conflict
//! candidates, decisions with a reason, bulk decisions.

use super::{
    error_map, flash, form_outcome, internal_page, message_page, not_found_page, render, CsrfForm,
    PortalUser,
};
use crate::http::api::deals::{
    detail, register_for, transition_for, visible_deal, DealQuery, RegisterDeal, Transition,
};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::store::deals::{self, DealFilter};
use crate::store::partners;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trellis_core::country::COUNTRIES;
use trellis_core::deals::{Rules, FIELDS};
use trellis_core::FieldErrors;

/// Hours a registration may wait for a decision before it is overdue.
pub const SLA_HOURS: i64 = 48;

fn hours_waiting(since: Option<&str>) -> i64 {
    since
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_hours())
        .unwrap_or(0)
}

#[derive(Serialize)]
struct QueueItem {
    deal: deals::Deal,
    waiting_hours: i64,
    overdue: bool,
}

pub async fn list(
    State(state): State<AppState>,
    who: PortalUser,
    uri: Uri,
    Query(q): Query<DealQuery>,
) -> Response {
    let filter = match q.to_filter(&who.principal) {
        Ok(f) => f,
        Err(errs) => {
            return message_page(
                &state,
                StatusCode::BAD_REQUEST,
                "Bad filter",
                &errs.to_string(),
            )
        }
    };
    let (items, next) = match deals::list(&state.db, &filter).await {
        Ok(x) => x,
        Err(e) => return internal_page(&state, e),
    };
    let queue: Vec<QueueItem> = if who.principal.is_vendor() {
        match deals::list(
            &state.db,
            &DealFilter {
                queue: true,
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        {
            Ok((q, _)) => q
                .into_iter()
                .map(|deal| {
                    let waiting_hours = hours_waiting(deal.submitted_at.as_deref());
                    QueueItem {
                        overdue: waiting_hours >= SLA_HOURS,
                        waiting_hours,
                        deal,
                    }
                })
                .collect(),
            Err(e) => return internal_page(&state, e),
        }
    } else {
        Vec::new()
    };
    render(
        &state,
        StatusCode::OK,
        "deals.html",
        minijinja::context! {
            title => "Deals", nav => "deals", me => who.me(), csrf => &who.csrf,
            flash => flash(&uri), items, next, queue, sla_hours => SLA_HOURS,
            q => q.q.unwrap_or_default(), status => q.status.unwrap_or_default(),
        },
    )
}

/// A field of the registration form.
#[derive(Serialize)]
struct FormField {
    name: String,
    label: String,
    required: bool,
    kind: &'static str,
    custom: bool,
}

fn label(f: &str) -> String {
    match f {
        "customer_name" => "Customer (company name)".into(),
        "customer_domain" => "Customer web domain".into(),
        "country" => "Country".into(),
        "city" => "City or region".into(),
        "address" => "Address".into(),
        "tax_id" => "Tax or DUNS id".into(),
        "products" => "Products".into(),
        "amount" => "Amount".into(),
        "currency" => "Currency".into(),
        "expected_close" => "Expected close".into(),
        "seller" => "Your seller".into(),
        "notes" => "Notes".into(),
        other => {
            let s = other.replace('_', " ");
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or(s)
        }
    }
}

fn form_fields(rules: &Rules) -> (Vec<FormField>, Vec<FormField>) {
    let req = |f: &str| rules.required_fields.iter().any(|r| r == f);
    let kind = |f: &str| match f {
        "country" => "country",
        "expected_close" => "date",
        "amount" => "amount",
        "notes" => "textarea",
        _ => "text",
    };
    let mut required = Vec::new();
    let mut optional = Vec::new();
    for f in FIELDS {
        // Currency defaults to the program's; it is asked only when required and unknown.
        if *f == "currency" && rules.currency.is_some() && !req(f) {
            continue;
        }
        let field = FormField {
            name: f.to_string(),
            label: label(f),
            required: req(f),
            kind: kind(f),
            custom: false,
        };
        if field.required || (*f == "currency" && rules.currency.is_none()) {
            required.push(FormField {
                required: true,
                ..field
            });
        } else {
            optional.push(field);
        }
    }
    for (f, is_required) in rules.custom_fields() {
        let field = FormField {
            name: f.to_string(),
            label: label(f),
            required: is_required,
            kind: "text",
            custom: true,
        };
        if is_required {
            required.push(field)
        } else {
            optional.push(field)
        }
    }
    (required, optional)
}

async fn form_page(
    state: &AppState,
    who: &PortalUser,
    partner_id: Option<&str>,
    values: BTreeMap<String, String>,
    errors: Option<FieldErrors>,
    status: StatusCode,
) -> Response {
    let (program, rules) = match partner_id {
        Some(p) => match deals::rules_for(&state.db, p).await {
            Ok(x) => x,
            Err(e) => return internal_page(state, e),
        },
        None => (None, Rules::default()),
    };
    let (required, optional) = form_fields(&rules);
    let customers = match partner_id {
        Some(p) => deals::customers_of(&state.db, p).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let partners_list = if who.principal.is_vendor() {
        match partners::list(
            &state.db,
            &who.principal.partner_scope(),
            &partners::PartnerFilter {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        {
            Ok((p, _)) => p.into_iter().map(|p| (p.id, p.name)).collect(),
            Err(e) => return internal_page(state, e),
        }
    } else {
        Vec::new()
    };
    let countries: Vec<(&str, String)> = COUNTRIES
        .iter()
        .map(|(c, n)| (*c, format!("{n} ({c})")))
        .collect();
    let optional_open = optional
        .iter()
        .any(|f| values.get(&f.name).is_some_and(|v| !v.is_empty()));
    render(
        state,
        status,
        "deal_form.html",
        minijinja::context! {
            title => "Register a deal", nav => "deals", me => who.me(), csrf => &who.csrf,
            required, optional, optional_open, v => values, countries, customers,
            errors => errors.as_ref().map(error_map), program, currency => rules.currency,
            partners => partners_list, partner_id,
            protection_days => rules.protection_days,
            today => deals::today(),
        },
    )
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    partner_id: Option<String>,
}

pub async fn new_form(
    State(state): State<AppState>,
    who: PortalUser,
    Query(q): Query<NewQuery>,
) -> Response {
    let partner = who
        .user
        .partner_id
        .clone()
        .or(q.partner_id.filter(|p| !p.is_empty()));
    // A sensible default saves a field: most deals are expected within weeks.
    let mut v = BTreeMap::new();
    v.insert(
        "expected_close".to_string(),
        (chrono::Utc::now().date_naive() + chrono::Days::new(30))
            .format("%Y-%m-%d")
            .to_string(),
    );
    form_page(&state, &who, partner.as_deref(), v, None, StatusCode::OK).await
}

/// Registers from the form: every posted field by its name; program fields as `f_<name>`.
pub async fn create(
    State(state): State<AppState>,
    f: CsrfForm<BTreeMap<String, String>>,
) -> Response {
    let who = f.who;
    let v = f.form;
    let get = |k: &str| {
        v.get(k)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let fields: BTreeMap<String, String> = v
        .iter()
        .filter_map(|(k, val)| k.strip_prefix("f_").map(|n| (n.to_string(), val.clone())))
        .filter(|(_, val)| !val.trim().is_empty())
        .collect();
    let body = RegisterDeal {
        partner_id: get("partner_id"),
        customer_name: get("customer_name").unwrap_or_default(),
        customer_domain: get("customer_domain"),
        contact_email: get("contact_email"),
        country: get("country").unwrap_or_default(),
        city: get("city"),
        address: get("address"),
        tax_id: get("tax_id"),
        products: get("products"),
        amount: get("amount").unwrap_or_default(),
        currency: get("currency").unwrap_or_default(),
        expected_close: get("expected_close").unwrap_or_default(),
        seller: get("seller"),
        notes: get("notes"),
        fields: (!fields.is_empty()).then_some(fields),
        submit: Some(get("save_draft").is_none()),
    };
    match register_for(&state, &who.principal, &who.actor, &body).await {
        Ok(r) => Redirect::to(&format!("/deals/{}?msg=registered", r.deal.id)).into_response(),
        Err(e) => match form_outcome(&state, e) {
            Ok(errs) => {
                let partner = who.user.partner_id.clone().or(body.partner_id.clone());
                form_page(
                    &state,
                    &who,
                    partner.as_deref(),
                    v,
                    Some(errs),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(page) => page,
        },
    }
}

pub async fn show(
    State(state): State<AppState>,
    who: PortalUser,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    show_page(&state, &who, &id, flash(&uri), None).await
}

async fn show_page(
    state: &AppState,
    who: &PortalUser,
    id: &str,
    flash: Option<&'static str>,
    error: Option<String>,
) -> Response {
    let d = match visible_deal(state, &who.principal, id).await {
        Ok(d) => d,
        Err(ApiError::NotFound(_)) => return not_found_page(state),
        Err(e) => return internal_page(state, format!("{e:?}")),
    };
    let can_decide = if who.principal.is_vendor() {
        match partners::get(&state.db, &d.partner_id).await {
            Ok(Some(p)) => who.principal.can_manage_partner(p.as_ref()),
            _ => false,
        }
    } else {
        false
    };
    let detail = match detail(state, &who.principal, d).await {
        Ok(x) => x,
        Err(e) => return internal_page(state, format!("{e:?}")),
    };
    let waiting_hours = hours_waiting(detail.deal.submitted_at.as_deref());
    render(
        state,
        if error.is_some() {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        },
        "deal.html",
        minijinja::context! {
            title => format!("Deal: {}", detail.deal.customer_name), nav => "deals",
            me => who.me(), csrf => &who.csrf, flash, error,
            d => &detail.deal, events => &detail.events, conflicts => &detail.conflicts,
            can_decide, is_vendor => who.principal.is_vendor(),
            waiting_hours, overdue => waiting_hours >= SLA_HOURS, sla_hours => SLA_HOURS,
        },
    )
}

#[derive(Deserialize)]
pub struct ActForm {
    action: String,
    #[serde(default)]
    reason: String,
}

pub async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<ActForm>,
) -> Response {
    let who = f.who;
    let d = match visible_deal(&state, &who.principal, &id).await {
        Ok(d) => d,
        Err(_) => return not_found_page(&state),
    };
    let t = Transition {
        action: f.form.action,
        reason: Some(f.form.reason),
    };
    match transition_for(&state, &who.principal, &who.actor, &d, &t).await {
        Ok(_) => Redirect::to(&format!("/deals/{id}?msg=saved")).into_response(),
        Err(ApiError::Conflict { message, .. }) | Err(ApiError::Forbidden(message)) => {
            show_page(&state, &who, &id, None, Some(message)).await
        }
        Err(ApiError::Validation(errs)) => {
            show_page(&state, &who, &id, None, Some(errs.to_string())).await
        }
        Err(e) => internal_page(&state, format!("{e:?}")),
    }
}

/// Decides several queued registrations at once (vendor).
pub async fn bulk(State(state): State<AppState>, f: CsrfForm<Vec<(String, String)>>) -> Response {
    let who = f.who;
    if !who.principal.is_vendor() {
        return not_found_page(&state);
    }
    let get = |k: &str| {
        f.form
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let ids: Vec<String> = f
        .form
        .iter()
        .filter(|(n, _)| n == "id")
        .map(|(_, v)| v.clone())
        .collect();
    let (action, reason) = (get("action"), get("reason"));
    if ids.is_empty() {
        return message_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nothing selected",
            "Tick the registrations to decide, then choose the action.",
        );
    }
    let mut failed = Vec::new();
    for id in &ids {
        let Ok(d) = visible_deal(&state, &who.principal, id).await else {
            failed.push(format!("{id}: not found"));
            continue;
        };
        let t = Transition {
            action: action.clone(),
            reason: Some(reason.clone()),
        };
        if let Err(e) = transition_for(&state, &who.principal, &who.actor, &d, &t).await {
            failed.push(format!("{}: {}", d.customer_name, e.problem().detail));
        }
    }
    if failed.is_empty() {
        Redirect::to("/deals?msg=saved").into_response()
    } else {
        message_page(
            &state,
            StatusCode::CONFLICT,
            "Some registrations were not decided",
            &format!(
                "{} of {} decided. Not decided: {}",
                ids.len() - failed.len(),
                ids.len(),
                failed.join("; ")
            ),
        )
    }
}

#[derive(Deserialize, Default)]
pub struct ImportForm {
    #[serde(default)]
    partner_id: String,
    #[serde(default)]
    source: String,
}

async fn import_page(
    state: &AppState,
    who: &PortalUser,
    form: &ImportForm,
    problems: Vec<String>,
    done: Option<Vec<(String, usize)>>,
    status: StatusCode,
) -> Response {
    let partners_list: Vec<(String, String)> = if who.principal.is_vendor() {
        match partners::list(
            &state.db,
            &who.principal.partner_scope(),
            &partners::PartnerFilter {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        {
            Ok((p, _)) => p.into_iter().map(|p| (p.id, p.name)).collect(),
            Err(e) => return internal_page(state, e),
        }
    } else {
        Vec::new()
    };
    render(
        state,
        status,
        "deals_import.html",
        minijinja::context! {
            title => "Import deals", nav => "deals", me => who.me(), csrf => &who.csrf,
            partners => partners_list, partner_id => &form.partner_id, source => &form.source,
            problems, done, columns => "customer_name,customer_domain,contact_email,country,city,address,tax_id,products,amount,currency,expected_close,seller,notes",
        },
    )
}

pub async fn import_form(State(state): State<AppState>, who: PortalUser) -> Response {
    import_page(
        &state,
        &who,
        &ImportForm::default(),
        Vec::new(),
        None,
        StatusCode::OK,
    )
    .await
}

/// Imports pasted or loaded CSV: every line checked first, all or nothing.
pub async fn import(
    State(state): State<AppState>,
    f: super::programs::ProgramForm<ImportForm>,
) -> Response {
    let who = f.who;
    let form = ImportForm {
        partner_id: f.form.partner_id.trim().to_string(),
        source: f.form.source.replace("\r\n", "\n"),
    };
    let partner_id = match &who.principal.partner_id {
        Some(own) => own.clone(),
        None => form.partner_id.clone(),
    };
    let partner = match crate::http::api::partners::visible_partner(
        &state,
        &who.principal,
        &partner_id,
    )
    .await
    {
        Ok(p) => p,
        Err(_) => {
            return import_page(
                &state,
                &who,
                &form,
                vec!["Choose the partner the deals belong to.".into()],
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    if who.principal.is_vendor() && !who.principal.can_manage_partner(partner.as_ref()) {
        return message_page(
            &state,
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Only the partner's channel manager or a vendor admin imports on its behalf.",
        );
    }
    match crate::import::deals(
        &state.db,
        &state.matcher,
        &who.actor,
        &partner,
        "upload",
        &form.source,
    )
    .await
    {
        Ok(by_status) => {
            let done: Vec<(String, usize)> = by_status.into_iter().collect();
            import_page(
                &state,
                &who,
                &ImportForm::default(),
                Vec::new(),
                Some(done),
                StatusCode::OK,
            )
            .await
        }
        Err(crate::import::ImportError::Rejected(r)) => {
            import_page(
                &state,
                &who,
                &form,
                r.0,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => internal_page(&state, e),
    }
}

pub async fn notifications(State(state): State<AppState>, who: PortalUser) -> Response {
    match deals::notifications(&state.db, &who.user.id).await {
        Ok(items) => render(
            &state,
            StatusCode::OK,
            "notifications.html",
            minijinja::context! {
                title => "Notifications", nav => "notifications", me => who.me(), csrf => &who.csrf, items,
            },
        ),
        Err(e) => internal_page(&state, e),
    }
}

pub async fn mark_read(State(state): State<AppState>, f: CsrfForm<super::NoFields>) -> Response {
    match deals::mark_read(&state.db, &f.who.user.id).await {
        Ok(()) => Redirect::to("/notifications").into_response(),
        Err(e) => internal_page(&state, e),
    }
}
