//! Program pages over plain HTTP: upload, findings linked to the source, the
//! GTM matrix, publication (refused with errors), diffs, enrollment and the
//! partner's view, with partners kept out of the vendor pages.

use crate::helpers::portal::{browser, csrf_of, sign_in};
use crate::helpers::{Backend, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;
use trellis_core::org::Role;

crate::on_both_backends!(vendor_designs_and_publishes_and_partner_sees_its_program);

const CLOUD: &str = include_str!("../../../../examples/programs/cloud-reseller.toml");

async fn vendor_designs_and_publishes_and_partner_sees_its_program(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin_token = app.admin().await;
    let p = app.partner(&admin_token, "acme", json!({})).await;
    let q = app.partner(&admin_token, "other", json!({})).await;
    let pid = p["id"].as_str().unwrap();
    app.user("boss@acme.test", Role::PartnerAdmin, Some(pid))
        .await;
    app.user(
        "boss@other.test",
        Role::PartnerAdmin,
        Some(q["id"].as_str().unwrap()),
    )
    .await;

    let c = browser();
    let base = &app.base;
    sign_in(&c, base, "admin@vendor.test", PASSWORD).await;
    let page = |path: String| {
        let c = c.clone();
        async move {
            let r = c.get(format!("{base}{path}")).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (status, html) = page("/programs".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No programs yet"));
    let csrf = csrf_of(&html);
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let c = c.clone();
        async move {
            let r = c
                .post(format!("{base}{path}"))
                .form(&form)
                .send()
                .await
                .unwrap();
            let location = r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string());
            (r.status(), location, r.text().await.unwrap())
        }
    };

    // A source that does not parse comes back with its line; nothing is saved.
    let (status, _, html) = post(
        "/programs".into(),
        vec![
            ("csrf", csrf.clone()),
            ("source", "[program\nid = 1".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("nothing was saved") && html.contains("line 1"),
        "{html}"
    );
    assert_eq!(app.count("program_versions").await, 0);

    // Uploading from the form (CRLF, as browsers send textareas) keeps the file's text.
    let (status, location, _) = post(
        "/programs".into(),
        vec![
            ("csrf", csrf.clone()),
            ("source", CLOUD.replace('\n', "\r\n")),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/programs/aurora-cloud/versions/1")
    );
    let (_, html) = page("/programs/aurora-cloud/versions/1".into()).await;
    for needle in [
        "GTM role matrix",
        "No findings",
        "id=\"L5\"",
        "Partner economics",
        "Rival Cloud Alliance",
        "Publish",
    ] {
        assert!(html.contains(needle), "version page shows {needle}");
    }
    let stored: String = sqlx::query_scalar("SELECT source FROM program_versions")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, CLOUD);

    let (status, location, _) = post(
        "/programs/aurora-cloud/versions/1/publish".into(),
        vec![("csrf", csrf.clone())],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.unwrap().ends_with("msg=published"));

    // A draft with a coverage gap: findings link to their line, the matrix
    // flags the cell, and publication is refused.
    let gap = CLOUD.replace(
        "steps = [\"develop\", \"sell\", \"deliver\", \"support\", \"share\"]",
        "steps = [\"develop\"]",
    );
    post(
        "/programs".into(),
        vec![("csrf", csrf.clone()), ("source", gap)],
    )
    .await;
    let (_, html) = page("/programs/aurora-cloud/versions/2".into()).await;
    assert!(html.contains("gtm-step-not-motivated"));
    assert!(
        html.contains("nothing motivates this"),
        "the matrix flags the gap"
    );
    assert!(html.contains("href=\"#L"), "findings link to the source");
    let (status, _, html) = post(
        "/programs/aurora-cloud/versions/2/publish".into(),
        vec![("csrf", csrf.clone())],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Not published"));
    let (_, html) = page("/programs/aurora-cloud/diff?from=1&to=2".into()).await;
    assert!(html.contains("elements[margin].steps"), "{html}");

    // Enroll the partner from its programs page.
    let (status, location, _) = post(
        format!("/partners/{pid}/programs"),
        vec![
            ("csrf", csrf.clone()),
            ("program", "aurora-cloud".into()),
            ("partner_type", "reseller".into()),
            ("segment", "moon".into()),
            ("level", "".into()),
        ],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown segment: {location:?}"
    );
    let (status, _, _) = post(
        format!("/partners/{pid}/programs"),
        vec![
            ("csrf", csrf.clone()),
            ("program", "aurora-cloud".into()),
            ("partner_type", "reseller".into()),
            ("segment", "dach-midmarket".into()),
            ("level", "gold".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // The partner admin sees its program; vendor pages do not exist for it.
    let pc = browser();
    sign_in(&pc, base, "boss@acme.test", PASSWORD).await;
    let get = |c: &reqwest::Client, path: String| {
        let c = c.clone();
        async move {
            let r = c.get(format!("{base}{path}")).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (status, html) = get(&pc, format!("/partners/{pid}/programs")).await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "Your partner program",
        "Aurora Cloud Partner Program",
        "you are here",
        "Your role, step by step",
        "protected for",
    ] {
        assert!(html.contains(needle), "partner view shows {needle}");
    }
    assert!(
        !html.contains("Enroll in a program"),
        "partners do not enroll themselves"
    );
    for path in [
        "/programs",
        "/programs/aurora-cloud/versions/1",
        "/programs/aurora-cloud/diff?from=1&to=2",
    ] {
        let (status, _) = get(&pc, path.into()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let oc = browser();
    sign_in(&oc, base, "boss@other.test", PASSWORD).await;
    let (status, html) = get(&oc, format!("/partners/{pid}/programs")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("acme"));
}
