//! `trellis partner create|enroll` and `trellis import partners FILE.csv`:
//! operators set up partners without the console.

use super::{imports::text, operator, Context, Result};
use std::path::Path;
use trellis_server::app::partners::CreatePartner;
use trellis_server::app::programs::EnrollRequest;
use trellis_server::app::{self, Actor};
use trellis_server::store::{partners, users};

pub async fn create(cx: &Context, mut body: CreatePartner, manager: Option<&str>) -> Result<()> {
    if let Some(email) = manager {
        let user = users::by_email(&cx.app.db, email)
            .await?
            .filter(|u| u.role.is_vendor())
            .ok_or_else(|| format!("--channel-manager: {email} is not a vendor user"))?;
        body.channel_manager_id = Some(user.id);
    }
    let p = app::partners::create(&cx.app, &operator(), &Actor::cli(), &body).await?;
    println!("created partner {} ({}) id {}", p.slug, p.name, p.id);
    Ok(())
}

pub async fn enroll(
    cx: &Context,
    slug: &str,
    program: &str,
    partner_type: String,
    segment: String,
    level: Option<String>,
) -> Result<()> {
    let partner = partners::get_by_slug(&cx.app.db, slug)
        .await?
        .ok_or_else(|| format!("--partner: no partner with slug {slug:?}"))?;
    let body = EnrollRequest {
        partner_type,
        segment,
        level,
    };
    let e = app::programs::enroll(
        &cx.app,
        &operator(),
        &Actor::cli(),
        &partner,
        program,
        &body,
    )
    .await?;
    let tasks = app::onboarding::get(&cx.app, &partner.id).await?;
    println!(
        "enrolled {} in {} as {} in {}{}; onboarding: {} of {} task(s) done",
        partner.slug,
        e.program,
        e.partner_type,
        e.segment,
        e.level
            .as_deref()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default(),
        tasks.done,
        tasks.total
    );
    Ok(())
}

pub async fn import(cx: &Context, path: &Path) -> Result<()> {
    let source = path.display().to_string();
    let created =
        app::imports::partners(&cx.app, &operator(), &Actor::cli(), &source, &text(path)?).await?;
    println!("{source}: {} partner(s) created", created.len());
    Ok(())
}
