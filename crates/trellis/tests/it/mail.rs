//! E-mail over real SMTP: a server started by the test (Python's aiosmtpd,
//! Debian package `python3-aiosmtpd`) receives what Trellis sends, into a
//! Maildir the test reads. Without SMTP, or when the server is down, the
//! messages wait in the outbox that vendor admins read.

use crate::helpers::portal::{browser, sign_in};
use crate::helpers::smtp::{free_port, header, link, SmtpServer};
use crate::helpers::{Backend, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use trellis_core::org::Role;

crate::on_both_backends!(
    invitations_and_deal_news_arrive_over_smtp,
    unreachable_smtp_is_retried_and_shown_in_the_outbox,
);

async fn invitations_and_deal_news_arrive_over_smtp(b: Backend) {
    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    let app = TestApp::spawn_with(b, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.mail_from = "Acme Partner Program <prm@acme.test>".into();
    })
    .await;
    let admin = app.admin().await;

    // An invitation: the link arrives by e-mail and sets the password once.
    let r = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"email": "new.cm@vendor.test", "name": "New CM", "role": "channel-manager"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let mail = smtp.wait_for("new.cm@vendor.test", "Your invitation").await;
    assert_eq!(
        header(&mail, "From"),
        Some("\"Acme Partner Program\" <prm@acme.test>")
    );
    assert!(mail.contains("admin@vendor.test invited you"), "{mail}");
    let url = link(&mail, &format!("{}/invite/", app.base));
    assert_eq!(url, r.body["invite_url"].as_str().unwrap());
    let c = browser();
    let page = c.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    // The outbox records the delivery and forgets the secret link (the
    // server may have the message a moment before the outbox says so).
    let mut row: (Option<String>, Option<String>) = (None, None);
    for _ in 0..100 {
        row = sqlx::query_as(
            "SELECT sent_at, link FROM outbox WHERE channel = 'email' AND recipient = 'new.cm@vendor.test'",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        if row.0.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (sent, link_kept) = row;
    assert!(sent.is_some(), "marked sent within 5 s");
    assert_eq!(link_kept, None, "invitation links are erased once sent");

    // Deal news: the channel manager hears of a new registration by e-mail.
    let (cm, _) = app.user("cm@vendor.test", Role::ChannelManager, None).await;
    let p = app
        .partner(&admin, "alpha", json!({"channel_manager_id": cm.id}))
        .await;
    let pid = p["id"].as_str().unwrap();
    let (_, seller) = app
        .user("seller@alpha.test", Role::PartnerUser, Some(pid))
        .await;
    let close = crate::helpers::fixtures::days_ahead(30);
    let r = app
        .post(
            "/api/v1/deals",
            &seller,
            json!({"customer_name": "Kovalo Analytics GmbH", "customer_domain": "kovalo.de", "country": "DE",
                   "city": "Berlin", "amount": "12000", "currency": "EUR", "expected_close": close, "products": "Aurora"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let deal_id = r.body["deal"]["id"].as_str().unwrap();
    let mail = smtp.wait_for("cm@vendor.test", "Kovalo").await;
    assert!(
        mail.contains(&format!("{}/deals/{deal_id}", app.base)),
        "{mail}"
    );

    // Vendor admins read the outbox in the console; others may not.
    let c = browser();
    sign_in(&c, &app.base, "admin@vendor.test", PASSWORD).await;
    let page = c
        .get(format!("{}/admin/outbox?status=sent", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Your invitation to Trellis"), "{html}");
    assert!(html.contains("E-mail is delivered over SMTP ("), "{html}");
    assert!(
        !html.contains(url.as_str()),
        "the invitation link is hidden"
    );
    let c = browser();
    sign_in(&c, &app.base, "cm@vendor.test", PASSWORD).await;
    let page = c
        .get(format!("{}/admin/outbox", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
}

async fn unreachable_smtp_is_retried_and_shown_in_the_outbox(b: Backend) {
    let port = free_port(); // nothing listens there
    let app = TestApp::spawn_with(b, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    })
    .await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"email": "later@vendor.test", "name": "Later", "role": "vendor-admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let mut row = (0i64, None::<String>, None::<String>, None::<String>);
    for _ in 0..100 {
        row = sqlx::query_as(
            "SELECT attempts, last_error, next_attempt_at, failed_at FROM outbox WHERE recipient = 'later@vendor.test'",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        if row.0 > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (attempts, error, next, failed) = row;
    assert_eq!(attempts, 1, "one attempt, then a pause");
    assert!(error.is_some(), "the error is kept");
    assert!(next.is_some_and(|n| n > trellis_server::db::now()));
    assert_eq!(failed, None, "a refused connection is retried");

    let c = browser();
    sign_in(&c, &app.base, "admin@vendor.test", PASSWORD).await;
    let html = c
        .get(format!("{}/admin/outbox?status=queued", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("later@vendor.test"), "{html}");
    assert!(html.contains("1 attempt"), "{html}");
    assert!(html.contains("next try"), "{html}");
}
