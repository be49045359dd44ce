//! The portal over plain HTTP: sign-in with CSRF and throttling, sessions in
//! the database (shared by instances, expiring), CSRF on every form,
//! invitations, and isolation of partner pages.

use crate::helpers::portal::{browser, csrf_of, get_text, sign_in};
use crate::helpers::{Backend, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;
use trellis_core::org::Role;

crate::on_both_backends!(
    sign_in_needs_csrf_and_sessions_are_shared_and_expire,
    sign_in_is_throttled,
    forms_need_the_session_csrf_token_and_partners_stay_isolated,
    invitation_links_are_single_use_and_checked,
    cookies_are_secure_behind_https,
);

async fn sign_in_needs_csrf_and_sessions_are_shared_and_expire(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user("admin@vendor.test", Role::VendorAdmin, None).await;
    let c = browser();
    // Not signed in: redirected to sign-in, keeping the target.
    let r = c
        .get(format!("{}/partners?q=x", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=%2Fpartners%3Fq%3Dx");

    // A forged sign-in form (wrong token) is refused and creates no session.
    c.get(format!("{}/login", app.base)).send().await.unwrap();
    let r = c
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "admin@vendor.test"),
            ("password", PASSWORD),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("sessions").await, 0);

    let r = sign_in(&c, &app.base, "admin@vendor.test", "wrong-password-123").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The e-mail or password is not right."));

    let r = sign_in(&c, &app.base, "ADMIN@vendor.test", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set_cookie: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = set_cookie
        .iter()
        .find(|c| c.starts_with("trellis_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && !session.contains("Secure"),
        "{session}"
    );
    let token = session
        .trim_start_matches("trellis_session=")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(
        stored[0], token,
        "only a hash of the session token is stored"
    );
    let page = c
        .get(format!("{}/partners", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Vendor console"));

    // Sessions live in the database: a second instance accepts the same cookie.
    let (second, _db2) = app.second_instance().await;
    let r = app
        .http
        .get(format!("{second}/partners"))
        .header("cookie", format!("trellis_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "second instance shares sessions"
    );

    // An idle session expires.
    sqlx::query("UPDATE sessions SET last_seen_at = '2000-01-01T00:00:00.000000Z'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let r = c
        .get(format!("{}/partners", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .ends_with("expired=1"));
    let login = get_text(&c, format!("{}/login?expired=1", app.base)).await;
    assert!(login.contains("Your session has expired"));
    assert_eq!(app.count("sessions").await, 0, "expired session removed");

    // Sign out removes the session.
    sign_in(&c, &app.base, "admin@vendor.test", PASSWORD).await;
    let page = get_text(&c, format!("{}/partners", app.base)).await;
    let r = c
        .post(format!("{}/logout", app.base))
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("sessions").await, 0);
}

async fn sign_in_is_throttled(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.user("admin@vendor.test", Role::VendorAdmin, None).await;
    let c = browser();
    for i in 0..5 {
        let r = sign_in(
            &c,
            &app.base,
            "admin@vendor.test",
            &format!("guess-number-{i}"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = sign_in(&c, &app.base, "admin@vendor.test", PASSWORD).await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right password"
    );
    assert!(r.headers().contains_key("retry-after"));
    assert!(r.text().await.unwrap().contains("Too many failed sign-ins"));
    assert_eq!(app.count("sessions").await, 0);
    // Another account from elsewhere is not affected.
    app.user("cm@vendor.test", Role::ChannelManager, None).await;
    let r = sign_in(&browser(), &app.base, "cm@vendor.test", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn forms_need_the_session_csrf_token_and_partners_stay_isolated(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let a = app
        .partner(&admin, "alpha", json!({"name": "Alpha Org"}))
        .await;
    let bp = app
        .partner(&admin, "bravo", json!({"name": "Bravo Org"}))
        .await;
    app.user(
        "pa@bravo.test",
        Role::PartnerAdmin,
        Some(bp["id"].as_str().unwrap()),
    )
    .await;

    let c = browser();
    sign_in(&c, &app.base, "admin@vendor.test", crate::helpers::PASSWORD).await;
    let before = app.count("partners").await;
    let r = c
        .post(format!("{}/partners", app.base))
        .form(&[
            ("csrf", "wrong"),
            ("name", "Forged"),
            ("partner_type", "reseller"),
            ("region", "dach"),
            ("country", "DE"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("partners").await, before, "nothing written");
    // Without any token at all, too.
    let r = c
        .post(format!("{}/partners", app.base))
        .form(&[("name", "Forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // A form with errors is shown again with the fields named, nothing written.
    let form = get_text(&c, format!("{}/partners/new", app.base)).await;
    let csrf = csrf_of(&form);
    let r = c
        .post(format!("{}/partners", app.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Fine Name"),
            ("partner_type", "Not Valid"),
            ("region", "dach"),
            ("country", "XX"),
            ("slug", "alpha"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("partner_type must be a short lower-case label"),
        "names the field"
    );
    assert!(html.contains("country must be an ISO 3166-1 alpha-2 country code"));
    assert!(html.contains("value=\"Fine Name\""), "keeps what was typed");
    assert_eq!(app.count("partners").await, before);

    // A partner admin of Bravo gets "not found" for Alpha's page and forms.
    let pb = browser();
    let r = sign_in(&pb, &app.base, "pa@bravo.test", crate::helpers::PASSWORD).await;
    assert_eq!(r.headers()["location"], "/");
    let own = pb.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(
        own.headers()["location"].to_str().unwrap(),
        format!("/partners/{}", bp["id"].as_str().unwrap())
    );
    let a_page = pb
        .get(format!(
            "{}/partners/{}",
            app.base,
            a["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(a_page.status(), StatusCode::NOT_FOUND);
    assert!(!a_page.text().await.unwrap().contains("Alpha Org"));
    let list = get_text(&pb, format!("{}/partners", app.base)).await;
    assert!(list.contains("Bravo Org") && !list.contains("Alpha Org"));
    let own_page = pb
        .get(format!(
            "{}/partners/{}",
            app.base,
            bp["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&own_page);
    let r = pb
        .post(format!(
            "{}/partners/{}",
            app.base,
            a["id"].as_str().unwrap()
        ))
        .form(&[("csrf", csrf.as_str()), ("name", "Hijacked")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = pb.get(format!("{}/audit", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(
            &format!("/api/v1/partners/{}", a["id"].as_str().unwrap()),
            &admin
        )
        .await
        .body["name"],
        "Alpha Org"
    );
}

async fn invitation_links_are_single_use_and_checked(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let a = app.partner(&admin, "alpha", json!({})).await;
    let id = a["id"].as_str().unwrap();
    let invite = |email: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let r = app
                .post(
                    &format!("/api/v1/partners/{id}/users"),
                    &admin,
                    json!({"email": email, "name": "Invitee", "role": "partner-admin"}),
                )
                .await;
            r.body["invite_url"].as_str().unwrap().to_string()
        }
    };
    let url = invite("new@alpha.test").await;
    let c = browser();
    let page = c.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("new@alpha.test"));
    let csrf = csrf_of(&html);

    // Weak or mismatched passwords are refused and change nothing.
    let r = c
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", "short"),
            ("confirm", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("at least 12 characters"));
    let r = c
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", "violet-harbour-42"),
            ("confirm", "violet-harbour-43"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let status: String =
        sqlx::query_scalar("SELECT status FROM users WHERE email = 'new@alpha.test'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(status, "invited");

    let r = c
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", "violet-harbour-42"),
            ("confirm", "violet-harbour-42"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("/partners/{id}?msg=welcome")
    );
    let home = get_text(&c, format!("{}/partners/{id}?msg=welcome", app.base)).await;
    assert!(home.contains("Welcome to Trellis"));

    // Reuse, tampering and expiry.
    let again = browser();
    let r = again.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    assert!(r.text().await.unwrap().contains("already been used"));
    let tampered = format!("{}0", &url[..url.len() - 1]);
    let tampered = if tampered == url {
        format!("{}1", &url[..url.len() - 1])
    } else {
        tampered
    };
    assert_eq!(
        again.get(&tampered).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let url2 = invite("late@alpha.test").await;
    sqlx::query(
        "UPDATE invitations SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE used_at IS NULL",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
    let r = again.get(&url2).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    assert!(r.text().await.unwrap().contains("expired"));
    // Posting to the expired link does not activate the user either.
    let html = get_text(&again, format!("{}/login", app.base)).await;
    let csrf = csrf_of(&html);
    let r = again
        .post(&url2)
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", "violet-harbour-42"),
            ("confirm", "violet-harbour-42"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    let status: String =
        sqlx::query_scalar("SELECT status FROM users WHERE email = 'late@alpha.test'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(status, "invited");
}

async fn cookies_are_secure_behind_https(b: Backend) {
    let app =
        TestApp::spawn_with(b, |c| c.public_url = Some("https://prm.example.com".into())).await;
    app.user("admin@vendor.test", Role::VendorAdmin, None).await;
    // A cookie store would not send Secure cookies back over plain http, so
    // the cookies travel by hand here.
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let login = c.get(format!("{}/login", app.base)).send().await.unwrap();
    let pre = login.headers()["set-cookie"].to_str().unwrap().to_string();
    let attrs = |cookie: &str| -> Vec<String> {
        cookie
            .split(';')
            .skip(1)
            .map(|a| a.trim().to_string())
            .collect()
    };
    for want in ["Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(attrs(&pre).iter().any(|a| a == want), "{want}: {pre}");
    }
    let pre_pair = pre.split(';').next().unwrap().to_string();
    assert!(pre_pair.starts_with("trellis_csrf="), "{pre}");
    let csrf = csrf_of(&login.text().await.unwrap());

    // Signing in sets the session cookie: Secure, HttpOnly, SameSite=Lax too.
    let r = c
        .post(format!("{}/login", app.base))
        .header("cookie", &pre_pair)
        .form(&[
            ("email", "admin@vendor.test"),
            ("password", PASSWORD),
            ("csrf", csrf.as_str()),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("trellis_session="))
        .expect("session cookie");
    for want in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            attrs(&session).iter().any(|a| a == want),
            "{want}: {session}"
        );
    }
    // The session it names is a real one.
    let pair = session.split(';').next().unwrap();
    let page = c
        .get(format!("{}/partners", app.base))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}
