//! Recruiting and onboarding through the API: applying without an account,
//! scoring and duplicates, the review, approval creating the partner with
//! its checklist and invitation, agreements and re-acceptance, tasks that
//! complete themselves, the lifecycle rules, and bad input and abuse.

use crate::helpers::portal::{browser, csrf_of, get_text};
use crate::helpers::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use trellis_core::org::Role;
use trellis_server::store::{users, Actor};

crate::on_both_backends!(
    apply_review_approve_and_onboard_to_performing,
    bad_applications_abuse_and_agreement_versions,
);

const CLOUD: &str = include_str!("../../../../examples/programs/cloud-reseller.toml");

fn application(company: &str, domain: &str, email: &str) -> Value {
    json!({
        "program": "aurora-cloud", "company": company, "domain": domain, "country": "de",
        "employees": "120", "partner_type": "reseller", "capabilities": ["cloud-migration", "security"],
        "segments": ["dach-midmarket"], "references": "Migrated 40 SMEs to the cloud",
        "contact_name": "Jana Vogel", "contact_email": email
    })
}

async fn publish_cloud(app: &TestApp, admin: &str) {
    let v = app.upload_program(admin, CLOUD).await;
    assert_eq!(v["number"], 1, "{v}");
    let r = app
        .call(
            Method::POST,
            "/api/v1/programs/aurora-cloud/versions/1/publish",
            Some(admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// An API token for a user found by e-mail (as if they had signed in).
async fn token_of(app: &TestApp, email: &str) -> String {
    let user = users::credentials(&app.db, email)
        .await
        .unwrap()
        .unwrap()
        .user;
    trellis_server::app::tokens::create(&app.app, &Actor::system("test"), &user, "test")
        .await
        .unwrap()
        .1
}

async fn task_done(app: &TestApp, token: &str, pid: &str, task: &str) -> bool {
    let r = app
        .get(&format!("/api/v1/partners/{pid}/onboarding"), token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task_id"] == task)
        .unwrap_or_else(|| panic!("no task {task}: {}", r.body))["done_at"]
        .is_string()
}

async fn apply_review_approve_and_onboard_to_performing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let (cm, cm_token) = app.user("cm@vendor.test", Role::ChannelManager, None).await;
    publish_cloud(&app, &admin).await;
    let existing = app
        .partner(
            &admin,
            "kovalo",
            json!({"name": "Kovalo Cloud", "website": "https://kovalo.de"}),
        )
        .await;

    // Anyone may apply; nothing needs an account.
    let r = app
        .call(
            Method::POST,
            "/api/v1/applications",
            None,
            Some(application(
                "Kovalo Cloud GmbH",
                "https://www.kovalo.de/",
                "jana@kovalo.de",
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.body.as_object().unwrap().len(),
        2,
        "the applicant learns only id and status"
    );

    // The review: the fit per criterion and the look-alike partner.
    let r = app
        .get(&format!("/api/v1/applications/{id}"), &cm_token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["application"]["domain"], "kovalo.de");
    assert_eq!(
        r.body["score"], 0.8,
        "0.3 + 0.3 + 0.4 × ½: {}",
        r.body["fit"]
    );
    let caps = r.body["fit"][0]["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["attribute"] == "capabilities")
        .unwrap()
        .clone();
    assert_eq!(
        caps["explanation"],
        "has cloud-migration; lacks managed-services"
    );
    let dup = &r.body["duplicates"][0];
    assert_eq!(dup["kind"], "partner");
    assert_eq!(dup["id"], existing["id"]);
    assert!(dup["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x == "same registrable domain (kovalo.de)"));
    // The applicant got a confirmation e-mail (queued: no SMTP in this test).
    let queued: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE recipient = 'jana@kovalo.de' AND subject = 'We received your partner application'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(queued, 1);

    // Approval creates the partner in formation with the CM, the checklist
    // of the reseller plan, the enrollment, and invites the contact.
    let r = app
        .post(
            &format!("/api/v1/applications/{id}/decision"),
            &cm_token,
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["application"]["status"], "approved");
    let pid = r.body["partner_id"].as_str().unwrap().to_string();
    assert!(r.body["invite_url"].as_str().unwrap().contains("/invite/"));
    let p = app.get(&format!("/api/v1/partners/{pid}"), &admin).await;
    assert_eq!(p.body["stage"], "formation");
    assert_eq!(p.body["status"], "onboarding");
    assert_eq!(p.body["channel_manager_id"], cm.id.as_str());
    assert_eq!(p.body["slug"], "kovalo-cloud-gmbh");
    let r = app
        .post(
            &format!("/api/v1/applications/{id}/decision"),
            &cm_token,
            json!({"decision": "reject", "reason": "late"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "decided once");

    let boss = {
        // The invitation works once: set the password through the portal.
        let url = format!("{}/invite/", app.base);
        let link: String = sqlx::query_scalar(
            "SELECT link FROM outbox WHERE recipient = 'jana@kovalo.de' AND subject = 'Your invitation to Trellis'",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        let c = browser();
        let full = format!("{}{}", app.base, link);
        assert!(full.starts_with(&url));
        let page = c.get(&full).send().await.unwrap().text().await.unwrap();
        let csrf = csrf_of(&page);
        let done = c
            .post(&full)
            .form(&[
                ("password", "maple-harbor-lantern-42"),
                ("confirm", "maple-harbor-lantern-42"),
                ("csrf", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        let again = c.get(&full).send().await.unwrap().text().await.unwrap();
        assert!(again.contains("already been used"), "{again}");
        let tampered = get_text(&c, format!("{full}0")).await;
        assert!(tampered.contains("not valid"), "{tampered}");
        token_of(&app, "jana@kovalo.de").await
    };
    let ob = app
        .get(&format!("/api/v1/partners/{pid}/onboarding"), &boss)
        .await;
    assert_eq!(ob.body["total"], 5, "{}", ob.body);
    assert_eq!(ob.body["done"], 0);
    assert_eq!(ob.body["history"][0]["to_stage"], "formation");
    let progs = app
        .get(&format!("/api/v1/partners/{pid}/programs"), &boss)
        .await;
    assert_eq!(progs.body[0]["enrollment"]["segment"], "dach-midmarket");
    let enrolled: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'partner.enroll' AND partner_id = $1",
    )
    .bind(&pid)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(
        enrolled, 1,
        "the enrollment at approval is audited like any other"
    );

    // The agreement: the reseller version beats the one for every type.
    let all = app
        .post(
            "/api/v1/agreements",
            &admin,
            json!({"partner_type": "*", "title": "General terms", "body": "# Terms\n\nBe nice."}),
        )
        .await;
    assert_eq!(all.status, StatusCode::CREATED, "{}", all.text);
    let own = app
        .post("/api/v1/agreements", &admin, json!({"partner_type": "reseller", "title": "Reseller terms", "body": "# Reseller terms\n\nNet **30**."}))
        .await;
    let own_id = own.body["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &format!(
                "/api/v1/agreements/{}/accept",
                all.body["id"].as_str().unwrap()
            ),
            &boss,
            json!({}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "not the current one for resellers: {}",
        r.text
    );
    let r = app
        .post(
            &format!("/api/v1/agreements/{own_id}/accept"),
            &boss,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["sha256"], own.body["sha256"]);
    assert_eq!(r.body["ip"], "127.0.0.1");
    assert_eq!(r.body["user_email"], "jana@kovalo.de");
    assert!(task_done(&app, &boss, &pid, "accept-agreement").await);

    // Tasks complete themselves on their events.
    assert!(!task_done(&app, &boss, &pid, "add-sellers").await);
    let r = app
        .post(
            &format!("/api/v1/partners/{pid}/users"),
            &boss,
            json!({"email": "seller@kovalo.de", "name": "Sam Seller", "role": "partner-user"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert!(task_done(&app, &boss, &pid, "add-sellers").await);
    let r = app
        .patch(
            &format!("/api/v1/partners/{pid}"),
            &boss,
            json!({"website": "https://www.kovalo.de"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(task_done(&app, &boss, &pid, "complete-profile").await);
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/partners/{pid}/onboarding/sales-training"),
            Some(&cm_token),
            Some(json!({"done": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["stage"], "formation", "one task left");
    let close = crate::helpers::fixtures::days_ahead(30);
    let deal = app
        .post("/api/v1/deals", &boss, json!({"customer_name": "Brintex Systems GmbH", "customer_domain": "brintex.de", "country": "DE",
            "amount": "30000", "currency": "EUR", "expected_close": close, "products": "Aurora Cloud"}))
        .await;
    assert_eq!(deal.status, StatusCode::CREATED, "{}", deal.text);
    let ob = app
        .get(&format!("/api/v1/partners/{pid}/onboarding"), &boss)
        .await;
    assert_eq!(ob.body["percent"], 100);
    assert_eq!(
        ob.body["stage"], "enablement",
        "a completed checklist moves on: {}",
        ob.body
    );
    assert_eq!(ob.body["history"][0]["rule"], "onboarding plan completed");

    // A first deal won moves the partnership to performing.
    let deal_id = deal.body["deal"]["id"].as_str().unwrap();
    assert_eq!(
        deal.body["deal"]["status"], "approved",
        "the program auto-approves: {}",
        deal.text
    );
    let r = app
        .post(
            &format!("/api/v1/deals/{deal_id}/transitions"),
            &boss,
            json!({"action": "win", "reason": "signed"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let p = app.get(&format!("/api/v1/partners/{pid}"), &boss).await;
    assert_eq!(p.body["stage"], "performing");
    assert_eq!(p.body["status"], "active");

    // By hand: only along the lifecycle, with a reason, by the vendor side.
    let r = app
        .post(
            &format!("/api/v1/partners/{pid}/stage"),
            &boss,
            json!({"stage": "renewal", "reason": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            &format!("/api/v1/partners/{pid}/stage"),
            &cm_token,
            json!({"stage": "formation", "reason": "restart"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text.contains("possible: renewal, suspended, terminated"),
        "{}",
        r.text
    );
    let r = app
        .post(
            &format!("/api/v1/partners/{pid}/stage"),
            &cm_token,
            json!({"stage": "suspended", "reason": " "}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["reason"]);
    let r = app
        .post(
            &format!("/api/v1/partners/{pid}/stage"),
            &cm_token,
            json!({"stage": "suspended", "reason": "unpaid invoices"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["history"][0]["reason"], "unpaid invoices");
    let p = app.get(&format!("/api/v1/partners/{pid}"), &admin).await;
    assert_eq!(p.body["status"], "suspended");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'partner.stage' AND partner_id = $1",
    )
    .bind(&pid)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(audited, 4, "formation, enablement, performing, suspended");

    // Another partner sees nothing of this one.
    let other = app.partner(&admin, "other", json!({})).await;
    let (_, other_token) = app
        .user(
            "x@other.test",
            Role::PartnerAdmin,
            Some(other["id"].as_str().unwrap()),
        )
        .await;
    let r = app
        .get(&format!("/api/v1/partners/{pid}/onboarding"), &other_token)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/api/v1/applications", &other_token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn bad_applications_abuse_and_agreement_versions(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    publish_cloud(&app, &admin).await;
    let apply = |body: Value| {
        let app = &app;
        async move {
            app.call(Method::POST, "/api/v1/applications", None, Some(body))
                .await
        }
    };

    // Bad fields are named; nothing is stored.
    let mut bad = application(" ", "bob@gmail.com", "not-an-address");
    bad["country"] = json!("XX");
    bad["employees"] = json!("lots");
    bad["partner_type"] = json!("wholesaler");
    let r = apply(bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "company",
            "contact_email",
            "country",
            "domain",
            "employees",
            "partner_type"
        ]
    );
    let mut unknown = application("Zentrix", "zentrix.io", "a@zentrix.io");
    unknown["program"] = json!("no-such-program");
    assert_eq!(apply(unknown).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("applications").await, 0);

    // One open application per domain.
    let r = apply(application("Zentrix Labs", "zentrix.io", "a@zentrix.io")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = apply(application(
        "Zentrix Labs GmbH",
        "https://zentrix.io",
        "b@zentrix.io",
    ))
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("already being reviewed"), "{}", r.text);

    // A flood from one address: the sixth in an hour is refused.
    for i in 0..4 {
        let r = apply(application(
            &format!("Flood {i}"),
            &format!("flood{i}.com"),
            "f@flood.com",
        ))
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let r = apply(application("Flood 9", "flood9.com", "f@flood.com")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(app.count("applications").await, 5);

    // The public page: the honeypot stores nothing, yet thanks the robot.
    let c = browser();
    let page = c.get(format!("{}/apply", app.base)).send().await.unwrap();
    assert_eq!(
        page.status(),
        StatusCode::SEE_OTHER,
        "one program: straight to its form"
    );
    let form = get_text(&c, format!("{}/apply/aurora-cloud", app.base)).await;
    assert!(form.contains("Become a partner") && form.contains("cloud-migration"));
    let csrf = csrf_of(&form);
    let r = c
        .post(format!("{}/apply/aurora-cloud", app.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("website_url", "http://spam.example"),
            ("company", "Spam"),
            ("domain", "spam.io"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Thank you"));
    assert_eq!(
        app.count("applications").await,
        5,
        "the honeypot stored nothing"
    );
    // The page keeps counting the same address too.
    let r = c
        .post(format!("{}/apply/aurora-cloud", app.base))
        .form(&[("csrf", csrf.as_str()), ("company", "Real One")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    // Decisions need a reason; rejection tells the applicant why.
    let list = app.get("/api/v1/applications", &admin).await;
    let id = list.body[0]["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &format!("/api/v1/applications/{id}/decision"),
            &admin,
            json!({"decision": "reject"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["reason"]);
    let r = app
        .post(
            &format!("/api/v1/applications/{id}/decision"),
            &admin,
            json!({"decision": "more-info", "reason": "Which clouds do you certify on?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(
            &format!("/api/v1/applications/{id}/decision"),
            &admin,
            json!({"decision": "reject", "reason": "Outside our target market"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mails: Vec<String> =
        sqlx::query_scalar("SELECT body FROM outbox WHERE recipient = 'a@zentrix.io' ORDER BY at")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(mails.len(), 3, "confirmation, question, rejection");
    assert!(mails[1].contains("Which clouds"));
    assert!(mails[2].contains("Outside our target market"));

    // A new agreement version asks for a new acceptance.
    let p = app
        .partner(&admin, "delta", json!({"partner_type": "reseller"}))
        .await;
    let pid = p["id"].as_str().unwrap();
    let (_, boss) = app
        .user("boss@delta.test", Role::PartnerAdmin, Some(pid))
        .await;
    let (_, seller) = app.user("s@delta.test", Role::PartnerUser, Some(pid)).await;
    let v1 = app
        .post(
            "/api/v1/agreements",
            &admin,
            json!({"partner_type": "reseller", "title": "Terms", "body": "v1"}),
        )
        .await;
    let v1_id = v1.body["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &format!("/api/v1/agreements/{v1_id}/accept"),
            &seller,
            json!({}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only the partner's admin accepts"
    );
    let r = app
        .post(
            &format!("/api/v1/agreements/{v1_id}/accept"),
            &boss,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = app
        .post(
            &format!("/api/v1/agreements/{v1_id}/accept"),
            &boss,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "once");
    let v2 = app
        .post(
            "/api/v1/agreements",
            &admin,
            json!({"partner_type": "reseller", "title": "Terms", "body": "v2"}),
        )
        .await;
    assert_eq!(v2.body["version"], 2);
    let told: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE recipient = 'boss@delta.test' AND subject LIKE 'Please review and accept%'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(told, 4, "each version, in the portal and by e-mail");
    let r = app
        .post(
            &format!("/api/v1/agreements/{v1_id}/accept"),
            &boss,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text.contains("no longer current"), "{}", r.text);
    let r = app
        .post(
            &format!(
                "/api/v1/agreements/{}/accept",
                v2.body["id"].as_str().unwrap()
            ),
            &boss,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = app
        .post(
            "/api/v1/agreements",
            &boss,
            json!({"partner_type": "reseller", "title": "Mine", "body": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            "/api/v1/agreements",
            &admin,
            json!({"partner_type": "Bad Type!", "title": "", "body": " "}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut f = r.fields();
    f.sort();
    assert_eq!(f, vec!["body", "partner_type", "title"]);
}
