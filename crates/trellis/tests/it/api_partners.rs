//! Partners through the API: create, read, update, list with filters,
//! search and cursor pagination; who may do what.

use crate::helpers::portal::{browser, csrf_of, get_text, sign_in};
use crate::helpers::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use trellis_core::org::Role;

crate::on_both_backends!(
    vendor_admin_creates_reads_and_updates_a_partner,
    list_filters_search_and_paginates,
    channel_manager_changes_only_assigned_partners,
    partner_users_see_and_change_only_their_own_organisation,
    invite_creates_an_invited_user_with_a_single_use_link,
);

/// The partner as a vendor admin reads it now.
async fn read_partner(app: &TestApp, admin: &str, id: &str) -> Value {
    let r = app.get(&format!("/api/v1/partners/{id}"), admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn vendor_admin_creates_reads_and_updates_a_partner(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let (cm, _) = app.user("cm@vendor.test", Role::ChannelManager, None).await;
    let r = app
        .post(
            "/api/v1/partners",
            &admin,
            json!({"name": "Müller & Söhne GmbH", "partner_type": "reseller", "region": "dach", "country": "de",
                   "website": "https://mueller.example", "channel_manager_id": cm.id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let p = r.body;
    assert_eq!(p["slug"], "muller-sohne-gmbh", "slug derived from the name");
    assert_eq!(p["country"], "DE", "country normalised");
    assert_eq!(p["status"], "prospect", "default status");
    assert_eq!(p["channel_manager_name"], "cm");
    let id = p["id"].as_str().unwrap();

    let got = app.get(&format!("/api/v1/partners/{id}"), &admin).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, p);

    let up = app
        .patch(
            &format!("/api/v1/partners/{id}"),
            &admin,
            json!({"status": "active", "website": null}),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text);
    assert_eq!(up.body["status"], "active");
    assert_eq!(
        up.body["website"],
        serde_json::Value::Null,
        "null clears the website"
    );
    assert_eq!(
        up.body["name"], "Müller & Söhne GmbH",
        "absent fields unchanged"
    );

    let me = app.get("/api/v1/me", &admin).await;
    assert_eq!(me.body["user"]["role"], "vendor-admin");
    assert!(me.body["partner"].is_null());
}

async fn list_filters_search_and_paginates(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let names = [
        "Zeta Systems",
        "alpha Networks",
        "Beta & Co",
        "Gamma 100% Cloud",
        "delta_data",
        "Epsilon",
        "Eta IT",
    ];
    for (i, n) in names.iter().enumerate() {
        let (ty, region, status) = if i % 2 == 0 {
            ("msp", "apac", "active")
        } else {
            ("reseller", "dach", "prospect")
        };
        app.partner(
            &admin,
            &format!("p{i}"),
            json!({"name": n, "partner_type": ty, "region": region, "status": status}),
        )
        .await;
    }
    // Pagination walks every partner exactly once, in case-insensitive name order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/partners?limit=3&cursor={c}"),
            None => "/api/v1/partners?limit=3".to_string(),
        };
        let r = app.get(&path, &admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        pages += 1;
        for p in r.body["items"].as_array().unwrap() {
            seen.push(p["name"].as_str().unwrap().to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    expected.sort_by_key(|s| s.to_lowercase());
    assert_eq!(seen, expected);

    let count = |r: &crate::helpers::Resp| r.body["items"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(
        count(&app.get("/api/v1/partners?type=msp", &admin).await),
        4
    );
    assert_eq!(
        count(
            &app.get("/api/v1/partners?region=dach&status=prospect", &admin)
                .await
        ),
        3
    );
    let s = app.get("/api/v1/partners?q=ALPHA", &admin).await;
    assert_eq!(count(&s), 1, "search is case-insensitive");
    assert_eq!(s.body["items"][0]["name"], "alpha Networks");
    // LIKE wildcards in the query are literal characters.
    assert_eq!(
        count(&app.get("/api/v1/partners?q=100%25", &admin).await),
        1
    );
    assert_eq!(
        count(&app.get("/api/v1/partners?q=a_d", &admin).await),
        1,
        "underscore is literal"
    );
    assert_eq!(
        count(&app.get("/api/v1/partners?q=%25", &admin).await),
        1,
        "percent is literal"
    );

    let bad = app.get("/api/v1/partners?status=sleeping", &admin).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.fields(), vec!["status"]);
    let bad = app.get("/api/v1/partners?cursor=garbage", &admin).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.fields(), vec!["cursor"]);
    let bad = app.get("/api/v1/partners?limit=many", &admin).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.fields(), vec!["limit"]);
    let bad = app.get("/api/v1/partners?colour=red", &admin).await;
    assert_eq!(bad.fields(), vec!["colour"]);
}

async fn channel_manager_changes_only_assigned_partners(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let (cm, cm_token) = app.user("cm@vendor.test", Role::ChannelManager, None).await;
    let (other_cm, _) = app
        .user("cm2@vendor.test", Role::ChannelManager, None)
        .await;
    let mine = app
        .partner(&admin, "mine", json!({"channel_manager_id": cm.id}))
        .await;
    let theirs = app
        .partner(&admin, "theirs", json!({"channel_manager_id": other_cm.id}))
        .await;

    // Reads everything.
    let list = app.get("/api/v1/partners", &cm_token).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.get(
            &format!("/api/v1/partners/{}", theirs["id"].as_str().unwrap()),
            &cm_token
        )
        .await
        .status,
        StatusCode::OK
    );
    // Changes only its own.
    let r = app
        .patch(
            &format!("/api/v1/partners/{}", mine["id"].as_str().unwrap()),
            &cm_token,
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let theirs_id = theirs["id"].as_str().unwrap();
    let before = read_partner(&app, &admin, theirs_id).await;
    let r = app
        .patch(
            &format!("/api/v1/partners/{theirs_id}"),
            &cm_token,
            json!({"status": "active", "name": "Mine Now"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.problem_code(), "forbidden");
    assert_eq!(
        read_partner(&app, &admin, theirs_id).await,
        before,
        "a refused change changes nothing"
    );
    // Creating assigns the creator; assigning someone else is refused.
    let r = app
        .post(
            "/api/v1/partners",
            &cm_token,
            json!({"name": "New One", "partner_type": "msp", "region": "apac", "country": "JP"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["channel_manager_id"], cm.id.as_str());
    let r = app
        .post("/api/v1/partners", &cm_token, json!({"name": "Other", "partner_type": "msp", "region": "apac", "country": "JP", "channel_manager_id": other_cm.id}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["channel_manager_id"]);
    // Channel managers cannot read the audit trail or list all users.
    assert_eq!(
        app.get("/api/v1/audit", &cm_token).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/api/v1/users", &cm_token).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn partner_users_see_and_change_only_their_own_organisation(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let a = app.partner(&admin, "org-a", json!({})).await;
    let bb = app.partner(&admin, "org-b", json!({})).await;
    let a_id = a["id"].as_str().unwrap();
    let b_id = bb["id"].as_str().unwrap();
    let (_, pa) = app
        .user("admin@a.test", Role::PartnerAdmin, Some(a_id))
        .await;
    let (_, pu) = app.user("user@a.test", Role::PartnerUser, Some(a_id)).await;

    let list = app.get("/api/v1/partners", &pu).await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], a_id);
    assert_eq!(
        app.get(&format!("/api/v1/partners/{b_id}"), &pu)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let b_before = read_partner(&app, &admin, b_id).await;
    let r = app
        .patch(
            &format!("/api/v1/partners/{b_id}"),
            &pa,
            json!({"name": "Taken over"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another partner's object does not exist for them"
    );
    assert_eq!(
        read_partner(&app, &admin, b_id).await,
        b_before,
        "and it stays as it was"
    );
    let r = app
        .get(&format!("/api/v1/partners/{b_id}/users"), &pa)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A partner admin edits the profile of their own organisation, not its commercial fields.
    let r = app
        .patch(
            &format!("/api/v1/partners/{a_id}"),
            &pa,
            json!({"name": "Org A Renamed", "website": "https://a.example"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "Org A Renamed");
    let a_before = read_partner(&app, &admin, a_id).await;
    let r = app
        .patch(
            &format!("/api/v1/partners/{a_id}"),
            &pa,
            json!({"status": "active", "name": "Org A Active"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .patch(
            &format!("/api/v1/partners/{a_id}"),
            &pu,
            json!({"name": "Nope"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "partner users do not edit");
    assert_eq!(
        read_partner(&app, &admin, a_id).await,
        a_before,
        "refused changes change nothing"
    );
    let r = app
        .post(
            "/api/v1/partners",
            &pa,
            json!({"name": "Mine", "partner_type": "msp", "region": "x1", "country": "DE"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let me = app.get("/api/v1/me", &pu).await;
    assert_eq!(me.body["partner"]["id"], a_id);
}

/// Sets a password through an invitation link as a fresh browser does (the
/// pre-session CSRF token from the sign-in page); the status of the POST.
async fn accept_invitation(app: &TestApp, url: &str, password: &str) -> StatusCode {
    let c = browser();
    let csrf = csrf_of(&get_text(&c, format!("{}/login", app.base)).await);
    c.post(url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", password),
            ("confirm", password),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

async fn invite_creates_an_invited_user_with_a_single_use_link(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let a = app.partner(&admin, "org-a", json!({})).await;
    let a_id = a["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/v1/partners/{a_id}/users"),
            &admin,
            json!({"email": "New.Admin@A.test", "name": "New Admin", "role": "partner-admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["user"]["status"], "invited");
    assert_eq!(r.body["user"]["email"], "new.admin@a.test");
    let url = r.body["invite_url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{}/invite/", app.base)), "{url}");
    let invitee = r.body["user"]["id"].as_str().unwrap().to_string();

    // The link sets a password once…
    let first = accept_invitation(&app, &url, "violet-harbour-42").await;
    assert_eq!(first, StatusCode::SEE_OTHER, "the first use signs in");
    let user = app
        .get(&format!("/api/v1/partners/{a_id}/users"), &admin)
        .await;
    let user = user.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == invitee.as_str())
        .cloned()
        .unwrap();
    assert_eq!(user["status"], "active", "{user}");
    // …and never again: a second use is refused and does not change the password.
    let second = accept_invitation(&app, &url, "another-harbour-77").await;
    assert_eq!(second, StatusCode::GONE, "the second use is refused");
    let r = sign_in(
        &browser(),
        &app.base,
        "new.admin@a.test",
        "another-harbour-77",
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = sign_in(
        &browser(),
        &app.base,
        "new.admin@a.test",
        "violet-harbour-42",
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // The invited partner admin invites a colleague, but not a vendor role.
    let (_, pa) = app.user("pa@a.test", Role::PartnerAdmin, Some(a_id)).await;
    let r = app
        .post(
            &format!("/api/v1/partners/{a_id}/users"),
            &pa,
            json!({"email": "colleague@a.test", "name": "Colleague", "role": "partner-user"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert!(r.body.get("invite_url").is_none(), "{}", r.text);
    let r = app
        .post(
            &format!("/api/v1/partners/{a_id}/users"),
            &pa,
            json!({"email": "boss@a.test", "name": "Boss", "role": "vendor-admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["role"]);
    // A partner admin cannot tell an address in use from a new one: the
    // same 202, and the owner of the address is told by e-mail instead.
    let path = format!("/api/v1/partners/{a_id}/users");
    let mut answers = Vec::new();
    for email in ["colleague@a.test", "fresh@a.test"] {
        let body = json!({"email": email, "name": "Again", "role": "partner-user"});
        answers.push(app.post(&path, &pa, body).await);
    }
    let (taken, fresh) = (&answers[0], &answers[1]);
    assert_eq!(taken.status, StatusCode::ACCEPTED, "{}", taken.text);
    assert_eq!(fresh.status, StatusCode::ACCEPTED, "{}", fresh.text);
    assert_eq!(
        taken.body["message"]
            .as_str()
            .unwrap()
            .replace("colleague", "X"),
        fresh.body["message"]
            .as_str()
            .unwrap()
            .replace("fresh", "X")
    );
    let mail = app.outbox_to("colleague@a.test").await;
    assert_eq!(mail.len(), 2, "{mail:?}");
    assert!(
        mail.iter().any(|m| m.contains("already has an account")),
        "{mail:?}"
    );
    // Vendor staff still learn of the conflict, naming the field.
    let r = app
        .post(
            &format!("/api/v1/partners/{a_id}/users"),
            &admin,
            json!({"email": "colleague@a.test", "name": "Again", "role": "partner-user"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.fields(), vec!["email"]);
    let users = app
        .get(&format!("/api/v1/partners/{a_id}/users"), &pa)
        .await;
    assert_eq!(users.body["items"].as_array().unwrap().len(), 4);
    // Vendor admins invite vendor users.
    let r = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"email": "cm9@vendor.test", "name": "CM", "role": "channel-manager"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["user"]["partner_id"], serde_json::Value::Null);
}
