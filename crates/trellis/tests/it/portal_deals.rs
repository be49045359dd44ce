//! Deal pages over plain HTTP: the CSV upload page (all or nothing, errors by
//! line), the queue and bulk decisions, and partners kept to their own deals.

use crate::helpers::portal::{browser, csrf_of, get_text, sign_in};
use crate::helpers::{Backend, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;
use trellis_core::org::Role;

crate::on_both_backends!(upload_page_and_bulk_decisions);

async fn upload_page_and_bulk_decisions(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let (cm, _) = app.user("cm@vendor.test", Role::ChannelManager, None).await;
    let p = app
        .partner(&admin, "acme", json!({"channel_manager_id": cm.id}))
        .await;
    let q = app.partner(&admin, "other", json!({})).await;
    let pid = p["id"].as_str().unwrap();
    app.user("boss@acme.test", Role::PartnerAdmin, Some(pid))
        .await;
    app.user(
        "boss@other.test",
        Role::PartnerAdmin,
        Some(q["id"].as_str().unwrap()),
    )
    .await;
    let base = &app.base;
    let close = crate::helpers::fixtures::days_ahead(20);

    let c = browser();
    sign_in(&c, base, "boss@acme.test", PASSWORD).await;
    let page = get_text(&c, format!("{base}/deals/import")).await;
    let csrf = csrf_of(&page);
    let header = "customer_name,customer_domain,country,amount,currency,expected_close";
    let bad = format!("{header}\nKovalo Analytics,kovalo.co.uk,GB,1000,GBP,{close}\nBroken,broken.de,DE,-5,EUR,{close}\n");
    let r = c
        .post(format!("{base}/deals/import"))
        .form(&[("csrf", csrf.as_str()), ("source", bad.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Nothing was imported") && html.contains("upload:3: amount"),
        "{html}"
    );
    assert_eq!(app.count("deals").await, 0);
    let good = format!("{header}\nKovalo Analytics,kovalo.co.uk,GB,1000,GBP,{close}\nZentrix Labs,zentrix.de,DE,2500.5,EUR,{close}\n");
    let r = c
        .post(format!("{base}/deals/import"))
        .form(&[("csrf", csrf.as_str()), ("source", good.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("2 submitted"));
    assert_eq!(app.count("deals").await, 2);

    // Another partner sees none of them.
    let o = browser();
    sign_in(&o, base, "boss@other.test", PASSWORD).await;
    let html = get_text(&o, format!("{base}/deals")).await;
    assert!(
        !html.contains("Kovalo") && !html.contains("Zentrix"),
        "{html}"
    );
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM deals ORDER BY customer_name")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    let r = o
        .get(format!("{base}/deals/{}", ids[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The channel manager approves both from the queue at once.
    let v = browser();
    sign_in(&v, base, "cm@vendor.test", PASSWORD).await;
    let html = get_text(&v, format!("{base}/deals")).await;
    assert!(
        html.contains("Approval queue") && html.contains("Kovalo Analytics"),
        "{html}"
    );
    let csrf = csrf_of(&html);
    let mut form: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("action", "approve"),
        ("reason", "both verified"),
    ];
    for id in &ids {
        form.push(("id", id));
    }
    let r = v
        .post(format!("{base}/deals/bulk"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let approved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deals WHERE status = 'approved'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(approved, 2);

    // The partner admin reads about it in the portal (and the same by e-mail, queued).
    let html = get_text(&c, format!("{base}/notifications")).await;
    assert!(
        html.contains("Deal registration approved: Kovalo Analytics"),
        "{html}"
    );
    assert!(html.contains("class=\"card unread\""));
    let csrf = csrf_of(&html);
    c.post(format!("{base}/notifications/read"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let html = get_text(&c, format!("{base}/notifications")).await;
    assert!(!html.contains("class=\"card unread\""));
}
