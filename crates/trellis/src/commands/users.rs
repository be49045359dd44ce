//! `trellis user create`, `trellis token create|revoke` and `trellis seed partners`.

use super::{Context, Result};
use std::io::BufRead;
use trellis_core::org::Role;
use trellis_core::validate::{check_password, Email, Name};
use trellis_server::app::{self, Actor};
use trellis_server::store::users::{self, NewUser, User};

/// The partner of a slug, for a partner role.
async fn partner_id(cx: &Context, slug: Option<&str>, role: Role) -> Result<Option<String>> {
    match (slug, role.is_partner()) {
        (Some(slug), true) => Ok(Some(
            trellis_server::store::partners::get_by_slug(&cx.app.db, slug)
                .await?
                .ok_or_else(|| format!("--partner: no partner with slug '{slug}'"))?
                .id,
        )),
        (None, true) => Err("--partner SLUG is required for partner roles".into()),
        (Some(_), false) => Err("--partner must not be given for vendor roles".into()),
        (None, false) => Ok(None),
    }
}

/// Creates a user with a password read from standard input, or invites
/// them and prints the link.
pub async fn create(
    cx: &Context,
    email: &str,
    role: &str,
    partner: Option<String>,
    name: Option<String>,
    password_stdin: bool,
) -> Result<()> {
    let email = Email::parse("--email", email)?;
    let role = Role::parse("--role", role)?;
    let name = Name::parse("--name", name.as_deref().unwrap_or(email.local_part()), 120)?;
    let new = NewUser {
        email: email.as_str().to_string(),
        name: name.into_string(),
        role,
        partner_id: partner_id(cx, partner.as_deref(), role).await?,
        password_hash: None,
    };
    if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        check_password("password", &password, Some(&email))?;
        let hash = trellis_server::auth::hash_password(password).await?;
        let new = NewUser {
            password_hash: Some(hash),
            ..new
        };
        let user = app::users::create(&cx.app, &Actor::cli(), new).await?;
        println!("created {} ({}) id {}", user.email, user.role, user.id);
    } else {
        let inv = app::users::invite_new(&cx.app, &Actor::cli(), new).await?;
        println!(
            "invited {} ({}) id {}",
            inv.user.email, inv.user.role, inv.user.id
        );
        println!("invitation link (single use, 72 hours): {}", inv.invite_url);
    }
    Ok(())
}

async fn user(cx: &Context, email: &str) -> Result<User> {
    Ok(users::credentials(&cx.app.db, email)
        .await?
        .ok_or_else(|| format!("--email: no user with e-mail '{email}'"))?
        .user)
}

/// Prints a new API token of a user (and nothing else) on standard output.
pub async fn create_token(
    cx: &Context,
    email: &str,
    name: &str,
    scopes: Vec<String>,
    expires_on: Option<String>,
) -> Result<()> {
    let user = user(cx, email).await?;
    let new = app::tokens::NewToken {
        name: name.to_string(),
        scopes: (!scopes.is_empty()).then_some(scopes),
        expires_on,
    };
    let (_, secret) = app::tokens::create_with(&cx.app, &Actor::cli(), &user, &new).await?;
    println!("{secret}");
    Ok(())
}

pub async fn revoke_token(cx: &Context, email: &str, id: &str) -> Result<()> {
    let user = user(cx, email).await?;
    let t = app::tokens::revoke(&cx.app, &Actor::cli(), &user, id).await?;
    println!("revoked token {} ({})", t.id, t.name);
    Ok(())
}

/// Writes everything held about a person as JSON, to a file (written whole
/// or not at all) or standard output.
pub async fn export(cx: &Context, email: &str, out: Option<&std::path::Path>) -> Result<()> {
    let user = user(cx, email).await?;
    let data = app::privacy::export(&cx.app, &super::operator(), &Actor::cli(), &user.id).await?;
    let text = serde_json::to_string_pretty(&data)? + "\n";
    match out {
        Some(path) => {
            let tmp = path.with_extension("partial");
            std::fs::write(&tmp, &text)
                .and_then(|()| std::fs::rename(&tmp, path))
                .map_err(|e| format!("--out {}: {e}", path.display()))?;
            let records: usize = data
                .sections
                .values()
                .filter_map(|v| v.as_array().map(Vec::len))
                .sum();
            println!(
                "wrote {records} records about {} in {} sections to {}",
                user.email,
                data.sections.len(),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// Erases a person (only with --yes) and says what changed.
pub async fn erase(cx: &Context, email: &str, yes: bool) -> Result<()> {
    let user = user(cx, email).await?;
    if !yes {
        return Err(format!(
            "erasing {} ({}) cannot be undone; run again with --yes to do it",
            user.email, user.name
        )
        .into());
    }
    let done = app::privacy::erase(&cx.app, &super::operator(), &Actor::cli(), &user.id).await?;
    println!(
        "erased {} ({}); now shown as {}",
        user.email, user.id, done.pseudonym
    );
    for (what, n) in &done.changed {
        println!("  {what}: {n}");
    }
    Ok(())
}

/// Adds `count` synthetic partners in one transaction.
pub async fn seed_partners(cx: &Context, count: usize) -> Result<()> {
    let started = std::time::Instant::now();
    let created = app::partners::create_many(
        &cx.app,
        &Actor::cli(),
        &trellis_bench::partners::synthetic(count),
    )
    .await?;
    println!(
        "created {} partners in {:.1} s",
        created.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
