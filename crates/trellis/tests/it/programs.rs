//! Programs as code through the API: drafts, publication, immutability,
//! diffs, bad sources, roles, enrollment and the partner's view.

use crate::helpers::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use trellis_core::org::Role;

crate::on_both_backends!(
    drafts_publish_retire_and_diff,
    published_versions_are_immutable_in_the_database,
    bad_sources_name_the_place_and_write_nothing,
    json_uploads_match_toml,
    who_may_see_and_change_programs,
    partners_see_the_published_program_as_it_applies_to_them,
);

const CLOUD: &str = include_str!("../../../../examples/programs/cloud-reseller.toml");

fn codes(findings: &Value) -> Vec<String> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

async fn drafts_publish_retire_and_diff(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let v1 = app.upload_program(&admin, CLOUD).await;
    assert_eq!(v1["number"], 1);
    assert_eq!(v1["status"], "draft");
    assert_eq!(v1["errors"], 0);
    assert_eq!(v1["program"], "aurora-cloud");
    assert!(!v1["matrix"].as_array().unwrap().is_empty());
    assert!(!v1["economics"].as_array().unwrap().is_empty());
    assert_eq!(v1["source"], CLOUD);

    // Version 2 changes one element's cost and the version label.
    let changed = CLOUD.replacen("version = \"2027.1\"", "version = \"2027.2\"", 1);
    assert_ne!(changed, CLOUD, "the example's version label moved");
    let v2 = app.upload_program(&admin, &changed).await;
    assert_eq!(v2["number"], 2);
    assert_eq!(v2["label"], "2027.2");

    let d = app
        .get("/api/v1/programs/aurora-cloud/diff?from=1&to=2", &admin)
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    assert_eq!(
        d.body["changes"],
        json!([{"path": "program.version", "kind": "changed", "before": "\"2027.1\"", "after": "\"2027.2\""}])
    );

    let p1 = app
        .post(
            "/api/v1/programs/aurora-cloud/versions/1/publish",
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(p1.status, StatusCode::OK, "{}", p1.text);
    assert_eq!(p1.body["status"], "published");
    assert!(p1.body["published_at"].is_string());

    let p2 = app
        .post(
            "/api/v1/programs/aurora-cloud/versions/2/publish",
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(p2.status, StatusCode::OK, "{}", p2.text);
    let list = app
        .get("/api/v1/programs/aurora-cloud/versions", &admin)
        .await;
    let statuses: Vec<(i64, String)> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["number"].as_i64().unwrap(),
                v["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![(2, "published".to_string()), (1, "retired".to_string())],
        "publishing 2 retired 1"
    );

    // Published and retired versions cannot change or go away.
    for n in [1, 2] {
        let put = app
            .send_raw(
                Method::PUT,
                &format!("/api/v1/programs/aurora-cloud/versions/{n}"),
                &admin,
                "application/toml",
                CLOUD.to_string(),
            )
            .await;
        assert_eq!(put.status, StatusCode::CONFLICT, "{}", put.text);
        let del = app
            .call(
                Method::DELETE,
                &format!("/api/v1/programs/aurora-cloud/versions/{n}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(del.status, StatusCode::CONFLICT, "{}", del.text);
    }
    let again = app
        .post(
            "/api/v1/programs/aurora-cloud/versions/1/publish",
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // A draft can be replaced and deleted.
    let v3 = app.upload_program(&admin, &changed).await;
    assert_eq!(v3["number"], 3);
    let put = app
        .send_raw(
            Method::PUT,
            "/api/v1/programs/aurora-cloud/versions/3",
            &admin,
            "application/toml",
            CLOUD.to_string(),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.body["label"], "2027.1");
    let del = app
        .call(
            Method::DELETE,
            "/api/v1/programs/aurora-cloud/versions/3",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);

    let retire = app
        .post(
            "/api/v1/programs/aurora-cloud/versions/2/retire",
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(retire.status, StatusCode::OK, "{}", retire.text);
    assert_eq!(retire.body["status"], "retired");

    let programs = app.get("/api/v1/programs", &admin).await;
    assert_eq!(programs.body[0]["versions"], 2);
    assert!(programs.body[0]["published"].is_null());

    let audit = app
        .get("/api/v1/audit?object_type=program_version", &admin)
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "program.draft",
        "program.publish",
        "program.retire",
        "program.update-draft",
        "program.delete-draft",
    ] {
        assert!(actions.contains(&a), "{a} audited: {actions:?}");
    }
}

async fn published_versions_are_immutable_in_the_database(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    app.upload_program(&admin, CLOUD).await;
    let r = app
        .post(
            "/api/v1/programs/aurora-cloud/versions/1/publish",
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let update = sqlx::query("UPDATE program_versions SET source = 'tampered' WHERE number = 1")
        .execute(app.db.pool())
        .await;
    assert!(
        update.is_err(),
        "the database refuses to change a published version"
    );
    let delete = sqlx::query("DELETE FROM program_versions WHERE number = 1")
        .execute(app.db.pool())
        .await;
    assert!(
        delete.is_err(),
        "the database refuses to delete a published version"
    );
    let back = sqlx::query("UPDATE program_versions SET status = 'draft' WHERE number = 1")
        .execute(app.db.pool())
        .await;
    assert!(
        back.is_err(),
        "a published version cannot become a draft again"
    );
    let source: String = sqlx::query_scalar("SELECT source FROM program_versions WHERE number = 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(source, CLOUD);
}

async fn bad_sources_name_the_place_and_write_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let send = |path: &'static str, ct: &'static str, body: String| {
        let app = &app;
        let admin = admin.clone();
        async move { app.send_raw(Method::POST, path, &admin, ct, body).await }
    };

    // A syntax error: line and column.
    let r = send(
        "/api/v1/programs",
        "application/toml",
        "[program\nid = 1".into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.problem_code(), "program-invalid");
    assert_eq!(r.body["findings"][0]["line"], 1);

    // A misspelt key: "did you mean", with its line.
    let typo = CLOUD.replacen("purpose =", "purpse =", 1);
    let r = send(
        "/api/v1/programs/validate",
        "application/toml",
        typo.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let f = &r.body["findings"][0];
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `purpose`"),
        "{f}"
    );
    let line = typo.lines().position(|l| l.starts_with("purpse")).unwrap() + 1;
    assert_eq!(f["line"], line);

    // A wrong value: the field path.
    let wrong = CLOUD.replacen("purpose = \"enable\"", "purpose = \"inspire\"", 1);
    let r = send("/api/v1/programs", "application/toml", wrong).await;
    assert!(
        r.body["findings"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with(".purpose"),
        "{}",
        r.text
    );

    // JSON with a wrong type: the path.
    let r = send(
        "/api/v1/programs",
        "application/json",
        r#"{"program": {"id": 5}}"#.into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["findings"][0]["path"], "program.id", "{}", r.text);

    // Not a program media type; too large.
    let r = send("/api/v1/programs", "image/png", "x".into()).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(r.text.contains("application/toml"), "{}", r.text);
    // On its own connection: the server answers 413 without reading the body
    // and closes the connection.
    let big = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = big
        .post(format!("{}/api/v1/programs", app.base))
        .bearer_auth(&admin)
        .header("content-type", "application/toml")
        .body("#".repeat(5 * 1024 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.count("program_versions").await, 0, "nothing written");
    assert_eq!(app.count("programs").await, 0);

    // A draft with error findings is kept, but cannot be published.
    let broken = CLOUD.replacen("feedback_channel =", "# feedback_channel =", 1);
    let r = send(
        "/api/v1/programs/validate",
        "application/toml",
        broken.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(codes(&r.body["findings"]), vec!["no-feedback-channel"]);
    let draft = app.upload_program(&admin, &broken).await;
    let errors = draft["errors"].as_i64().unwrap();
    let p = app
        .post(
            "/api/v1/programs/aurora-cloud/versions/1/publish",
            &admin,
            json!({}),
        )
        .await;
    if errors > 0 {
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
        assert_eq!(p.problem_code(), "program-has-errors");
        assert!(!p.body["findings"].as_array().unwrap().is_empty());
        let v = app
            .get("/api/v1/programs/aurora-cloud/versions/1", &admin)
            .await;
        assert_eq!(v.body["status"], "draft", "still a draft");
    } else {
        assert_eq!(
            p.status,
            StatusCode::OK,
            "warnings do not block: {}",
            p.text
        );
    }

    // A broken variant with an error finding is refused at publication.
    let gap = CLOUD.replace(
        "steps = [\"develop\", \"sell\", \"deliver\", \"support\", \"share\"]",
        "steps = [\"develop\"]",
    );
    let v = app.upload_program(&admin, &gap).await;
    let n = v["number"].as_i64().unwrap();
    assert!(v["errors"].as_i64().unwrap() > 0, "{}", v["findings"]);
    let p = app
        .post(
            &format!("/api/v1/programs/aurora-cloud/versions/{n}/publish"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.text);
    assert!(
        codes(&p.body["findings"])
            .iter()
            .all(|c| c == "gtm-step-not-motivated"),
        "{}",
        p.text
    );

    // Version numbers that are not numbers name no version.
    let r = app
        .get("/api/v1/programs/aurora-cloud/versions/abc", &admin)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .get("/api/v1/programs/aurora-cloud/diff?from=1", &admin)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
}

async fn json_uploads_match_toml(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let table: toml::Table = toml::from_str(CLOUD).unwrap();
    let json = serde_json::to_string(&table).unwrap();
    let from_toml = app
        .send_raw(
            Method::POST,
            "/api/v1/programs/validate",
            &admin,
            "application/toml",
            CLOUD.to_string(),
        )
        .await;
    let r = app
        .send_raw(
            Method::POST,
            "/api/v1/programs",
            &admin,
            "application/json",
            json,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["errors"], 0);
    assert_eq!(r.body["economics"], from_toml.body["economics"]);
    assert!(
        r.body["source"].as_str().unwrap().contains("[program]"),
        "stored as TOML"
    );
}

async fn who_may_see_and_change_programs(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let (_, cm) = app.user("cm@vendor.test", Role::ChannelManager, None).await;
    let p = app.partner(&admin, "acme", json!({})).await;
    let (_, pa) = app
        .user(
            "boss@acme.test",
            Role::PartnerAdmin,
            Some(p["id"].as_str().unwrap()),
        )
        .await;
    app.upload_program(&admin, CLOUD).await;

    // Channel managers read but do not change programs.
    assert_eq!(
        app.get("/api/v1/programs", &cm).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/programs/aurora-cloud/versions/1", &cm)
            .await
            .status,
        StatusCode::OK
    );
    let r = app
        .send_raw(
            Method::POST,
            "/api/v1/programs",
            &cm,
            "application/toml",
            CLOUD.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            "/api/v1/programs/aurora-cloud/versions/1/publish",
            &cm,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Partners see no program versions at all: not even that there are any.
    let r = app.get("/api/v1/programs", &pa).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.text.contains("aurora"), "{}", r.text);
    for path in [
        "/api/v1/programs/aurora-cloud/versions",
        "/api/v1/programs/aurora-cloud/versions/1",
        "/api/v1/programs/aurora-cloud/diff?from=1&to=1",
    ] {
        let r = app.get(path, &pa).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!r.text.contains("Aurora"), "{path}");
    }
    let r = app
        .send_raw(
            Method::POST,
            "/api/v1/programs/validate",
            &pa,
            "application/toml",
            CLOUD.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("program_versions").await, 1);
}

async fn partners_see_the_published_program_as_it_applies_to_them(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let (cm_user, cm) = app.user("cm@vendor.test", Role::ChannelManager, None).await;
    let (_, other_cm) = app
        .user("cm2@vendor.test", Role::ChannelManager, None)
        .await;
    let p = app
        .partner(&admin, "acme", json!({"channel_manager_id": cm_user.id}))
        .await;
    let id = p["id"].as_str().unwrap();
    let q = app.partner(&admin, "other", json!({})).await;
    let (_, pa) = app
        .user("boss@acme.test", Role::PartnerAdmin, Some(id))
        .await;
    let (_, qa) = app
        .user(
            "boss@other.test",
            Role::PartnerAdmin,
            Some(q["id"].as_str().unwrap()),
        )
        .await;

    let v = app.upload_program(&admin, CLOUD).await;
    let program: trellis_core::program::Program = trellis_core::program::parse(CLOUD).unwrap();
    let play = &program.plays[0];
    let (ty, seg) = (
        play.partner_type.get_ref().clone(),
        play.segment.get_ref().clone(),
    );
    let tier = program.tiers[0].id.get_ref().clone();
    let enroll_path = format!("/api/v1/partners/{id}/programs/aurora-cloud");
    let put = |token: String, body: Value| {
        let app = &app;
        let path = enroll_path.clone();
        async move { app.call(Method::PUT, &path, Some(&token), Some(body)).await }
    };

    // Enrollment needs a published version.
    let r = put(admin.clone(), json!({"partner_type": ty, "segment": seg})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(v["number"], 1);
    app.post(
        "/api/v1/programs/aurora-cloud/versions/1/publish",
        &admin,
        json!({}),
    )
    .await;

    // Unknown ids are named.
    let r = put(
        admin.clone(),
        json!({"partner_type": "astronaut", "segment": "moon", "level": "platinum"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["partner_type", "segment", "level"]);

    // Only the vendor admin and the partner's own channel manager enroll.
    let body = json!({"partner_type": ty, "segment": seg, "level": tier});
    assert_eq!(
        put(other_cm.clone(), body.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(pa.clone(), body.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let r = put(cm.clone(), body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["level"], tier.as_str());

    // The partner sees its role, benefits and the levels.
    let mine = app
        .get(&format!("/api/v1/partners/{id}/programs"), &pa)
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    let view = &mine.body[0]["view"];
    assert_eq!(view["partner_type"]["id"], ty.as_str());
    assert_eq!(view["steps"].as_array().unwrap().len(), 6);
    assert!(!view["benefits"].as_array().unwrap().is_empty());
    assert_eq!(view["levels"][0]["current"], true);
    assert!(view["economics"].is_object());

    // Another partner cannot see it (404), and has no programs of its own.
    let r = app
        .get(&format!("/api/v1/partners/{id}/programs"), &qa)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .get(
            &format!("/api/v1/partners/{}/programs", q["id"].as_str().unwrap()),
            &qa,
        )
        .await;
    assert_eq!(r.body, json!([]));
}
