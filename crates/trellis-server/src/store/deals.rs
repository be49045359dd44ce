//! Deal registrations: registering (with conflict detection and the rules of
//! engagement), the lifecycle, the expiry job, and notifications through the
//! outbox. Every change is audited and recorded as an event of the deal.

use super::audit::{self, Change};
use super::{decode_cursor, encode_cursor, page_limit, Actor, Arg, Sql, StoreError, StoreResult};
use crate::db::{self, Db};
use crate::matcher::{self, Matcher};
use crate::store::partners::Partner;
use serde::Serialize;
use sqlx::{any::AnyRow, Any, Row};
use trellis_core::deals::{self, Action, Conflict, Decision, Rules, Side, Status};
use trellis_core::matching::{Candidate, Customer, Kind, Reason};
use trellis_core::program::model::TaskEvent;
use utoipa::ToSchema;

/// A deal registration.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Deal {
    pub id: String,
    pub partner_id: String,
    pub partner_name: String,
    /// The program whose rules applied (`[program].id`), if the partner is enrolled.
    pub program: Option<String>,
    /// draft, submitted, approved, rejected, more-info, won, lost, expired
    #[schema(example = "approved")]
    pub status: String,
    pub customer_name: String,
    pub customer_domain: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub customer_country: String,
    pub customer_city: Option<String>,
    pub customer_address: Option<String>,
    pub customer_tax_id: Option<String>,
    pub products: Option<String>,
    /// Decimal, as a string.
    pub amount: String,
    pub currency: String,
    /// YYYY-MM-DD.
    pub expected_close: String,
    pub seller: Option<String>,
    pub notes: Option<String>,
    /// The program's own fields (e.g. `use_case`).
    pub fields: std::collections::BTreeMap<String, String>,
    /// The best conflict score when it was last decided.
    pub conflict_score: Option<f64>,
    /// The rule of engagement that decided: auto-approve, first-come, house-account, review, or manual.
    pub decision_rule: Option<String>,
    pub decision_reason: Option<String>,
    /// Last day of protection (YYYY-MM-DD), once approved.
    pub protection_until: Option<String>,
    pub extensions: i64,
    pub extension_requested_at: Option<String>,
    pub created_by: Option<String>,
    pub submitted_at: Option<String>,
    pub decided_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Deal {
    pub fn status(&self) -> Status {
        Status::parse("status", &self.status).unwrap_or(Status::Draft)
    }

    pub fn customer(&self) -> Customer<'_> {
        Customer {
            name: &self.customer_name,
            domain: self.customer_domain.as_deref(),
            country: &self.customer_country,
            city: self.customer_city.as_deref(),
        }
    }

    fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({
            "status": self.status, "customer_name": self.customer_name,
            "customer_domain": self.customer_domain, "customer_country": self.customer_country,
            "amount": self.amount, "currency": self.currency, "expected_close": self.expected_close,
            "protection_until": self.protection_until, "decision_rule": self.decision_rule,
            "extensions": self.extensions,
        })
    }
}

/// A validated registration.
#[derive(Debug, Clone, Default)]
pub struct NewDeal {
    pub customer_name: String,
    pub customer_domain: Option<String>,
    pub customer_country: String,
    pub customer_city: Option<String>,
    pub customer_address: Option<String>,
    pub customer_tax_id: Option<String>,
    pub products: Option<String>,
    pub amount: String,
    pub currency: String,
    pub expected_close: String,
    pub seller: Option<String>,
    pub notes: Option<String>,
    pub fields: std::collections::BTreeMap<String, String>,
}

impl NewDeal {
    pub fn customer(&self) -> Customer<'_> {
        Customer {
            name: &self.customer_name,
            domain: self.customer_domain.as_deref(),
            country: &self.customer_country,
            city: self.customer_city.as_deref(),
        }
    }
}

/// One step in a deal's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DealEvent {
    pub at: String,
    pub actor_email: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub rule: Option<String>,
    pub reason: Option<String>,
}

/// A conflict candidate, resolved against the database.
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

fn kind_str(k: Kind) -> &'static str {
    match k {
        Kind::Registration => "registration",
        Kind::Account => "account",
        Kind::Partner => "partner",
        Kind::Application => "application",
    }
}

const SELECT: &str =
    "SELECT d.*, p.name AS partner_name FROM deals d JOIN partners p ON p.id = d.partner_id";

fn from_row(r: &AnyRow) -> StoreResult<Deal> {
    Ok(Deal {
        id: r.try_get("id")?,
        partner_id: r.try_get("partner_id")?,
        partner_name: r.try_get("partner_name")?,
        program: db::opt_str(r, "program")?,
        status: r.try_get("status")?,
        customer_name: r.try_get("customer_name")?,
        customer_domain: db::opt_str(r, "customer_domain")?,
        customer_country: r.try_get("customer_country")?,
        customer_city: db::opt_str(r, "customer_city")?,
        customer_address: db::opt_str(r, "customer_address")?,
        customer_tax_id: db::opt_str(r, "customer_tax_id")?,
        products: db::opt_str(r, "products")?,
        amount: r.try_get("amount")?,
        currency: r.try_get("currency")?,
        expected_close: r.try_get("expected_close")?,
        seller: db::opt_str(r, "seller")?,
        notes: db::opt_str(r, "notes")?,
        fields: serde_json::from_str(&r.try_get::<String, _>("extra")?).unwrap_or_default(),
        // Stored as text: sqlx's Any driver cannot bind a NULL float portably.
        conflict_score: db::opt_str(r, "conflict_score")?.and_then(|s| s.parse().ok()),
        decision_rule: db::opt_str(r, "decision_rule")?,
        decision_reason: db::opt_str(r, "decision_reason")?,
        protection_until: db::opt_str(r, "protection_until")?,
        extensions: r.try_get("extensions")?,
        extension_requested_at: db::opt_str(r, "extension_requested_at")?,
        created_by: db::opt_str(r, "created_by")?,
        submitted_at: db::opt_str(r, "submitted_at")?,
        decided_at: db::opt_str(r, "decided_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<Deal>> {
    let row = sqlx::query(&format!("{SELECT} WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

async fn get_in(tx: &mut sqlx::Transaction<'static, Any>, id: &str) -> StoreResult<Deal> {
    let row = sqlx::query(&format!("{SELECT} WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound("deal"))?;
    from_row(&row)
}

/// Filters for listing deals.
#[derive(Debug, Clone, Default)]
pub struct DealFilter {
    /// Only this partner's deals (partner users always get their own).
    pub partner_id: Option<String>,
    pub status: Option<Status>,
    /// Case-insensitive substring of the customer name.
    pub q: Option<String>,
    /// The approval queue: submitted and more-info, longest waiting first.
    pub queue: bool,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// One page of deals, newest first (the queue: longest waiting first).
pub async fn list(db: &Db, f: &DealFilter) -> StoreResult<(Vec<Deal>, Option<String>)> {
    let limit = page_limit(f.limit);
    let mut q = Sql::new(SELECT);
    q.push(" WHERE 1 = 1");
    if let Some(p) = &f.partner_id {
        q.push(" AND d.partner_id = ").bind_text(p);
    }
    if let Some(s) = f.status {
        q.push(" AND d.status = ").bind_text(s.as_str());
    }
    if f.queue {
        q.push(" AND d.status IN ('submitted', 'more-info')");
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        q.push(" AND LOWER(d.customer_name) LIKE ")
            .bind_text(format!("%{}%", db::like_escape(&text.to_lowercase())))
            .push(" ESCAPE '\\'");
    }
    let (order_col, asc) = if f.queue {
        ("d.submitted_at", true)
    } else {
        ("d.created_at", false)
    };
    if let Some(c) = &f.cursor {
        let p = decode_cursor("cursor", c, 2)?;
        let op = if asc { ">" } else { "<" };
        q.push(&format!(" AND ({order_col} {op} "))
            .bind_text(p[0].clone());
        q.push(&format!(" OR ({order_col} = "))
            .bind_text(p[0].clone());
        q.push(&format!(" AND d.id {op} "))
            .bind_text(p[1].clone())
            .push("))");
    }
    let dir = if asc { "ASC" } else { "DESC" };
    q.push(&format!(" ORDER BY {order_col} {dir}, d.id {dir} LIMIT "))
        .bind(Arg::Int(limit + 1));
    let rows = q.query().fetch_all(db.pool()).await?;
    let mut items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|d| {
            let key = if f.queue {
                d.submitted_at.clone().unwrap_or_default()
            } else {
                d.created_at.clone()
            };
            encode_cursor(&[&key, &d.id])
        })
    } else {
        None
    };
    Ok((items, next))
}

/// The customers a partner registered before (for autocompletion).
pub async fn customers_of(
    db: &Db,
    partner_id: &str,
) -> StoreResult<Vec<(String, Option<String>, String, Option<String>)>> {
    let rows = sqlx::query(
        "SELECT customer_name, MAX(customer_domain) AS domain, MAX(customer_country) AS country, \
         MAX(customer_city) AS city FROM deals WHERE partner_id = $1 GROUP BY customer_name ORDER BY customer_name LIMIT 500",
    )
    .bind(partner_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("customer_name")?,
                db::opt_str(r, "domain")?,
                r.try_get("country")?,
                db::opt_str(r, "city")?,
            ))
        })
        .collect()
}

pub async fn events(db: &Db, deal_id: &str) -> StoreResult<Vec<DealEvent>> {
    let rows = sqlx::query("SELECT * FROM deal_events WHERE deal_id = $1 ORDER BY at, id")
        .bind(deal_id)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DealEvent {
                at: r.try_get("at")?,
                actor_email: r.try_get("actor_email")?,
                action: r.try_get("action")?,
                from_status: db::opt_str(r, "from_status")?,
                to_status: r.try_get("to_status")?,
                rule: db::opt_str(r, "rule")?,
                reason: db::opt_str(r, "reason")?,
            })
        })
        .collect()
}

/// The rules of engagement for a partner: those of the first published
/// program it is enrolled in, else the defaults.
pub async fn rules_for(db: &Db, partner_id: &str) -> StoreResult<(Option<String>, Rules)> {
    for e in super::programs::enrollments(db, partner_id).await? {
        if let Some(v) = super::programs::published(db, &e.program).await? {
            if let Ok(p) = trellis_core::program::parse(&v.source) {
                return Ok((Some(e.program), Rules::from_program(&p)));
            }
        }
    }
    Ok((None, Rules::default()))
}

/// Finds and resolves the conflict candidates of a customer, leaving out
/// `exclude` (the deal itself when it is re-checked).
pub async fn conflicts(
    db: &Db,
    matcher: &Matcher,
    customer: &Customer<'_>,
    exclude: Option<&str>,
) -> StoreResult<Vec<Resolved>> {
    let found = matcher.search(db, customer, 6, 0.5).await?;
    let mut out = Vec::new();
    for c in found {
        if exclude.is_some_and(|x| c.id == matcher::deal_key(x)) {
            continue;
        }
        if let Some(id) = c.id.strip_prefix("d:") {
            if let Some(d) = get(db, id).await? {
                out.push(Resolved {
                    partner_id: Some(d.partner_id.clone()),
                    partner_name: Some(d.partner_name.clone()),
                    customer_name: d.customer_name.clone(),
                    status: Some(d.status()),
                    house: false,
                    owner: None,
                    submitted_at: d.submitted_at.clone(),
                    candidate: c,
                });
            }
        } else if let Some(id) = c.id.strip_prefix("a:") {
            if let Some(a) = super::accounts::get(db, id).await? {
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
    out.truncate(5);
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
    deals::decide(rules, &conflicts)
}

/// `today` plus `days`, as YYYY-MM-DD.
fn plus_days(day: &str, days: u32) -> String {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|d| {
            (d + chrono::Days::new(u64::from(days)))
                .format("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_else(|_| day.to_string())
}

pub fn today() -> String {
    chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

#[allow(clippy::too_many_arguments)]
async fn event(
    tx: &mut sqlx::Transaction<'static, Any>,
    actor: &Actor,
    deal_id: &str,
    action: &str,
    from: Option<&str>,
    to: &str,
    rule: Option<&str>,
    reason: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO deal_events (id, deal_id, at, actor_id, actor_email, action, from_status, to_status, rule, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(deal_id)
    .bind(db::now())
    .bind(actor.user_id.as_deref())
    .bind(&actor.email)
    .bind(action)
    .bind(from)
    .bind(to)
    .bind(rule)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queues an in-app notification and an e-mail for each user.
async fn notify(
    tx: &mut sqlx::Transaction<'static, Any>,
    to: &[(String, String)],
    subject: &str,
    body: &str,
    link: &str,
) -> StoreResult<()> {
    for (user_id, email) in to {
        crate::mail::notify_user(tx, user_id, email, subject, body, link).await?;
    }
    Ok(())
}

/// Who hears about a deal: the partner's admins and the user who registered
/// it (partner side); the channel manager, else the vendor admins (vendor side).
async fn audience(
    tx: &mut sqlx::Transaction<'static, Any>,
    deal: &Deal,
    vendor: bool,
) -> StoreResult<Vec<(String, String)>> {
    let rows = if vendor {
        let cm = sqlx::query(
            "SELECT u.id, u.email FROM users u JOIN partners p ON p.channel_manager_id = u.id \
             WHERE p.id = $1 AND u.status = 'active'",
        )
        .bind(&deal.partner_id)
        .fetch_all(&mut **tx)
        .await?;
        if cm.is_empty() {
            sqlx::query(
                "SELECT id, email FROM users WHERE role = 'vendor-admin' AND status = 'active'",
            )
            .fetch_all(&mut **tx)
            .await?
        } else {
            cm
        }
    } else {
        sqlx::query(
            "SELECT id, email FROM users WHERE partner_id = $1 AND status = 'active' \
             AND (role = 'partner-admin' OR id = $2)",
        )
        .bind(&deal.partner_id)
        .bind(deal.created_by.as_deref().unwrap_or(""))
        .fetch_all(&mut **tx)
        .await?
    };
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("email")?)))
        .collect()
}

/// What a registration did, for notifications.
async fn announce(tx: &mut sqlx::Transaction<'static, Any>, d: &Deal) -> StoreResult<()> {
    let link = format!("/deals/{}", d.id);
    match d.status() {
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
            notify(tx, &to, &subject, &body, &link).await
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
            notify(tx, &to, &subject, &body, &link).await
        }
    }
}

/// Registers a deal for `partner`: checks conflicts, applies the rules of
/// engagement when `submit`, and stores it with its history, audit entry,
/// notifications and matcher change, in one transaction.
pub async fn register(
    db: &Db,
    matcher: &Matcher,
    actor: &Actor,
    partner: &Partner,
    new: &NewDeal,
    submit: bool,
) -> StoreResult<(Deal, Vec<Resolved>)> {
    let (program, rules) = rules_for(db, &partner.id).await?;
    let found = conflicts(db, matcher, &new.customer(), None).await?;
    let mut tx = db.begin_write().await?;
    let deal = insert(
        &mut tx,
        actor,
        partner,
        program.as_deref(),
        &rules,
        new,
        submit,
        &found,
    )
    .await?;
    tx.commit().await?;
    matcher.sync(db).await?;
    Ok((deal, found))
}

/// Inserts one registration inside a transaction (see [`register`]).
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &mut sqlx::Transaction<'static, Any>,
    actor: &Actor,
    partner: &Partner,
    program: Option<&str>,
    rules: &Rules,
    new: &NewDeal,
    submit: bool,
    found: &[Resolved],
) -> StoreResult<Deal> {
    let now = db::now();
    let today = today();
    let id = uuid::Uuid::now_v7().to_string();
    let decision = submit.then(|| decide_for(&partner.id, rules, found));
    let status = decision.as_ref().map(|d| d.status).unwrap_or(Status::Draft);
    let protection = (status == Status::Approved).then(|| plus_days(&today, rules.protection_days));
    let top = found.first().map(|r| format!("{:.3}", r.candidate.score));
    sqlx::query(
        "INSERT INTO deals (id, partner_id, program, status, customer_name, customer_domain, customer_country, \
         customer_city, customer_address, customer_tax_id, products, amount, currency, expected_close, seller, notes, \
         conflict_score, decision_rule, decision_reason, protection_until, created_by, submitted_at, decided_at, \
         created_at, updated_at, extra) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $19, $20, $21, $22, $23, $24, $24, $25)",
    )
    .bind(&id)
    .bind(&partner.id)
    .bind(program)
    .bind(status.as_str())
    .bind(&new.customer_name)
    .bind(new.customer_domain.as_deref())
    .bind(&new.customer_country)
    .bind(new.customer_city.as_deref())
    .bind(new.customer_address.as_deref())
    .bind(new.customer_tax_id.as_deref())
    .bind(new.products.as_deref())
    .bind(&new.amount)
    .bind(&new.currency)
    .bind(&new.expected_close)
    .bind(new.seller.as_deref())
    .bind(new.notes.as_deref())
    .bind(top)
    .bind(decision.as_ref().map(|d| d.rule))
    .bind(decision.as_ref().map(|d| d.reason.as_str()))
    .bind(protection.as_deref())
    .bind(actor.user_id.as_deref())
    .bind(submit.then_some(now.as_str()))
    .bind(decision.as_ref().filter(|d| d.status != Status::Submitted).map(|_| now.as_str()))
    .bind(&now)
    .bind(serde_json::to_string(&new.fields).unwrap_or_else(|_| "{}".into()))
    .execute(&mut **tx)
    .await?;
    event(
        tx,
        actor,
        &id,
        "create",
        None,
        Status::Draft.as_str(),
        None,
        None,
    )
    .await?;
    if let Some(d) = &decision {
        event(
            tx,
            actor,
            &id,
            "submit",
            Some("draft"),
            d.status.as_str(),
            Some(d.rule),
            Some(&d.reason),
        )
        .await?;
    }
    let deal = get_in(tx, &id).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "deal.register",
            object_type: "deal",
            object_id: &id,
            partner_id: Some(&partner.id),
            before: None,
            after: Some(deal.audit_json()),
        },
    )
    .await?;
    matcher::changed(tx, &matcher::deal_key(&id)).await?;
    if submit {
        announce(tx, &deal).await?;
        super::onboarding::on_event(tx, actor, &partner.id, TaskEvent::DealRegistered).await?;
    }
    Ok(deal)
}

/// Takes `action` on a deal for `side`. Submitting re-checks conflicts;
/// approving starts the protection period; approving an extension moves it.
#[allow(clippy::too_many_arguments)]
pub async fn act(
    db: &Db,
    matcher: &Matcher,
    actor: &Actor,
    deal: &Deal,
    action: Action,
    side: Side,
    reason: Option<&str>,
) -> StoreResult<Deal> {
    let from = deal.status();
    let to = deals::transition(from, action, side).map_err(|e| StoreError::Conflict {
        field: "action",
        message: e.0,
    })?;
    let (_, rules) = rules_for(db, &deal.partner_id).await?;
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
            let found = conflicts(db, matcher, &deal.customer(), Some(&deal.id)).await?;
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
                return Err(StoreError::Conflict {
                    field: "action",
                    message: format!(
                        "the program allows {} extension(s) of {} days; none is left",
                        rules.max_extensions, rules.extension_days
                    ),
                });
            }
            if extension_requested.is_some() {
                return Err(StoreError::Conflict {
                    field: "action",
                    message: "an extension is already requested".into(),
                });
            }
            extension_requested = Some(db::now());
        }
        Action::ApproveExtension => {
            if extension_requested.is_none() {
                return Err(StoreError::Conflict {
                    field: "action",
                    message: "no extension was requested".into(),
                });
            }
            let base = protection.clone().unwrap_or_else(|| today.clone());
            protection = Some(plus_days(&base, rules.extension_days));
            extensions += 1;
            extension_requested = None;
        }
        Action::Expire => rule = "protection-ended",
        _ => {}
    }
    let now = db::now();
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE deals SET status = $1, decision_rule = $2, decision_reason = $3, protection_until = $4, \
         extensions = $5, extension_requested_at = $6, conflict_score = $7, updated_at = $8, \
         submitted_at = CASE WHEN $9 = 'submit' THEN $8 ELSE submitted_at END, \
         decided_at = CASE WHEN $1 <> 'submitted' AND $9 IN ('submit','approve','reject','request-info') THEN $8 ELSE decided_at END \
         WHERE id = $10 AND status = $11 AND updated_at = $12",
    )
    .bind(status.as_str())
    .bind(if matches!(action, Action::RequestExtension | Action::ApproveExtension | Action::Win | Action::Lose) {
        deal.decision_rule.as_deref()
    } else {
        Some(rule)
    })
    .bind(if matches!(action, Action::RequestExtension | Action::ApproveExtension | Action::Win | Action::Lose) {
        deal.decision_reason.as_deref()
    } else {
        reason.as_deref()
    })
    .bind(protection.as_deref())
    .bind(extensions)
    .bind(extension_requested.as_deref())
    .bind(score)
    .bind(&now)
    .bind(action.as_str())
    .bind(&deal.id)
    .bind(from.as_str())
    .bind(&deal.updated_at)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(StoreError::Conflict {
            field: "status",
            message: "the registration changed meanwhile; reload it and try again".into(),
        });
    }
    event(
        &mut tx,
        actor,
        &deal.id,
        action.as_str(),
        Some(from.as_str()),
        status.as_str(),
        Some(rule),
        reason.as_deref(),
    )
    .await?;
    let after = get_in(&mut tx, &deal.id).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: &format!("deal.{}", action.as_str()),
            object_type: "deal",
            object_id: &deal.id,
            partner_id: Some(&deal.partner_id),
            before: Some(deal.audit_json()),
            after: Some(after.audit_json()),
        },
    )
    .await?;
    matcher::changed(&mut tx, &matcher::deal_key(&deal.id)).await?;
    match action {
        Action::RequestExtension => {
            let to = audience(&mut tx, &after, true).await?;
            notify(
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
        super::onboarding::advance_by_rule(&mut tx, actor, &deal.partner_id).await?;
    }
    tx.commit().await?;
    matcher.sync(db).await?;
    Ok(after)
}

/// Expires approved registrations whose protection ended before `today`.
pub async fn expire_due(db: &Db, matcher: &Matcher, today: &str) -> StoreResult<usize> {
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM deals WHERE status = 'approved' AND protection_until IS NOT NULL AND protection_until < $1",
    )
    .bind(today)
    .fetch_all(db.pool())
    .await?;
    let actor = Actor::system("expiry");
    let mut n = 0;
    for id in due {
        if let Some(d) = get(db, &id).await? {
            match act(
                db,
                matcher,
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
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(n)
}

/// Runs [`expire_due`] every minute.
pub async fn expiry_job(state: crate::http::AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        match expire_due(&state.db, &state.matcher, &today()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "deal registrations expired"),
            Err(e) => tracing::warn!(error = %e, "expiry job failed; retrying in a minute"),
        }
    }
}

/// An in-app notification.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: String,
    pub at: String,
    pub subject: String,
    pub body: String,
    pub link: Option<String>,
    pub read: bool,
}

/// A user's in-app notifications, newest first (at most 100).
pub async fn notifications(db: &Db, user_id: &str) -> StoreResult<Vec<Notification>> {
    let rows = sqlx::query(
        "SELECT id, at, subject, body, link, read_at FROM outbox WHERE user_id = $1 AND channel = 'in-app' \
         ORDER BY at DESC, id DESC LIMIT 100",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Notification {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                subject: r.try_get("subject")?,
                body: r.try_get("body")?,
                link: db::opt_str(r, "link")?,
                read: db::opt_str(r, "read_at")?.is_some(),
            })
        })
        .collect()
}

/// Marks all of a user's in-app notifications read.
pub async fn mark_read(db: &Db, user_id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE outbox SET read_at = $1 WHERE user_id = $2 AND channel = 'in-app' AND read_at IS NULL")
        .bind(db::now())
        .bind(user_id)
        .execute(db.pool())
        .await?;
    Ok(())
}
