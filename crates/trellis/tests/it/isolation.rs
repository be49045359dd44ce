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

/// Partner A's objects, one of each kind a path parameter can name.
struct Ids {
    partner: String,
    users: Vec<String>,
    token: String,
    deal: String,
    task: String,
    application: String,
    agreement: String,
    batch: String,
}

impl Ids {
    /// The values of a path parameter, by the path it stands in and its name.
    /// A parameter not known here fails the test: a new endpoint must say
    /// which of A's objects it is probed with.
    fn of(&self, path: &str, param: &str) -> Vec<String> {
        let one = |s: &String| vec![s.clone()];
        match (path.split('/').nth(3).unwrap_or(""), param) {
            ("partners", "id") => one(&self.partner),
            ("partners", "task") => one(&self.task),
            ("partners" | "programs", "program") => vec!["aurora-cloud".into()],
            ("programs", "number") => vec!["1".into()],
            ("users", "id") => self.users.clone(),
            ("tokens", "id") => one(&self.token),
            ("deals", "id") => one(&self.deal),
            ("applications", "id") => one(&self.application),
            ("agreements", "id") => one(&self.agreement),
            ("sales", "batch") => one(&self.batch),
            _ => panic!("{path}: no id of partner A for {{{param}}}; add one to Ids"),
        }
    }

    /// `path` with each parameter filled, in every combination.
    fn fill(&self, path: &str) -> Vec<String> {
        let mut out = vec![path.to_string()];
        while let Some(s) = out[0].find('{') {
            let e = out[0][s..].find('}').unwrap() + s;
            let param = out[0][s + 1..e].to_string();
            let values = self.of(path, &param);
            out = out
                .iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut p = p.clone();
                        p.replace_range(s..=e, v);
                        p
                    })
                })
                .collect();
        }
        out
    }
}

async fn a_second_partner_cannot_read_or_change_anything_of_the_first(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let (cm, _) = app.user("cm@vendor.test", Role::ChannelManager, None).await;
    let a = app.partner(&admin, "alpha-secret", json!({"name": "Alpha Secret Holdings", "channel_manager_id": cm.id, "website": "https://alpha-secret.example", "partner_type": "msp"})).await;
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

    // Partner A takes part in a published program, with its onboarding plan.
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
    let r = app
        .get(&format!("/api/v1/partners/{a_id}/onboarding"), &admin)
        .await;
    let task = r.body["tasks"][1]["task_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no onboarding task: {}", r.text))
        .to_string();
    // A's deal, an agreement for A's type that A accepted, an application,
    // and a sales batch with A's lines.
    let r = app
        .post(
            "/api/v1/deals",
            &a_token,
            json!({"customer_name": "Alpha Secret Customer", "customer_domain": "alpha-customer.example",
                   "country": "DE", "amount": "1000", "currency": "EUR", "products": "Cloud",
                   "expected_close": crate::helpers::fixtures::days_ahead(30)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let deal = r.body["deal"]["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            "/api/v1/agreements",
            &admin,
            json!({"partner_type": "msp", "title": "MSP terms", "body": "# MSP terms"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let agreement = r.body["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &format!("/api/v1/agreements/{agreement}/accept"),
            &a_token,
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = app
        .call(
            Method::POST,
            "/api/v1/applications",
            None,
            Some(json!({
                "program": "aurora-cloud", "company": "Alpha Secret Applicant", "domain": "https://alpha-applicant.example",
                "country": "de", "employees": "120", "partner_type": "reseller", "capabilities": ["security"],
                "segments": ["dach-midmarket"], "references": "Many", "contact_name": "Jana Vogel",
                "contact_email": "jana@alpha-applicant.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let application = r.body["id"].as_str().unwrap().to_string();
    let batch = crate::helpers::fixtures::sales(
        &app.app,
        "A1,2027-01-15,alpha-secret,Alpha Secret Customer,alpha-customer.example,DE,AUR-CL-100,1,100,USD,,\n",
    )
    .await
    .batch_id
    .unwrap();
    let ids = Ids {
        partner: a_id.clone(),
        users: vec![a_admin.id.clone(), a_user.id.clone()],
        token: a_token_id.clone(),
        deal: deal.clone(),
        task,
        application: application.clone(),
        agreement,
        batch: batch.clone(),
    };

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
        deal.clone(),
        application.clone(),
        batch.clone(),
    ];

    // Everything of A's, read as the vendor and from the database.
    let snapshot = || async {
        let mut seen = Vec::new();
        for path in [
            format!("/api/v1/partners/{a_id}"),
            format!("/api/v1/partners/{a_id}/users"),
            format!("/api/v1/partners/{a_id}/programs"),
            format!("/api/v1/partners/{a_id}/onboarding"),
            format!("/api/v1/deals/{deal}"),
            format!("/api/v1/applications/{application}"),
            "/api/v1/programs/aurora-cloud/versions".to_string(),
            "/api/v1/agreements".to_string(),
        ] {
            let r = app.get(&path, &admin).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
            seen.push(r.text);
        }
        for (sql, arg) in [
            (
                "SELECT COUNT(*) FROM api_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE u.partner_id = $1 AND t.revoked_at IS NULL",
                &a_id,
            ),
            (
                "SELECT COUNT(*) FROM users WHERE partner_id = $1 AND status = 'active'",
                &a_id,
            ),
            (
                "SELECT COUNT(*) FROM agreement_acceptances WHERE partner_id = $1",
                &a_id,
            ),
            (
                "SELECT COUNT(*) FROM audit_log WHERE partner_id = $1",
                &a_id,
            ),
            (
                "SELECT COUNT(*) FROM sales_batches WHERE id = $1 AND status = 'imported'",
                &batch,
            ),
        ] {
            let n: i64 = sqlx::query_scalar(sql)
                .bind(arg)
                .fetch_one(app.db.pool())
                .await
                .unwrap();
            seen.push(format!("{sql}: {n}"));
        }
        seen
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
                ids.fill(path)
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
                    if m != Method::GET && has_params {
                        assert_eq!(
                            snapshot().await,
                            before,
                            "{method} {p} changed partner A's data"
                        );
                    }
                }
            }
        }
    }
    assert_eq!(
        ops, 48,
        "the document has a new operation: check that Ids gives its path parameters A's ids, then update this count"
    );
    assert!(calls > ops, "{calls} calls");
}
