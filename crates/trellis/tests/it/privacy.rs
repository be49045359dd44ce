//! A person's data: everything held about them read out as one document, and
//! erasure that leaves no trace of their e-mail or name in any table while
//! the audit trail keeps every entry (with a pseudonym), over the API and the
//! command line, audited, vendor admins only.

use crate::helpers::cli::{run_err, run_ok, trellis_on};
use crate::helpers::portal::{browser, sign_in};
use crate::helpers::{Backend, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};
use trellis_core::org::Role;

crate::on_both_backends!(
    a_person_is_exported_then_erased_and_the_audit_trail_keeps_a_pseudonym,
    only_vendor_admins_with_an_admin_token_export_or_erase_and_never_themselves,
    the_command_line_exports_to_a_file_and_erases_only_when_told_yes,
);

/// Tables (with their rows) where any column contains `needle`.
async fn tables_mentioning(app: &TestApp, needle: &str) -> Vec<String> {
    let like = format!("%{needle}%");
    let mut found = Vec::new();
    match app.db.backend() {
        trellis_server::db::Backend::Postgres => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            )
            .fetch_all(app.db.pool())
            .await
            .unwrap();
            for t in tables {
                let n: i64 = sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM \"{t}\" AS r WHERE r::text LIKE $1"
                ))
                .bind(&like)
                .fetch_one(app.db.pool())
                .await
                .unwrap();
                if n > 0 {
                    found.push(format!("{t} ({n})"));
                }
            }
        }
        trellis_server::db::Backend::Sqlite => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(app.db.pool())
            .await
            .unwrap();
            for t in tables {
                let cols: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{t}')"))
                        .fetch_all(app.db.pool())
                        .await
                        .unwrap();
                let cond = cols
                    .iter()
                    .map(|c| format!("CAST(\"{c}\" AS TEXT) LIKE $1"))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                let n: i64 =
                    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{t}\" WHERE {cond}"))
                        .bind(&like)
                        .fetch_one(app.db.pool())
                        .await
                        .unwrap();
                if n > 0 {
                    found.push(format!("{t} ({n})"));
                }
            }
        }
    }
    found
}

/// `GET /api/v1/users/{id}/personal-data` as `token`.
async fn export(app: &TestApp, id: &str, token: &str) -> crate::helpers::Resp {
    app.get(&format!("/api/v1/users/{id}/personal-data"), token)
        .await
}

/// `POST /api/v1/users/{id}/erase` as `token`.
async fn erase(app: &TestApp, id: &str, token: &str) -> crate::helpers::Resp {
    app.post(&format!("/api/v1/users/{id}/erase"), token, json!({}))
        .await
}

fn section<'a>(data: &'a Value, name: &str) -> &'a Vec<Value> {
    data["sections"][name]
        .as_array()
        .unwrap_or_else(|| panic!("no section {name} in {data}"))
}

async fn a_person_is_exported_then_erased_and_the_audit_trail_keeps_a_pseudonym(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let p = app.partner(&admin, "acme", json!({})).await;
    let pid = p["id"].as_str().unwrap();
    let (boss, boss_token) = app
        .user("rosalind.vance@acme.test", Role::PartnerAdmin, Some(pid))
        .await;
    // What a person leaves behind: a sign-in, a deal, a token, an invitation sent.
    let c = browser();
    let r = sign_in(&c, &app.base, "rosalind.vance@acme.test", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post(
            "/api/v1/deals",
            &boss_token,
            json!({"customer_name": "Kunde AG", "customer_domain": "kunde.de", "country": "DE",
                   "amount": "1000", "currency": "EUR",
                   "expected_close": crate::helpers::fixtures::days_ahead(30)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let deal_id = r.body["deal"]["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            "/api/v1/tokens",
            &boss_token,
            json!({"name": "Rosalind's CRM"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let secret = r.body["token"].as_str().unwrap().to_string();

    let r = export(&app, &boss.id, &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let data = &r.body;
    assert_eq!(
        section(data, "account")[0]["email"],
        "rosalind.vance@acme.test"
    );
    assert!(!section(data, "sessions").is_empty(), "{data}");
    assert!(!section(data, "sign_in_attempts").is_empty(), "{data}");
    assert_eq!(section(data, "deals_registered")[0]["id"], deal_id.as_str());
    assert!(!section(data, "deal_actions").is_empty(), "{data}");
    assert_eq!(section(data, "api_tokens").len(), 2, "{data}");
    assert!(
        !r.text.contains("token_hash") && !r.text.contains(&secret),
        "an export never holds a token's secret or hash"
    );
    assert!(
        section(data, "audit_entries")
            .iter()
            .any(|e| e["action"] == "deal.register"),
        "{data}"
    );
    let audit_before = app.count("audit_log").await;

    let r = erase(&app, &boss.id, &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let pseudonym = r.body["pseudonym"].as_str().unwrap().to_string();
    assert!(
        r.body["changed"]["sessions"].as_u64().unwrap() >= 1,
        "{}",
        r.text
    );

    // No table holds the address or the name any more…
    for needle in ["rosalind.vance@acme.test", "rosalind.vance"] {
        assert_eq!(
            tables_mentioning(&app, needle).await,
            Vec::<String>::new(),
            "{needle} is still stored"
        );
    }
    // …the audit trail kept every entry, added the erasure, and shows the
    // pseudonym where she acted; it is still append-only.
    assert_eq!(app.count("audit_log").await, audit_before + 1);
    let (actor, n): (String, i64) = sqlx::query_as(
        "SELECT actor_email, COUNT(*) FROM audit_log WHERE action = 'deal.register' GROUP BY actor_email",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!((actor.as_str(), n), (pseudonym.as_str(), 1));
    assert!(sqlx::query("UPDATE audit_log SET action = 'x'")
        .execute(app.db.pool())
        .await
        .is_err());
    assert!(sqlx::query("DELETE FROM audit_log")
        .execute(app.db.pool())
        .await
        .is_err());
    let r = app.get("/api/v1/audit?action=user.erase", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains(&boss.id), "{}", r.text);

    // She can no longer get in, with any credential; her deal stays the partner's.
    for t in [&boss_token, &secret] {
        assert_eq!(
            app.get("/api/v1/me", t).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = sign_in(&browser(), &app.base, "rosalind.vance@acme.test", PASSWORD).await;
    assert_ne!(r.status(), StatusCode::SEE_OTHER);
    let r = app.get(&format!("/api/v1/deals/{deal_id}"), &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains(pid), "{}", r.text);

    // Erasing twice is a conflict; the export now shows only the pseudonym.
    let r = erase(&app, &boss.id, &admin).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = export(&app, &boss.id, &admin).await;
    assert_eq!(section(&r.body, "account")[0]["email"], pseudonym.as_str());
    assert!(!r.text.contains("rosalind"), "{}", r.text);
}

async fn only_vendor_admins_with_an_admin_token_export_or_erase_and_never_themselves(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let me: Value = app.get("/api/v1/me", &admin).await.body;
    let admin_id = me["user"]["id"].as_str().unwrap().to_string();
    let p = app.partner(&admin, "acme", json!({})).await;
    let pid = p["id"].as_str().unwrap();
    let (boss, boss_token) = app
        .user("boss@acme.test", Role::PartnerAdmin, Some(pid))
        .await;
    let (_, manager) = app.user("cm@vendor.test", Role::ChannelManager, None).await;
    for (who, token, status) in [
        ("partner admin", &boss_token, StatusCode::NOT_FOUND),
        ("channel manager", &manager, StatusCode::FORBIDDEN),
    ] {
        for (path, post) in [
            (format!("/api/v1/users/{}/personal-data", boss.id), false),
            (format!("/api/v1/users/{}/erase", boss.id), true),
        ] {
            let r = match post {
                true => app.post(&path, token, json!({})).await,
                false => app.get(&path, token).await,
            };
            assert_eq!(r.status, status, "{who} {path}: {}", r.text);
        }
    }
    // A read-only token of a vendor admin reads partners, not people's data.
    let r = app
        .post(
            "/api/v1/tokens",
            &admin,
            json!({"name": "reporting", "scopes": ["read"]}),
        )
        .await;
    let read = r.body["token"].as_str().unwrap().to_string();
    let r = export(&app, &boss.id, &read).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // Not oneself; an unknown id is not found.
    let r = erase(&app, &admin_id, &admin).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("another vendor admin"), "{}", r.text);
    let r = app.get("/api/v1/users/nobody/personal-data", &admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(
        app.get("/api/v1/me", &boss_token).await.status,
        StatusCode::OK,
        "nothing was erased"
    );
}

async fn the_command_line_exports_to_a_file_and_erases_only_when_told_yes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin().await;
    let p = app.partner(&admin, "acme", json!({})).await;
    let (_, boss_token) = app
        .user(
            "boss@acme.test",
            Role::PartnerAdmin,
            Some(p["id"].as_str().unwrap()),
        )
        .await;
    let url = &app.test_db.url;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("boss.json");
    let said = run_ok(
        trellis_on(
            url,
            &[
                "user",
                "export",
                "--email",
                "boss@acme.test",
                "--out",
                out.to_str().unwrap(),
            ],
        ),
        "",
    );
    assert!(said.contains("wrote"), "{said}");
    let data: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(section(&data, "account")[0]["email"], "boss@acme.test");

    let said = run_err(
        trellis_on(url, &["user", "erase", "--email", "boss@acme.test"]),
        "",
    );
    assert!(said.contains("--yes"), "{said}");
    assert_eq!(
        app.get("/api/v1/me", &boss_token).await.status,
        StatusCode::OK
    );
    // The only vendor admin stays.
    let said = run_err(
        trellis_on(
            url,
            &["user", "erase", "--email", "admin@vendor.test", "--yes"],
        ),
        "",
    );
    assert!(said.contains("last active vendor admin"), "{said}");

    let said = run_ok(
        trellis_on(
            url,
            &["user", "erase", "--email", "boss@acme.test", "--yes"],
        ),
        "",
    );
    assert!(said.contains("erased boss@acme.test"), "{said}");
    assert_eq!(
        app.get("/api/v1/me", &boss_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        tables_mentioning(&app, "boss@acme.test").await,
        Vec::<String>::new()
    );
}
