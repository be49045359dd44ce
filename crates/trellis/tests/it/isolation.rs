//! Partner isolation, proven over the whole API: every operation in the
//! OpenAPI document is called with a second partner's admin token, with the
//! first partner's ids in every path parameter. Nothing of the first partner
//! may be read (no response mentions any of its identifiers) or changed (its
//! data is identical afterwards), and its objects are 404, never 403.
//! New endpoints are covered automatically because the walk reads the document.

use crate::helpers::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};
use trellis_core::org::Role;

crate::on_both_backends!(a_second_partner_cannot_read_or_change_anything_of_the_first);

/// A plausible value for a property, so writes would succeed if authorization were missing.
fn sample(name: &str, schema: &Value, n: usize) -> Value {
    let ty = match &schema["type"] {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string")
            .to_string(),
        _ => "string".into(),
    };
    match ty.as_str() {
        "integer" | "number" => json!(1),
        "boolean" => json!(true),
        "array" => json!([]),
        "object" => json!({}),
        _ => {
            let n = n.to_string();
            json!(match name {
                "email" => format!("probe{n}@b.test"),
                "country" => "DE".to_string(),
                "role" => "partner-user".to_string(),
                "status" => "active".to_string(),
                "website" => "https://probe.example".to_string(),
                "slug" => format!("probe-{n}"),
                "partner_type" => "reseller".to_string(),
                "region" => "dach".to_string(),
                _ => format!("Probe {n}"),
            })
        }
    }
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or("");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// Bodies to try: only the required fields, and every field.
fn bodies(doc: &Value, op: &Value, n: &mut usize) -> Vec<Option<Value>> {
    let Some(schema) = op["requestBody"]["content"]["application/json"]["schema"].as_object()
    else {
        return vec![None];
    };
    let schema = resolve(doc, &Value::Object(schema.clone())).clone();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut minimal = Map::new();
    let mut full = Map::new();
    for (k, v) in schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default()
    {
        *n += 1;
        let value = sample(&k, &v, *n);
        if required.contains(&k.as_str()) {
            minimal.insert(k.clone(), value.clone());
        }
        if k != "channel_manager_id" {
            full.insert(k, value);
        }
    }
    vec![Some(Value::Object(minimal)), Some(Value::Object(full))]
}

async fn a_second_partner_cannot_read_or_change_anything_of_the_first(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let (cm, _) = app.user("cm@vendor.test", Role::ChannelManager, None).await;
    let a = app.partner(&admin, "alpha-secret", json!({"name": "Alpha Secret Holdings", "channel_manager_id": cm.id, "website": "https://alpha-secret.example"})).await;
    let bp = app
        .partner(&admin, "bravo", json!({"name": "Bravo Partners"}))
        .await;
    let a_id = a["id"].as_str().unwrap().to_string();
    let b_id = bp["id"].as_str().unwrap().to_string();
    let (a_admin, a_token) = app
        .user("boss@alpha-secret.test", Role::PartnerAdmin, Some(&a_id))
        .await;
    let (a_user, _) = app
        .user("seller@alpha-secret.test", Role::PartnerUser, Some(&a_id))
        .await;
    let a_tok = app
        .post(
            "/api/v1/tokens",
            &a_token,
            json!({"name": "alpha integration"}),
        )
        .await;
    let a_token_id = a_tok.body["id"].as_str().unwrap().to_string();
    let (_, b_token) = app
        .user("boss@bravo.test", Role::PartnerAdmin, Some(&b_id))
        .await;

    // Partner A takes part in a published program.
    app.upload_program(
        &admin,
        include_str!("../../../../examples/programs/cloud-reseller.toml"),
    )
    .await;
    let r = app
        .post(
            "/api/v1/programs/aurora-cloud/versions/1/publish",
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/partners/{a_id}/programs/aurora-cloud"),
            Some(&admin),
            Some(json!({"partner_type": "msp", "segment": "dach-midmarket", "level": "gold"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let markers = [
        a_id.clone(),
        "alpha-secret".into(),
        "Alpha Secret".into(),
        a_admin.id.clone(),
        a_user.id.clone(),
        a_admin.email.clone(),
        a_user.email.clone(),
        a_token_id.clone(),
        "alpha integration".into(),
    ];
    let a_ids = [
        a_id.clone(),
        a_admin.id.clone(),
        a_user.id.clone(),
        a_token_id.clone(),
    ];

    let snapshot = || async {
        let p = app
            .get(&format!("/api/v1/partners/{a_id}"), &admin)
            .await
            .text;
        let u = app
            .get(&format!("/api/v1/partners/{a_id}/users"), &admin)
            .await
            .text;
        let t: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT id, revoked_at FROM api_tokens WHERE user_id IN ($1, $2) ORDER BY id",
        )
        .bind(&a_admin.id)
        .bind(&a_user.id)
        .fetch_all(app.db.pool())
        .await
        .unwrap();
        let audit: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE partner_id = $1")
            .bind(&a_id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        let programs = app
            .get(&format!("/api/v1/partners/{a_id}/programs"), &admin)
            .await
            .text;
        (p, u, t, audit, programs)
    };
    let before = snapshot().await;

    let doc: Value = serde_json::from_str(&trellis_server::http::api::openapi_json()).unwrap();
    let mut calls = 0;
    let mut ops = 0;
    let mut n = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops += 1;
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let has_params = path.contains('{');
            let paths: Vec<String> = if has_params {
                a_ids
                    .iter()
                    .map(|id| {
                        let mut p = path.clone();
                        while let (Some(s), Some(e)) = (p.find('{'), p.find('}')) {
                            p.replace_range(s..=e, id);
                        }
                        p
                    })
                    .collect()
            } else {
                vec![
                    path.clone(),
                    format!("{path}?q=alpha&partner_id={a_id}&object_id={a_id}"),
                ]
                .into_iter()
                .filter(|p| m == Method::GET || !p.contains('?'))
                .collect()
            };
            for p in paths {
                for body in bodies(&doc, op, &mut n) {
                    calls += 1;
                    let r = app.call(m.clone(), &p, Some(&b_token), body.clone()).await;
                    for marker in &markers {
                        assert!(
                            !r.text.contains(marker.as_str()),
                            "{method} {p} leaked {marker:?}: {} {}",
                            r.status,
                            r.text
                        );
                    }
                    if has_params {
                        assert_eq!(
                            r.status,
                            StatusCode::NOT_FOUND,
                            "{method} {p} with body {body:?}: {}",
                            r.text
                        );
                    } else if m != Method::GET {
                        assert!(
                            r.status.is_client_error() || r.status.is_success(),
                            "{method} {p}: {}",
                            r.status
                        );
                    }
                }
            }
        }
    }
    assert!(ops >= 11, "walked {ops} operations");
    assert!(calls > ops, "{calls} calls");
    assert_eq!(snapshot().await, before, "partner A's data changed");
}
