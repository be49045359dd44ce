//! Programs as code: checking a source, drafts, publishing and retiring
//! versions, diffs, enrolling partners, and the published program as it
//! applies to one partner.

use super::audit::{self, Audited, Subject};
use super::{onboarding, App, AppError, AppResult, Tx};
use crate::db::{self, Db};
use crate::store::programs::{self as store, Enrollment, ProgramSummary, Version, VersionMeta};
use crate::store::Actor;
use serde::{Deserialize, Serialize};
use trellis_core::access::Principal;
use trellis_core::program::{self, economics, view, Checked, Finding, Program, VersionStatus};
use utoipa::ToSchema;

/// A finding about a program source, as problem documents carry it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemFinding {
    /// A checker code such as `gtm-step-not-enabled`, or `parse`.
    pub code: String,
    /// `error` or `warning`.
    pub severity: String,
    pub message: String,
    /// The field path, for parse errors (e.g. `elements[2].purpose`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    pub line: usize,
    pub column: usize,
}

impl ProblemFinding {
    pub fn from_parse(e: &program::ParseError) -> ProblemFinding {
        ProblemFinding {
            code: "parse".into(),
            severity: "error".into(),
            message: e.message.clone(),
            path: e.path.clone(),
            line: e.location.line,
            column: e.location.column,
        }
    }

    pub fn from_finding(f: &Finding) -> ProblemFinding {
        ProblemFinding {
            code: f.code.to_string(),
            severity: match f.severity {
                program::Severity::Error => "error".into(),
                program::Severity::Warning => "warning".into(),
            },
            message: f.message.clone(),
            path: String::new(),
            line: f.location.line,
            column: f.location.column,
        }
    }
}

impl Audited for VersionMeta {
    fn subject(&self) -> Subject<'_> {
        Subject::new("program_version", &self.id)
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "program": self.program, "number": self.number, "label": self.label,
            "effective": self.effective, "status": self.status, "sha256": self.sha256,
            "errors": self.errors, "warnings": self.warnings,
        })
    }
}

/// A source that does not parse.
pub fn invalid(e: &program::ParseError) -> AppError {
    AppError::Program {
        code: "program-invalid",
        detail: format!("the program does not parse: {e}"),
        findings: vec![ProblemFinding::from_parse(e)],
    }
}

/// Parses and checks a TOML source.
pub fn check(src: String) -> AppResult<Checked> {
    Checked::new(src).map_err(|e| invalid(&e))
}

fn stored_does_not_parse(what: impl std::fmt::Display, e: program::ParseError) -> AppError {
    AppError::internal(format!("stored program {what} does not parse: {e}"))
}

/// What the checker says about a source, with the partner economics.
#[derive(Serialize, ToSchema)]
pub struct Report {
    /// `[program].id`.
    pub program: String,
    pub name: String,
    /// `[program].version`.
    pub version: String,
    pub errors: usize,
    pub warnings: usize,
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Finding>,
    /// Partner net per deal and per year for each type × segment, beside competitors.
    #[schema(value_type = Vec<Object>)]
    pub economics: Vec<economics::Row>,
}

impl Report {
    pub fn of(c: &Checked) -> Report {
        Report {
            program: c.program.program.id.get_ref().clone(),
            name: c.program.program.name.clone(),
            version: c.program.program.version.clone(),
            errors: c.errors(),
            warnings: c.warnings(),
            findings: c.findings.clone(),
            economics: economics::table(&c.program),
        }
    }
}

/// A stored version: metadata, source, findings, economics and GTM matrix.
#[derive(Serialize, ToSchema)]
pub struct VersionDetail {
    #[serde(flatten)]
    pub meta: VersionMeta,
    pub name: String,
    /// The TOML source (JSON uploads are stored converted).
    pub source: String,
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Finding>,
    #[schema(value_type = Vec<Object>)]
    pub economics: Vec<economics::Row>,
    /// Per play (type × segment), per step: performer, the elements that enable
    /// and motivate it, and whether it is uncovered.
    #[schema(value_type = Vec<Object>)]
    pub matrix: Vec<view::MatrixRow>,
}

fn detail(v: Version) -> AppResult<VersionDetail> {
    let c = Checked::new(v.source.clone()).map_err(|e| {
        stored_does_not_parse(format_args!("{}/{}", v.meta.program, v.meta.number), e)
    })?;
    Ok(VersionDetail {
        economics: economics::table(&c.program),
        matrix: view::matrix(&c.program),
        findings: c.findings,
        meta: v.meta,
        name: v.name,
        source: v.source,
    })
}

/// Programs and their versions are for vendor users: others (partners, who
/// read their programs through their enrollments) get "not found", as if
/// there were none.
pub fn visible_to(who: &Principal) -> AppResult<()> {
    if who.can_read_program_versions() {
        Ok(())
    } else {
        Err(AppError::NotFound("program"))
    }
}

/// Only vendor admins change programs.
pub fn admin_only(who: &Principal) -> AppResult<()> {
    if who.can_manage_programs() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only vendor admins can change programs",
        ))
    }
}

/// Every program with its version in force and its newest version.
pub async fn list(app: &App, who: &Principal) -> AppResult<Vec<ProgramSummary>> {
    visible_to(who)?;
    Ok(store::list(&app.db).await?)
}

/// The published programs anyone may apply to: `[program].id` and name.
pub async fn open_for_applications(app: &App) -> AppResult<Vec<(String, String)>> {
    Ok(store::list(&app.db)
        .await?
        .into_iter()
        .filter(|p| p.published.is_some())
        .map(|p| (p.slug, p.name))
        .collect())
}

/// A program's versions, newest first.
pub async fn versions(app: &App, who: &Principal, slug: &str) -> AppResult<Vec<VersionMeta>> {
    visible_to(who)?;
    let versions = store::versions(&app.db, slug).await?;
    if versions.is_empty() {
        return Err(AppError::NotFound("program"));
    }
    Ok(versions)
}

async fn stored(db: &Db, slug: &str, number: i64) -> AppResult<Version> {
    store::version(db, slug, number)
        .await?
        .ok_or(AppError::NotFound("program version"))
}

/// A version with its findings, economics and GTM matrix.
pub async fn version(
    app: &App,
    who: &Principal,
    slug: &str,
    number: i64,
) -> AppResult<VersionDetail> {
    visible_to(who)?;
    detail(stored(&app.db, slug, number).await?)
}

/// The stored source of a version (vendor users).
pub async fn source(app: &App, who: &Principal, slug: &str, number: i64) -> AppResult<Version> {
    visible_to(who)?;
    stored(&app.db, slug, number).await
}

/// Checks a source without saving it.
pub fn validate(who: &Principal, src: String) -> AppResult<Report> {
    visible_to(who)?;
    Ok(Report::of(&check(src)?))
}

/// Saves a checked source as a new draft: version 1 of a new program, or the
/// next number of an existing one (matched by `[program].id`). Drafts may
/// have error findings (publishing needs none).
pub async fn upload_draft(
    app: &App,
    who: &Principal,
    actor: &Actor,
    src: String,
) -> AppResult<VersionDetail> {
    admin_only(who)?;
    let c = check(src)?;
    let meta = save_draft(app, actor, &c).await?;
    detail(stored(&app.db, &meta.program, meta.number).await?)
}

/// [`upload_draft`] for an already checked source (the command line, the demo).
pub async fn save_draft(app: &App, actor: &Actor, c: &Checked) -> AppResult<VersionMeta> {
    let slug = c.program.program.id.get_ref().clone();
    let now = db::now();
    let mut tx = app.db.begin_write().await?;
    let program_id = match store::program_id(&mut tx, &slug).await? {
        Some(id) => id,
        None => store::insert_program(&mut tx, &slug, &c.program.program.name, &now).await?,
    };
    let number =
        store::insert_draft(&mut tx, &program_id, c, actor.user_id.as_deref(), &now).await?;
    let v = store::version_in(&mut tx, &slug, number).await?;
    audit::created(&mut tx, actor, "program.draft", &v.meta).await?;
    tx.commit().await?;
    Ok(v.meta)
}

fn not_draft(v: &VersionMeta, what: &str) -> AppError {
    AppError::Conflict {
        field: "status",
        message: format!(
            "version {} of {} is {}: only drafts can be {what}; upload a new draft instead",
            v.number, v.program, v.status
        ),
    }
}

/// Replaces a draft's source (same program id); published and retired
/// versions are immutable.
pub async fn replace_draft(
    app: &App,
    who: &Principal,
    actor: &Actor,
    slug: &str,
    number: i64,
    src: String,
) -> AppResult<VersionDetail> {
    visible_to(who)?;
    admin_only(who)?;
    let c = check(src)?;
    if c.program.program.id.get_ref() != slug {
        return Err(AppError::field(
            "program.id",
            "mismatch",
            format!(
                "the source is program '{}', not '{slug}'; upload it as a new draft instead",
                c.program.program.id.get_ref()
            ),
        ));
    }
    let mut tx = app.db.begin_write().await?;
    let before = store::version_in(&mut tx, slug, number).await?;
    if before.meta.status != VersionStatus::Draft {
        return Err(not_draft(&before.meta, "changed"));
    }
    store::update_source(&mut tx, &before.meta.id, &c).await?;
    let after = store::version_in(&mut tx, slug, number).await?;
    audit::changed(
        &mut tx,
        actor,
        "program.update-draft",
        &before.meta,
        &after.meta,
    )
    .await?;
    tx.commit().await?;
    detail(after)
}

/// Deletes a draft (and the program, if that was its only version).
pub async fn delete_draft(
    app: &App,
    who: &Principal,
    actor: &Actor,
    slug: &str,
    number: i64,
) -> AppResult<()> {
    visible_to(who)?;
    admin_only(who)?;
    let mut tx = app.db.begin_write().await?;
    let v = store::version_in(&mut tx, slug, number).await?;
    if v.meta.status != VersionStatus::Draft {
        return Err(not_draft(&v.meta, "deleted"));
    }
    store::delete_version(&mut tx, &v.meta.id, slug).await?;
    audit::record(
        &mut tx,
        actor,
        "program.delete-draft",
        v.meta.subject(),
        Some(v.meta.snapshot()),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Publishes a draft with no error findings (checked again); the version in
/// force, if any, is retired in the same transaction.
pub async fn publish(
    app: &App,
    who: &Principal,
    actor: &Actor,
    slug: &str,
    number: i64,
) -> AppResult<VersionMeta> {
    visible_to(who)?;
    admin_only(who)?;
    let mut tx = app.db.begin_write().await?;
    let v = store::version_in(&mut tx, slug, number).await?;
    if v.meta.status != VersionStatus::Draft {
        return Err(not_draft(&v.meta, "published"));
    }
    // Checked again: the stored counts may come from an older checker.
    let checked = Checked::new(v.source.clone())
        .map_err(|e| stored_does_not_parse(format_args!("{slug}/{number}"), e))?;
    if checked.errors() > 0 {
        return Err(AppError::Program {
            code: "program-has-errors",
            detail: format!(
                "the draft has {} error finding(s); fix them before publishing",
                checked.errors()
            ),
            findings: checked
                .findings
                .iter()
                .filter(|f| f.severity == program::Severity::Error)
                .map(ProblemFinding::from_finding)
                .collect(),
        });
    }
    let now = db::now();
    if let Some(cur) = store::published_in(&mut tx, slug).await? {
        store::set_retired(&mut tx, &cur.id, &now).await?;
        let retired = store::version_in(&mut tx, slug, cur.number).await?;
        audit::changed(&mut tx, actor, "program.retire", &cur, &retired.meta).await?;
    }
    store::set_published(
        &mut tx,
        slug,
        &v.meta.id,
        &checked,
        actor.user_id.as_deref(),
        &now,
    )
    .await?;
    // Partners already enrolled are offered the tasks the new version's
    // plan adds for their type.
    for (partner_id, partner_type) in store::enrolled_in(&mut tx, slug).await? {
        onboarding::add_plan(
            &mut tx,
            &partner_id,
            checked.program.onboarding_for(&partner_type),
        )
        .await?;
    }
    let after = store::version_in(&mut tx, slug, number).await?;
    audit::changed(&mut tx, actor, "program.publish", &v.meta, &after.meta).await?;
    tx.commit().await?;
    Ok(after.meta)
}

/// Retires the published version without a successor.
pub async fn retire(
    app: &App,
    who: &Principal,
    actor: &Actor,
    slug: &str,
    number: i64,
) -> AppResult<VersionMeta> {
    visible_to(who)?;
    admin_only(who)?;
    let mut tx = app.db.begin_write().await?;
    let v = store::version_in(&mut tx, slug, number).await?;
    if v.meta.status != VersionStatus::Published {
        return Err(AppError::Conflict {
            field: "status",
            message: format!(
                "version {number} of {slug} is {}: only the published version can be retired",
                v.meta.status
            ),
        });
    }
    store::set_retired(&mut tx, &v.meta.id, &db::now()).await?;
    let after = store::version_in(&mut tx, slug, number).await?;
    audit::changed(&mut tx, actor, "program.retire", &v.meta, &after.meta).await?;
    tx.commit().await?;
    Ok(after.meta)
}

/// A change between two versions.
#[derive(Serialize, ToSchema)]
pub struct DiffChange {
    /// The item, e.g. `elements[mdf].cost.fixed_per_year` or `plays[msp/emea-smb].steps.sell`.
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub kind: String,
    /// The old value, as TOML.
    pub before: Option<String>,
    /// The new value, as TOML.
    pub after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Diff {
    pub from: VersionMeta,
    pub to: VersionMeta,
    pub changes: Vec<DiffChange>,
}

/// What changed between two versions, item by item (matched by id).
pub async fn diff(app: &App, who: &Principal, slug: &str, from: i64, to: i64) -> AppResult<Diff> {
    visible_to(who)?;
    let a = stored(&app.db, slug, from).await?;
    let b = stored(&app.db, slug, to).await?;
    let changes = program::diff::diff(&a.source, &b.source)
        .map_err(|e| stored_does_not_parse(slug, e))?
        .into_iter()
        .map(|c| DiffChange {
            path: c.path,
            kind: match c.kind {
                program::diff::ChangeKind::Added => "added",
                program::diff::ChangeKind::Removed => "removed",
                program::diff::ChangeKind::Changed => "changed",
            }
            .into(),
            before: c.before,
            after: c.after,
        })
        .collect();
    Ok(Diff {
        from: a.meta,
        to: b.meta,
        changes,
    })
}

/// The version of a program in force, parsed.
pub async fn published_program(db: &Db, slug: &str) -> AppResult<(Version, Program)> {
    let v = store::published(db, slug)
        .await?
        .ok_or(AppError::NotFound("published program"))?;
    let p = program::parse(&v.source).map_err(|e| stored_does_not_parse(slug, e))?;
    Ok((v, p))
}

/// The first published program a partner is enrolled in, with its `[program].id`.
pub async fn first_published_for(
    db: &Db,
    partner_id: &str,
) -> AppResult<Option<(String, Program)>> {
    for e in store::enrollments(db, partner_id).await? {
        if let Some(v) = store::published(db, &e.program).await? {
            if let Ok(p) = program::parse(&v.source) {
                return Ok(Some((e.program, p)));
            }
        }
    }
    Ok(None)
}

/// Every published program's catalogue: the SKUs and the programs' currencies.
pub async fn catalogue(db: &Db) -> AppResult<(Vec<String>, Vec<String>)> {
    let mut skus = Vec::new();
    let mut currencies = Vec::new();
    for p in store::list(db).await? {
        if p.published.is_none() {
            continue;
        }
        if let Some(v) = store::published(db, &p.slug).await? {
            if let Ok(prog) = program::parse(&v.source) {
                currencies.push(prog.program.currency.to_ascii_uppercase());
                skus.extend(prog.products.iter().map(|x| x.sku.get_ref().clone()));
            }
        }
    }
    Ok((skus, currencies))
}

/// A partner's place in a program.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// A `partner_types` id of the published version.
    pub partner_type: String,
    /// A `segments` id of the published version.
    pub segment: String,
    /// A tier or track id of the published version.
    pub level: Option<String>,
}

/// Vendor admins, and channel managers for their partners, enroll partners.
pub fn may_enroll(who: &Principal, partner: &crate::store::partners::Partner) -> AppResult<()> {
    if who.can_enroll_partner(partner.as_ref()) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only a vendor admin or the partner's channel manager can enroll it",
        ))
    }
}

/// Enrolls a partner the caller can see in a program (or changes its type,
/// segment or level there): vendor admins, and channel managers for their
/// partners. The ids must exist in the program's published version.
pub async fn enroll(
    app: &App,
    who: &Principal,
    actor: &Actor,
    partner: &crate::store::partners::Partner,
    slug: &str,
    body: &EnrollRequest,
) -> AppResult<Enrollment> {
    may_enroll(who, partner)?;
    let (_, p) = published_program(&app.db, slug).await?;
    let level = body
        .level
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let (partner_type, segment) = (body.partner_type.trim(), body.segment.trim());
    program::check_enrollment(&p, partner_type, segment, level)?;
    let mut tx = app.db.begin_write().await?;
    let e = enroll_in(
        &mut tx,
        actor,
        &partner.id,
        &p,
        partner_type,
        segment,
        level,
    )
    .await?;
    tx.commit().await?;
    Ok(e)
}

/// Enrolls a partner inside a transaction (approving an application
/// enrolls the new partner with everything else it does), audited. The
/// partner gets the program's onboarding plan for its type, whatever its
/// stage (tasks it already has are kept).
pub(crate) async fn enroll_in(
    tx: &mut Tx,
    actor: &Actor,
    partner_id: &str,
    p: &Program,
    partner_type: &str,
    segment: &str,
    level: Option<&str>,
) -> AppResult<Enrollment> {
    let slug = p.program.id.get_ref();
    let program_id = store::program_id(tx, slug)
        .await?
        .ok_or(AppError::NotFound("program"))?;
    let before = store::enrollment_in(tx, partner_id, &program_id).await?;
    let after =
        store::upsert_enrollment(tx, partner_id, &program_id, partner_type, segment, level).await?;
    onboarding::add_plan(tx, partner_id, p.onboarding_for(partner_type)).await?;
    let json = |e: &Enrollment| serde_json::json!({"program": e.program, "partner_type": e.partner_type, "segment": e.segment, "level": e.level});
    audit::record(
        tx,
        actor,
        "partner.enroll",
        Subject::new("partner", partner_id).of_partner(partner_id),
        before.as_ref().map(json),
        Some(json(&after)),
    )
    .await?;
    Ok(after)
}

/// A program as it applies to one partner.
#[derive(Serialize, ToSchema)]
pub struct PartnerProgram {
    pub enrollment: Enrollment,
    /// The published version's number.
    pub version_number: i64,
    /// Role in each step, benefits, tiers or tracks with their requirements,
    /// deal-registration rules and the expected economics.
    #[schema(value_type = Object)]
    pub view: view::PartnerView,
}

/// The published programs of a partner (programs without a version in force
/// are left out).
pub async fn programs_of(app: &App, partner_id: &str) -> AppResult<Vec<PartnerProgram>> {
    let mut out = Vec::new();
    for e in store::enrollments(&app.db, partner_id).await? {
        let Some(v) = store::published(&app.db, &e.program).await? else {
            continue;
        };
        let p = program::parse(&v.source).map_err(|err| stored_does_not_parse(&e.program, err))?;
        out.push(PartnerProgram {
            view: view::for_partner(&p, &e.partner_type, &e.segment, e.level.as_deref()),
            version_number: v.meta.number,
            enrollment: e,
        });
    }
    Ok(out)
}
