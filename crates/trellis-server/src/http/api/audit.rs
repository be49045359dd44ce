use crate::http::error::responses::{Forbidden, Invalid};
use crate::http::error::ApiResult;
use crate::http::extract::{ApiQuery, ApiUser};
use crate::http::AppState;
use crate::store::audit::{AuditEntry, AuditFilter};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A page of audit entries, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Actor e-mail or user id
    pub actor: Option<String>,
    /// e.g. `partner.update`
    pub action: Option<String>,
    /// e.g. `partner`, `user`, `api_token`
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub partner_id: Option<String>,
    /// From this time on (RFC 3339 or YYYY-MM-DD, inclusive)
    pub since: Option<String>,
    /// Before this time (RFC 3339 or YYYY-MM-DD, exclusive)
    pub until: Option<String>,
    /// From `next_cursor` of the previous page (opaque)
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50)
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

fn time_bound(field: &str, v: &str) -> Result<String, trellis_core::FieldError> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(crate::db::fmt_time(
            d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
        ));
    }
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| crate::db::fmt_time(t.with_timezone(&chrono::Utc)))
        .map_err(|_| {
            trellis_core::FieldError::new(
                field,
                "invalid-time",
                format!("{field} must be a date (YYYY-MM-DD) or an RFC 3339 time"),
            )
        })
}

impl AuditQuery {
    pub(crate) fn to_filter(&self) -> Result<AuditFilter, trellis_core::FieldErrors> {
        let opt = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let mut errs = trellis_core::FieldErrors::new();
        let since = opt(&self.since).and_then(|s| errs.check(time_bound("since", &s)));
        let until = opt(&self.until).and_then(|s| errs.check(time_bound("until", &s)));
        errs.into_result()?;
        Ok(AuditFilter {
            actor: opt(&self.actor),
            action: opt(&self.action),
            object_type: opt(&self.object_type),
            object_id: opt(&self.object_id),
            partner_id: opt(&self.partner_id),
            since,
            until,
            cursor: opt(&self.cursor),
            limit: self.limit,
        })
    }
}

/// Browse the audit trail.
///
/// Vendor admins only. The trail is append-only: there is no way to change it.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses(
        (status = 200, body = AuditPage),
        Forbidden,
        Invalid,
    ))]
pub async fn list_audit(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let (items, next_cursor) =
        crate::app::audit::list(&state, &caller.principal, &q.to_filter()?).await?;
    Ok(Json(AuditPage { items, next_cursor }))
}
