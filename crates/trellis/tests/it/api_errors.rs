//! Bad input: every mistake gets a clear 4xx problem document naming the
//! problem, and nothing is written.

use crate::helpers::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::json;

crate::on_both_backends!(
    bad_input_is_named_and_writes_nothing,
    unauthenticated_requests_are_401
);

async fn bad_input_is_named_and_writes_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let existing = app.partner(&admin, "taken", json!({})).await;
    let (partners_before, audit_before, users_before) = (
        app.count("partners").await,
        app.count("audit_log").await,
        app.count("users").await,
    );

    let valid =
        json!({"name": "Valid", "partner_type": "reseller", "region": "dach", "country": "DE"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = valid.clone();
        b[k] = v;
        b
    };
    let cases: Vec<(&str, serde_json::Value, StatusCode, &str, Vec<&str>)> = vec![
        (
            "missing field",
            json!({"partner_type": "reseller", "region": "dach", "country": "DE"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            vec!["name"],
        ),
        (
            "wrong type",
            with("name", json!(42)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            vec!["name"],
        ),
        (
            "unknown field",
            with("colour", json!("red")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            vec!["colour"],
        ),
        (
            "bad country",
            with("country", json!("Germany")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            vec!["country"],
        ),
        (
            "bad status",
            with("status", json!("asleep")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            vec!["status"],
        ),
        (
            "bad slug",
            with("slug", json!("Not A Slug")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            vec!["slug"],
        ),
        (
            "bad website",
            with("website", json!("ftp://x.example")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            vec!["website"],
        ),
        (
            "unknown manager",
            with("channel_manager_id", json!("no-such-user")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            vec!["channel_manager_id"],
        ),
        (
            "duplicate slug",
            with("slug", json!("taken")),
            StatusCode::CONFLICT,
            "conflict",
            vec!["slug"],
        ),
        (
            "several at once",
            json!({"name": "", "partner_type": "Bad Type", "region": "dach", "country": "XX"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            vec!["name", "partner_type", "country"],
        ),
    ];
    for (what, body, status, code, fields) in cases {
        let r = app.post("/api/v1/partners", &admin, body).await;
        assert_eq!(r.status, status, "{what}: {}", r.text);
        assert_eq!(r.problem_code(), code, "{what}");
        assert_eq!(
            r.headers["content-type"], "application/problem+json",
            "{what}"
        );
        let mut got = r.fields();
        got.dedup();
        assert_eq!(got, fields, "{what}: {}", r.text);
        assert!(
            r.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{what}: detail"
        );
        assert!(
            r.body["request_id"].as_str().is_some(),
            "{what}: request id"
        );
    }

    // Malformed JSON, wrong media type, oversized body.
    let raw = |body: Vec<u8>, ct: &'static str| {
        app.http
            .post(format!("{}/api/v1/partners", app.base))
            .bearer_auth(&admin)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = raw(b"{\"name\": ".to_vec(), "application/json")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["code"], "malformed-request");
    assert!(p["detail"].as_str().unwrap().contains("line 1"), "{p}");
    let r = raw(b"name=x".to_vec(), "application/x-www-form-urlencoded")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = format!("{{\"name\": \"{}\", \"partner_type\": \"reseller\", \"region\": \"dach\", \"country\": \"DE\"}}", "x".repeat(100_000));
    let r = raw(big.into_bytes(), "application/json").await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["code"], "body-too-large");

    // Unknown ids are 404 problems; a bad patch on a real partner names the field.
    let r = app
        .get(
            "/api/v1/partners/00000000-0000-0000-0000-000000000000",
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.problem_code(), "not-found");
    let r = app
        .patch("/api/v1/partners/nope", &admin, json!({"name": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let id = existing["id"].as_str().unwrap();
    let r = app
        .patch(
            &format!("/api/v1/partners/{id}"),
            &admin,
            json!({"country": "ZZ", "name": "  "}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["name", "country"]);
    let r = app.get("/api/v1/no-such-route", &admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.problem_code(), "not-found");

    // Invitations: invalid e-mail, missing name, bad role.
    let r = app
        .post(
            &format!("/api/v1/partners/{id}/users"),
            &admin,
            json!({"email": "not-an-email", "name": "", "role": "boss"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["email", "name", "role"]);
    let r = app
        .post(
            "/api/v1/partners/unknown/users",
            &admin,
            json!({"email": "a@b.test", "name": "A", "role": "partner-user"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    assert_eq!(
        app.count("partners").await,
        partners_before,
        "no partner written"
    );
    assert_eq!(app.count("users").await, users_before, "no user written");
    assert_eq!(
        app.count("audit_log").await,
        audit_before,
        "nothing audited, because nothing changed"
    );
}

async fn unauthenticated_requests_are_401(b: Backend) {
    let app = TestApp::spawn(b).await;
    let r = app
        .call(reqwest::Method::GET, "/api/v1/me", None, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.problem_code(), "unauthenticated");
    assert!(r.headers.contains_key("www-authenticate"));
    for bad in [
        "trl_0000000000000000000000000000000000000000",
        "not-a-token",
        "",
    ] {
        let r = app
            .call(reqwest::Method::GET, "/api/v1/partners", Some(bad), None)
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{bad}");
    }
    let r = app
        .http
        .get(format!("{}/api/v1/me", app.base))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
