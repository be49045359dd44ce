//! The main journey in real Chromium: a vendor admin signs in, creates a
//! partner and invites its admin; the partner admin accepts the invitation
//! and sees only their own organisation. Screenshots of the main pages go to
//! `TRELLIS_SCREENSHOT_DIR` (default `target/screenshots`).

use crate::helpers::chromium::shot_dir;
use crate::helpers::webdriver::Browser;
use crate::helpers::{Backend, TestApp, PASSWORD};
use serde_json::json;
use trellis_core::org::Role;

crate::on_both_backends!(vendor_creates_partner_and_partner_admin_sees_only_their_own);

async fn vendor_creates_partner_and_partner_admin_sees_only_their_own(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let (cm, _) = app
        .user("elena@vendor.test", Role::ChannelManager, None)
        .await;
    let other = app
        .partner(
            &admin,
            "rival-systems",
            json!({"name": "Rival Systems", "channel_manager_id": cm.id}),
        )
        .await;
    for (slug, name, ty, region, country) in [
        ("northwind-it", "Northwind IT", "msp", "nordics", "SE"),
        (
            "great-lakes",
            "Great Lakes Systems",
            "reseller",
            "north-america",
            "US",
        ),
        (
            "sakura-int",
            "Sakura Integration",
            "integrator",
            "apac",
            "JP",
        ),
    ] {
        app.partner(&admin, slug, json!({"name": name, "partner_type": ty, "region": region, "country": country, "status": "active"})).await;
    }
    let dir = shot_dir(b);
    let br = Browser::start().await;
    let base = &app.base;

    // Vendor admin signs in.
    br.goto(&format!("{base}/login")).await;
    br.screenshot(&dir.join("01-login.png")).await;
    br.find("#f-email")
        .await
        .send_keys("admin@vendor.test")
        .await;
    br.find("#f-password").await.send_keys(PASSWORD).await;
    br.find("button[type=submit]").await.click().await;
    br.find("table").await;
    assert!(br.current_url().await.ends_with("/partners"));
    assert!(br.page_text().await.contains("Rival Systems"));
    br.screenshot(&dir.join("02-partners.png")).await;

    // Creates a partner.
    br.find("a[href='/partners/new']").await.click().await;
    br.find("#f-name")
        .await
        .send_keys("Alpine Cloudworks AG")
        .await;
    br.find("#f-partner_type").await.send_keys("msp").await;
    br.find("#f-region").await.send_keys("dach").await;
    br.find("#f-country").await.select_by_value("CH").await;
    br.find("#f-website")
        .await
        .send_keys("https://alpine.example")
        .await;
    br.find("#f-channel_manager_id")
        .await
        .select_by_value(&cm.id)
        .await;
    br.screenshot(&dir.join("03-new-partner.png")).await;
    br.find(".actions button[type=submit]").await.click().await;
    br.find(".flash").await;
    let text = br.page_text().await;
    assert!(
        text.contains("Partner created.")
            && text.contains("Alpine Cloudworks AG")
            && text.contains("elena"),
        "{text}"
    );
    let partner_url = br.current_url().await;
    let partner_id = partner_url
        .split("/partners/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();

    // Invites the partner's admin.
    br.find("form[action$='/users'] #f-name")
        .await
        .send_keys("Heidi Alpine")
        .await;
    br.find("form[action$='/users'] #f-email")
        .await
        .send_keys("heidi@alpine.example")
        .await;
    br.find("form[action$='/users'] #f-role")
        .await
        .select_by_value("partner-admin")
        .await;
    br.find("form[action$='/users'] button[type=submit]")
        .await
        .click()
        .await;
    let link = br
        .find("#invite-url")
        .await
        .prop("value")
        .await
        .as_str()
        .unwrap()
        .to_string();
    assert!(link.starts_with(&format!("{base}/invite/")), "{link}");
    br.screenshot(&dir.join("04-partner-invited.png")).await;

    br.goto(&format!("{base}/audit")).await;
    br.find("table.audit").await;
    assert!(br.page_text().await.contains("user.invite"));
    br.screenshot(&dir.join("05-audit-log.png")).await;
    br.goto(&format!("{base}/users")).await;
    br.find("table").await;
    br.screenshot(&dir.join("06-users.png")).await;
    br.goto(&format!("{base}/api/docs")).await;
    br.find(".docs-main").await;
    br.screenshot(&dir.join("07-api-docs.png")).await;

    // Signs out.
    br.goto(&format!("{base}/partners")).await;
    br.find(".who button[type=submit]").await.click().await;
    br.find("#f-email").await;

    // The partner admin accepts the invitation.
    br.goto(&link).await;
    br.find("#f-password")
        .await
        .send_keys("edelweiss-summit-9")
        .await;
    br.find("#f-confirm")
        .await
        .send_keys("edelweiss-summit-9")
        .await;
    br.screenshot(&dir.join("08-accept-invitation.png")).await;
    br.find("button[type=submit]").await.click().await;
    br.find(".flash").await;
    assert!(br
        .current_url()
        .await
        .contains(&format!("/partners/{partner_id}")));
    let text = br.page_text().await;
    assert!(
        text.contains("Partner portal · Alpine Cloudworks AG"),
        "{text}"
    );
    assert!(text.contains("heidi@alpine.example"));
    assert!(
        !br.exists("a[href='/audit']").await && !br.exists("a[href='/users']").await,
        "no vendor navigation"
    );
    br.screenshot(&dir.join("09-partner-portal.png")).await;

    // ...and sees only their own organisation.
    br.goto(&format!("{base}/partners")).await;
    br.find("table").await;
    let text = br.page_text().await;
    assert!(text.contains("Alpine Cloudworks AG"));
    for hidden in [
        "Rival Systems",
        "Northwind IT",
        "Great Lakes Systems",
        "Sakura Integration",
    ] {
        assert!(!text.contains(hidden), "partner admin sees {hidden}");
    }
    br.goto(&format!(
        "{base}/partners/{}",
        other["id"].as_str().unwrap()
    ))
    .await;
    let text = br.page_text().await;
    assert!(
        text.contains("Page not found") && !text.contains("Rival Systems"),
        "{text}"
    );
    br.screenshot(&dir.join("10-other-partner-not-found.png"))
        .await;

    // Narrow screens get the same pages, without scrolling sideways.
    br.set_window_size(390, 844).await;
    for (path, shot) in [
        (
            format!("/partners/{partner_id}"),
            "11-partner-portal-mobile.png",
        ),
        ("/partners".to_string(), "12-partner-list-mobile.png"),
    ] {
        br.goto(&format!("{base}{path}")).await;
        br.find("main").await;
        br.screenshot(&dir.join(shot)).await;
        let widths = br
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                &[],
            )
            .await;
        let (scroll, inner) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
        assert!(inner <= 400, "the window is narrow: {inner}px");
        assert!(
            scroll <= inner,
            "{path} overflows a {inner}px screen: {scroll}px wide"
        );
    }
}
