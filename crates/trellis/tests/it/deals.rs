//! Deal registration through the API: registering, conflicts and what each
//! side may see of them, the rules of engagement, the lifecycle, the vendor's
//! accounts, bad input, and two instances staying coherent.

use crate::helpers::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use trellis_core::org::Role;

crate::on_both_backends!(
    register_detect_conflicts_and_decide,
    bad_registrations_name_the_field_and_write_nothing,
    lifecycle_with_extension_and_expiry,
    house_accounts_and_auto_approval_follow_the_program,
    two_instances_share_one_view_of_conflicts,
);

fn in_a_month() -> String {
    crate::helpers::fixtures::days_ahead(30)
}

fn deal(name: &str, domain: &str) -> Value {
    json!({"customer_name": name, "customer_domain": domain, "country": "DE", "city": "Stuttgart",
           "amount": "25000.00", "currency": "EUR", "expected_close": in_a_month(), "products": "Aurora Cloud"})
}

struct World {
    app: TestApp,
    admin: String,
    cm: String,
    a_id: String,
    a: String,
    b: String,
}

async fn world(b: Backend) -> World {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let (cm_user, cm) = app.user("cm@vendor.test", Role::ChannelManager, None).await;
    let pa = app
        .partner(&admin, "alpha", json!({"channel_manager_id": cm_user.id}))
        .await;
    let pb = app
        .partner(
            &admin,
            "bravo",
            json!({"name": "Bravo Secret Partners", "channel_manager_id": cm_user.id}),
        )
        .await;
    let a_id = pa["id"].as_str().unwrap().to_string();
    let (_, a) = app
        .user("boss@alpha.test", Role::PartnerAdmin, Some(&a_id))
        .await;
    let (_, bt) = app
        .user(
            "boss@bravo.test",
            Role::PartnerAdmin,
            Some(pb["id"].as_str().unwrap()),
        )
        .await;
    World {
        app,
        admin,
        cm,
        a_id,
        a,
        b: bt,
    }
}

async fn register_detect_conflicts_and_decide(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    // Bravo registers first.
    let r = app
        .post(
            "/api/v1/deals",
            &w.b,
            deal("Müller Maschinenbau GmbH", "https://www.mueller-mb.de"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.body["deal"]["status"], "submitted",
        "no auto-approval by default"
    );
    assert_eq!(
        r.body["deal"]["customer_domain"], "mueller-mb.de",
        "registrable domain kept"
    );
    let first = r.body["deal"]["id"].as_str().unwrap().to_string();

    // A dry run from Alpha: a conflict, without Bravo's identity or details.
    let c = app
        .post("/api/v1/conflicts/check", &w.a, json!({"customer_name": "Mueller Maschinenbau", "contact_email": "einkauf@mueller-mb.de", "country": "de"}))
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    assert_eq!(c.body["conflict"], true);
    let cand = &c.body["candidates"][0];
    assert_eq!(cand["kind"], "registration");
    assert!(cand["score"].as_f64().unwrap() >= 0.9, "{cand}");
    let reasons: Vec<&str> = cand["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"same registrable domain (mueller-mb.de)"),
        "{reasons:?}"
    );
    for secret in ["Bravo", &first, "partner_id", "Müller Maschinenbau GmbH"] {
        assert!(
            !c.text.contains(secret),
            "a partner learns nothing of another: {secret} in {}",
            c.text
        );
    }

    // Alpha registers anyway: first come, first served.
    let r = app
        .post(
            "/api/v1/deals",
            &w.a,
            deal("MUELLER MASCHINENBAU", "mueller-mb.de"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["deal"]["status"], "rejected");
    assert_eq!(r.body["deal"]["decision_rule"], "first-come");
    assert!(!r.text.contains("Bravo"));

    // The vendor sees everything, with reasons.
    let v = app
        .get(
            &format!("/api/v1/deals/{}", r.body["deal"]["id"].as_str().unwrap()),
            &w.cm,
        )
        .await;
    assert_eq!(
        v.body["conflicts"][0]["partner_name"],
        "Bravo Secret Partners"
    );
    assert_eq!(v.body["conflicts"][0]["record_id"], first.as_str());
    assert_eq!(v.body["events"].as_array().unwrap().len(), 2);

    // The vendor approves Bravo's with a reason; the queue empties.
    let q = app.get("/api/v1/deals?queue=true", &w.cm).await;
    assert_eq!(q.body["items"].as_array().unwrap().len(), 1);
    let no_reason = app
        .post(
            &format!("/api/v1/deals/{first}/transitions"),
            &w.cm,
            json!({"action": "approve"}),
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.fields(), vec!["reason"]);
    let ok = app
        .post(
            &format!("/api/v1/deals/{first}/transitions"),
            &w.cm,
            json!({"action": "approve", "reason": "new logo, partner-sourced"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["status"], "approved");
    assert!(ok.body["protection_until"].is_string());
    assert_eq!(
        app.get("/api/v1/deals?queue=true", &w.cm).await.body["items"],
        json!([])
    );

    // Partners cannot approve, nor see each other's deals.
    let r = app
        .post(
            &format!("/api/v1/deals/{first}/transitions"),
            &w.a,
            json!({"action": "approve", "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let list = app.get("/api/v1/deals", &w.a).await;
    assert!(!list.text.contains(&first));

    // E-mails were queued: Bravo's registration to its channel manager for
    // review, Alpha's rejection to Alpha, the approval to Bravo — and Alpha's
    // never names Bravo.
    let mut mails: Vec<(String, String, String)> =
        sqlx::query_as("SELECT recipient, subject, body FROM outbox WHERE channel = 'email'")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    mails.sort();
    let sent: Vec<(&str, &str)> = mails
        .iter()
        .map(|(to, subject, _)| (to.as_str(), subject.as_str()))
        .collect();
    assert_eq!(
        sent,
        vec![
            (
                "boss@alpha.test",
                "Deal registration rejected: MUELLER MASCHINENBAU"
            ),
            (
                "boss@bravo.test",
                "Deal registration approved: Müller Maschinenbau GmbH"
            ),
            (
                "cm@vendor.test",
                "Deal registration to review: Müller Maschinenbau GmbH (Bravo Secret Partners)"
            ),
        ],
        "{mails:#?}"
    );
    assert!(mails[0].2.contains("first"), "{}", mails[0].2);
    assert!(!mails[0].2.contains("Bravo"), "{}", mails[0].2);
    assert!(mails[1].2.contains("Protected until"), "{}", mails[1].2);
    let audit = app.get("/api/v1/audit?object_type=deal", &w.admin).await;
    assert!(audit.body["items"].as_array().unwrap().len() >= 3);
}

async fn bad_registrations_name_the_field_and_write_nothing(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let mut bad = deal("Acme", "acme.de");
    bad["country"] = json!("XX");
    bad["amount"] = json!("0");
    bad["currency"] = json!("EUX");
    bad["expected_close"] = json!("2020-01-01");
    let r = app.post("/api/v1/deals", &w.a, bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(
        fields,
        vec!["amount", "country", "currency", "expected_close"]
    );
    let r = app.post("/api/v1/deals", &w.a, json!({"customer_name": "", "country": "DE", "amount": "-3", "currency": "EUR", "expected_close": "2027-02-30"})).await;
    let fields = r.fields();
    for f in [
        "customer_name",
        "customer_domain",
        "amount",
        "expected_close",
    ] {
        assert!(fields.contains(&f.to_string()), "{f}: {fields:?}");
    }
    let mut webmail = deal("Acme", "");
    webmail["customer_domain"] = Value::Null;
    webmail["contact_email"] = json!("someone@gmail.com");
    let r = app.post("/api/v1/deals", &w.a, webmail).await;
    assert_eq!(r.fields(), vec!["contact_email"]);
    let r = app
        .post(
            "/api/v1/deals",
            &w.a,
            json!({"customer_name": "x", "bogus": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut other = deal("Acme", "acme.de");
    other["partner_id"] = json!("someone-else");
    assert_eq!(
        app.post("/api/v1/deals", &w.a, other).await.fields(),
        vec!["partner_id"]
    );
    assert_eq!(app.count("deals").await, 0, "nothing written");
    assert_eq!(app.count("outbox").await, 0);
}

async fn lifecycle_with_extension_and_expiry(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    let mut d = deal("Kovalo Analytics Ltd", "kovalo.co.uk");
    d["submit"] = json!(false);
    let r = app.post("/api/v1/deals", &w.a, d).await;
    assert_eq!(r.body["deal"]["status"], "draft");
    let id = r.body["deal"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/deals/{id}/transitions");
    let act = |token: &str, action: &str, reason: Option<&str>| {
        let body = json!({"action": action, "reason": reason});
        let token = token.to_string();
        let path = path.clone();
        async move { app.post(&path, &token, body).await }
    };
    assert_eq!(act(&w.a, "submit", None).await.body["status"], "submitted");
    assert_eq!(
        act(&w.cm, "request-info", Some("which products?"))
            .await
            .body["status"],
        "more-info"
    );
    assert_eq!(act(&w.a, "submit", None).await.body["status"], "submitted");
    let approved = act(&w.cm, "approve", Some("fine")).await;
    let until = approved.body["protection_until"]
        .as_str()
        .unwrap()
        .to_string();
    let r = act(&w.a, "approve-extension", Some("x")).await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "partners do not approve extensions: {}",
        r.text
    );
    assert!(act(&w.a, "request-extension", None).await.body["extension_requested_at"].is_string());
    let ext = act(&w.cm, "approve-extension", Some("big deal")).await;
    assert_eq!(ext.body["extensions"], 1);
    assert!(ext.body["protection_until"].as_str().unwrap() > until.as_str());
    let again = act(&w.a, "request-extension", None).await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "one extension by default: {}",
        again.text
    );

    // The expiry job ends protection that ran out.
    sqlx::query("UPDATE deals SET protection_until = '2020-01-01' WHERE id = $1")
        .bind(&id)
        .execute(app.db.pool())
        .await
        .unwrap();
    let n = trellis_server::app::deals::expire_due(&app.app, &trellis_server::app::today())
        .await
        .unwrap();
    assert_eq!(n, 1);
    let d = app.get(&format!("/api/v1/deals/{id}"), &w.a).await;
    assert_eq!(d.body["deal"]["status"], "expired");
    let actions: Vec<&str> = d.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "create",
            "submit",
            "request-info",
            "submit",
            "approve",
            "request-extension",
            "approve-extension",
            "expire"
        ]
    );
    let r = act(&w.a, "win", None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "expired is final");
    assert!(r.body["detail"].as_str().unwrap().contains("expired"));
}

async fn house_accounts_and_auto_approval_follow_the_program(b: Backend) {
    let w = world(b).await;
    let app = &w.app;
    // A program with auto-approval, and Alpha enrolled in it.
    let src = include_str!("../../../../examples/programs/cloud-reseller.toml");
    app.upload_program(&w.admin, src).await;
    app.post(
        "/api/v1/programs/aurora-cloud/versions/1/publish",
        &w.admin,
        json!({}),
    )
    .await;
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/partners/{}/programs/aurora-cloud", w.a_id),
            Some(&w.admin),
            Some(json!({"partner_type": "reseller", "segment": "dach-midmarket"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let p = trellis_core::program::parse(src).unwrap();
    let rules = trellis_core::deals::Rules::from_program(&p);

    let acct = app
        .post("/api/v1/accounts", &w.admin, json!({"external_id": "crm-1", "name": "Siemens AG", "domain": "siemens.com", "country": "DE", "owner": "key-accounts@vendor", "house": true}))
        .await;
    assert_eq!(acct.status, StatusCode::OK, "{}", acct.text);
    assert_eq!(acct.body["house"], true);
    let again = app
        .post("/api/v1/accounts", &w.admin, json!({"external_id": "crm-1", "name": "Siemens AG", "domain": "siemens.com", "country": "DE", "house": true}))
        .await;
    assert_eq!(again.body["id"], acct.body["id"], "external_id updates");
    assert_eq!(
        app.post(
            "/api/v1/accounts",
            &w.a,
            json!({"name": "x", "country": "DE"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    let mut body = json!({});
    for f in &rules.required_fields {
        body[f] = match f.as_str() {
            "customer_name" => json!("Siemens Aktiengesellschaft"),
            "customer_domain" => json!("https://new.siemens.com"),
            "country" => json!("DE"),
            "amount" => json!("90000"),
            "currency" => json!("EUR"),
            "expected_close" => json!(in_a_month()),
            _ => json!("something"),
        };
    }
    for (k, v) in [
        ("customer_name", json!("Siemens AG")),
        ("country", json!("DE")),
        ("amount", json!("90000")),
        ("currency", json!("EUR")),
        ("expected_close", json!(in_a_month())),
    ] {
        body[k] = v;
    }
    body["customer_domain"] = json!("https://new.siemens.com");
    let r = app.post("/api/v1/deals", &w.a, body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["deal"]["status"], "rejected");
    assert_eq!(r.body["deal"]["decision_rule"], "house-account");
    assert_eq!(r.body["deal"]["program"], "aurora-cloud");

    body["customer_name"] = json!("Zentrix Labs GmbH");
    body["customer_domain"] = json!("zentrix-labs.de");
    let r = app.post("/api/v1/deals", &w.a, body).await;
    // cloud-reseller.toml says `auto_approve_below = 0.5`: a registration
    // that conflicts with nothing is approved at once.
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["deal"]["status"], "approved", "{}", r.text);
    assert_eq!(
        r.body["deal"]["decision_rule"], "auto-approve",
        "{}",
        r.text
    );
}

async fn two_instances_share_one_view_of_conflicts(b: Backend) {
    let w = world(b).await;
    let (second, _) = w.app.second_instance().await;
    // Registered through the first instance…
    let r = w
        .app
        .post(
            "/api/v1/deals",
            &w.b,
            deal("Brintex Systems GmbH", "brintex.de"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // …conflicts at once through the second.
    let resp = w
        .app
        .http
        .post(format!("{second}/api/v1/conflicts/check"))
        .bearer_auth(&w.a)
        .json(&json!({"customer_name": "Brintex Systems", "customer_domain": "www.brintex.de", "country": "DE"}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["conflict"], true, "{body}");
    // Rejecting it through the second instance frees the customer on the first.
    let id = r.body["deal"]["id"].as_str().unwrap();
    let resp = w
        .app
        .http
        .post(format!("{second}/api/v1/deals/{id}/transitions"))
        .bearer_auth(&w.cm)
        .json(&json!({"action": "reject", "reason": "duplicate of a direct deal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let c = w
        .app
        .post("/api/v1/conflicts/check", &w.a, json!({"customer_name": "Brintex Systems", "customer_domain": "brintex.de", "country": "DE"}))
        .await;
    assert_eq!(c.body["conflict"], false, "{}", c.text);
}
