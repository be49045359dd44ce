//! The JSON API under `/api/v1`, described by the OpenAPI document generated
//! from these handlers (utoipa). Every route is registered through
//! [`router`], so the document and the routes cannot drift apart.

pub(crate) mod audit;
pub mod deals;
pub(crate) mod incentives;
pub(crate) mod me;
pub(crate) mod partners;
pub(crate) mod programs;
pub(crate) mod recruit;
pub(crate) mod tokens;
pub(crate) mod users;

use super::error::{Problem, ProblemField, ProblemFinding};
use super::AppState;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Trellis API",
        version = "1",
        description = "Partner relationship management. Authenticate with a personal API token: \
                       `Authorization: Bearer trl_…` (create one in the portal under API tokens, \
                       or with `trellis token create`). Errors are RFC 7807 problem documents \
                       with a stable `code`. Lists use cursor pagination: pass `next_cursor` \
                       back as `cursor`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(Problem, ProblemField, ProblemFinding)),
    tags(
        (name = "account", description = "The caller and their API tokens"),
        (name = "partners", description = "Partner organisations"),
        (name = "deals", description = "Deal registration, conflict detection and the vendor's accounts"),
        (name = "programs", description = "Partner programs as code: versions, publishing, diffs, enrollment"),
        (name = "recruiting", description = "Applications, onboarding, lifecycle stages and agreements"),
        (name = "incentives", description = "Sales-out data and incentive statements"),
        (name = "users", description = "People of the vendor and of partners"),
        (name = "audit", description = "The append-only audit trail (vendor admins)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API routes together with their OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(me::get_me))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(partners::list_partners, partners::create_partner))
        .routes(routes!(partners::get_partner, partners::update_partner))
        .routes(routes!(
            users::list_partner_users,
            users::invite_partner_user
        ))
        .routes(routes!(users::list_users, users::invite_vendor_user))
        .routes(routes!(audit::list_audit))
        .routes(routes!(programs::list_programs, programs::upload_draft))
        .routes(routes!(programs::validate_program))
        .routes(routes!(programs::list_versions))
        .routes(routes!(
            programs::get_version,
            programs::replace_draft,
            programs::delete_draft
        ))
        .routes(routes!(programs::publish_version))
        .routes(routes!(programs::retire_version))
        .routes(routes!(programs::diff))
        .routes(routes!(programs::partner_programs))
        .routes(routes!(programs::enroll_partner))
        .routes(routes!(deals::list_deals, deals::register_deal))
        .routes(routes!(deals::get_deal))
        .routes(routes!(deals::transition_deal))
        .routes(routes!(deals::check_conflicts))
        .routes(routes!(deals::list_accounts, deals::upsert_account))
        .routes(routes!(recruit::apply, recruit::list_applications))
        .routes(routes!(recruit::get_application))
        .routes(routes!(recruit::decide_application))
        .routes(routes!(recruit::get_onboarding))
        .routes(routes!(recruit::set_task))
        .routes(routes!(recruit::move_stage))
        .routes(routes!(recruit::list_agreements, recruit::create_agreement))
        .routes(routes!(recruit::accept_agreement))
        .routes(routes!(incentives::upload_sales))
        .routes(routes!(incentives::rollback_sales))
        .routes(routes!(incentives::partner_statements))
        .routes(routes!(incentives::calculate))
}

/// The OpenAPI document as served at `/api/openapi.json` and committed as `openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    router().into_openapi()
}

/// Pretty JSON of [`openapi`], with a trailing newline.
pub fn openapi_json() -> String {
    let mut s = openapi().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
