//! Text that no field may hold: a NUL character. PostgreSQL cannot store it
//! and SQLite cuts text at it, so it is refused at the edge, for every
//! request, before any handler runs: in the path, the query string, and the
//! body (JSON, forms, CSV and program files alike). The API answers 422
//! naming the field; the portal a page that says what to do.

use super::error::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use trellis_core::FieldError;

/// Bodies read here at most: what the route accepts at the most (sales
/// files over the API, else program sources and pasted CSV on pages).
fn max_body(path: &str) -> usize {
    if path == "/api/v1/sales/imports" {
        super::api::incentives::SALES_BODY_LIMIT
    } else {
        super::api::programs::PROGRAM_BODY_LIMIT
    }
}

fn problem(field: &str) -> ApiError {
    FieldError::new(
        field,
        "nul-character",
        format!("{field} contains a NUL character (\\u0000), which no text may hold"),
    )
    .into()
}

fn page(field: &str) -> Response {
    let field = minijinja::HtmlEscape(&field.replace('_', " ")).to_string();
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Html(format!(
            "<!doctype html><meta charset=\"utf-8\"><title>Not accepted</title>\
             <h1>Not accepted</h1><p>The {field} you sent contains a NUL character, \
             which no text may hold. Go back, remove it and try again.</p>"
        )),
    )
        .into_response()
}

/// The first place a NUL hides in a JSON document, as a field path.
fn nul_in_json(v: &serde_json::Value, path: &str) -> Option<String> {
    let here = |p: &str| {
        if p.is_empty() {
            "body".to_string()
        } else {
            p.to_string()
        }
    };
    match v {
        serde_json::Value::String(s) if s.contains('\0') => Some(here(path)),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_in_json(x, &format!("{}[{i}]", here(path)))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, x)| {
            if k.contains('\0') {
                return Some(here(path));
            }
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            nul_in_json(x, &p)
        }),
        _ => None,
    }
}

/// The query parameter (or `query`) whose name or value holds a NUL.
fn nul_in_query(q: &str) -> Option<String> {
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| {
            let k = k.replace('\0', "");
            if k.is_empty() {
                "query".to_string()
            } else {
                k
            }
        })
}

fn percent_nul(s: &str) -> bool {
    s.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

/// Refuses a request that carries a NUL character anywhere.
pub async fn refuse_nul(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let refuse = |field: &str| {
        if api {
            problem(field).into_response()
        } else {
            page(field)
        }
    };
    if percent_nul(req.uri().path()) {
        return refuse("path");
    }
    if let Some(field) = req.uri().query().and_then(nul_in_query) {
        return refuse(&field);
    }
    let limit = max_body(req.uri().path());
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return if api {
                ApiError::TooLarge(limit).into_response()
            } else {
                (StatusCode::PAYLOAD_TOO_LARGE, Html("<h1>Too large</h1>")).into_response()
            }
        }
    };
    let json = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    // In JSON a NUL can only be written as an escape; elsewhere (forms) as
    // %00, or as the byte itself (CSV, TOML, a form sent raw).
    if json && memfind(&bytes, b"\\u0000") {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            if let Some(field) = nul_in_json(&v, "") {
                return refuse(&field);
            }
        }
    } else if bytes.contains(&0) {
        return refuse("body");
    } else if !json && percent_nul(&String::from_utf8_lossy(&bytes)) {
        if let Some(field) = nul_in_query(&String::from_utf8_lossy(&bytes)) {
            return refuse(&field);
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_is_found_and_its_field_named() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"a": "x", "b": {"c": ["ok", "n\u0000l"]}}"#).unwrap();
        assert_eq!(nul_in_json(&v, "").as_deref(), Some("b.c[1]"));
        let v: serde_json::Value = serde_json::from_str(r#"{"a": "x\\u0000"}"#).unwrap();
        assert_eq!(nul_in_json(&v, ""), None, "an escaped backslash is no NUL");
        assert_eq!(nul_in_query("q=a%00b&x=1").as_deref(), Some("q"));
        assert_eq!(nul_in_query("q=ab").as_deref(), None);
        assert!(percent_nul("/api/v1/partners/%00"));
    }
}
