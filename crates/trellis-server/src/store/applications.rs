//! Applications to become a partner: submitted on the public page, scored
//! against the program's ideal partner profiles, checked for duplicates
//! against partners and open applications with the company matcher, and
//! decided by a channel manager. Approval creates the partner (stage
//! formation), invites its admin by e-mail, and starts its onboarding
//! checklist, in one transaction.

use super::audit::{self, Change};
use super::partners::NewPartner;
use super::users::NewUser;
use super::{Actor, StoreError, StoreResult};
use crate::db::{self, Db};
use serde::{Deserialize, Serialize};
use sqlx::{any::AnyRow, Row};
use trellis_core::matching::{Customer, Index, Kind};
use trellis_core::org::{PartnerStatus, Role};
use trellis_core::program::Program;
use trellis_core::recruit::{Application, ProfileFit, Stage};
use utoipa::ToSchema;

/// Applications accepted from one address per hour.
pub const MAX_PER_HOUR_PER_ADDRESS: i64 = 5;

/// An existing partner or open application that may be the same company.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Duplicate {
    /// `partner` or `application`.
    pub kind: String,
    pub id: String,
    pub name: String,
    pub score: f64,
    pub reasons: Vec<String>,
}

/// An application with what Trellis made of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApplicationRecord {
    pub id: String,
    pub created_at: String,
    /// `submitted`, `more-info`, `approved` or `rejected`.
    pub status: String,
    /// The program whose form was filled in.
    pub program: Option<String>,
    #[schema(value_type = Object)]
    pub application: Application,
    /// Best profile fit, in [0, 1].
    pub score: Option<f64>,
    #[schema(value_type = Vec<Object>)]
    pub fit: Vec<ProfileFit>,
    pub duplicates: Vec<Duplicate>,
    pub source_ip: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub partner_id: Option<String>,
}

const SELECT: &str = "SELECT a.*, p.slug AS program_slug, u.email AS decided_by_email FROM applications a \
                      LEFT JOIN programs p ON p.id = a.program_id LEFT JOIN users u ON u.id = a.decided_by";

fn from_row(r: &AnyRow) -> StoreResult<ApplicationRecord> {
    let json = |col: &str| -> StoreResult<String> { Ok(r.try_get::<String, _>(col)?) };
    let bad = |e: serde_json::Error| StoreError::Internal(format!("stored application: {e}"));
    Ok(ApplicationRecord {
        id: r.try_get("id")?,
        created_at: r.try_get("created_at")?,
        status: r.try_get("status")?,
        program: db::opt_str(r, "program_slug")?,
        application: serde_json::from_str(&json("details")?).map_err(bad)?,
        score: db::opt_str(r, "score")?.and_then(|s| s.parse().ok()),
        fit: serde_json::from_str(&json("fit")?).map_err(bad)?,
        duplicates: serde_json::from_str(&json("duplicates")?).map_err(bad)?,
        source_ip: r.try_get("source_ip")?,
        decided_at: db::opt_str(r, "decided_at")?,
        decided_by: db::opt_str(r, "decided_by_email")?,
        reason: db::opt_str(r, "reason")?,
        partner_id: db::opt_str(r, "partner_id")?,
    })
}

/// Applications from `ip` in the last hour.
pub async fn recent_from(db: &Db, ip: &str) -> StoreResult<i64> {
    let since = db::fmt_time(chrono::Utc::now() - chrono::Duration::hours(1));
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM applications WHERE source_ip = $1 AND created_at > $2",
    )
    .bind(ip)
    .bind(since)
    .fetch_one(db.pool())
    .await?)
}

/// Partners and open applications that may be the same company (score ≥ 0.75).
pub async fn duplicates(db: &Db, a: &Application) -> StoreResult<Vec<Duplicate>> {
    let mut ix = Index::default();
    let mut names = std::collections::HashMap::new();
    for r in sqlx::query("SELECT id, name, website, country FROM partners")
        .fetch_all(db.pool())
        .await?
    {
        let id: String = r.try_get("id")?;
        let name: String = r.try_get("name")?;
        let website = db::opt_str(&r, "website")?;
        let country: String = r.try_get("country")?;
        let key = format!("p:{id}");
        ix.upsert(
            &key,
            Kind::Partner,
            &Customer {
                name: &name,
                domain: website.as_deref(),
                country: &country,
                city: None,
            },
        );
        names.insert(key, name);
    }
    for r in sqlx::query(
        "SELECT id, company, domain, country FROM applications WHERE status IN ('submitted','more-info')",
    )
    .fetch_all(db.pool())
    .await?
    {
        let id: String = r.try_get("id")?;
        let name: String = r.try_get("company")?;
        let domain: String = r.try_get("domain")?;
        let country: String = r.try_get("country")?;
        let key = format!("a:{id}");
        ix.upsert(
            &key,
            Kind::Application,
            &Customer {
                name: &name,
                domain: Some(&domain),
                country: &country,
                city: None,
            },
        );
        names.insert(key, name);
    }
    let found = ix.search(
        &Customer {
            name: &a.company,
            domain: Some(&a.domain),
            country: &a.country,
            city: None,
        },
        5,
        0.75,
    );
    Ok(found
        .into_iter()
        .map(|c| Duplicate {
            kind: match c.kind {
                Kind::Partner => "partner",
                _ => "application",
            }
            .into(),
            id: c.id[2..].to_string(),
            name: names.get(&c.id).cloned().unwrap_or_default(),
            score: c.score,
            reasons: c.reasons.iter().map(ToString::to_string).collect(),
        })
        .collect())
}

/// A JSON column's text.
fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// What the public page submits, checked and scored by the caller.
pub struct Submission<'a> {
    /// The slug of the program whose form was filled in.
    pub program: Option<&'a str>,
    pub application: &'a Application,
    pub fit: &'a [ProfileFit],
    pub duplicates: &'a [Duplicate],
    pub ip: &'a str,
}

/// Stores an application and queues the confirmation to the applicant.
/// What became of an application sent to [`apply`].
pub enum Outcome {
    Submitted(Box<ApplicationRecord>),
    /// [`MAX_PER_HOUR_PER_ADDRESS`] reached: nothing was stored.
    TooMany,
}

/// Takes an application to `program` (published as `slug`) from address
/// `ip`: throttled per address, checked (`StoreError::Invalid` names each
/// field), scored against the ideal profiles, checked for duplicates and
/// stored (`StoreError::Conflict` when the company has one open). The API
/// and the public page share it.
pub async fn apply(
    db: &Db,
    slug: &str,
    program: &Program,
    input: &trellis_core::recruit::ApplicationInput,
    ip: &str,
) -> StoreResult<Outcome> {
    if recent_from(db, ip).await? >= MAX_PER_HOUR_PER_ADDRESS {
        return Ok(Outcome::TooMany);
    }
    let app = trellis_core::recruit::validate(input, Some(program)).map_err(StoreError::Invalid)?;
    let fit = trellis_core::recruit::fit(program, &app);
    let duplicates = duplicates(db, &app).await?;
    let rec = submit(
        db,
        Submission {
            program: Some(slug),
            application: &app,
            fit: &fit,
            duplicates: &duplicates,
            ip,
        },
    )
    .await?;
    Ok(Outcome::Submitted(Box::new(rec)))
}

pub async fn submit(db: &Db, s: Submission<'_>) -> StoreResult<ApplicationRecord> {
    let a = s.application;
    let id = uuid::Uuid::now_v7().to_string();
    let actor = Actor {
        user_id: None,
        email: format!("applicant:{}", a.contact_email),
        request_id: None,
    };
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "INSERT INTO applications (id, created_at, status, program_id, company, domain, country, partner_type, \
         contact_name, contact_email, details, score, fit, duplicates, source_ip) \
         VALUES ($1, $2, 'submitted', (SELECT id FROM programs WHERE slug = $3), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&id)
    .bind(db::now())
    .bind(s.program)
    .bind(&a.company)
    .bind(&a.domain)
    .bind(&a.country)
    .bind(&a.partner_type)
    .bind(&a.contact_name)
    .bind(&a.contact_email)
    .bind(to_json(a))
    .bind(s.fit.first().map(|f| f.score.to_string()))
    .bind(to_json(s.fit))
    .bind(to_json(s.duplicates))
    .bind(s.ip)
    .execute(&mut *tx)
    .await;
    match res {
        Err(e) if db::is_unique_violation(&e) => {
            return Err(StoreError::Conflict {
                field: "domain",
                message: format!(
                    "an application for {} is already being reviewed; we will be in touch",
                    a.domain
                ),
            })
        }
        r => r?,
    };
    audit::record(
        &mut tx,
        &actor,
        Change {
            action: "application.submit",
            object_type: "application",
            object_id: &id,
            partner_id: None,
            before: None,
            after: Some(serde_json::json!({"company": a.company, "domain": a.domain, "partner_type": a.partner_type})),
        },
    )
    .await?;
    crate::mail::queue(
        &mut tx,
        None,
        &a.contact_email,
        "We received your partner application",
        &format!(
            "Dear {},\n\nthank you for applying to become a partner with {} ({}). A channel manager will review your application and answer you by e-mail.",
            a.contact_name, a.company, a.partner_type
        ),
        None,
    )
    .await?;
    let row = sqlx::query(&format!("{SELECT} WHERE a.id = $1"))
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
    let rec = from_row(&row)?;
    tx.commit().await?;
    Ok(rec)
}

/// Applications, the review queue first (oldest waiting first), then decided
/// ones (newest first); at most 500.
pub async fn list(db: &Db, status: Option<&str>) -> StoreResult<Vec<ApplicationRecord>> {
    let (filter, order) = match status {
        Some(s) => (
            " WHERE a.status = $1",
            if s == "submitted" || s == "more-info" {
                "a.created_at"
            } else {
                "a.decided_at DESC"
            },
        ),
        None => (
            "",
            "CASE WHEN a.status IN ('submitted','more-info') THEN 0 ELSE 1 END, a.created_at",
        ),
    };
    let sql = format!("{SELECT}{filter} ORDER BY {order}, a.id LIMIT 500");
    let mut q = sqlx::query(&sql);
    if let Some(s) = status {
        q = q.bind(s);
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<ApplicationRecord>> {
    let row = sqlx::query(&format!("{SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A reviewer's decision.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Creates the partner with this channel manager (the reviewer if `None`).
    Approve {
        channel_manager_id: Option<String>,
    },
    Reject {
        reason: String,
    },
    MoreInfo {
        question: String,
    },
}

/// The outcome of an approval.
#[derive(Debug, Clone)]
pub struct Decided {
    pub application: ApplicationRecord,
    pub partner: Option<super::partners::Partner>,
    /// The invitation link for the partner admin (also e-mailed).
    pub invite_token: Option<String>,
}

async fn free_slug(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    name: &str,
) -> StoreResult<String> {
    let base = trellis_core::validate::Slug::suggest(name);
    let base = if base.is_empty() {
        "partner".to_string()
    } else {
        base
    };
    for n in 1..1000 {
        let slug = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let taken: Option<String> = sqlx::query_scalar("SELECT id FROM partners WHERE slug = $1")
            .bind(&slug)
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_none() {
            return Ok(slug);
        }
    }
    Err(StoreError::Internal(format!("no free slug for {name}")))
}

/// Decides an open application. `program` is the published program the
/// application followed (for the region, enrollment and onboarding plan).
pub async fn decide(
    db: &Db,
    actor: &Actor,
    id: &str,
    decision: Decision,
    program: Option<&Program>,
) -> StoreResult<Decided> {
    let reason_of = |r: &str| -> StoreResult<String> {
        trellis_core::validate::text("reason", r, 2_000).map_err(|e| StoreError::Invalid(e.into()))
    };
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(&format!("{SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("application"))?;
    let rec = from_row(&row)?;
    if rec.status != "submitted" && rec.status != "more-info" {
        return Err(StoreError::Conflict {
            field: "status",
            message: format!("this application is already {}", rec.status),
        });
    }
    let a = &rec.application;
    let (status, reason, mail, partner, token) = match decision {
        Decision::Approve { channel_manager_id } => {
            let cm = channel_manager_id
                .filter(|c| !c.is_empty())
                .or_else(|| actor.user_id.clone());
            let region = program
                .and_then(|p| {
                    a.segments
                        .iter()
                        .find_map(|s| p.segments.iter().find(|x| x.id.get_ref() == s))
                })
                .map(|s| s.region.clone())
                .filter(|r| trellis_core::validate::label("region", r).is_ok())
                .unwrap_or_else(|| "global".into());
            let slug = free_slug(&mut tx, &a.company).await?;
            let partner = super::partners::insert(
                &mut tx,
                actor,
                &NewPartner {
                    slug,
                    name: a.company.clone(),
                    partner_type: a.partner_type.clone(),
                    region,
                    country: a.country.clone(),
                    status: PartnerStatus::Onboarding,
                    website: Some(a.domain.clone()),
                    channel_manager_id: cm,
                },
            )
            .await?;
            // The partner is inserted in formation: only its history starts here.
            super::onboarding::log_stage(
                &mut tx,
                actor,
                &partner.id,
                None,
                Stage::Formation,
                None,
                "application approved",
            )
            .await?;
            if let Some(p) = program {
                super::onboarding::create_plan(
                    &mut tx,
                    &partner.id,
                    p.onboarding_for(&a.partner_type),
                )
                .await?;
                if let Some(segment) = a.segments.first() {
                    super::programs::enroll_in(
                        &mut tx,
                        actor,
                        &partner.id,
                        p.program.id.get_ref(),
                        &a.partner_type,
                        segment,
                        None,
                    )
                    .await?;
                }
            }
            let (_, token) = super::users::invite_in(
                &mut tx,
                actor,
                NewUser {
                    email: a.contact_email.clone(),
                    name: a.contact_name.clone(),
                    role: Role::PartnerAdmin,
                    partner_id: Some(partner.id.clone()),
                    password_hash: None,
                },
            )
            .await?;
            (
                "approved",
                None,
                None,
                Some(super::partners::get_in(&mut tx, &partner.id).await?),
                Some(token),
            )
        }
        Decision::Reject { reason } => {
            let reason = reason_of(&reason)?;
            let body = format!(
                "Dear {},\n\nthank you for your interest. We are not able to accept the application of {} at this time:\n\n{}",
                a.contact_name, a.company, reason
            );
            (
                "rejected",
                Some(reason),
                Some(("Your partner application", body)),
                None,
                None,
            )
        }
        Decision::MoreInfo { question } => {
            let question = reason_of(&question)?;
            let body = format!(
                "Dear {},\n\nbefore we can decide on the application of {}, we need to know more:\n\n{}\n\nPlease answer this e-mail.",
                a.contact_name, a.company, question
            );
            (
                "more-info",
                Some(question),
                Some(("About your partner application", body)),
                None,
                None,
            )
        }
    };
    sqlx::query(
        "UPDATE applications SET status = $1, decided_at = $2, decided_by = $3, reason = $4, partner_id = $5 WHERE id = $6",
    )
    .bind(status)
    .bind(db::now())
    .bind(actor.user_id.as_deref())
    .bind(reason.as_deref())
    .bind(partner.as_ref().map(|p| p.id.as_str()))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if let Some((subject, body)) = mail {
        crate::mail::queue(&mut tx, None, &a.contact_email, subject, &body, None).await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change {
            action: match status {
                "approved" => "application.approve",
                "rejected" => "application.reject",
                _ => "application.more-info",
            },
            object_type: "application",
            object_id: id,
            partner_id: partner.as_ref().map(|p| p.id.as_str()),
            before: Some(serde_json::json!({"status": rec.status})),
            after: Some(serde_json::json!({"status": status, "reason": reason})),
        },
    )
    .await?;
    let row = sqlx::query(&format!("{SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let application = from_row(&row)?;
    tx.commit().await?;
    Ok(Decided {
        application,
        partner,
        invite_token: token,
    })
}
