//! API tokens, health, readiness, metrics, request ids and response headers.

use crate::helpers::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;
use trellis_core::org::Role;

crate::on_both_backends!(
    tokens_are_shown_once_hashed_and_revocable,
    health_metrics_and_headers
);

async fn tokens_are_shown_once_hashed_and_revocable(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (user, first) = app.user("cm@vendor.test", Role::ChannelManager, None).await;
    let r = app
        .post("/api/v1/tokens", &first, json!({"name": "CRM sync"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let secret = r.body["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("trl_"));
    let id = r.body["id"].as_str().unwrap().to_string();
    // The database keeps only a hash.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert!(stored.iter().all(|h| !h.contains(&secret) && h.len() == 64));
    // Listing never shows a secret.
    let list = app.get("/api/v1/tokens", &secret).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    assert!(!list.text.contains(&secret) && !list.text.contains(&first));
    assert_eq!(
        app.get("/api/v1/me", &secret).await.body["user"]["id"],
        user.id.as_str()
    );
    // Another user cannot revoke it (404), its owner can.
    let (_, other) = app.user("other@vendor.test", Role::VendorAdmin, None).await;
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&other),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&first),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["revoked_at"].is_string());
    assert_eq!(
        app.get("/api/v1/me", &secret).await.status,
        StatusCode::UNAUTHORIZED,
        "revoked token is refused"
    );
    assert_eq!(
        app.get("/api/v1/me", &first).await.status,
        StatusCode::OK,
        "other tokens still work"
    );
    let r = app
        .post("/api/v1/tokens", &first, json!({"name": ""}))
        .await;
    assert_eq!(r.fields(), vec!["name"]);
}

async fn health_metrics_and_headers(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let r = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for _ in 0..3 {
        assert_eq!(
            app.get("/api/v1/partners", &admin).await.status,
            StatusCode::OK
        );
    }
    let r = app.get("/api/v1/partners/missing", &admin).await;
    assert!(
        r.headers.contains_key("x-request-id"),
        "every response carries a request id"
    );
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert_eq!(
        r.headers["x-request-id"].to_str().unwrap(),
        r.body["request_id"].as_str().unwrap()
    );
    // A caller's own request id is kept.
    let r = app
        .http
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-me-123");

    let text = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"trellis_http_requests_total{method="GET",route="/api/v1/partners",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/partners/{id}",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains("trellis_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/partners\",le=\"+Inf\"} 3"));

    // Readiness reflects the database.
    app.db.close().await;
    let r = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
}
