//! Applications to become a partner: taken from the public page and the API
//! (throttled per address), scored against the program's ideal partner
//! profiles, checked for duplicates against partners and open applications
//! with the company matcher, and decided by a channel manager. Approval
//! creates the partner (stage formation), enrolls it, starts its onboarding
//! checklist and invites its admin by e-mail, in one transaction.

use super::audit::{self, Subject};
use super::{notify, onboarding, partners, programs, users, App, AppError, AppResult, Tx};
use crate::store::applications::{self as store, ApplicationRecord, Duplicate, Submission};
use crate::store::partners::{NewPartner, Partner};
use crate::store::users::NewUser;
use crate::store::Actor;
use serde::{Deserialize, Serialize};
use trellis_core::access::Principal;
use trellis_core::matching::{Customer, Index, Kind};
use trellis_core::org::{PartnerStatus, Role};
use trellis_core::program::Program;
use trellis_core::recruit::{Application, ApplicationInput, Stage};
use utoipa::ToSchema;

/// Applications accepted from one address per hour.
pub const MAX_PER_HOUR_PER_ADDRESS: i64 = 5;

/// Partners and open applications that may be the same company (score ≥ 0.75).
pub async fn duplicates(app: &App, a: &Application) -> AppResult<Vec<Duplicate>> {
    let mut ix = Index::default();
    let mut names = std::collections::HashMap::new();
    for c in store::known_companies(&app.db).await? {
        let kind = if c.key.starts_with("p:") {
            Kind::Partner
        } else {
            Kind::Application
        };
        ix.upsert(
            &c.key,
            kind,
            &Customer {
                name: &c.name,
                domain: c.domain.as_deref(),
                country: &c.country,
                city: None,
            },
        );
        names.insert(c.key, c.name);
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

/// Takes an application to the published program it names from address `ip`:
/// throttled per address (`TooMany`), checked (each bad field named),
/// scored against the ideal profiles, checked for duplicates and stored (a
/// conflict on `domain` when the company has one open). The API and the
/// public page share it.
pub async fn apply(app: &App, input: &ApplicationInput, ip: &str) -> AppResult<ApplicationRecord> {
    let slug = input.program.trim();
    let (_, program) = programs::published_program(&app.db, slug).await?;
    if store::recent_from(&app.db, ip).await? >= MAX_PER_HOUR_PER_ADDRESS {
        return Err(AppError::TooMany { retry_after: 3600 });
    }
    let a = trellis_core::recruit::validate(input, Some(&program))?;
    let fit = trellis_core::recruit::fit(&program, &a);
    let duplicates = duplicates(app, &a).await?;
    submit(
        app,
        Submission {
            program: Some(slug),
            application: &a,
            fit: &fit,
            duplicates: &duplicates,
            ip,
        },
    )
    .await
}

/// Stores a checked application and queues the confirmation to the applicant.
pub async fn submit(app: &App, s: Submission<'_>) -> AppResult<ApplicationRecord> {
    let a = s.application;
    let actor = Actor {
        user_id: None,
        email: format!("applicant:{}", a.contact_email),
        request_id: None,
    };
    let mut tx = app.db.begin_write().await?;
    let id = store::insert(&mut tx, &s).await?;
    audit::record(
        &mut tx,
        &actor,
        "application.submit",
        Subject::new("application", &id),
        None,
        Some(serde_json::json!({"company": a.company, "domain": a.domain, "partner_type": a.partner_type})),
    )
    .await?;
    notify::email(
        &mut tx,
        &a.contact_email,
        "We received your partner application",
        &format!(
            "Dear {},\n\nthank you for applying to become a partner with {} ({}). A channel manager will review your application and answer you by e-mail.",
            a.contact_name, a.company, a.partner_type
        ),
    )
    .await?;
    let rec = store::get_in(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(rec)
}

/// Applications are for those who review them; others learn nothing of them.
fn reviewers_only(who: &Principal) -> AppResult<()> {
    if who.can_review_applications() {
        Ok(())
    } else {
        Err(AppError::NotFound("application"))
    }
}

/// Applications, the review queue first (oldest waiting first), then decided
/// ones (newest first); at most 500.
pub async fn list(
    app: &App,
    who: &Principal,
    status: Option<&str>,
) -> AppResult<Vec<ApplicationRecord>> {
    reviewers_only(who)?;
    Ok(store::list(&app.db, status).await?)
}

pub async fn get(app: &App, who: &Principal, id: &str) -> AppResult<ApplicationRecord> {
    reviewers_only(who)?;
    store::get(&app.db, id)
        .await?
        .ok_or(AppError::NotFound("application"))
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

/// A reviewer's decision, as sent.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `approve`, `reject` or `more-info`.
    pub decision: String,
    /// Required to reject (sent to the applicant) and to ask for more
    /// information (the question).
    #[serde(default)]
    pub reason: String,
    /// On approval: the partner's channel manager (default: the reviewer).
    pub channel_manager_id: Option<String>,
}

impl DecisionRequest {
    pub fn decision(self) -> AppResult<Decision> {
        Ok(match self.decision.as_str() {
            "approve" => Decision::Approve {
                channel_manager_id: self.channel_manager_id,
            },
            "reject" => Decision::Reject {
                reason: self.reason,
            },
            "more-info" => Decision::MoreInfo {
                question: self.reason,
            },
            _ => {
                return Err(AppError::field(
                    "decision",
                    "invalid-value",
                    "decision must be one of: approve, reject, more-info",
                ))
            }
        })
    }
}

/// The outcome of a decision.
#[derive(Serialize, ToSchema)]
pub struct DecisionOutcome {
    pub application: ApplicationRecord,
    /// On approval: the new partner's id.
    pub partner_id: Option<String>,
    /// On approval: the partner admin's single-use link to set a password
    /// (also sent by e-mail).
    pub invite_url: Option<String>,
}

/// Decides an open application (vendor users) with the program it followed,
/// if that is still published (for the region, enrollment and onboarding plan).
pub async fn decide(
    app: &App,
    who: &Principal,
    actor: &Actor,
    id: &str,
    decision: Decision,
) -> AppResult<DecisionOutcome> {
    let rec = get(app, who, id).await?;
    let program = match &rec.program {
        Some(slug) => match programs::published_program(&app.db, slug).await {
            Ok((_, p)) => Some(p),
            Err(AppError::NotFound(_)) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    let reason_of = |r: &str| trellis_core::validate::text("reason", r, 2_000);
    let mut tx = app.db.begin_write().await?;
    let rec = store::get_in(&mut tx, id).await?;
    if rec.status != "submitted" && rec.status != "more-info" {
        return Err(AppError::Conflict {
            field: "status",
            message: format!("this application is already {}", rec.status),
        });
    }
    let a = &rec.application;
    let (status, reason, partner, token) = match decision {
        Decision::Approve { channel_manager_id } => {
            let cm = channel_manager_id
                .filter(|c| !c.is_empty())
                .or_else(|| actor.user_id.clone());
            let (partner, token) = approve(&mut tx, actor, a, cm, program.as_ref()).await?;
            ("approved", None, Some(partner), Some(token))
        }
        Decision::Reject { reason } => {
            let reason = reason_of(&reason)?;
            notify::email(
                &mut tx,
                &a.contact_email,
                "Your partner application",
                &format!(
                    "Dear {},\n\nthank you for your interest. We are not able to accept the application of {} at this time:\n\n{}",
                    a.contact_name, a.company, reason
                ),
            )
            .await?;
            ("rejected", Some(reason), None, None)
        }
        Decision::MoreInfo { question } => {
            let question = reason_of(&question)?;
            notify::email(
                &mut tx,
                &a.contact_email,
                "About your partner application",
                &format!(
                    "Dear {},\n\nbefore we can decide on the application of {}, we need to know more:\n\n{}\n\nPlease answer this e-mail.",
                    a.contact_name, a.company, question
                ),
            )
            .await?;
            ("more-info", Some(question), None, None)
        }
    };
    let partner_id = partner.as_ref().map(|p| p.id.as_str());
    store::set_decision(
        &mut tx,
        id,
        status,
        actor.user_id.as_deref(),
        reason.as_deref(),
        partner_id,
    )
    .await?;
    let subject = Subject::new("application", id);
    audit::record(
        &mut tx,
        actor,
        match status {
            "approved" => "application.approve",
            "rejected" => "application.reject",
            _ => "application.more-info",
        },
        match partner_id {
            Some(p) => subject.of_partner(p),
            None => subject,
        },
        Some(serde_json::json!({"status": rec.status})),
        Some(serde_json::json!({"status": status, "reason": reason})),
    )
    .await?;
    let application = store::get_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(DecisionOutcome {
        application,
        partner_id: partner.map(|p| p.id),
        invite_url: token.map(|t| users::invite_url(&app.public_url(), &t)),
    })
}

/// Approval: the partner in formation with its channel manager, its first
/// stage logged, the program's onboarding plan, its enrollment, and the
/// contact invited as partner admin.
async fn approve(
    tx: &mut Tx,
    actor: &Actor,
    a: &Application,
    channel_manager_id: Option<String>,
    program: Option<&Program>,
) -> AppResult<(Partner, String)> {
    let region = program
        .and_then(|p| {
            a.segments
                .iter()
                .find_map(|s| p.segments.iter().find(|x| x.id.get_ref() == s))
        })
        .map(|s| s.region.clone())
        .filter(|r| trellis_core::validate::label("region", r).is_ok())
        .unwrap_or_else(|| "global".into());
    let slug = crate::store::partners::free_slug(tx, &a.company).await?;
    let partner = partners::insert(
        tx,
        actor,
        &NewPartner {
            slug,
            name: a.company.clone(),
            partner_type: a.partner_type.clone(),
            region,
            country: a.country.clone(),
            status: PartnerStatus::Onboarding,
            website: Some(a.domain.clone()),
            channel_manager_id,
        },
    )
    .await?;
    // The partner is inserted in formation: only its history starts here.
    onboarding::log_stage(
        tx,
        actor,
        &partner.id,
        None,
        Stage::Formation,
        None,
        "application approved",
    )
    .await?;
    if let Some(p) = program {
        // Enrolling adds the plan; without a segment to enroll in, the plan
        // is added on its own.
        match a.segments.first() {
            Some(segment) => {
                programs::enroll_in(tx, actor, &partner.id, p, &a.partner_type, segment, None)
                    .await?;
            }
            None => {
                onboarding::add_plan(tx, &partner.id, p.onboarding_for(&a.partner_type)).await?;
            }
        }
    }
    let (_, token) = users::invite_in(
        tx,
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
    // Inviting the admin may move the stage: read the partner again.
    let partner = crate::store::partners::get_in(tx, &partner.id).await?;
    Ok((partner, token))
}
