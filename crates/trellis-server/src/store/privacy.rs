//! Everything stored about one person, read out and erased. Personal fields
//! are the user's e-mail and name, the addresses they signed in from, the
//! mail sent to them and what they typed into applications; the records of
//! what they did stay, with a pseudonym in place of who they were.

use super::{StoreResult, Tx};
use crate::db::{self, Backend, Db};
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{Column, Row};

/// Who is asked about: the user's id, e-mail and name as stored.
pub struct Person<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
}

/// What a section is looked up by.
#[derive(Clone, Copy)]
enum Key {
    /// `$1` the user's id.
    Id,
    /// `$1` the e-mail.
    Email,
    /// `$1` the id, `$2` the e-mail.
    IdOrEmail,
    /// `$1` the e-mail, `$2` the pattern of `onboarding_tasks.done_by`.
    TaskDoer,
}

/// The sections of the export: a heading and the SQL that reads it.
const SECTIONS: &[(&str, Key, &str)] = &[
    (
        "account",
        Key::Id,
        "SELECT id, email, name, role, partner_id, status, created_at, updated_at FROM users WHERE id = $1",
    ),
    (
        "sessions",
        Key::Id,
        "SELECT created_at, last_seen_at, expires_at FROM sessions WHERE user_id = $1 ORDER BY created_at",
    ),
    (
        "api_tokens",
        Key::Id,
        "SELECT id, name, prefix, scopes, created_at, last_used_at, expires_on, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at",
    ),
    (
        "invitations",
        Key::Id,
        "SELECT created_at, expires_at, used_at FROM invitations WHERE user_id = $1 ORDER BY created_at",
    ),
    (
        "sign_in_attempts",
        Key::Email,
        "SELECT at, ip, success FROM login_attempts WHERE email = $1 ORDER BY at",
    ),
    (
        "messages",
        Key::IdOrEmail,
        "SELECT at, channel, recipient, subject, body, link, sent_at, read_at FROM outbox WHERE user_id = $1 OR recipient = $2 ORDER BY at",
    ),
    (
        "partner_applications",
        Key::Email,
        "SELECT id, created_at, company, domain, country, contact_name, contact_email, source_ip, status FROM applications WHERE contact_email = $1 ORDER BY created_at",
    ),
    (
        "agreement_acceptances",
        Key::Id,
        "SELECT agreement_id, partner_id, at, ip, sha256 FROM agreement_acceptances WHERE user_id = $1 ORDER BY at",
    ),
    (
        "deals_registered",
        Key::Id,
        "SELECT id, customer_name, status, created_at FROM deals WHERE created_by = $1 ORDER BY created_at",
    ),
    (
        "deal_actions",
        Key::IdOrEmail,
        "SELECT deal_id, at, action, from_status, to_status, reason FROM deal_events WHERE actor_id = $1 OR actor_email = $2 ORDER BY at",
    ),
    (
        "partner_stage_changes",
        Key::Email,
        "SELECT partner_id, at, from_stage, to_stage, reason FROM partner_stage_events WHERE actor_email = $1 ORDER BY at",
    ),
    (
        "onboarding_tasks_done",
        Key::TaskDoer,
        "SELECT partner_id, task_id, name, done_at, done_by FROM onboarding_tasks WHERE done_by = $1 OR done_by LIKE $2 ESCAPE '\\' ORDER BY done_at",
    ),
    (
        "statement_questions",
        Key::Id,
        "SELECT statement_id, rule, comment, at, status, answer, answered_at FROM statement_disputes WHERE user_id = $1 OR answered_by = $1 ORDER BY at",
    ),
    (
        "sales_imports",
        Key::Email,
        "SELECT id, created_at, source, lines, status FROM sales_batches WHERE created_by = $1 ORDER BY created_at",
    ),
    (
        "audit_entries",
        Key::IdOrEmail,
        "SELECT id, at, actor_email, action, object_type, object_id, before_json, after_json FROM audit_log WHERE actor_id = $1 OR actor_email = $2 OR (object_type = 'user' AND object_id = $1) ORDER BY id",
    ),
];

/// `done_by` of a task is "e-mail (event)".
fn done_by_pattern(email: &str) -> String {
    format!("{} (%", db::like_escape(email))
}

/// Reads a column of any type as JSON (text, integer, real or null).
fn cell(r: &AnyRow, i: usize) -> Value {
    if let Ok(v) = r.try_get::<Option<String>, _>(i) {
        return v.map_or(Value::Null, |s| {
            // Stored JSON documents are shown as what they are.
            match s.starts_with(['{', '[']) {
                true => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                false => Value::String(s),
            }
        });
    }
    if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
        return v.map_or(Value::Null, Value::from);
    }
    if let Ok(v) = r.try_get::<Option<f64>, _>(i) {
        return v.map_or(Value::Null, Value::from);
    }
    Value::Null
}

fn object(r: &AnyRow) -> Value {
    let mut m = Map::new();
    for (i, c) in r.columns().iter().enumerate() {
        m.insert(c.name().to_string(), cell(r, i));
    }
    Value::Object(m)
}

/// Every section of what is held about a person, in order.
pub async fn export(db: &Db, p: &Person<'_>) -> StoreResult<Vec<(&'static str, Vec<Value>)>> {
    let mut out = Vec::with_capacity(SECTIONS.len());
    for (name, by, sql) in SECTIONS {
        let q = sqlx::query(sql);
        let q = match by {
            Key::Id => q.bind(p.id),
            Key::Email => q.bind(p.email),
            Key::IdOrEmail => q.bind(p.id).bind(p.email),
            Key::TaskDoer => q.bind(p.email).bind(done_by_pattern(p.email)),
        };
        let rows = q.fetch_all(db.pool()).await?;
        out.push((*name, rows.iter().map(object).collect()));
    }
    Ok(out)
}

/// What erasing changed, table by table (rows touched).
pub type Erased = Vec<(&'static str, u64)>;

/// Erases a person inside the caller's transaction: personal fields are
/// replaced by those of `pseudonym` (its e-mail and name), sessions, invitations, unsent mail and tokens
/// go, and the audit trail keeps every entry with the pseudonym in place of
/// the e-mail and name. The audit trail's append-only guard is lifted for
/// this transaction alone and put back before it commits.
pub async fn erase(
    tx: &mut Tx,
    backend: Backend,
    p: &Person<'_>,
    pseudonym: &Person<'_>,
) -> StoreResult<Erased> {
    let pseudo = pseudonym.email;
    let now = db::now();
    let mut counts: Erased = Vec::new();
    macro_rules! run {
        ($label:expr, $sql:expr $(, $arg:expr)*) => {{
            let n = sqlx::query($sql)$(.bind($arg))*.execute(&mut **tx).await?.rows_affected();
            counts.push(($label, n));
        }};
    }
    run!("sessions", "DELETE FROM sessions WHERE user_id = $1", p.id);
    run!(
        "invitations",
        "DELETE FROM invitations WHERE user_id = $1",
        p.id
    );
    run!(
        "api_tokens",
        "UPDATE api_tokens SET name = 'erased', revoked_at = COALESCE(revoked_at, $2) \
         WHERE user_id = $1",
        p.id,
        &now
    );
    run!(
        "unsent_messages",
        "DELETE FROM outbox WHERE (user_id = $1 OR recipient = $2) AND sent_at IS NULL",
        p.id,
        p.email
    );
    run!(
        "messages",
        "UPDATE outbox SET recipient = $3, subject = '(erased)', body = '(erased)', link = NULL \
         WHERE user_id = $1 OR recipient = $2",
        p.id,
        p.email,
        pseudo
    );
    run!(
        "sign_in_attempts",
        "UPDATE login_attempts SET email = $2, ip = '' WHERE email = $1",
        p.email,
        pseudo
    );
    run!(
        "partner_applications",
        "UPDATE applications SET contact_name = $2, contact_email = $3, source_ip = '' \
         WHERE contact_email = $1",
        p.email,
        pseudonym.name,
        pseudo
    );
    run!(
        "agreement_acceptances",
        "UPDATE agreement_acceptances SET ip = '' WHERE user_id = $1",
        p.id
    );
    run!(
        "deal_actions",
        "UPDATE deal_events SET actor_email = $3 WHERE actor_id = $1 OR actor_email = $2",
        p.id,
        p.email,
        pseudo
    );
    run!(
        "partner_stage_changes",
        "UPDATE partner_stage_events SET actor_email = $2 WHERE actor_email = $1",
        p.email,
        pseudo
    );
    run!(
        "onboarding_tasks_done",
        "UPDATE onboarding_tasks SET done_by = REPLACE(done_by, $1, $2) \
         WHERE done_by = $1 OR done_by LIKE $3 ESCAPE '\\'",
        p.email,
        pseudo,
        done_by_pattern(p.email)
    );
    run!(
        "sales_imports",
        "UPDATE sales_batches SET created_by = $2 WHERE created_by = $1",
        p.email,
        pseudo
    );
    run!(
        "partners_managed",
        "UPDATE partners SET channel_manager_id = NULL, updated_at = $2 \
         WHERE channel_manager_id = $1",
        p.id,
        &now
    );
    run!(
        "account",
        "UPDATE users SET email = $2, name = $3, status = 'disabled', password_hash = NULL, \
         updated_at = $4 WHERE id = $1",
        p.id,
        pseudo,
        pseudonym.name,
        &now
    );
    let audited = erase_in_audit_trail(tx, backend, p, pseudonym).await?;
    counts.push(("audit_entries", audited));
    Ok(counts)
}

/// Puts the pseudonym in the audit trail where the person was named: as the
/// actor, and in the snapshots (the `email` and `name` fields) of entries
/// about the user or mentioning their address.
async fn erase_in_audit_trail(
    tx: &mut Tx,
    backend: Backend,
    p: &Person<'_>,
    pseudonym: &Person<'_>,
) -> StoreResult<u64> {
    let pseudo = pseudonym.email;
    const SQLITE_GUARD: &str = "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log \
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END";
    match backend {
        Backend::Sqlite => {
            sqlx::query("DROP TRIGGER audit_log_no_update")
                .execute(&mut **tx)
                .await?;
        }
        Backend::Postgres => {
            sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
                .execute(&mut **tx)
                .await?;
        }
    }
    // JSON text as serde_json writes it (no spaces), so the fields are found
    // exactly and nothing else that happens to contain the name changes.
    let json = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let (email_j, pseudo_j) = (json(p.email), json(pseudo));
    let name_field = format!("\"name\":{}", json(p.name));
    let erased_name_field = format!("\"name\":{}", json(pseudonym.name));
    let mentions = format!("%{}%", db::like_escape(&email_j));
    let n = sqlx::query(
        "UPDATE audit_log SET \
           actor_email = CASE WHEN actor_id = $1 OR actor_email = $2 THEN $3 ELSE actor_email END, \
           before_json = REPLACE(REPLACE(before_json, $4, $5), $6, $7), \
           after_json = REPLACE(REPLACE(after_json, $4, $5), $6, $7) \
         WHERE actor_id = $1 OR actor_email = $2 OR (object_type = 'user' AND object_id = $1) \
           OR before_json LIKE $8 ESCAPE '\\' OR after_json LIKE $8 ESCAPE '\\'",
    )
    .bind(p.id)
    .bind(p.email)
    .bind(pseudo)
    .bind(&email_j)
    .bind(pseudo_j)
    .bind(&name_field)
    .bind(&erased_name_field)
    .bind(&mentions)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    match backend {
        Backend::Sqlite => {
            sqlx::query(SQLITE_GUARD).execute(&mut **tx).await?;
        }
        Backend::Postgres => {
            sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update")
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(n)
}
