//! Recruiting in real Chromium, with e-mail over real SMTP: a company
//! applies on the public page, the channel manager approves it, the
//! invitation arrives by e-mail, and the new partner admin sets a password,
//! accepts the agreement and sees the onboarding progress.

use crate::helpers::chromium::shot_dir;
use crate::helpers::chromium::sign_in;
use crate::helpers::smtp::{link, SmtpServer};
use crate::helpers::webdriver::Browser;
use crate::helpers::{Backend, TestApp};
use reqwest::Method;
use serde_json::json;
use trellis_core::org::Role;

crate::on_both_backends!(apply_approve_invite_accept_and_onboard);

const CLOUD: &str = include_str!("../../../../examples/programs/cloud-reseller.toml");

async fn apply_approve_invite_accept_and_onboard(b: Backend) {
    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    let app = TestApp::spawn_with(b, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.mail_from = "Aurora Partners <partners@aurora.test>".into();
    })
    .await;
    let admin = app.admin().await;
    app.user("elena@vendor.test", Role::ChannelManager, None)
        .await;
    app.upload_program(&admin, CLOUD).await;
    let r = app
        .call(
            Method::POST,
            "/api/v1/programs/aurora-cloud/versions/1/publish",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.text);
    let r = app
        .post("/api/v1/agreements", &admin, json!({"partner_type": "reseller", "title": "Aurora reseller agreement",
            "body": "# Aurora reseller agreement\n\n## Payment\n\nMargins are paid **30 days** after the period ends.\n"}))
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.text);

    let dir = shot_dir(b);
    let br = Browser::start().await;
    let base = &app.base;

    // A company applies on the public page: no account needed.
    br.goto(&format!("{base}/apply")).await;
    br.find("#f-company")
        .await
        .send_keys("Kovalo Cloud GmbH")
        .await;
    br.find("#f-domain")
        .await
        .send_keys("kovalo-cloud.de")
        .await;
    br.find("#f-country").await.select_by_value("DE").await;
    br.find("#f-employees").await.send_keys("120").await;
    br.find("#f-type").await.select_by_value("reseller").await;
    br.find("input[name=segments][value=dach-midmarket]")
        .await
        .click()
        .await;
    br.find("input[name=capabilities][value=cloud-migration]")
        .await
        .click()
        .await;
    br.find("#f-cname").await.send_keys("Jana Vogel").await;
    br.find("#f-cemail")
        .await
        .send_keys("jana@kovalo-cloud.de")
        .await;
    br.screenshot(&dir.join("30-apply.png")).await;
    br.find("#apply").await.click().await;
    let text = br.find("main").await.text().await;
    assert!(
        text.contains("We received the application of Kovalo Cloud GmbH"),
        "{text}"
    );
    smtp.wait_for(
        "jana@kovalo-cloud.de",
        "We received your partner application",
    )
    .await;

    // The channel manager reviews it: the fit, criterion by criterion.
    sign_in(&br, base, "elena@vendor.test").await;
    br.goto(&format!("{base}/applications")).await;
    br.screenshot(&dir.join("31-applications.png")).await;
    br.find("table a[href^='/applications/']")
        .await
        .click()
        .await;
    br.find("#approve").await;
    let text = br.page_text().await;
    assert!(text.contains("80%"), "{text}");
    assert!(
        text.contains("has cloud-migration; lacks managed-services"),
        "{text}"
    );
    br.screenshot(&dir.join("32-application-fit.png")).await;
    br.find("#approve").await.click().await;
    assert_eq!(br.find("#stage").await.text().await, "formation");
    br.find(".who button[type=submit]").await.click().await;
    br.find("#f-email").await;

    // The invitation arrives over SMTP; the admin sets a password.
    let mail = smtp
        .wait_for("jana@kovalo-cloud.de", "Your invitation")
        .await;
    let url = link(&mail, &format!("{base}/invite/"));
    br.goto(&url).await;
    br.find("#f-password")
        .await
        .send_keys("maple-harbor-lantern-42")
        .await;
    br.find("#f-confirm")
        .await
        .send_keys("maple-harbor-lantern-42")
        .await;
    br.find("button[type=submit]").await.click().await;

    // Signed in; the portal's menu leads to the onboarding.
    br.find("nav a[href$='/onboarding']").await.click().await;
    br.find("#progress").await;
    assert_eq!(br.find("#progress").await.text().await, "0 of 5 done");
    br.screenshot(&dir.join("33-onboarding-start.png")).await;
    br.find("#agreement-link").await.click().await;
    br.find("#accept").await;
    let text = br.page_text().await;
    assert!(text.contains("30 days"), "{text}");
    br.screenshot(&dir.join("34-agreement.png")).await;
    br.find("#accept").await.click().await;
    br.find(".flash").await;
    assert_eq!(br.find("#progress").await.text().await, "1 of 5 done");
    let status = br.find("#agreement-status").await.text().await;
    assert!(
        status.contains("Accepted by jana@kovalo-cloud.de"),
        "{status}"
    );
    assert!(br.exists("li.done[data-task=accept-agreement]").await);
    br.screenshot(&dir.join("35-onboarding-progress.png")).await;
}
