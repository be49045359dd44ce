//! Partner organisations: who may see, create and change which, and what a
//! change sets off (the audit trail, the onboarding checklist).

use super::audit::{self, Audited, Subject};
use super::{onboarding, App, AppError, AppResult, Tx};
use crate::store::partners::{self as store, NewPartner, Partner, PartnerFilter, PartnerPatch};
use crate::store::{users, Actor};
use serde::{Deserialize, Deserializer};
use trellis_core::access::Principal;
use trellis_core::org::{PartnerStatus, Role};
use trellis_core::program::model::TaskEvent;
use trellis_core::recruit::Stage;
use trellis_core::validate::{self, Name, Slug};
use trellis_core::{country, FieldError, FieldErrors};
use utoipa::ToSchema;

impl Audited for Partner {
    fn subject(&self) -> Subject<'_> {
        Subject::new("partner", &self.id).of_partner(&self.id)
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "slug": self.slug, "name": self.name, "partner_type": self.partner_type,
            "region": self.region, "country": self.country, "status": self.status,
            "website": self.website, "channel_manager_id": self.channel_manager_id,
        })
    }
}

/// Deserialises a field that distinguishes "absent" (`None`) from `null` (`Some(None)`).
fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A partner to create.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CreatePartner {
    /// Organisation name, 1–200 characters.
    pub name: String,
    /// Unique URL-safe id; derived from the name when absent.
    pub slug: Option<String>,
    /// Partner type label such as `reseller`, `msp`, `referral`.
    pub partner_type: String,
    /// Region label such as `dach` or `north-america`.
    pub region: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Defaults to `prospect`.
    pub status: Option<String>,
    pub website: Option<String>,
    /// Vendor user responsible for the partner. A channel manager creating a
    /// partner is assigned by default.
    pub channel_manager_id: Option<String>,
}

impl CreatePartner {
    /// Validates every field at once and applies the caller's defaults.
    pub fn validate(&self, caller: &Principal) -> Result<NewPartner, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(Name::parse("name", &self.name, 200));
        let slug = match non_empty(&self.slug) {
            Some(s) => errs
                .check(Slug::parse("slug", s))
                .map(|s| s.as_str().to_string()),
            None => {
                let s = Slug::suggest(&self.name);
                if s.len() >= 2 {
                    Some(s)
                } else if name.is_none() {
                    // The name's own error says it all.
                    None
                } else {
                    errs.push(FieldError::new(
                        "slug",
                        "required",
                        "slug is required when it cannot be derived from the name",
                    ));
                    None
                }
            }
        };
        let partner_type = errs.check(validate::label("partner_type", &self.partner_type));
        let region = errs.check(validate::label("region", &self.region));
        let country = errs.check(country::parse("country", &self.country));
        let status = match non_empty(&self.status) {
            Some(s) => errs.check(PartnerStatus::parse("status", s)),
            None => Some(PartnerStatus::Prospect),
        };
        let website = errs
            .check(validate::website(
                "website",
                self.website.as_deref().unwrap_or(""),
            ))
            .flatten();
        let mut channel_manager_id = non_empty(&self.channel_manager_id).map(str::to_string);
        if caller.role == Role::ChannelManager {
            match &channel_manager_id {
                None => channel_manager_id = Some(caller.user_id.clone()),
                Some(m) if *m != caller.user_id => errs.push(FieldError::new(
                    "channel_manager_id",
                    "forbidden",
                    "a channel manager can only assign partners to themselves",
                )),
                Some(_) => {}
            }
        }
        errs.into_result()?;
        let (Some(name), Some(slug), Some(partner_type), Some(region), Some(country), Some(status)) =
            (name, slug, partner_type, region, country, status)
        else {
            unreachable!("every None recorded an error");
        };
        Ok(NewPartner {
            slug,
            name: name.into_string(),
            partner_type,
            region,
            country: country.to_string(),
            status,
            website,
            channel_manager_id,
        })
    }
}

/// Changes to a partner; absent fields stay as they are, `null` clears
/// `website` and `channel_manager_id`. Partner admins may change name,
/// website, country and region; status, type, slug and manager are for the
/// vendor.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdatePartner {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub partner_type: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub channel_manager_id: Option<Option<String>>,
}

impl UpdatePartner {
    pub fn validate(&self) -> Result<PartnerPatch, FieldErrors> {
        let mut errs = FieldErrors::new();
        let patch = PartnerPatch {
            name: self
                .name
                .as_deref()
                .and_then(|n| errs.check(Name::parse("name", n, 200)))
                .map(Name::into_string),
            slug: self
                .slug
                .as_deref()
                .and_then(|s| errs.check(Slug::parse("slug", s)))
                .map(|s| s.as_str().to_string()),
            partner_type: self
                .partner_type
                .as_deref()
                .and_then(|t| errs.check(validate::label("partner_type", t))),
            region: self
                .region
                .as_deref()
                .and_then(|r| errs.check(validate::label("region", r))),
            country: self
                .country
                .as_deref()
                .and_then(|c| errs.check(country::parse("country", c)))
                .map(str::to_string),
            status: self
                .status
                .as_deref()
                .and_then(|s| errs.check(PartnerStatus::parse("status", s))),
            website: match &self.website {
                None => None,
                Some(None) => Some(None),
                Some(Some(w)) => errs.check(validate::website("website", w)),
            },
            channel_manager_id: self
                .channel_manager_id
                .clone()
                .map(|m| m.filter(|s| !s.trim().is_empty())),
        };
        errs.into_result()?;
        Ok(patch)
    }
}

/// Loads a partner the caller may see; anything else is "not found".
pub async fn visible(app: &App, caller: &Principal, id: &str) -> AppResult<Partner> {
    match store::get(&app.db, id).await? {
        Some(p) if caller.can_read_partner(p.as_ref()) => Ok(p),
        _ => Err(AppError::NotFound("partner")),
    }
}

/// The caller's own organisation; `why` says what vendor users cannot do.
pub async fn own(app: &App, caller: &Principal, why: &str) -> AppResult<Partner> {
    match &caller.partner_id {
        Some(pid) => visible(app, caller, pid).await,
        None => Err(AppError::forbidden(why)),
    }
}

/// Partners the caller may see: vendor users all, partner users their own.
pub async fn list(
    app: &App,
    caller: &Principal,
    filter: &PartnerFilter,
) -> AppResult<(Vec<Partner>, Option<String>)> {
    Ok(store::list(&app.db, &caller.partner_scope(), filter).await?)
}

/// A partner's name (for the header of its users' pages).
pub async fn name_of(app: &App, id: &str) -> AppResult<Option<String>> {
    Ok(store::get(&app.db, id).await?.map(|p| p.name))
}

/// The names of the given partners, by id (vendor users; partner users get
/// their own organisation's name only).
pub async fn names(
    app: &App,
    caller: &Principal,
    ids: &[&str],
) -> AppResult<std::collections::BTreeMap<String, String>> {
    let mut names = store::names(&app.db, ids).await?;
    if let Some(own) = &caller.partner_id {
        names.retain(|id, _| id == own);
    }
    Ok(names)
}

/// What the vendor filters the partner list by: partners per status, the
/// partner types and the regions in use.
pub struct Facets {
    pub counts: Vec<(String, i64)>,
    pub types: Vec<String>,
    pub regions: Vec<String>,
}

/// [`Facets`] for vendor users; partner users see one organisation and get none.
pub async fn facets(app: &App, caller: &Principal) -> AppResult<Facets> {
    if !caller.is_vendor() {
        return Ok(Facets {
            counts: Vec::new(),
            types: Vec::new(),
            regions: Vec::new(),
        });
    }
    Ok(Facets {
        counts: store::count_by_status(&app.db).await?,
        types: store::distinct(&app.db, "partner_type").await?,
        regions: store::distinct(&app.db, "region").await?,
    })
}

/// A channel manager must be an active vendor user.
async fn check_channel_manager(tx: &mut Tx, id: &str) -> AppResult<()> {
    match store::active_user_role(tx, id).await?.as_deref() {
        Some("channel-manager") | Some("vendor-admin") => Ok(()),
        _ => Err(AppError::field(
            "channel_manager_id",
            "invalid-reference",
            "channel_manager_id must be the id of an active vendor user (channel manager or vendor admin)",
        )),
    }
}

/// Inserts one partner inside the caller's transaction and audits it.
pub(crate) async fn insert(tx: &mut Tx, actor: &Actor, new: &NewPartner) -> AppResult<Partner> {
    if let Some(m) = &new.channel_manager_id {
        check_channel_manager(tx, m).await?;
    }
    let partner = store::insert(tx, new, Stage::of_new_partner(new.status)).await?;
    audit::created(tx, actor, "partner.create", &partner).await?;
    Ok(partner)
}

/// Creates a partner (vendor admins and channel managers, who are assigned
/// to what they create).
pub async fn create(
    app: &App,
    caller: &Principal,
    actor: &Actor,
    body: &CreatePartner,
) -> AppResult<Partner> {
    if !caller.can_create_partner() {
        return Err(AppError::forbidden("only vendor users can create partners"));
    }
    let new = body.validate(caller)?;
    create_many(app, actor, std::slice::from_ref(&new))
        .await
        .map(|mut v| v.remove(0))
}

/// Creates many partners in one transaction (demo data, imports), each audited.
pub async fn create_many(
    app: &App,
    actor: &Actor,
    items: &[NewPartner],
) -> AppResult<Vec<Partner>> {
    let mut tx = app.db.begin_write().await?;
    let mut out = Vec::with_capacity(items.len());
    for new in items {
        out.push(insert(&mut tx, actor, new).await?);
    }
    tx.commit().await?;
    Ok(out)
}

/// Applies a validated patch to a partner the caller can see (see
/// [`visible`]), after checking what the caller may change.
pub async fn update(
    app: &App,
    who: &Principal,
    actor: &Actor,
    p: Partner,
    patch: PartnerPatch,
) -> AppResult<Partner> {
    if patch.touches_managed_fields() && !who.can_manage_partner(p.as_ref()) {
        return Err(AppError::forbidden(
            "status, type, slug and channel manager can be changed only by a vendor admin or the partner's channel manager",
        ));
    }
    if !who.can_edit_partner_profile(p.as_ref()) && !who.can_manage_partner(p.as_ref()) {
        return Err(AppError::forbidden("you cannot change this partner"));
    }
    if who.role == Role::ChannelManager {
        if let Some(Some(m)) = &patch.channel_manager_id {
            if *m != who.user_id {
                return Err(AppError::field(
                    "channel_manager_id",
                    "forbidden",
                    "a channel manager can hand a partner over only by unassigning it; ask a vendor admin to reassign",
                ));
            }
        }
    }
    if patch.is_empty() {
        return Ok(p);
    }
    let mut tx = app.db.begin_write().await?;
    let before = store::get_in(&mut tx, &p.id).await?;
    if let Some(Some(m)) = &patch.channel_manager_id {
        check_channel_manager(&mut tx, m).await?;
    }
    let after = store::update(&mut tx, &before, &patch).await?;
    audit::changed(&mut tx, actor, "partner.update", &before, &after).await?;
    // The partner completed its profile: saved by one of its own users, with a website.
    if after.website.is_some() {
        let own = match actor.user_id.as_deref() {
            Some(u) => users::partner_of(&mut tx, u).await?,
            None => None,
        };
        if own.as_deref() == Some(after.id.as_str()) {
            onboarding::on_event(&mut tx, actor, &after.id, TaskEvent::ProfileCompleted).await?;
        }
    }
    tx.commit().await?;
    Ok(after)
}
