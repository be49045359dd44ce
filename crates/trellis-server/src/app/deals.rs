//! Deal registration: registering with conflict detection and the rules of
//! engagement, the lifecycle (decisions, extensions, won/lost, expiry), what
//! each side may see of conflicts, and the vendor's accounts.

use super::audit::{self, Audited, Subject};
use super::{notify, onboarding, partners, today, App, AppError, AppResult, Tx};
use crate::db::{self, Db};
use crate::matcher;
use crate::store::accounts::{self, Account};
use crate::store::deals::{
    self as store, Deal, DealEvent, DealFilter, DealRow, DealUpdate, NewEvent,
};
use crate::store::partners::Partner;
use crate::store::{users, Actor};
use serde::{Deserialize, Serialize};
use trellis_core::access::Principal;
use trellis_core::accounts::AccountInput;
use trellis_core::deals::{
    self as rules, Action, Conflict, Decision, NewDeal, Registration, Rules, Side, Status,
};
use trellis_core::matching::{normalize, Candidate, Customer, Kind, Reason};
use trellis_core::program::model::TaskEvent;
use trellis_core::validate::Name;
use trellis_core::{country, FieldError, FieldErrors};
use utoipa::ToSchema;

impl Audited for Deal {
    fn subject(&self) -> Subject<'_> {
        Subject::new("deal", &self.id).of_partner(&self.partner_id)
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "status": self.status, "customer_name": self.customer_name,
            "customer_domain": self.customer_domain, "customer_country": self.customer_country,
            "amount": self.amount, "currency": self.currency, "expected_close": self.expected_close,
            "protection_until": self.protection_until, "decision_rule": self.decision_rule,
            "extensions": self.extensions,
        })
    }
}

/// A conflict candidate as the caller may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConflictView {
    /// `registration` or `account`.
    pub kind: String,
    /// 0–1.
    pub score: f64,
    /// e.g. "same registrable domain (acme.de)", "name 0.93 similar after normalisation".
    pub reasons: Vec<String>,
    /// The following are shown to the vendor only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub house: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<String>,
}

/// A candidate with what the rules and the pages need about its record.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub candidate: Candidate,
    pub partner_id: Option<String>,
    pub partner_name: Option<String>,
    pub customer_name: String,
    pub status: Option<Status>,
    pub house: bool,
    pub owner: Option<String>,
    pub submitted_at: Option<String>,
}

fn kind_str(k: Kind) -> &'static str {
    match k {
        Kind::Registration => "registration",
        Kind::Account => "account",
        Kind::Partner => "partner",
        Kind::Application => "application",
    }
}

impl Resolved {
    /// As the vendor sees it: everything.
    pub fn for_vendor(&self) -> ConflictView {
        ConflictView {
            kind: kind_str(self.candidate.kind).into(),
            score: self.candidate.score,
            reasons: self
                .candidate
                .reasons
                .iter()
                .map(ToString::to_string)
                .collect(),
            record_id: Some(self.candidate.id[2..].to_string()),
            customer_name: Some(self.customer_name.clone()),
            partner_id: self.partner_id.clone(),
            partner_name: self.partner_name.clone(),
            status: self.status.map(|s| s.as_str().to_string()),
            house: (self.candidate.kind == Kind::Account).then_some(self.house),
            owner: self.owner.clone(),
            submitted_at: self.submitted_at.clone(),
        }
    }

    /// As a partner sees it: that something matches and why, never whose it
    /// is or what it says (its country included).
    pub fn for_partner(&self) -> ConflictView {
        ConflictView {
            kind: kind_str(self.candidate.kind).into(),
            score: self.candidate.score,
            reasons: self
                .candidate
                .reasons
                .iter()
                .map(|r| match r {
                    Reason::OtherCountry { .. } => "different country".to_string(),
                    other => other.to_string(),
                })
                .collect(),
            record_id: None,
            customer_name: None,
            partner_id: None,
            partner_name: None,
            status: None,
            house: None,
            owner: None,
            submitted_at: None,
        }
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
pub fn visible_conflicts(who: &Principal, rules: &Rules, found: &[Resolved]) -> Vec<ConflictView> {
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

/// A deal as `who` may see it: reasons that name another partner's
/// registration are generalised for partners when the program hides conflicts.
pub fn deal_for(who: &Principal, rules: &Rules, mut d: Deal) -> Deal {
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
pub async fn visible(app: &App, who: &Principal, id: &str) -> AppResult<Deal> {
    match store::get(&app.db, id).await? {
        Some(d) if who.is_vendor() || who.partner_id.as_deref() == Some(d.partner_id.as_str()) => {
            Ok(d)
        }
        _ => Err(AppError::NotFound("deal")),
    }
}

/// The rules of engagement for a partner: those of the first published
/// program it is enrolled in, else the defaults.
pub async fn rules_for(db: &Db, partner_id: &str) -> AppResult<(Option<String>, Rules)> {
    Ok(
        match super::programs::first_published_for(db, partner_id).await? {
            Some((slug, p)) => (Some(slug), Rules::from_program(&p)),
            None => (None, Rules::default()),
        },
    )
}

/// Finds and resolves the conflict candidates of a customer, leaving out
/// `exclude` (the deal itself when it is re-checked).
pub async fn conflicts(
    app: &App,
    customer: &Customer<'_>,
    exclude: Option<&str>,
) -> AppResult<Vec<Resolved>> {
    let mut out = candidates(app, customer, exclude, 6, 0.5).await?;
    out.truncate(5);
    Ok(out)
}

/// The best `limit` candidates scoring at least `min_score`, resolved, for
/// the vendor's batch check (`trellis conflicts check --top N`).
pub async fn candidates(
    app: &App,
    customer: &Customer<'_>,
    exclude: Option<&str>,
    limit: usize,
    min_score: f64,
) -> AppResult<Vec<Resolved>> {
    let found = app
        .matcher
        .search(&app.db, customer, limit, min_score)
        .await?;
    let mut out = Vec::new();
    for c in found {
        if exclude.is_some_and(|x| c.id == matcher::deal_key(x)) {
            continue;
        }
        if let Some(id) = c.id.strip_prefix("d:") {
            if let Some(d) = store::get(&app.db, id).await? {
                out.push(Resolved {
                    partner_id: Some(d.partner_id.clone()),
                    partner_name: Some(d.partner_name.clone()),
                    customer_name: d.customer_name.clone(),
                    status: Some(d.status),
                    house: false,
                    owner: None,
                    submitted_at: d.submitted_at.clone(),
                    candidate: c,
                });
            }
        } else if let Some(id) = c.id.strip_prefix("a:") {
            if let Some(a) = accounts::get(&app.db, id).await? {
                out.push(Resolved {
                    partner_id: None,
                    partner_name: None,
                    customer_name: a.name,
                    status: None,
                    house: a.house,
                    owner: a.owner,
                    submitted_at: None,
                    candidate: c,
                });
            }
        }
    }
    Ok(out)
}

fn decide_for(partner_id: &str, rules: &Rules, found: &[Resolved]) -> Decision {
    let conflicts: Vec<Conflict> = found
        .iter()
        .map(|r| Conflict {
            candidate: &r.candidate,
            other_partner: r.partner_id.as_deref().is_some_and(|p| p != partner_id),
            holds_claim: r.status.is_some_and(Status::holds_claim),
            house: r.house,
        })
        .collect();
    rules::decide(rules, &conflicts)
}

/// `day` plus `days`, as YYYY-MM-DD.
fn plus_days(day: &str, days: u32) -> String {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|d| {
            (d + chrono::Days::new(u64::from(days)))
                .format("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_else(|_| day.to_string())
}

/// The partner a registration is for: the caller's own organisation, or for
/// vendor users the partner they name and may act for.
async fn registering_partner(
    app: &App,
    who: &Principal,
    body: &Registration,
) -> AppResult<Partner> {
    let named = body
        .partner_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let partner_id = match (&who.partner_id, named) {
        (Some(own), None) => own.clone(),
        (Some(own), Some(p)) if own == p => p.to_string(),
        (Some(_), Some(_)) => {
            return Err(AppError::field(
                "partner_id",
                "forbidden",
                "partner users register deals for their own organisation only",
            ))
        }
        (None, Some(p)) => p.to_string(),
        (None, None) => {
            return Err(AppError::field(
                "partner_id",
                "required",
                "vendor users register on behalf of a partner: give partner_id",
            ))
        }
    };
    let partner = partners::visible(app, who, &partner_id)
        .await
        .map_err(|e| {
            e.not_found_as_field(
                "partner_id",
                "unknown-reference",
                "partner_id is not a partner you can see",
            )
        })?;
    if who.is_vendor() && !who.can_manage_partner(partner.as_ref()) {
        return Err(AppError::forbidden(
            "only the partner's channel manager or a vendor admin registers on its behalf",
        ));
    }
    Ok(partner)
}

/// Registers a deal for the caller (partner) or for `partner_id` (vendor):
/// checks conflicts, applies the rules of engagement when submitted, and
/// stores it with its history, audit entry, notifications and matcher
/// change, in one transaction.
pub async fn register(
    app: &App,
    who: &Principal,
    actor: &Actor,
    body: &Registration,
) -> AppResult<DealWithConflicts> {
    let partner = registering_partner(app, who, body).await?;
    let (program, rules) = rules_for(&app.db, &partner.id).await?;
    let new = body.validate(&rules, &today())?;
    let found = conflicts(app, &new.customer(), None).await?;
    let mut tx = app.db.begin_write().await?;
    let deal = insert(
        &mut tx,
        actor,
        &partner,
        program.as_deref(),
        &rules,
        &new,
        body.submit.unwrap_or(true),
        &found,
    )
    .await?;
    tx.commit().await?;
    app.matcher.sync_after_commit(&app.db).await;
    Ok(DealWithConflicts {
        conflicts: visible_conflicts(who, &rules, &found),
        deal: deal_for(who, &rules, deal),
    })
}

/// Inserts one registration inside a transaction (see [`register`]); the
/// CSV import writes a whole file this way.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert(
    tx: &mut Tx,
    actor: &Actor,
    partner: &Partner,
    program: Option<&str>,
    rules: &Rules,
    new: &NewDeal,
    submit: bool,
    found: &[Resolved],
) -> AppResult<Deal> {
    let now = db::now();
    let today = today();
    let id = uuid::Uuid::now_v7().to_string();
    let decision = submit.then(|| decide_for(&partner.id, rules, found));
    let status = decision.as_ref().map(|d| d.status).unwrap_or(Status::Draft);
    let protection = (status == Status::Approved).then(|| plus_days(&today, rules.protection_days));
    store::insert(
        tx,
        &DealRow {
            id: &id,
            partner_id: &partner.id,
            program,
            status,
            new,
            conflict_score: found.first().map(|r| format!("{:.3}", r.candidate.score)),
            decision_rule: decision.as_ref().map(|d| d.rule),
            decision_reason: decision.as_ref().map(|d| d.reason.as_str()),
            protection_until: protection.as_deref(),
            created_by: actor.user_id.as_deref(),
            submitted_at: submit.then_some(now.as_str()),
            decided_at: decision
                .as_ref()
                .filter(|d| d.status != Status::Submitted)
                .map(|_| now.as_str()),
            now: &now,
        },
    )
    .await?;
    let mut event = NewEvent {
        deal_id: &id,
        action: "create",
        from: None,
        to: Status::Draft.as_str(),
        rule: None,
        reason: None,
    };
    store::insert_event(tx, actor, event).await?;
    if let Some(d) = &decision {
        event.action = "submit";
        event.from = Some("draft");
        event.to = d.status.as_str();
        event.rule = Some(d.rule);
        event.reason = Some(&d.reason);
        store::insert_event(tx, actor, event).await?;
    }
    let deal = store::get_in(tx, &id).await?;
    audit::created(tx, actor, "deal.register", &deal).await?;
    matcher::changed(tx, &matcher::deal_key(&id)).await?;
    if submit {
        announce(tx, &deal).await?;
        onboarding::on_event(tx, actor, &partner.id, TaskEvent::DealRegistered).await?;
    }
    Ok(deal)
}

/// Whether `who` decides `deal` (its partner's channel manager or a vendor admin).
pub async fn may_decide(app: &App, who: &Principal, deal: &Deal) -> AppResult<bool> {
    if !who.is_vendor() {
        return Ok(false);
    }
    Ok(crate::store::partners::get(&app.db, &deal.partner_id)
        .await?
        .is_some_and(|p| who.can_manage_partner(p.as_ref())))
}

/// The customers a partner registered before (for the form's suggestions).
pub async fn customers_of(
    app: &App,
    partner_id: &str,
) -> AppResult<Vec<(String, Option<String>, String, Option<String>)>> {
    Ok(store::customers_of(&app.db, partner_id).await?)
}

/// Deals `who` may list: partner users their organisation's, whatever they ask.
pub async fn list(
    app: &App,
    who: &Principal,
    mut f: DealFilter,
) -> AppResult<(Vec<Deal>, Option<String>)> {
    f.partner_id = match &who.partner_id {
        Some(own) => Some(own.clone()),
        None if who.is_vendor() => f.partner_id,
        None => Some(String::new()),
    };
    Ok(store::list(&app.db, &f).await?)
}

/// The detail of a deal for `who`: history and current conflicts.
pub async fn detail(app: &App, who: &Principal, d: Deal) -> AppResult<DealDetail> {
    let (_, rules) = rules_for(&app.db, &d.partner_id).await?;
    let found = conflicts(app, &d.customer(), Some(&d.id)).await?;
    Ok(DealDetail {
        events: store::events(&app.db, &d.id).await?,
        conflicts: visible_conflicts(who, &rules, &found),
        deal: deal_for(who, &rules, d),
    })
}

/// An action on a deal.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// submit, approve, reject, request-info, win, lose, expire, request-extension, approve-extension
    pub action: String,
    /// Required for approve, reject, request-info and approve-extension.
    pub reason: Option<String>,
}

/// Takes an action for the caller, checking who may.
pub async fn transition(
    app: &App,
    who: &Principal,
    actor: &Actor,
    d: &Deal,
    t: &Transition,
) -> AppResult<Deal> {
    let action = Action::parse("action", &t.action)?;
    let reason = t.reason.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if action.needs_reason() && reason.is_none() {
        return Err(AppError::field(
            "reason",
            "required",
            format!(
                "a reason is required to {}",
                action.as_str().replace('-', " ")
            ),
        ));
    }
    let side = if who.is_vendor() {
        let partner = partners::visible(app, who, &d.partner_id).await?;
        if !who.can_manage_partner(partner.as_ref()) {
            return Err(AppError::forbidden(
                "only the partner's channel manager or a vendor admin decides its registrations",
            ));
        }
        Side::Vendor
    } else {
        if who.role == trellis_core::org::Role::PartnerUser
            && d.created_by.as_deref() != Some(who.user_id.as_str())
        {
            return Err(AppError::forbidden(
                "partner users act on the registrations they made; ask your partner admin",
            ));
        }
        Side::Partner
    };
    let after = act(app, actor, d, action, side, reason).await?;
    let (_, rules) = rules_for(&app.db, &after.partner_id).await?;
    Ok(deal_for(who, &rules, after))
}

fn conflict(message: impl Into<String>) -> AppError {
    AppError::Conflict {
        field: "action",
        message: message.into(),
    }
}

/// Takes `action` on a deal for `side`. Submitting re-checks conflicts;
/// approving starts the protection period; approving an extension moves it.
pub async fn act(
    app: &App,
    actor: &Actor,
    deal: &Deal,
    action: Action,
    side: Side,
    reason: Option<&str>,
) -> AppResult<Deal> {
    let from = deal.status;
    let to = rules::transition(from, action, side).map_err(|e| conflict(e.0))?;
    let (_, rules) = rules_for(&app.db, &deal.partner_id).await?;
    let today = today();
    let mut rule: &str = "manual";
    let mut reason = reason.map(str::to_string);
    let mut status = to;
    let mut protection = deal.protection_until.clone();
    let mut extensions = deal.extensions;
    let mut extension_requested = deal.extension_requested_at.clone();
    let mut score = deal.conflict_score.map(|s| format!("{s:.3}"));
    match action {
        Action::Submit => {
            let found = conflicts(app, &deal.customer(), Some(&deal.id)).await?;
            let d = decide_for(&deal.partner_id, &rules, &found);
            status = d.status;
            rule = d.rule;
            reason = Some(d.reason);
            score = found.first().map(|r| format!("{:.3}", r.candidate.score));
            if status == Status::Approved {
                protection = Some(plus_days(&today, rules.protection_days));
            }
        }
        Action::Approve => protection = Some(plus_days(&today, rules.protection_days)),
        Action::RequestExtension => {
            if extensions >= i64::from(rules.max_extensions) || rules.extension_days == 0 {
                return Err(conflict(format!(
                    "the program allows {} extension(s) of {} days; none is left",
                    rules.max_extensions, rules.extension_days
                )));
            }
            if extension_requested.is_some() {
                return Err(conflict("an extension is already requested"));
            }
            extension_requested = Some(db::now());
        }
        Action::ApproveExtension => {
            if extension_requested.is_none() {
                return Err(conflict("no extension was requested"));
            }
            let base = protection.clone().unwrap_or_else(|| today.clone());
            protection = Some(plus_days(&base, rules.extension_days));
            extensions += 1;
            extension_requested = None;
        }
        Action::Expire => rule = "protection-ended",
        _ => {}
    }
    // Extensions and outcomes keep the decision that stands.
    let keeps_decision = matches!(
        action,
        Action::RequestExtension | Action::ApproveExtension | Action::Win | Action::Lose
    );
    let now = db::now();
    let mut tx = app.db.begin_write().await?;
    let updated = store::update(
        &mut tx,
        deal,
        &DealUpdate {
            status,
            decision_rule: if keeps_decision {
                deal.decision_rule.as_deref()
            } else {
                Some(rule)
            },
            decision_reason: if keeps_decision {
                deal.decision_reason.as_deref()
            } else {
                reason.as_deref()
            },
            protection_until: protection.as_deref(),
            extensions,
            extension_requested_at: extension_requested.as_deref(),
            conflict_score: score,
            action: action.as_str(),
            now: &now,
        },
    )
    .await?;
    if !updated {
        return Err(AppError::Conflict {
            field: "status",
            message: "the registration changed meanwhile; reload it and try again".into(),
        });
    }
    store::insert_event(
        &mut tx,
        actor,
        NewEvent {
            deal_id: &deal.id,
            action: action.as_str(),
            from: Some(from.as_str()),
            to: status.as_str(),
            rule: Some(rule),
            reason: reason.as_deref(),
        },
    )
    .await?;
    let after = store::get_in(&mut tx, &deal.id).await?;
    audit::changed(
        &mut tx,
        actor,
        &format!("deal.{}", action.as_str()),
        deal,
        &after,
    )
    .await?;
    matcher::changed(&mut tx, &matcher::deal_key(&deal.id)).await?;
    match action {
        Action::RequestExtension => {
            let to = audience(&mut tx, &after, true).await?;
            notify::users(
                &mut tx,
                &to,
                &format!("Extension requested: {}", after.customer_name),
                &format!(
                    "{} asks to extend the protection of {}.",
                    after.partner_name, after.customer_name
                ),
                &format!("/deals/{}", after.id),
            )
            .await?;
        }
        _ => announce(&mut tx, &after).await?,
    }
    if status == Status::Won {
        // A first deal won moves a partnership in enablement to performing.
        onboarding::advance_by_rule(&mut tx, actor, &deal.partner_id).await?;
    }
    tx.commit().await?;
    app.matcher.sync_after_commit(&app.db).await;
    Ok(after)
}

/// Expires approved registrations whose protection ended before `today`.
pub async fn expire_due(app: &App, today: &str) -> AppResult<usize> {
    let actor = Actor::system("expiry");
    let mut n = 0;
    for id in store::due_to_expire(&app.db, today).await? {
        if let Some(d) = store::get(&app.db, &id).await? {
            match act(
                app,
                &actor,
                &d,
                Action::Expire,
                Side::System,
                Some("the protection period ended"),
            )
            .await
            {
                Ok(_) => n += 1,
                // Changed meanwhile (won, lost, extended): the next run sees it again.
                Err(AppError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(n)
}

/// Who hears about a deal: the partner's admins and the user who registered
/// it (partner side); the channel manager, else the vendor admins (vendor side).
async fn audience(tx: &mut Tx, deal: &Deal, vendor: bool) -> AppResult<Vec<users::Recipient>> {
    Ok(if vendor {
        let cm = users::channel_manager_of(tx, &deal.partner_id).await?;
        if cm.is_empty() {
            users::vendor_admins(tx).await?
        } else {
            cm
        }
    } else {
        users::partner_admins_and(tx, &deal.partner_id, deal.created_by.as_deref()).await?
    })
}

/// Tells the other side what a registration or a decision did.
async fn announce(tx: &mut Tx, d: &Deal) -> AppResult<()> {
    let link = format!("/deals/{}", d.id);
    match d.status {
        Status::Submitted => {
            let to = audience(tx, d, true).await?;
            let subject = format!(
                "Deal registration to review: {} ({})",
                d.customer_name, d.partner_name
            );
            let body = format!(
                "{} registered {} ({} {}). {}",
                d.partner_name,
                d.customer_name,
                d.amount,
                d.currency,
                d.decision_reason.as_deref().unwrap_or("")
            );
            notify::users(tx, &to, &subject, &body, &link).await
        }
        s => {
            let to = audience(tx, d, false).await?;
            let subject = format!("Deal registration {}: {}", s.as_str(), d.customer_name);
            let mut body = format!(
                "Your registration of {} is now {}.",
                d.customer_name,
                s.as_str()
            );
            if let Some(r) = &d.decision_reason {
                body.push_str(&format!(" Reason: {r}."));
            }
            if let Some(p) = &d.protection_until {
                if s == Status::Approved {
                    body.push_str(&format!(" Protected until {p}."));
                }
            }
            notify::users(tx, &to, &subject, &body, &link).await
        }
    }
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

fn text(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Checks a customer for conflicts without registering anything.
pub async fn check(app: &App, who: &Principal, body: &CheckCustomer) -> AppResult<CheckResult> {
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
    let rules = match &who.partner_id {
        Some(p) => rules_for(&app.db, p).await?.1,
        None => Rules::default(),
    };
    let city = text(&body.city);
    let customer = Customer {
        name: name.as_str(),
        domain: domain.as_deref(),
        country,
        city: city.as_deref(),
    };
    let found = conflicts(app, &customer, None).await?;
    Ok(CheckResult {
        threshold: rules.conflict_threshold,
        conflict: found
            .iter()
            .any(|r| r.candidate.score >= rules.conflict_threshold),
        candidates: visible_conflicts(who, &rules, &found),
    })
}

/// Adds or updates one of the vendor's accounts (vendor admins); with
/// `external_id`, the account with that id is updated.
pub async fn upsert_account(
    app: &App,
    who: &Principal,
    actor: &Actor,
    body: &AccountInput,
) -> AppResult<Account> {
    if !who.can_manage_programs() {
        return Err(AppError::forbidden("only vendor admins manage accounts"));
    }
    let a = body.validate()?;
    let mut saved = save_accounts(app, actor, std::slice::from_ref(&a)).await?;
    let (id, _) = saved
        .pop()
        .ok_or_else(|| AppError::internal("no account saved"))?;
    accounts::get(&app.db, &id)
        .await?
        .ok_or_else(|| AppError::internal("account vanished after saving"))
}

/// Saves accounts in one transaction (all or nothing), auditing each;
/// returns their ids in order, each with whether it was created.
pub(crate) async fn save_accounts(
    app: &App,
    actor: &Actor,
    items: &[trellis_core::accounts::NewAccount],
) -> AppResult<Vec<(String, bool)>> {
    let mut tx = app.db.begin_write().await?;
    let mut ids = Vec::with_capacity(items.len());
    for a in items {
        let (id, created) = accounts::upsert(&mut tx, a).await?;
        matcher::changed(&mut tx, &matcher::account_key(&id)).await?;
        audit::record(
            &mut tx,
            actor,
            "account.upsert",
            Subject::new("account", &id),
            None,
            Some(serde_json::json!({
                "external_id": a.external_id, "name": a.name, "domain": a.domain,
                "country": a.country, "city": a.city, "owner": a.owner, "house": a.house,
            })),
        )
        .await?;
        ids.push((id, created));
    }
    tx.commit().await?;
    app.matcher.sync_after_commit(&app.db).await;
    Ok(ids)
}

/// The vendor's accounts (vendor users).
pub async fn list_accounts(
    app: &App,
    who: &Principal,
    q: Option<&str>,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> AppResult<(Vec<Account>, Option<String>)> {
    if !who.is_vendor() {
        return Err(AppError::forbidden("accounts are the vendor's"));
    }
    Ok(accounts::list(&app.db, q, cursor, limit).await?)
}
