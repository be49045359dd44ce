//! The JSON API under `/api/v1`, described by the OpenAPI document generated
//! from these handlers (utoipa). Every route is registered through
//! [`router`], so the document and the routes cannot drift apart.

pub(crate) mod audit;
pub mod deals;
pub mod incentives;
pub(crate) mod me;
pub(crate) mod partners;
pub mod programs;
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

/// Adds the problem responses any operation of a kind can give, so that
/// handlers name only their own: 401, 403 (scopes) and 429 (rate) where a
/// token is needed; 400, 413 and
/// 415 where a body is read; 422 where a JSON body or query parameters are;
/// 500 everywhere.
struct CommonProblems;

impl CommonProblems {
    fn problem(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
            .into()
    }
}

impl Modify for CommonProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let public = op
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().all(|r| *r == Default::default()));
                let body = op.request_body.is_some();
                let json_body = op
                    .request_body
                    .as_ref()
                    .is_some_and(|b| b.content.contains_key("application/json"));
                let query = op
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| p.parameter_in == ParameterIn::Query);
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| Self::problem(description));
                };
                if !public {
                    add(
                        "401",
                        "No valid API token (send `Authorization: Bearer <token>`), or it has expired",
                    );
                    add(
                        "403",
                        "The token's scopes (or the caller's role) do not allow this",
                    );
                    add(
                        "429",
                        "Too many requests with this token; wait the seconds in Retry-After",
                    );
                }
                if body {
                    add(
                        "400",
                        "The body cannot be read (not JSON, or not UTF-8 text)",
                    );
                    add("413", "The body is larger than this operation accepts");
                    add(
                        "415",
                        "The body is not sent in a media type this operation reads",
                    );
                }
                if json_body || query {
                    add(
                        "422",
                        "A field, parameter or line is not acceptable; the problem names each",
                    );
                }
                add(
                    "500",
                    "Something broke on our side; it is logged with the request id",
                );
            }
        }
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
        .routes(routes!(users::export_personal_data))
        .routes(routes!(users::erase_person))
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
    complete(router().into_openapi())
}

/// The document with the problem responses common to every operation of a
/// kind (they can only be added once the routes are in).
pub fn complete(mut openapi: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    CommonProblems.modify(&mut openapi);
    openapi
}

/// Pretty JSON of [`openapi`], with a trailing newline.
pub fn openapi_json() -> String {
    let mut s = openapi().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
