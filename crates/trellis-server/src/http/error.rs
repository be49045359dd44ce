//! The API's one error type, rendered as RFC 7807 `application/problem+json`
//! with a stable machine-readable `code`. Internal errors are logged with the
//! request id and never shown.

use crate::app::AppError;
use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use trellis_core::{FieldError, FieldErrors};
use utoipa::ToSchema;

tokio::task_local! {
    /// The id of the request being served (set by the request-id middleware).
    pub static REQUEST_ID: String;
}

/// The current request id, when inside a request.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// An RFC 7807 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`urn:trellis:problem:<code>`).
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `validation-failed`, `not-found`, `conflict`.
    pub code: String,
    /// The offending fields, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// For program sources that do not parse or check: the findings, with
    /// line and column in the (TOML) source.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<ProblemFinding>,
    /// Quote this when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One invalid field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub code: String,
    pub message: String,
}

pub use crate::app::ProblemFinding;

/// Everything an API handler can fail with.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the body is not valid JSON at all.
    Malformed(String),
    /// 401: no or bad credentials.
    Unauthenticated(&'static str),
    /// 403: authenticated but not allowed (used only where the object is visible).
    Forbidden(String),
    /// 404: no such object, or not visible to the caller.
    NotFound(&'static str),
    /// 409: conflicts with existing data.
    Conflict {
        field: &'static str,
        message: String,
    },
    /// 413: body too large (the limit in bytes).
    TooLarge(usize),
    /// 415: a body in a media type the operation does not read (what to
    /// send instead).
    UnsupportedMediaType(&'static str),
    /// 422: fields failed validation.
    Validation(FieldErrors),
    /// 422: a program source does not parse (`program-invalid`) or has
    /// error findings where none are allowed (`program-has-errors`).
    Program {
        code: &'static str,
        detail: String,
        findings: Vec<ProblemFinding>,
    },
    /// 429: slow down.
    TooManyRequests { retry_after: i64 },
    /// 500: logged, not shown.
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Validation(FieldError::new(field, code, message).into())
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str, String) {
        match self {
            ApiError::Malformed(d) => (
                StatusCode::BAD_REQUEST,
                "malformed-request",
                "Malformed request",
                d.clone(),
            ),
            ApiError::Unauthenticated(d) => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                (*d).to_string(),
            ),
            ApiError::Forbidden(d) => {
                (StatusCode::FORBIDDEN, "forbidden", "Not allowed", d.clone())
            }
            ApiError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                format!("no such {what}"),
            ),
            ApiError::Conflict { message, .. } => (
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                message.clone(),
            ),
            ApiError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "Request body too large",
                format!("this request's body is limited to {limit} bytes"),
            ),
            ApiError::Program { code, detail, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                "Program not accepted",
                detail.clone(),
            ),
            ApiError::UnsupportedMediaType(what) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                (*what).into(),
            ),
            ApiError::Validation(errs) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation-failed",
                "Validation failed",
                errs.0
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            ApiError::TooManyRequests { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
                format!("try again in {retry_after} seconds"),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "something went wrong on our side; it has been logged".into(),
            ),
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, code, title, detail) = self.parts();
        let mut errors: Vec<ProblemField> = match self {
            ApiError::Validation(errs) => errs
                .0
                .iter()
                .map(|e| ProblemField {
                    field: e.field.clone(),
                    code: e.code.to_string(),
                    message: e.message.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        if let ApiError::Conflict { field, message } = self {
            errors.push(ProblemField {
                field: (*field).to_string(),
                code: "already-exists".into(),
                message: message.clone(),
            });
        }
        let findings = match self {
            ApiError::Program { findings, .. } => findings.clone(),
            _ => Vec::new(),
        };
        Problem {
            findings,
            type_: format!("urn:trellis:problem:{code}"),
            title: title.into(),
            status: status.as_u16(),
            detail,
            code: code.into(),
            errors,
            request_id: current_request_id(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(msg) = &self {
            tracing::error!(request_id = current_request_id().as_deref().unwrap_or("-"), error = %msg, "internal error");
        }
        let problem = self.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            ApiError::Unauthenticated(_) => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"trellis\""),
                );
            }
            ApiError::TooManyRequests { retry_after } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    h.insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        resp
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid(errs) => ApiError::Validation(errs),
            AppError::Rejected(lines) => ApiError::Validation(FieldErrors(
                lines
                    .0
                    .into_iter()
                    .map(|m| FieldError::new("file", "invalid-line", m))
                    .collect(),
            )),
            AppError::Forbidden(m) => ApiError::Forbidden(m),
            AppError::NotFound(what) => ApiError::NotFound(what),
            AppError::Conflict { field, message } => ApiError::Conflict { field, message },
            AppError::TooMany { retry_after } => ApiError::TooManyRequests { retry_after },
            AppError::Program {
                code,
                detail,
                findings,
            } => ApiError::Program {
                code,
                detail,
                findings,
            },
            AppError::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

impl From<FieldErrors> for ApiError {
    fn from(e: FieldErrors) -> Self {
        ApiError::Validation(e)
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Validation(e.into())
    }
}

/// The problem responses the OpenAPI document names per operation, one type
/// per status (the common ones are added to every operation in `api::mod`).
pub mod responses {
    use std::collections::BTreeMap;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

    fn problem(status: &str, description: &str) -> BTreeMap<String, RefOr<Response>> {
        let response = ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        BTreeMap::from([(status.to_string(), RefOr::T(response))])
    }

    macro_rules! problem_responses {
        ($($name:ident $status:literal $description:literal;)*) => {$(
            #[doc = $description]
            pub struct $name;

            impl utoipa::IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    problem($status, $description)
                }
            }
        )*};
    }

    problem_responses! {
        Forbidden "403" "Authenticated, but not allowed to do this";
        NotFound "404" "No such object, or not one the caller may see";
        Conflict "409" "Conflicts with the object's state or with existing data";
        TooLarge "413" "The body is larger than this operation accepts";
        Invalid "422" "A field, parameter or line is not acceptable; the problem names each";
        TooMany "429" "Too many requests; see Retry-After";
    }
}
