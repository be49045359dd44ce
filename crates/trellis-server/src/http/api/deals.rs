//! Deal registration over the API: register (with conflict detection and the
//! rules of engagement), list, read, act on; the dry-run conflict check; the
//! vendor's accounts.

use crate::http::api::partners::visible_partner;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiQuery, ApiUser};
use crate::http::AppState;
use crate::store::accounts::{self, Account, NewAccount};
use crate::store::deals::{self, ConflictView, Deal, DealEvent, DealFilter, NewDeal, Resolved};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use trellis_core::access::Principal;
use trellis_core::deals::{Action, Rules, Side, Status};
use trellis_core::matching::normalize;
use trellis_core::validate::{Email, Name};
use trellis_core::{country, FieldError, FieldErrors};
use utoipa::{IntoParams, ToSchema};

fn text(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A deal to register. Which fields are required comes from the rules of
/// engagement of the partner's program (by default: customer_name,
/// customer_domain or contact_email, country, amount, currency, expected_close).
#[derive(Deserialize, ToSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RegisterDeal {
    /// Vendor users register on behalf of this partner; partner users omit it.
    pub partner_id: Option<String>,
    pub customer_name: String,
    /// The customer's web domain or URL.
    pub customer_domain: Option<String>,
    /// A contact's e-mail address; its domain stands in for customer_domain.
    pub contact_email: Option<String>,
    /// ISO 3166-1 alpha-2 country code of the customer.
    pub country: String,
    pub city: Option<String>,
    pub address: Option<String>,
    /// Tax or DUNS number.
    pub tax_id: Option<String>,
    /// Products or lines, free text.
    pub products: Option<String>,
    /// More than 0, at most two decimals, as a string ("12500.00").
    pub amount: String,
    /// ISO 4217; defaults to the program's currency.
    #[serde(default)]
    pub currency: String,
    /// YYYY-MM-DD, today or later.
    pub expected_close: String,
    /// The partner's seller.
    pub seller: Option<String>,
    pub notes: Option<String>,
    /// The program's own fields (e.g. `use_case`), by the names its rules of engagement use.
    pub fields: Option<std::collections::BTreeMap<String, String>>,
    /// Submit now (default) or keep as a draft.
    pub submit: Option<bool>,
}

impl RegisterDeal {
    /// Validates every field, naming each bad one.
    pub fn validate(&self, rules: &Rules, today: &str) -> Result<NewDeal, FieldErrors> {
        let mut errs = FieldErrors::new();
        let has = |f: &str| -> bool {
            let v = match f {
                "customer_name" => Some(self.customer_name.clone()),
                "customer_domain" => self.customer_domain.clone(),
                "contact_email" => self.contact_email.clone(),
                "country" => Some(self.country.clone()),
                "city" => self.city.clone(),
                "address" => self.address.clone(),
                "tax_id" => self.tax_id.clone(),
                "products" => self.products.clone(),
                "amount" => Some(self.amount.clone()),
                "currency" => Some(self.currency.clone()),
                "expected_close" => Some(self.expected_close.clone()),
                "seller" => self.seller.clone(),
                "notes" => self.notes.clone(),
                other => self.fields.as_ref().and_then(|m| m.get(other).cloned()),
            };
            v.is_some_and(|s| !s.trim().is_empty())
        };
        trellis_core::deals::require(rules, has, &mut errs);
        let missing: Vec<String> = errs.0.iter().map(|e| e.field.clone()).collect();
        let required = |f: &str| missing.iter().any(|m| m == f);
        let name = if required("customer_name") {
            None
        } else {
            errs.check(Name::parse("customer_name", &self.customer_name, 200))
        };
        let country = if required("country") {
            None
        } else {
            errs.check(country::parse("country", &self.country))
        };
        let mut domain = None;
        if let Some(d) = text(&self.customer_domain) {
            match normalize::domain(&d) {
                Some(x) => domain = Some(x.registrable),
                None => errs.push(FieldError::new(
                    "customer_domain",
                    "invalid-domain",
                    "customer_domain must be a web domain such as acme.de or https://www.acme.co.uk",
                )),
            }
        }
        if let Some(e) = text(&self.contact_email) {
            if let Some(email) = errs.check(Email::parse("contact_email", &e)) {
                if domain.is_none() {
                    match normalize::domain(email.as_str()) {
                        Some(x) if !x.free_mail => domain = Some(x.registrable),
                        Some(_) if rules.required_fields.iter().any(|f| f == "customer_domain") => {
                            errs.push(FieldError::new(
                                "contact_email",
                                "free-mail",
                                "a webmail address says nothing about the company: give customer_domain or a company e-mail",
                            ));
                        }
                        Some(_) => {}
                        None => {}
                    }
                }
            }
        }
        let amount = if required("amount") {
            None
        } else {
            errs.check(trellis_core::deals::amount("amount", &self.amount))
        };
        let currency = if required("currency") {
            None
        } else if self.currency.trim().is_empty() && rules.currency.is_some() {
            rules.currency.clone()
        } else {
            errs.check(trellis_core::deals::currency("currency", &self.currency))
        };
        let close = if required("expected_close") {
            None
        } else {
            errs.check(trellis_core::deals::date(
                "expected_close",
                &self.expected_close,
            ))
        };
        if let Some(c) = &close {
            if c.as_str() < today {
                errs.push(FieldError::new(
                    "expected_close",
                    "in-the-past",
                    format!("expected_close is in the past (today is {today})"),
                ));
            }
        }
        for (field, value, max) in [
            ("city", &self.city, 100),
            ("address", &self.address, 300),
            ("tax_id", &self.tax_id, 50),
            ("products", &self.products, 500),
            ("seller", &self.seller, 200),
            ("notes", &self.notes, 4000),
        ] {
            if value.as_ref().is_some_and(|v| v.chars().count() > max) {
                errs.push(FieldError::new(
                    field,
                    "too-long",
                    format!("{field} is limited to {max} characters"),
                ));
            }
        }
        let custom = rules.custom_fields();
        let mut extra = std::collections::BTreeMap::new();
        for (k, v) in self.fields.iter().flatten() {
            if !custom.iter().any(|(f, _)| f == k) {
                errs.push(FieldError::new(
                    format!("fields.{k}"),
                    "unknown-field",
                    format!(
                        "{k} is not a field of the program's registrations (its own fields: {})",
                        if custom.is_empty() {
                            "none".to_string()
                        } else {
                            custom
                                .iter()
                                .map(|(f, _)| *f)
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                ));
            } else if v.chars().count() > 1000 {
                errs.push(FieldError::new(
                    format!("fields.{k}"),
                    "too-long",
                    format!("{k} is limited to 1000 characters"),
                ));
            } else if !v.trim().is_empty() {
                extra.insert(k.clone(), v.trim().to_string());
            }
        }
        errs.into_result()?;
        let (Some(name), Some(country), Some(amount), Some(currency), Some(close)) =
            (name, country, amount, currency, close)
        else {
            unreachable!("every None recorded an error");
        };
        Ok(NewDeal {
            fields: extra,
            customer_name: name.into_string(),
            customer_domain: domain,
            customer_country: country.to_string(),
            customer_city: text(&self.city),
            customer_address: text(&self.address),
            customer_tax_id: text(&self.tax_id),
            products: text(&self.products),
            amount: trellis_core::program::economics::cents(amount).to_string(),
            currency,
            expected_close: close,
            seller: text(&self.seller),
            notes: text(&self.notes),
        })
    }
}

/// A deal with its conflict candidates (as the caller may see them).
#[derive(Serialize, ToSchema)]
pub struct DealWithConflicts {
    pub deal: Deal,
    pub conflicts: Vec<ConflictView>,
}

/// A deal with its history.
#[derive(Serialize, ToSchema)]
pub struct DealDetail {
    pub deal: Deal,
    pub events: Vec<DealEvent>,
    pub conflicts: Vec<ConflictView>,
}

/// Conflicts as `who` may see them: vendors everything; partners what the
/// rules of engagement allow (`existence`: kind, score and reasons; `nothing`: none).
pub(crate) fn visible_conflicts(
    who: &Principal,
    rules: &Rules,
    found: &[Resolved],
) -> Vec<ConflictView> {
    if who.is_vendor() {
        found.iter().map(Resolved::for_vendor).collect()
    } else if rules.conflict_visibility == "nothing" {
        Vec::new()
    } else {
        found
            .iter()
            .filter(|r| r.candidate.score >= 0.6)
            .map(Resolved::for_partner)
            .collect()
    }
}

/// A deal as a partner may see it: reasons that name another partner's
/// registration are generalised when the program hides conflicts.
pub(crate) fn deal_for(who: &Principal, rules: &Rules, mut d: Deal) -> Deal {
    if !who.is_vendor() && rules.conflict_visibility == "nothing" {
        if let Some(rule) = d.decision_rule.as_deref() {
            if matches!(rule, "first-come" | "review" | "house-account") {
                d.decision_reason = Some("decided under the program's rules of engagement".into());
            }
        }
    }
    d
}

/// Loads a deal the caller may see; anything else is "not found".
pub(crate) async fn visible_deal(state: &AppState, who: &Principal, id: &str) -> ApiResult<Deal> {
    match deals::get(&state.db, id).await? {
        Some(d) if who.is_vendor() || who.partner_id.as_deref() == Some(d.partner_id.as_str()) => {
            Ok(d)
        }
        _ => Err(ApiError::NotFound("deal")),
    }
}

/// Registers a deal for the caller (partner) or for `partner_id` (vendor).
pub(crate) async fn register_for(
    state: &AppState,
    who: &Principal,
    actor: &crate::store::Actor,
    body: &RegisterDeal,
) -> ApiResult<DealWithConflicts> {
    let partner_id = match (&who.partner_id, text(&body.partner_id)) {
        (Some(own), None) => own.clone(),
        (Some(own), Some(p)) if *own == p => p,
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "partner_id",
                "forbidden",
                "partner users register deals for their own organisation only",
            ))
        }
        (None, Some(p)) => p,
        (None, None) => {
            return Err(ApiError::field(
                "partner_id",
                "required",
                "vendor users register on behalf of a partner: give partner_id",
            ))
        }
    };
    let partner = visible_partner(state, who, &partner_id)
        .await
        .map_err(|_| {
            ApiError::field(
                "partner_id",
                "unknown-reference",
                "partner_id is not a partner you can see",
            )
        })?;
    if who.is_vendor() && !who.can_manage_partner(partner.as_ref()) {
        return Err(ApiError::Forbidden(
            "only the partner's channel manager or a vendor admin registers on its behalf".into(),
        ));
    }
    let (_, rules) = deals::rules_for(&state.db, &partner.id).await?;
    let new = body.validate(&rules, &deals::today())?;
    let (deal, found) = deals::register(
        &state.db,
        &state.matcher,
        actor,
        &partner,
        &new,
        body.submit.unwrap_or(true),
    )
    .await?;
    Ok(DealWithConflicts {
        conflicts: visible_conflicts(who, &rules, &found),
        deal: deal_for(who, &rules, deal),
    })
}

/// Register a deal.
///
/// Partner users register for their organisation; vendor users give
/// `partner_id`. Submitting checks for conflicts and applies the rules of
/// engagement (auto-approval, first-come precedence, house accounts); the
/// decision and the rule that made it are on the deal.
#[utoipa::path(post, path = "/api/v1/deals", tag = "deals", request_body = RegisterDeal,
    responses(
        (status = 201, body = DealWithConflicts),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register_deal(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<RegisterDeal>,
) -> ApiResult<(StatusCode, Json<DealWithConflicts>)> {
    Ok((
        StatusCode::CREATED,
        Json(register_for(&state, &caller.principal, &caller.actor, &body).await?),
    ))
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DealQuery {
    /// draft, submitted, approved, rejected, more-info, won, lost or expired
    pub status: Option<String>,
    /// Vendor users: one partner's deals
    pub partner_id: Option<String>,
    /// Search in the customer name
    pub q: Option<String>,
    /// The approval queue (submitted and more-info), longest waiting first
    pub queue: Option<bool>,
    pub cursor: Option<String>,
    /// 1–200 (default 50)
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DealPage {
    pub items: Vec<Deal>,
    pub next_cursor: Option<String>,
}

impl DealQuery {
    pub(crate) fn to_filter(&self, who: &Principal) -> Result<DealFilter, FieldErrors> {
        let mut errs = FieldErrors::new();
        let status = text(&self.status).and_then(|s| errs.check(Status::parse("status", &s)));
        if let Some(l) = self.limit {
            if !(1..=200).contains(&l) {
                errs.push(FieldError::new(
                    "limit",
                    "out-of-range",
                    "limit must be between 1 and 200",
                ));
            }
        }
        errs.into_result()?;
        Ok(DealFilter {
            // Partner users see their own organisation's deals, whatever they ask.
            partner_id: match &who.partner_id {
                Some(own) => Some(own.clone()),
                None if who.is_vendor() => text(&self.partner_id),
                None => Some(String::new()),
            },
            status,
            q: text(&self.q),
            queue: self.queue.unwrap_or(false),
            cursor: text(&self.cursor),
            limit: self.limit,
        })
    }
}

/// List deals.
///
/// Partner users: their organisation's. Vendor users: all, or the approval
/// queue with `queue=true`.
#[utoipa::path(get, path = "/api/v1/deals", tag = "deals", params(DealQuery),
    responses(
        (status = 200, body = DealPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_deals(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<DealQuery>,
) -> ApiResult<Json<DealPage>> {
    let f = q.to_filter(&caller.principal)?;
    let (items, next_cursor) = deals::list(&state.db, &f).await?;
    Ok(Json(DealPage { items, next_cursor }))
}

/// The detail of a deal for `who`: history and current conflicts.
pub(crate) async fn detail(state: &AppState, who: &Principal, d: Deal) -> ApiResult<DealDetail> {
    let (_, rules) = deals::rules_for(&state.db, &d.partner_id).await?;
    let found = deals::conflicts(&state.db, &state.matcher, &d.customer(), Some(&d.id)).await?;
    Ok(DealDetail {
        events: deals::events(&state.db, &d.id).await?,
        conflicts: visible_conflicts(who, &rules, &found),
        deal: deal_for(who, &rules, d),
    })
}

/// Get a deal with its history and conflict candidates.
#[utoipa::path(get, path = "/api/v1/deals/{id}", tag = "deals",
    params(("id" = String, Path, description = "Deal id")),
    responses(
        (status = 200, body = DealDetail),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_deal(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<DealDetail>> {
    let d = visible_deal(&state, &caller.principal, &id).await?;
    Ok(Json(detail(&state, &caller.principal, d).await?))
}

/// An action on a deal.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// submit, approve, reject, request-info, win, lose, expire, request-extension, approve-extension
    pub action: String,
    /// Required for approve, reject, request-info and approve-extension.
    pub reason: Option<String>,
}

/// Takes an action for the caller, checking who may.
pub(crate) async fn transition_for(
    state: &AppState,
    who: &Principal,
    actor: &crate::store::Actor,
    d: &Deal,
    t: &Transition,
) -> ApiResult<Deal> {
    let action = Action::parse("action", &t.action)?;
    let reason = text(&t.reason);
    if action.needs_reason() && reason.is_none() {
        return Err(ApiError::field(
            "reason",
            "required",
            format!(
                "a reason is required to {}",
                action.as_str().replace('-', " ")
            ),
        ));
    }
    let side = if who.is_vendor() {
        let partner = visible_partner(state, who, &d.partner_id).await?;
        if !who.can_manage_partner(partner.as_ref()) {
            return Err(ApiError::Forbidden(
                "only the partner's channel manager or a vendor admin decides its registrations"
                    .into(),
            ));
        }
        Side::Vendor
    } else {
        if who.role == trellis_core::org::Role::PartnerUser
            && d.created_by.as_deref() != Some(who.user_id.as_str())
        {
            return Err(ApiError::Forbidden(
                "partner users act on the registrations they made; ask your partner admin".into(),
            ));
        }
        Side::Partner
    };
    let after = deals::act(
        &state.db,
        &state.matcher,
        actor,
        d,
        action,
        side,
        reason.as_deref(),
    )
    .await?;
    let (_, rules) = deals::rules_for(&state.db, &after.partner_id).await?;
    Ok(deal_for(who, &rules, after))
}

/// Act on a deal: submit, approve, reject, request-info, win, lose,
/// request-extension, approve-extension.
///
/// Vendor decisions (approve, reject, request-info, approve-extension) need a
/// reason and are for the partner's channel manager or a vendor admin. Every
/// action is audited, recorded in the deal's history and notified.
#[utoipa::path(post, path = "/api/v1/deals/{id}/transitions", tag = "deals", request_body = Transition,
    params(("id" = String, Path, description = "Deal id")),
    responses(
        (status = 200, body = Deal),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not possible in the deal's status", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn transition_deal(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    body: Result<ApiJson<Transition>, ApiError>,
) -> ApiResult<Json<Deal>> {
    let d = visible_deal(&state, &caller.principal, &id).await?;
    let ApiJson(t) = body?;
    Ok(Json(
        transition_for(&state, &caller.principal, &caller.actor, &d, &t).await?,
    ))
}

/// A customer to check.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CheckCustomer {
    pub customer_name: String,
    pub customer_domain: Option<String>,
    pub contact_email: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub city: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckResult {
    /// Score from which a candidate counts as a conflict under the caller's rules.
    pub threshold: f64,
    /// Whether any candidate reaches the threshold.
    pub conflict: bool,
    pub candidates: Vec<ConflictView>,
}

/// Check a customer for conflicts without registering anything.
///
/// Candidates are registrations and the vendor's accounts, each with a kind,
/// a score in [0, 1] and reasons. Partners see no identity or deal details of
/// others (and nothing at all when their program's rules say so).
#[utoipa::path(post, path = "/api/v1/conflicts/check", tag = "deals", request_body = CheckCustomer,
    responses(
        (status = 200, body = CheckResult),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn check_conflicts(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<CheckCustomer>,
) -> ApiResult<Json<CheckResult>> {
    let mut errs = FieldErrors::new();
    let name = errs.check(Name::parse("customer_name", &body.customer_name, 200));
    let country = errs.check(country::parse("country", &body.country));
    let domain = text(&body.customer_domain).or_else(|| text(&body.contact_email));
    if let Some(d) = &domain {
        if normalize::domain(d).is_none() {
            errs.push(FieldError::new(
                "customer_domain",
                "invalid-domain",
                "customer_domain must be a web domain such as acme.de",
            ));
        }
    }
    errs.into_result()?;
    let (Some(name), Some(country)) = (name, country) else {
        unreachable!("every None recorded an error");
    };
    let rules = match &caller.principal.partner_id {
        Some(p) => deals::rules_for(&state.db, p).await?.1,
        None => Rules::default(),
    };
    let city = text(&body.city);
    let customer = trellis_core::matching::Customer {
        name: name.as_str(),
        domain: domain.as_deref(),
        country,
        city: city.as_deref(),
    };
    let found = deals::conflicts(&state.db, &state.matcher, &customer, None).await?;
    Ok(Json(CheckResult {
        threshold: rules.conflict_threshold,
        conflict: found
            .iter()
            .any(|r| r.candidate.score >= rules.conflict_threshold),
        candidates: visible_conflicts(&caller.principal, &rules, &found),
    }))
}

/// One of the vendor's accounts.
#[derive(Deserialize, ToSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// The id in the vendor's CRM: sending it again updates the account.
    pub external_id: Option<String>,
    pub name: String,
    pub domain: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub city: Option<String>,
    /// Who owns the account at the vendor.
    pub owner: Option<String>,
    /// A house account: partners cannot register it.
    pub house: Option<bool>,
}

impl AccountInput {
    pub fn validate(&self) -> Result<NewAccount, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(Name::parse("name", &self.name, 200));
        let country = errs.check(country::parse("country", &self.country));
        let domain = match text(&self.domain) {
            Some(d) => match normalize::domain(&d) {
                Some(x) => Some(x.registrable),
                None => {
                    errs.push(FieldError::new(
                        "domain",
                        "invalid-domain",
                        "domain must be a web domain such as acme.de",
                    ));
                    None
                }
            },
            None => None,
        };
        errs.into_result()?;
        let (Some(name), Some(country)) = (name, country) else {
            unreachable!("every None recorded an error");
        };
        Ok(NewAccount {
            external_id: text(&self.external_id),
            name: name.into_string(),
            domain,
            country: country.to_string(),
            city: text(&self.city),
            owner: text(&self.owner),
            house: self.house.unwrap_or(false),
        })
    }
}

/// Add or update one of the vendor's accounts (vendor admins).
///
/// With `external_id`, an existing account with that id is updated.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "deals", request_body = AccountInput,
    responses(
        (status = 200, body = Account),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upsert_account(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<AccountInput>,
) -> ApiResult<Json<Account>> {
    if !caller.principal.can_manage_programs() {
        return Err(ApiError::Forbidden(
            "only vendor admins manage accounts".into(),
        ));
    }
    let a = body.validate()?;
    accounts::upsert_many(&state.db, &caller.actor, std::slice::from_ref(&a)).await?;
    state.matcher.sync(&state.db).await?;
    let (items, _) = accounts::list(&state.db, Some(&a.name), None, Some(200)).await?;
    items
        .into_iter()
        .find(|x| {
            x.name == a.name
                && x.country == a.country
                && (a.external_id.is_none() || x.external_id == a.external_id)
        })
        .map(Json)
        .ok_or_else(|| ApiError::Internal("account vanished after saving".into()))
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AccountPage {
    pub items: Vec<Account>,
    pub next_cursor: Option<String>,
}

/// List the vendor's accounts (vendor users).
#[utoipa::path(get, path = "/api/v1/accounts", tag = "deals", params(AccountQuery),
    responses(
        (status = 200, body = AccountPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<AccountQuery>,
) -> ApiResult<Json<AccountPage>> {
    if !caller.principal.is_vendor() {
        return Err(ApiError::Forbidden("accounts are the vendor's".into()));
    }
    let (items, next_cursor) =
        accounts::list(&state.db, q.q.as_deref(), q.cursor.as_deref(), q.limit).await?;
    Ok(Json(AccountPage { items, next_cursor }))
}
