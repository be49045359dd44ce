//! API tokens: scopes checked on every operation, a last day, and a rate
//! limit per token with 429 and Retry-After.

use crate::helpers::portal::{browser, csrf_of, get_text, sign_in};
use crate::helpers::{Backend, TestApp, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use trellis_core::org::Role;

crate::on_both_backends!(
    a_token_does_only_what_its_scopes_allow,
    a_token_stops_working_after_its_last_day,
    too_many_requests_with_one_token_are_slowed_down,
);

async fn token(app: &TestApp, owner: &str, body: Value) -> String {
    let r = app.post("/api/v1/tokens", owner, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["token"].as_str().unwrap().to_string()
}

fn in_a_month() -> String {
    crate::helpers::fixtures::days_ahead(30)
}

async fn a_token_does_only_what_its_scopes_allow(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let p = app.partner(&admin, "acme", json!({})).await;
    let pid = p["id"].as_str().unwrap();
    let (_, boss) = app
        .user("boss@acme.test", Role::PartnerAdmin, Some(pid))
        .await;

    let read = token(
        &app,
        &admin,
        json!({"name": "reporting", "scopes": ["read"]}),
    )
    .await;
    assert_eq!(
        app.get("/api/v1/partners", &read).await.status,
        StatusCode::OK
    );
    assert_eq!(app.get("/api/v1/me", &read).await.status, StatusCode::OK);
    let r = app
        .post(
            "/api/v1/partners",
            &read,
            json!({"name": "New", "partner_type": "reseller", "region": "dach", "country": "DE"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("scopes (read) do not allow POST /api/v1/partners"),
        "{}",
        r.text
    );
    // A narrower token cannot make a wider one.
    let r = app
        .post(
            "/api/v1/tokens",
            &read,
            json!({"name": "escalate", "scopes": ["admin"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(app.count("partners").await, 1);

    // A partner's integration that registers deals and nothing else.
    let deals = token(&app, &boss, json!({"name": "crm", "scopes": ["deals"]})).await;
    let r = app
        .post(
            "/api/v1/deals",
            &deals,
            json!({"customer_name": "Kunde AG", "customer_domain": "kunde.de", "country": "DE",
                   "amount": "1000", "currency": "EUR", "expected_close": in_a_month()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        app.get("/api/v1/deals", &deals).await.status,
        StatusCode::OK
    );
    for path in [
        format!("/api/v1/partners/{pid}"),
        format!("/api/v1/partners/{pid}/statements"),
    ] {
        assert_eq!(
            app.get(&path, &deals).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    // The role still decides: incentives scope on a partner's token reads
    // its own statements, never another's.
    let inc = token(
        &app,
        &boss,
        json!({"name": "finance", "scopes": ["incentives"]}),
    )
    .await;
    assert_eq!(
        app.get(&format!("/api/v1/partners/{pid}/statements"), &inc)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/deals", &inc).await.status,
        StatusCode::FORBIDDEN
    );

    // Bad scopes are named.
    for (body, field) in [
        (json!({"name": "x", "scopes": ["write"]}), "scopes[0]"),
        (json!({"name": "x", "scopes": []}), "scopes"),
    ] {
        let r = app.post("/api/v1/tokens", &admin, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.fields(), vec![field]);
    }
    // The list says what each token may do and until when.
    let list = app.get("/api/v1/tokens", &boss).await;
    let crm = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "crm")
        .unwrap()
        .clone();
    assert_eq!(crm["scopes"], json!(["deals"]));
    assert_eq!(
        crm["expires_on"],
        crate::helpers::fixtures::days_ahead(365),
        "a year by default"
    );

    // The account page makes the same kind of token.
    let c = browser();
    sign_in(&c, &app.base, "boss@acme.test", PASSWORD).await;
    let page = get_text(&c, format!("{}/account", app.base)).await;
    let r = c
        .post(format!("{}/account/tokens", app.base))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("name", "sheet"),
            ("scopes", "read"),
            ("scopes", "deals"),
            ("expires_on", &in_a_month()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Token created") && html.contains("read, deals"),
        "{html}"
    );
    assert!(html.contains(&in_a_month()), "{html}");
}

async fn a_token_stops_working_after_its_last_day(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let today = chrono::Utc::now().date_naive().to_string();
    let t = token(&app, &admin, json!({"name": "short", "expires_on": today})).await;
    assert_eq!(
        app.get("/api/v1/me", &t).await.status,
        StatusCode::OK,
        "works on its last day"
    );
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string();
    sqlx::query("UPDATE api_tokens SET expires_on = $1 WHERE name = 'short'")
        .bind(&yesterday)
        .execute(app.db.pool())
        .await
        .unwrap();
    let r = app.get("/api/v1/me", &t).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("expired"), "{}", r.text);
    for (day, why) in [
        (yesterday.as_str(), "in the past"),
        ("2099-01-01", "three years"),
        ("31.12.2027", "a date like"),
    ] {
        let r = app
            .post(
                "/api/v1/tokens",
                &admin,
                json!({"name": "x", "expires_on": day}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{day}");
        assert_eq!(r.fields(), vec!["expires_on"]);
        assert!(r.text.contains(why), "{day}: {}", r.text);
    }
}

async fn too_many_requests_with_one_token_are_slowed_down(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.api_requests_per_minute = 60).await;
    let admin = app.admin().await;
    let other = token(&app, &admin, json!({"name": "other"})).await;
    // 60 a minute: a burst of ten seconds' worth passes (the admin token
    // made one request above), then one a second.
    let mut passed = 1;
    let refused = loop {
        let r = app
            .call(Method::GET, "/api/v1/me", Some(&admin), None)
            .await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            break r;
        }
        assert_eq!(r.status, StatusCode::OK);
        passed += 1;
        assert!(passed <= 10, "the burst is at most ten requests");
    };
    assert!(passed >= 9, "{passed}");
    let wait: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert_eq!(refused.body["status"], 429);
    // Another token is counted on its own.
    assert_eq!(app.get("/api/v1/me", &other).await.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    assert_eq!(app.get("/api/v1/me", &admin).await.status, StatusCode::OK);
}
