//! Deal pages. Partners: their registrations and a one-page registration form
//! that shows only what the program requires (optional fields folded away)
//! and suggests their earlier customers. Vendor: the approval queue ordered by
//! waiting time against the SLA, a registration beside its conflict
//! candidates, decisions with a reason, bulk decisions.

use super::page::PageQuery;
use super::{
    error_map, error_page, flash, form_outcome, message_page, not_found_page, render, CsrfForm,
    PortalUser,
};
use crate::app::deals::{self as app, Transition};
use crate::app::{notify, partners, AppError};
use crate::http::api::deals::DealQuery;
use crate::http::AppState;
use crate::store::deals::{self, DealFilter};
use crate::store::partners::PartnerFilter;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trellis_core::country::COUNTRIES;
use trellis_core::deals::{Registration, Rules, FIELDS};
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
    PageQuery(q): PageQuery<DealQuery>,
) -> Response {
    list_page(&state, &who, &q, flash(&uri), None).await
}

/// The deals list (and for vendor users the queue); `bulk` keeps a bulk
/// decision that could not be made (its action and reason) in the form.
async fn list_page(
    state: &AppState,
    who: &PortalUser,
    q: &DealQuery,
    flash: Option<&'static str>,
    bulk: Option<(String, String)>,
) -> Response {
    let state = state.clone();
    // A filter or page position that does not hold is said, and the page
    // shows what it can.
    let filter = q.to_filter().unwrap_or_else(|errs| {
        for e in errs.0 {
            super::page::problem(e.message);
        }
        DealFilter::default()
    });
    let (items, next) = match app::list(&state, &who.principal, filter.clone()).await {
        Ok(x) => x,
        Err(AppError::Invalid(errs)) => {
            for e in errs.0 {
                super::page::problem(format!("{} The list starts from the beginning.", e.message));
            }
            let first = DealFilter {
                cursor: None,
                ..filter
            };
            match app::list(&state, &who.principal, first).await {
                Ok(x) => x,
                Err(e) => return error_page(&state, e),
            }
        }
        Err(e) => return error_page(&state, e),
    };
    let queue: Vec<QueueItem> = if who.principal.is_vendor() {
        match app::list(
            &state,
            &who.principal,
            DealFilter {
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
            Err(e) => return error_page(&state, e),
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
            flash, items, next, queue, sla_hours => SLA_HOURS,
            q => q.q.clone().unwrap_or_default(), status => q.status.clone().unwrap_or_default(),
            bulk_action => bulk.as_ref().map(|b| b.0.clone()),
            bulk_reason => bulk.as_ref().map(|b| b.1.clone()),
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
        Some(p) => match app::rules_for(&state.db, p).await {
            Ok(x) => x,
            Err(e) => return error_page(state, e),
        },
        None => (None, Rules::default()),
    };
    let (required, optional) = form_fields(&rules);
    let customers = match partner_id {
        Some(p) => match app::customers_of(state, p).await {
            Ok(c) => c,
            Err(e) => return error_page(state, e),
        },
        None => Vec::new(),
    };
    let partners_list = match partner_choices(state, who).await {
        Ok(p) => p,
        Err(e) => return error_page(state, e),
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
            today => crate::app::today(),
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
    PageQuery(q): PageQuery<NewQuery>,
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
    let body = Registration {
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
    match app::register(&state, &who.principal, &who.actor, &body).await {
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
    let d = match app::visible(state, &who.principal, id).await {
        Ok(d) => d,
        Err(e) => return error_page(state, e),
    };
    let can_decide = match app::may_decide(state, &who.principal, &d).await {
        Ok(x) => x,
        Err(e) => return error_page(state, e),
    };
    let detail = match app::detail(state, &who.principal, d).await {
        Ok(x) => x,
        Err(e) => return error_page(state, e),
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
    let d = match app::visible(&state, &who.principal, &id).await {
        Ok(d) => d,
        Err(_) => return not_found_page(&state),
    };
    let t = Transition {
        action: f.form.action,
        reason: Some(f.form.reason),
    };
    match app::transition(&state, &who.principal, &who.actor, &d, &t).await {
        Ok(_) => Redirect::to(&format!("/deals/{id}?msg=saved")).into_response(),
        Err(AppError::Conflict { message, .. }) | Err(AppError::Forbidden(message)) => {
            show_page(&state, &who, &id, None, Some(message)).await
        }
        Err(AppError::Invalid(errs)) => {
            show_page(&state, &who, &id, None, Some(errs.to_string())).await
        }
        Err(e) => error_page(&state, e),
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
        super::page::problem(
            "Nothing was selected: tick the registrations to decide, then choose the action again."
                .into(),
        );
        let page = list_page(
            &state,
            &who,
            &DealQuery::default(),
            None,
            Some((action, reason)),
        )
        .await;
        return (StatusCode::UNPROCESSABLE_ENTITY, page).into_response();
    }
    let mut failed = Vec::new();
    for id in &ids {
        let Ok(d) = app::visible(&state, &who.principal, id).await else {
            failed.push(format!("{id}: not found"));
            continue;
        };
        let t = Transition {
            action: action.clone(),
            reason: Some(reason.clone()),
        };
        if let Err(e) = app::transition(&state, &who.principal, &who.actor, &d, &t).await {
            failed.push(format!("{}: {e}", d.customer_name));
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
    let partners_list = match partner_choices(state, who).await {
        Ok(p) => p,
        Err(e) => return error_page(state, e),
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
    match crate::app::imports::deals_for(
        &state,
        &who.principal,
        &who.actor,
        &form.partner_id,
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
        Err(AppError::Rejected(r)) => {
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
        Err(AppError::Invalid(errs)) => {
            let problems = errs.0.into_iter().map(|e| e.message).collect();
            import_page(
                &state,
                &who,
                &form,
                problems,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => error_page(&state, e),
    }
}

pub async fn notifications(State(state): State<AppState>, who: PortalUser) -> Response {
    match notify::notifications(&state.db, &who.user.id).await {
        Ok(items) => render(
            &state,
            StatusCode::OK,
            "notifications.html",
            minijinja::context! {
                title => "Notifications", nav => "notifications", me => who.me(), csrf => &who.csrf, items,
            },
        ),
        Err(e) => error_page(&state, e.into()),
    }
}

pub async fn mark_read(State(state): State<AppState>, f: CsrfForm<super::NoFields>) -> Response {
    match notify::mark_read(&state.db, &f.who.user.id).await {
        Ok(()) => Redirect::to("/notifications").into_response(),
        Err(e) => error_page(&state, e.into()),
    }
}

/// The partners a vendor user may pick (partner users pick none).
async fn partner_choices(
    state: &AppState,
    who: &PortalUser,
) -> Result<Vec<(String, String)>, AppError> {
    if !who.principal.is_vendor() {
        return Ok(Vec::new());
    }
    let filter = PartnerFilter {
        limit: Some(200),
        ..Default::default()
    };
    let (p, _) = partners::list(state, &who.principal, &filter).await?;
    Ok(p.into_iter().map(|p| (p.id, p.name)).collect())
}
