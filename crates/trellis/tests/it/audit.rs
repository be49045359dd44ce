//! The audit trail: every write is recorded with who, when, what, before and
//! after; vendor admins browse and filter it; nothing can change it.

use crate::helpers::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use trellis_core::org::Role;

crate::on_both_backends!(every_write_is_audited_and_the_trail_is_append_only);

async fn every_write_is_audited_and_the_trail_is_append_only(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let p = app
        .partner(&admin, "audited", json!({"name": "Audited Ltd"}))
        .await;
    let id = p["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/partners/{id}"),
        &admin,
        json!({"name": "Audited Plc", "status": "active"}),
    )
    .await;
    app.post(
        &format!("/api/v1/partners/{id}/users"),
        &admin,
        json!({"email": "x@audited.test", "name": "X", "role": "partner-user"}),
    )
    .await;

    let r = app
        .get(&format!("/api/v1/audit?object_id={id}"), &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        2,
        "create and update of the partner: {}",
        r.text
    );
    let update = &items[0];
    assert_eq!(update["action"], "partner.update");
    assert_eq!(update["actor_email"], "admin@vendor.test");
    assert_eq!(update["before"]["name"], "Audited Ltd");
    assert_eq!(update["after"]["name"], "Audited Plc");
    assert_eq!(update["before"]["status"], "prospect");
    assert_eq!(update["after"]["status"], "active");
    assert!(update["at"].as_str().unwrap().ends_with('Z'));
    assert!(
        update["request_id"].as_str().is_some_and(|s| !s.is_empty()),
        "linked to the request"
    );
    assert_eq!(items[1]["action"], "partner.create");
    assert!(items[1]["before"].is_null());

    let r = app.get("/api/v1/audit?action=user.invite", &admin).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["items"][0]["after"]["email"], "x@audited.test");
    assert_eq!(r.body["items"][0]["partner_id"], id);
    let r = app
        .get(
            "/api/v1/audit?actor=admin@vendor.test&since=2000-01-01&limit=1",
            &admin,
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    assert!(r.body["next_cursor"].is_string(), "more pages");
    let r = app.get("/api/v1/audit?until=2000-01-01", &admin).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
    let r = app.get("/api/v1/audit?since=yesterday", &admin).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["since"]);

    // Only vendor admins read it.
    let (_, pa) = app
        .user("pa@audited.test", Role::PartnerAdmin, Some(id))
        .await;
    assert_eq!(
        app.get("/api/v1/audit", &pa).await.status,
        StatusCode::FORBIDDEN
    );

    // The database itself refuses to change or remove entries.
    let n = app.count("audit_log").await;
    let upd = sqlx::query("UPDATE audit_log SET actor_email = 'someone-else'")
        .execute(app.db.pool())
        .await;
    assert!(upd.is_err(), "UPDATE must be refused");
    let del = sqlx::query("DELETE FROM audit_log")
        .execute(app.db.pool())
        .await;
    assert!(del.is_err(), "DELETE must be refused");
    assert_eq!(app.count("audit_log").await, n);
}
