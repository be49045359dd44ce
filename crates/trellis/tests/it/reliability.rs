//! Defects found by probing Trellis as a hostile client and a careless user
//! would (issue 19), each kept fixed by a test that failed before the fix:
//! names with non-ASCII capitals, NUL characters, open redirects after
//! sign-in, query strings the portal did not expect, error pages without
//! navigation, and inviting used to find out who has an account.

use crate::helpers::fixtures::{self, CLOUD};
use crate::helpers::portal::{browser, csrf_of, get_text, sign_in};
use crate::helpers::{Backend, TestApp, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::json;
use trellis_core::org::Role;

crate::on_both_backends!(
    names_with_non_ascii_capitals_are_one_account_and_found_in_any_case,
    a_nul_character_is_refused_naming_the_field,
    sign_in_goes_on_only_to_a_path_of_this_site,
    pages_ignore_unknown_parameters_and_explain_bad_values,
    error_pages_keep_the_navigation_and_bulk_keeps_the_reason,
    the_portal_does_not_tell_partner_admins_who_has_an_account,
    every_enrolled_partner_gets_its_plan_and_a_new_version_adds_tasks,
);

fn in_a_month() -> String {
    crate::helpers::fixtures::days_ahead(30)
}

async fn names_with_non_ascii_capitals_are_one_account_and_found_in_any_case(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let first = app
        .post(
            "/api/v1/accounts",
            &admin,
            json!({"country": "AT", "name": "Österreichische Post AG"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["name"], "Österreichische Post AG");
    // Sent again (as a client retrying would), in other capitals: the same.
    let again = app
        .post(
            "/api/v1/accounts",
            &admin,
            json!({"country": "AT", "name": "ÖSTERREICHISCHE POST AG"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(app.count("accounts").await, 1);
    for q in ["österreichische", "ÖSTERR", "Post AG"] {
        let r = app
            .get(&format!("/api/v1/accounts?q={}", urlencode(q)), &admin)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            r.body["items"].as_array().unwrap().len(),
            1,
            "{q}: {}",
            r.text
        );
    }

    // Deals are searched the same way.
    let p = app.partner(&admin, "skoda-fans", json!({})).await;
    let (_, partner) = app
        .user("boss@fans.test", Role::PartnerAdmin, p["id"].as_str())
        .await;
    for name in ["ŠKODA AUTO a.s.", "Élysée Ôptique SÀRL"] {
        let r = app
            .post(
                "/api/v1/deals",
                &partner,
                json!({"customer_name": name, "customer_domain": format!("d{}.example", name.len()), "country": "CZ", "amount": "1000", "currency": "EUR",
                       "expected_close": in_a_month()}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    for (q, found) in [
        ("škoda", 1),
        ("ŠKODA", 1),
        ("élysée ô", 1),
        ("sàrl", 1),
        ("zz", 0),
    ] {
        let r = app
            .get(&format!("/api/v1/deals?q={}", urlencode(q)), &admin)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            r.body["items"].as_array().unwrap().len(),
            found,
            "{q}: {}",
            r.text
        );
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn a_nul_character_is_refused_naming_the_field(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    for (path, field) in [
        ("/api/v1/deals?q=a%00b", "q"),
        ("/api/v1/audit?action=%00", "action"),
        ("/api/v1/partners?q=ok&status=%00x", "status"),
    ] {
        let r = app.get(path, &admin).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            r.text
        );
        assert_eq!(r.fields(), vec![field.to_string()], "{path}");
    }
    let r = app
        .post(
            "/api/v1/agreements",
            &admin,
            json!({"partner_type": "*", "title": "Terms", "body": "Clause\u{0}one"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), vec!["body"]);
    assert_eq!(app.count("agreements").await, 0);
    // The public application form, without signing in.
    let r = app
        .call(
            Method::POST,
            "/api/v1/applications",
            None,
            Some(json!({"program": "aurora\u{0}", "company": "Kovalo"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), vec!["program"]);
    let r = app
        .post(
            "/api/v1/partners",
            &admin,
            json!({"slug": "nul", "name": "Nul", "type": "reseller", "tags": ["a", "b\u{0}"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), vec!["tags[1]"]);
    assert_eq!(app.count("partners").await, 0);

    // On pages: a form sent with a NUL is refused with a page naming it.
    app.user("cm@vendor.test", Role::VendorAdmin, None).await;
    let c = browser();
    sign_in(&c, &app.base, "cm@vendor.test", PASSWORD).await;
    let r = c
        .get(format!("{}/deals?q=%00", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("The q you sent contains a NUL"), "{html}");
    let page = get_text(&c, format!("{}/partners/new", app.base)).await;
    let r = c
        .post(format!("{}/partners", app.base))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("slug", "nul"),
            ("name", "Nul\0Partner"),
            ("type", "reseller"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("The name you sent"));
    assert_eq!(app.count("partners").await, 0);
}

async fn sign_in_goes_on_only_to_a_path_of_this_site(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user("cm@vendor.test", Role::ChannelManager, None).await;
    for (next, to) in [
        ("/\t/evil.example", "/"),
        ("/\r\nSet-Cookie: a=b", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/deals?status=submitted", "/deals?status=submitted"),
    ] {
        let c = browser();
        let page = get_text(&c, format!("{}/login", app.base)).await;
        let r = c
            .post(format!("{}/login", app.base))
            .form(&[
                ("email", "cm@vendor.test"),
                ("password", PASSWORD),
                ("csrf", csrf_of(&page).as_str()),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(r.headers()["location"], to, "{next:?}");
    }
    // The same through the address of the sign-in page.
    let c = browser();
    let r = c
        .get(format!("{}/login?next=%2F%09%2Fevil.example", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!r.text().await.unwrap().contains("evil.example"));
}

async fn pages_ignore_unknown_parameters_and_explain_bad_values(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let p = app.partner(&admin, "alpine", json!({})).await;
    app.user("boss@alpine.test", Role::PartnerAdmin, p["id"].as_str())
        .await;
    app.user("va@vendor.test", Role::VendorAdmin, None).await;
    let c = browser();
    sign_in(&c, &app.base, "va@vendor.test", PASSWORD).await;
    for path in [
        "/deals?msg=saved",
        "/partners?utm_source=mail",
        "/programs?utm_campaign=q4&utm_source=mail",
        "/audit?fbclid=x",
        "/incentives?ref=mail",
    ] {
        let r = c.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains("<nav"), "{path}: {html}");
        assert!(!html.contains("Failed to deserialize"), "{path}");
        assert!(
            !html.contains("class=\"flash warn\""),
            "{path}: nothing to say"
        );
    }
    for (path, said) in [
        ("/deals?limit=abc", "limit “abc”"),
        ("/deals?cursor=garbage", "starts from the beginning"),
        (
            "/partners?limit=-3&status=nonsense",
            "status must be one of",
        ),
        ("/audit?limit=abc", "limit “abc”"),
    ] {
        let r = c.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("class=\"flash warn\"") || html.contains("class=\"error-box\""),
            "{path}: {html}"
        );
        assert!(html.contains(said), "{path}: {html}");
    }
    let o = browser();
    sign_in(&o, &app.base, "boss@alpine.test", PASSWORD).await;
    let r = o
        .get(format!("{}/deals/new?utm_source=mail", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn error_pages_keep_the_navigation_and_bulk_keeps_the_reason(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let p = app.partner(&admin, "alpine", json!({})).await;
    let (_, partner) = app
        .user("boss@alpine.test", Role::PartnerAdmin, p["id"].as_str())
        .await;
    let r = app
        .post(
            "/api/v1/deals",
            &partner,
            json!({"customer_name": "Brintex GmbH", "customer_domain": "brintex.de", "country": "DE",
                   "amount": "1000", "currency": "EUR", "expected_close": in_a_month()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    app.user("va@vendor.test", Role::VendorAdmin, None).await;
    let c = browser();
    sign_in(&c, &app.base, "va@vendor.test", PASSWORD).await;
    for path in [
        "/deals/no-such-deal",
        "/partners/no-such-partner",
        "/programs/none",
    ] {
        let r = c.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("<nav") && html.contains("href=\"/deals\"") && html.contains("Sign out"),
            "{path}: {html}"
        );
    }
    let page = get_text(&c, format!("{}/deals", app.base)).await;
    let r = c
        .post(format!("{}/deals/bulk", app.base))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("action", "reject"),
            ("reason", "Customer already in a direct renewal"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("Nothing was selected"), "{html}");
    assert!(
        html.contains("Customer already in a direct renewal"),
        "{html}"
    );
    assert!(html.contains("<nav"), "{html}");
}

async fn the_portal_does_not_tell_partner_admins_who_has_an_account(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let a = app.partner(&admin, "alpine", json!({})).await;
    let o = app.partner(&admin, "other", json!({})).await;
    let a_id = a["id"].as_str().unwrap();
    app.user("boss@alpine.test", Role::PartnerAdmin, Some(a_id))
        .await;
    app.user("admin@other.test", Role::PartnerAdmin, o["id"].as_str())
        .await;
    let c = browser();
    sign_in(&c, &app.base, "boss@alpine.test", PASSWORD).await;
    let mut pages = Vec::new();
    for email in ["admin@other.test", "nobody@alpine.test"] {
        let page = get_text(&c, format!("{}/partners/{a_id}", app.base)).await;
        let r = c
            .post(format!("{}/partners/{a_id}/users", app.base))
            .form(&[
                ("csrf", csrf_of(&page).as_str()),
                ("email", email),
                ("name", "Someone"),
                ("role", "partner-user"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{email}");
        let html = r.text().await.unwrap();
        assert!(!html.contains("already"), "{email}: {html}");
        assert!(
            html.contains(&format!("If <strong>{email}</strong> can be invited")),
            "{email}: {html}"
        );
        pages.push(html);
    }
    // The owner of the address in use is told, and nothing else changed.
    let mail = app.outbox_to("admin@other.test").await;
    assert!(
        mail.len() == 1 && mail[0].contains("already has an account"),
        "{mail:?}"
    );
    let owner: Option<String> =
        sqlx::query_scalar("SELECT partner_id FROM users WHERE email = 'admin@other.test'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(owner.as_deref(), o["id"].as_str());
}

async fn every_enrolled_partner_gets_its_plan_and_a_new_version_adds_tasks(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    fixtures::publish(&app.app, CLOUD).await;
    // An established partner (performing), enrolled over the API.
    let p = app
        .partner(&admin, "brightpath", json!({"status": "active"}))
        .await;
    let id = p["id"].as_str().unwrap();
    assert_eq!(p["stage"], "performing");
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/partners/{id}/programs/aurora-cloud"),
            Some(&admin),
            Some(json!({"partner_type": "reseller", "segment": "dach-midmarket"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let tasks = |r: &crate::helpers::Resp| -> Vec<String> {
        r.body["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["task_id"].as_str().unwrap().to_string())
            .collect()
    };
    let r = app
        .get(&format!("/api/v1/partners/{id}/onboarding"), &admin)
        .await;
    assert_eq!(
        tasks(&r),
        [
            "accept-agreement",
            "complete-profile",
            "add-sellers",
            "sales-training",
            "first-deal"
        ],
        "{}",
        r.text
    );
    // A partner of a type without its own plan gets the general one.
    let q = app.partner(&admin, "cloudy", json!({})).await;
    let qid = q["id"].as_str().unwrap();
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/partners/{qid}/programs/aurora-cloud"),
            Some(&admin),
            Some(json!({"partner_type": "msp", "segment": "na-enterprise"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .get(&format!("/api/v1/partners/{qid}/onboarding"), &admin)
        .await;
    assert_eq!(tasks(&r), ["accept-agreement", "kickoff", "first-deal"]);

    // The next version adds a task to the reseller plan: offered on publishing.
    let next = CLOUD
        .replacen("version = \"2027.1\"", "version = \"2027.2\"", 1)
        .replacen(
            "  { id = \"first-deal\", name = \"Register a first deal\", event = \"deal-registered\" },\n]",
            "  { id = \"first-deal\", name = \"Register a first deal\", event = \"deal-registered\" },\n  { id = \"security-review\", name = \"Pass the security review\" },\n]",
            1,
        );
    assert!(next.contains("security-review"));
    fixtures::publish(&app.app, &next).await;
    let r = app
        .get(&format!("/api/v1/partners/{id}/onboarding"), &admin)
        .await;
    assert_eq!(
        tasks(&r).last().map(String::as_str),
        Some("security-review")
    );
    assert_eq!(tasks(&r).len(), 6);
    let r = app
        .get(&format!("/api/v1/partners/{qid}/onboarding"), &admin)
        .await;
    assert_eq!(tasks(&r).len(), 3, "the msp plan did not change");
}
