//! Registering a deal in real Chromium: a partner admin registers a deal on
//! one page (the required fields the page shows empty, read from the page,
//! are what a person has to do), sees the conflict warning, and the channel manager
//! approves it from the queue. Screenshots go beside the other browser tests'.

use crate::helpers::chromium::{shot_dir, sign_in};
use crate::helpers::webdriver::Browser;
use crate::helpers::{Backend, TestApp};
use serde_json::{json, Value};
use trellis_core::org::Role;

crate::on_both_backends!(partner_registers_sees_conflict_and_vendor_approves);

async fn partner_registers_sees_conflict_and_vendor_approves(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let (cm, _) = app
        .user("elena@vendor.test", Role::ChannelManager, None)
        .await;
    let p = app
        .partner(
            &admin,
            "alpha",
            json!({"name": "Alpha Systems", "channel_manager_id": cm.id}),
        )
        .await;
    app.user(
        "boss@alpha.test",
        Role::PartnerAdmin,
        Some(p["id"].as_str().unwrap()),
    )
    .await;
    // The vendor already sells to this customer (not a house account): review.
    let r = app
        .post("/api/v1/accounts", &admin, json!({"name": "Müller Maschinenbau GmbH", "domain": "mueller-mb.de", "country": "DE", "city": "Stuttgart", "owner": "Direct sales DACH"}))
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.text);

    let dir = shot_dir(b);
    let br = Browser::start().await;
    let base = &app.base;
    sign_in(&br, base, "boss@alpha.test").await;
    br.goto(&format!("{base}/deals/new")).await;
    br.find("#f-customer_name").await;
    br.screenshot(&dir.join("20-register-deal.png")).await;

    // A minimal registration: what the page asks of a person, read from the
    // page itself: the required fields it shows empty, each one interaction,
    // and the button.
    let started = std::time::Instant::now();
    let required = br.find_all(".deal-form > .form-grid .field").await.len();
    let to_fill = br
        .execute(
            "return [...document.querySelectorAll('.deal-form [required]')]\
             .filter(e => !e.value).map(e => e.id);",
            &[],
        )
        .await;
    let to_fill: Vec<&str> = to_fill
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let interactions = to_fill.len() + 1;
    br.find("#f-customer_name")
        .await
        .send_keys("Mueller Maschinenbau")
        .await;
    br.find("#f-customer_domain")
        .await
        .send_keys("einkauf@mueller-mb.de")
        .await;
    br.find("#f-country").await.select_by_value("DE").await;
    br.find("#f-amount").await.send_keys("48000").await;
    br.find("#f-currency").await.send_keys("EUR").await;
    br.find("#register").await.click().await;
    br.find("#deal-status").await;
    let seconds = started.elapsed().as_secs_f64();
    let record = format!(
        "minimal deal registration: {required} required fields shown, {} of them empty ({}), so {interactions} interactions with the button; {seconds:.1} s in the automated browser\n",
        to_fill.len(),
        to_fill.join(", ")
    );
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("registration-interactions.txt"), &record).unwrap();
    eprint!("{record}");
    assert_eq!(
        to_fill,
        [
            "f-customer_name",
            "f-customer_domain",
            "f-country",
            "f-amount",
            "f-currency"
        ],
        "the fields this test fills are the ones the page requires: {record}"
    );
    assert!(interactions <= 6, "{record}");
    assert!(required <= 6, "{record}");

    // The partner sees the conflict warning, without whose it is.
    let warning = br.find("#conflict-warning").await.text().await;
    assert!(warning.contains("Possible conflict"), "{warning}");
    let text = br.page_text().await;
    assert!(text.contains("submitted"), "{text}");
    assert!(
        text.contains("same registrable domain (mueller-mb.de)"),
        "{text}"
    );
    assert!(
        !text.contains("Direct sales DACH") && !text.contains("Müller Maschinenbau GmbH"),
        "{text}"
    );
    br.screenshot(&dir.join("21-deal-conflict-warning.png"))
        .await;

    // The channel manager approves it from the queue.
    br.find(".who button[type=submit]").await.click().await;
    br.find("#f-email").await;
    sign_in(&br, base, "elena@vendor.test").await;
    br.goto(&format!("{base}/deals")).await;
    br.find("#queue-h").await;
    br.screenshot(&dir.join("22-approval-queue.png")).await;
    br.find("table a[href^='/deals/']").await.click().await;
    br.find("#decide").await;
    let text = br.page_text().await;
    assert!(
        text.contains("Direct sales DACH"),
        "the vendor sees the account's owner: {text}"
    );
    br.screenshot(&dir.join("23-deal-with-candidates.png"))
        .await;
    br.find("#f-action").await.select_by_value("approve").await;
    br.find("#f-reason")
        .await
        .send_keys("Partner-sourced expansion; direct team informed")
        .await;
    br.find("#decide").await.click().await;
    br.find(".flash").await;
    assert_eq!(br.find("#deal-status").await.text().await, "approved");
    br.screenshot(&dir.join("24-deal-approved.png")).await;
}
