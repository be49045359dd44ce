//! Incentives, one behaviour per test, each on SQLite and PostgreSQL: the
//! sales-out import (command line, page, API), statements that explain
//! themselves, what-ifs, approval and payout, late data, disputes, and who
//! may see and do what.

use crate::helpers::cli::{run_err, run_ok, trellis_on};
use crate::helpers::fixtures::{
    self, approved_quarter, cloud, file, quarter, Cloud, CLOUD, SALES_HEADER,
};
use crate::helpers::portal::{browser, csrf_of, get_text, sign_in};
use crate::helpers::{Backend, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};
use trellis_core::org::Role;
use trellis_server::app::incentives::{calculate, import, UnknownSku};
use trellis_server::store::Actor;

crate::on_both_backends!(
    a_file_with_bad_lines_imports_nothing_and_names_each_line,
    a_currency_without_a_rate_is_refused,
    unknown_skus_are_refused_unless_held,
    importing_a_file_again_adds_nothing,
    statements_explain_every_line,
    a_dry_run_saves_nothing_and_a_calculation_saves_drafts,
    a_draft_program_file_is_compared_per_partner,
    approval_and_the_payout_file_keep_cash_and_funds_apart,
    late_data_adjusts_the_next_period_once_and_never_the_approved_one,
    a_rolled_back_batch_loses_its_lines_once,
    partners_read_only_their_own_earnings,
    a_disputed_line_reaches_the_vendor_and_the_answer_comes_back,
    the_upload_page_imports_for_vendor_admins_only,
    the_api_upload_names_bad_lines_and_is_for_vendor_admins_and_distributors,
    partners_get_only_their_own_statements_over_the_api,
    the_api_calculates_and_compares_with_a_stored_version,
    the_incentives_page_previews_without_saving_and_saves_drafts,
    one_partners_statement_is_approved_from_the_page_and_the_payout_downloaded,
    an_import_that_dies_leaves_nothing,
    imports_at_once_never_double_count,
    fx_rates_apply_by_day,
    uplifts_pay_only_on_the_partners_own_registrations,
);

async fn count(t: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(t.db.pool())
        .await
        .unwrap()
}

async fn stored_lines(t: &TestApp) -> i64 {
    count(
        t,
        "SELECT CAST(COALESCE(SUM(lines), 0) AS BIGINT) FROM sales_segments",
    )
    .await
}

/// The command line on the test's database.
fn cli(c: &Cloud, args: &[&str]) -> std::process::Command {
    trellis_on(&c.t.test_db.url, args)
}

/// A browser signed in as a new user of `role` (of `partner`), with the
/// CSRF token of `page`.
async fn signed_in(
    t: &TestApp,
    email: &str,
    role: Role,
    partner: Option<&str>,
    page: &str,
) -> (reqwest::Client, String, String) {
    let (_, token) = t.user(email, role, partner).await;
    let c = browser();
    sign_in(&c, &t.base, email, PASSWORD).await;
    let csrf = csrf_of(&get_text(&c, format!("{}{page}", t.base)).await);
    (c, csrf, token)
}

async fn a_file_with_bad_lines_imports_nothing_and_names_each_line(b: Backend) {
    let c = cloud(b).await;
    let dir = tempfile::tempdir().unwrap();
    let bad = file(
        &dir,
        "bad.csv",
        &format!(
            "{SALES_HEADER}T1,2027-01-15,brightpath,Acme,acme.de,DE,AUR-CL-500,2,60000,USD,,\n\
             T2,2027-02-30,nobody,Acme,,XX,NOPE,ten,-5,GBP,,\n\
             T1,2027-01-16,brightpath,Acme,,DE,AUR-CL-100,1,100,USD,,\n\
             T3,2027-+1-16,brightpath,Acme,,DE,AUR-CL-100,20000000,0.0000001,USD,,\n"
        ),
    );
    let err = run_err(cli(&c, &["import", "sales", &bad]), "");
    for part in [
        "bad.csv:3: date '2027-02-30' is not a date",
        "partner 'nobody' is not a partner",
        "sku 'NOPE' is in no published program's catalogue",
        "quantity 'ten'",
        "unit_price '-5'",
        "currency 'GBP' has no FX rate",
        "bad.csv:4: transaction_id T1 is already on line 2",
        "bad.csv:5: date '2027-+1-16' is not a date",
        "quantity '20000000' is not a non-zero number (negative for a return) of at most 10,000,000 with at most 4 decimals",
        "unit_price '0.0000001' is not a number from 0 to 10,000,000,000 with at most 6 decimals",
        "nothing was imported",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
    assert_eq!(stored_lines(&c.t).await, 0);
    assert_eq!(count(&c.t, "SELECT COUNT(*) FROM sales_batches").await, 0);
}

async fn a_currency_without_a_rate_is_refused(b: Backend) {
    let c = cloud(b).await;
    let dir = tempfile::tempdir().unwrap();
    let sales = file(
        &dir,
        "sales.csv",
        &format!("{SALES_HEADER}{}", fixtures::Q1_SALES),
    );
    let err = run_err(cli(&c, &["import", "sales", &sales]), "");
    assert!(err.contains("currency 'EUR' has no FX rate"), "{err}");
    assert_eq!(stored_lines(&c.t).await, 0);
}

async fn unknown_skus_are_refused_unless_held(b: Backend) {
    let c = cloud(b).await;
    fixtures::fx(&c.t.app, "EUR,USD,2026-01-01,1.0850\n").await;
    let dir = tempfile::tempdir().unwrap();
    let sales = file(
        &dir,
        "sales.csv",
        &format!("{SALES_HEADER}{}", fixtures::Q1_SALES),
    );
    let err = run_err(cli(&c, &["import", "sales", &sales]), "");
    assert!(err.contains("sales.csv:7: sku 'LEGACY-9'"), "{err}");
    assert_eq!(stored_lines(&c.t).await, 0);
    let out = run_ok(
        cli(&c, &["import", "sales", &sales, "--unknown-skus", "hold"]),
        "",
    );
    assert!(
        out.contains("6 line(s): 6 imported, 0 already imported before (skipped), 1 held"),
        "{out}"
    );
    assert_eq!(stored_lines(&c.t).await, 6);
}

async fn importing_a_file_again_adds_nothing(b: Backend) {
    let c = quarter(b).await;
    let dir = tempfile::tempdir().unwrap();
    let sales = file(
        &dir,
        "sales.csv",
        &format!("{SALES_HEADER}{}", fixtures::Q1_SALES),
    );
    let out = run_ok(
        cli(&c, &["import", "sales", &sales, "--unknown-skus", "hold"]),
        "",
    );
    assert!(
        out.contains("0 imported, 6 already imported before"),
        "{out}"
    );
    assert_eq!(stored_lines(&c.t).await, 6);
}

/// The dry-run calculation as JSON, and one of its lines by rule.
fn calculation(c: &Cloud, period: &str) -> Value {
    let out = run_ok(
        cli(
            c,
            &[
                "incentives",
                "calculate",
                "--period",
                period,
                "--dry-run",
                "--format",
                "json",
            ],
        ),
        "",
    );
    serde_json::from_str(&out).unwrap()
}

fn line(v: &Value, rule: &str) -> Value {
    v["calculation"]["statements"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["lines"].as_array().unwrap().clone())
        .find(|l| l["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule}: {v}"))
}

async fn statements_explain_every_line(b: Backend) {
    let c = quarter(b).await;
    let v = calculation(&c, "2027-Q1");
    // BrightPath: 2 × 60,000 EUR − 20,000 EUR = 100,000 EUR = 108,500 USD of cloud.
    let cloud = line(&v, "cloud-volume");
    assert_eq!(cloud["basis"], "108500.00");
    assert_eq!(cloud["amount"], "2170.00");
    assert_eq!(cloud["band"], 1);
    assert_eq!(line(&v, "ai-launch")["amount"], "500.00");
    assert_eq!(line(&v, "ai-launch")["seller"], "anna");
    // Alpine: growth 120,000 − 60,000 at 3 %; the held line is left out.
    assert_eq!(line(&v, "msp-growth")["amount"], "1800.00");
    assert_eq!(
        line(&v, "msp-growth")["explanation"],
        "growth of 60,000.00 (120,000.00 against 60,000.00 a year earlier) reached band 1 (from 0.00 at 3%), applied to the whole volume"
    );
}

async fn a_dry_run_saves_nothing_and_a_calculation_saves_drafts(b: Backend) {
    let c = quarter(b).await;
    calculation(&c, "2027-Q1");
    assert_eq!(count(&c.t, "SELECT COUNT(*) FROM statements").await, 0);
    let text = run_ok(
        cli(&c, &["incentives", "calculate", "--period", "2027-Q1"]),
        "",
    );
    assert!(
        text.contains("141500.00 USD more this period reaches 4% (cloud-volume)"),
        "{text}"
    );
    assert_eq!(
        count(
            &c.t,
            "SELECT COUNT(*) FROM statements WHERE status = 'draft'"
        )
        .await,
        2
    );
}

/// The cloud program with a richer top band.
fn richer() -> String {
    CLOUD.replace(
        "{ from = 100000, rate_pct = 2 }, { from = 250000, rate_pct = 4 }",
        "{ from = 100000, rate_pct = 3 }, { from = 250000, rate_pct = 5 }",
    )
}

async fn a_draft_program_file_is_compared_per_partner(b: Backend) {
    let c = quarter(b).await;
    let dir = tempfile::tempdir().unwrap();
    let draft = file(&dir, "draft.toml", &richer());
    let text = run_ok(
        cli(
            &c,
            &[
                "incentives",
                "calculate",
                "--period",
                "2027-Q1",
                "--dry-run",
                "--program-file",
                &draft,
            ],
        ),
        "",
    );
    assert!(
        text.contains("brightpath partner: 5035.30 → 6120.30 (+1085.00)"),
        "{text}"
    );
    assert!(
        text.contains("alpine partner: 4200.00 → 4200.00 (+0.00)"),
        "{text}"
    );
}

async fn approval_and_the_payout_file_keep_cash_and_funds_apart(b: Backend) {
    let c = quarter(b).await;
    run_ok(
        cli(&c, &["incentives", "calculate", "--period", "2027-Q1"]),
        "",
    );
    let out = run_ok(
        cli(&c, &["incentives", "approve", "--period", "2027-Q1"]),
        "",
    );
    assert!(out.contains("2 statement(s) approved"), "{out}");
    let csv = run_ok(
        cli(&c, &["incentives", "payout", "--period", "2027-Q1"]),
        "",
    );
    assert!(
        csv.starts_with(
            "period,partner_slug,partner_name,rule,kind,seller,amount,paid_as,approved_at\n"
        ),
        "{csv}"
    );
    for row in [
        "2027-Q1,brightpath,brightpath partner,cloud-volume,rebate,,2170.00,cash,",
        "2027-Q1,brightpath,brightpath partner,ai-launch,spif,anna,500.00,cash,",
        ",mdf-accrual,fund-accrual,,2365.30,funds,",
    ] {
        assert!(csv.contains(row), "{row}: {csv}");
    }
}

async fn approved_lines(t: &TestApp) -> String {
    sqlx::query_scalar(
        "SELECT lines FROM statements WHERE period = '2027-Q1' AND status = 'approved' ORDER BY partner_id LIMIT 1",
    )
    .fetch_one(t.db.pool())
    .await
    .unwrap()
}

async fn late_data_adjusts_the_next_period_once_and_never_the_approved_one(b: Backend) {
    let c = approved_quarter(b).await;
    let before = approved_lines(&c.t).await;
    fixtures::sales(
        &c.t.app,
        "T8,2027-03-30,brightpath,Kovalo,kovalo.de,DE,AUR-AI-1,1,1000,USD,,anna\n",
    )
    .await;
    let text = run_ok(
        cli(&c, &["incentives", "calculate", "--period", "2027-Q2"]),
        "",
    );
    // 1 unit of the AI add-on: SPIF 50.00 to anna + 2 % of 1,000 accrued = 70.00.
    assert!(
        text.contains("late data for 2027-Q1: recalculated 5105.30 against 5035.30 approved"),
        "{text}"
    );
    assert_eq!(
        approved_lines(&c.t).await,
        before,
        "an approved statement never changes"
    );
    let out = run_ok(
        cli(&c, &["incentives", "calculate", "--period", "2027-Q1"]),
        "",
    );
    assert!(
        !out.contains("adjustment"),
        "not of a period by itself: {out}"
    );
    assert_eq!(
        count(
            &c.t,
            "SELECT COUNT(*) FROM statements WHERE period = '2027-Q1' AND status = 'draft'"
        )
        .await,
        0,
        "partners approved for the period get no new draft"
    );
    run_ok(
        cli(&c, &["incentives", "approve", "--period", "2027-Q2"]),
        "",
    );
    let q3 = calculation(&c, "2027-Q3").to_string();
    assert!(!q3.contains("adjustment 2027-Q1"), "adjusted once: {q3}");
}

async fn a_rolled_back_batch_loses_its_lines_once(b: Backend) {
    let c = quarter(b).await;
    fixtures::sales(
        &c.t.app,
        "L1,2027-04-02,brightpath,Kovalo,kovalo.de,DE,AUR-AI-1,1,1000,USD,,\n",
    )
    .await;
    let batch: String = sqlx::query_scalar("SELECT id FROM sales_batches WHERE imported = 6")
        .fetch_one(c.t.db.pool())
        .await
        .unwrap();
    let out = run_ok(cli(&c, &["import", "rollback", &batch]), "");
    assert!(out.contains("6 line(s) removed"), "{out}");
    assert_eq!(stored_lines(&c.t).await, 1, "the other batch stays");
    let err = run_err(cli(&c, &["import", "rollback", &batch]), "");
    assert!(err.contains("already rolled back"), "{err}");
}

async fn partners_read_only_their_own_earnings(b: Backend) {
    let c = approved_quarter(b).await;
    let page = format!("/partners/{}/earnings", c.bp.id);
    let (bpc, _, _) = signed_in(
        &c.t,
        "boss@brightpath.test",
        Role::PartnerAdmin,
        Some(&c.bp.id),
        "/account",
    )
    .await;
    let r = bpc.get(format!("{}{page}", c.t.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    for part in [
        "2027-Q1",
        "approved",
        "cloud-volume",
        "2,170.00",
        "5,035.30 USD",
        "Earned to date",
        "<strong>5,035.30 USD</strong> approved",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    assert!(!html.contains("in draft statements"), "no drafts: {html}");
    let (other, _, _) = signed_in(
        &c.t,
        "boss@alpine.test",
        Role::PartnerAdmin,
        Some(&c.alpine.id),
        "/account",
    )
    .await;
    let r = other
        .get(format!("{}{page}", c.t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn a_disputed_line_reaches_the_vendor_and_the_answer_comes_back(b: Backend) {
    let c = approved_quarter(b).await;
    let earnings = format!("/partners/{}/earnings", c.bp.id);
    let (bpc, csrf, _) = signed_in(
        &c.t,
        "boss@brightpath.test",
        Role::PartnerAdmin,
        Some(&c.bp.id),
        &earnings,
    )
    .await;
    let statement: String = sqlx::query_scalar(
        "SELECT id FROM statements WHERE partner_id = $1 AND period = '2027-Q1'",
    )
    .bind(&c.bp.id)
    .fetch_one(c.t.db.pool())
    .await
    .unwrap();
    let r = bpc
        .post(format!(
            "{}/partners/{}/statements/{statement}/dispute",
            c.t.base, c.bp.id
        ))
        .form(&[
            ("csrf", csrf.as_str()),
            ("rule", "cloud-volume"),
            ("comment", "A March order is missing"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let back = r.headers()["location"].to_str().unwrap().to_string();
    let page = get_text(&bpc, format!("{}{back}", c.t.base)).await;
    assert!(
        page.contains("Your question was sent to the vendor."),
        "{page}"
    );
    let (vc, vcsrf, _) = signed_in(
        &c.t,
        "admin@vendor.test",
        Role::VendorAdmin,
        None,
        "/incentives",
    )
    .await;
    let totals = get_text(&vc, format!("{}/incentives", c.t.base)).await;
    for part in [
        "2027-Q1",
        "By program element",
        "margin",
        "brightpath partner",
        "A March order is missing",
    ] {
        assert!(totals.contains(part), "{part}: {totals}");
    }
    let dispute: String = sqlx::query_scalar("SELECT id FROM statement_disputes")
        .fetch_one(c.t.db.pool())
        .await
        .unwrap();
    let r = vc
        .post(format!(
            "{}/incentives/disputes/{dispute}/resolve",
            c.t.base
        ))
        .form(&[
            ("csrf", vcsrf.as_str()),
            ("answer", "It was dated April: it counts in Q2"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = get_text(&bpc, format!("{}{earnings}", c.t.base)).await;
    assert!(html.contains("Answer: It was dated April"), "{html}");
}

async fn the_upload_page_imports_for_vendor_admins_only(b: Backend) {
    let c = quarter(b).await;
    let (vc, csrf, _) = signed_in(
        &c.t,
        "admin@vendor.test",
        Role::VendorAdmin,
        None,
        "/sales/import",
    )
    .await;
    let post = |body: String| {
        vc.post(format!("{}/sales/import", c.t.base))
            .form(&[("csrf", csrf.clone()), ("csv", body)])
            .send()
    };
    let r = post(format!(
        "{SALES_HEADER}U1,2027-05-01,brightpath,Acme,,DE,AUR-CL-100,x,100,USD,,\n"
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("upload.csv:2: quantity"));
    assert_eq!(stored_lines(&c.t).await, 6, "nothing of the bad file");
    let r = post(format!(
        "{SALES_HEADER}U1,2027-05-01,brightpath,Acme,,DE,AUR-CL-100,1,100,USD,,\n"
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("1 line(s): 1 imported"));
    let (bpc, _, _) = signed_in(
        &c.t,
        "boss@brightpath.test",
        Role::PartnerAdmin,
        Some(&c.bp.id),
        "/account",
    )
    .await;
    let r = bpc
        .get(format!("{}/sales/import", c.t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "resellers do not get it");
}

async fn upload(t: &TestApp, token: &str, rows: &str) -> reqwest::Response {
    t.http
        .post(format!("{}/api/v1/sales/imports", t.base))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(format!("{SALES_HEADER}{rows}"))
        .send()
        .await
        .unwrap()
}

async fn the_api_upload_names_bad_lines_and_is_for_vendor_admins_and_distributors(b: Backend) {
    let c = quarter(b).await;
    let admin = c.t.admin().await;
    let r = upload(
        &c.t,
        &admin,
        "A1,2027-05-02,brightpath,Acme,,DE,AUR-CL-100,1,100,XYZ,,\n",
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("upload.csv:2: currency 'XYZ'"),
        "{body}"
    );
    let r = upload(
        &c.t,
        &admin,
        "A1,2027-05-02,brightpath,Acme,,DE,AUR-CL-100,1,100,USD,,\n",
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.json::<Value>().await.unwrap()["imported"], 1);
    let (_, reseller) =
        c.t.user("boss@brightpath.test", Role::PartnerAdmin, Some(&c.bp.id))
            .await;
    let r = upload(
        &c.t,
        &reseller,
        "A2,2027-05-02,brightpath,Acme,,DE,AUR-CL-100,1,100,USD,,\n",
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "resellers do not report");
    let dist = fixtures::partner(&c.t.app, "distri", "distributor").await;
    let (_, distributor) =
        c.t.user("boss@distri.test", Role::PartnerAdmin, Some(&dist.id))
            .await;
    let r = upload(
        &c.t,
        &distributor,
        "A3,2027-05-02,brightpath,Acme,,DE,AUR-CL-100,1,100,USD,,\n",
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED, "distributors report");
    assert_eq!(stored_lines(&c.t).await, 8);
}

async fn partners_get_only_their_own_statements_over_the_api(b: Backend) {
    let c = approved_quarter(b).await;
    let (_, bp) =
        c.t.user("boss@brightpath.test", Role::PartnerAdmin, Some(&c.bp.id))
            .await;
    let (_, alpine) =
        c.t.user("boss@alpine.test", Role::PartnerAdmin, Some(&c.alpine.id))
            .await;
    let path = format!("/api/v1/partners/{}/statements", c.bp.id);
    let r = c.t.get(&path, &bp).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let q1 = &r.body[0];
    assert_eq!(
        (&q1["period"], &q1["status"], &q1["total"]),
        (&json!("2027-Q1"), &json!("approved"), &json!("5035.30"))
    );
    assert_eq!(c.t.get(&path, &alpine).await.status, StatusCode::NOT_FOUND);
}

async fn the_api_calculates_and_compares_with_a_stored_version(b: Backend) {
    let c = quarter(b).await;
    let admin = c.t.admin().await;
    let calc = |body: Value| c.t.post("/api/v1/incentives/calculations", &admin, body);
    let r = calc(json!({"period": "2027-Q1", "dry_run": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["period"], "2027-Q1");
    assert_eq!(r.body["statements"].as_array().map(Vec::len), Some(2));
    let draft = fixtures::draft(&c.t.app, &richer()).await;
    let r =
        calc(json!({"period": "2027-Q1", "dry_run": true, "what_if_version": draft.number})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let w = &r.body["what_if"];
    assert_eq!(w["under"], format!("version {} (draft)", draft.number));
    let bright = w["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["partner"] == "brightpath partner")
        .unwrap_or_else(|| panic!("{w}"));
    assert_eq!(bright["difference"], "1085.00", "{w}");
    assert_eq!(w["difference"], "1085.00", "{w}");
    let r = calc(json!({"period": "2027-Q1", "dry_run": true, "what_if_version": 99})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["what_if_version"]);
    let r = calc(json!({"period": "2027-Q9"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["period"]);
    assert_eq!(count(&c.t, "SELECT COUNT(*) FROM statements").await, 0);
    let (_, partner) =
        c.t.user("boss@brightpath.test", Role::PartnerAdmin, Some(&c.bp.id))
            .await;
    let r =
        c.t.post(
            "/api/v1/incentives/calculations",
            &partner,
            json!({"period": "2027-Q1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn the_incentives_page_previews_without_saving_and_saves_drafts(b: Backend) {
    let c = quarter(b).await;
    let draft = fixtures::draft(&c.t.app, &richer()).await;
    let (vc, csrf, _) = signed_in(
        &c.t,
        "admin@vendor.test",
        Role::VendorAdmin,
        None,
        "/incentives",
    )
    .await;
    let page = get_text(&vc, format!("{}/incentives", c.t.base)).await;
    assert!(page.contains("Calculate a period"), "{page}");
    assert!(
        page.contains(&format!(
            "<option value=\"{}\">version {}",
            draft.number, draft.number
        )),
        "{page}"
    );
    let calc = |client: &reqwest::Client, action: &'static str, csrf: &str| {
        client
            .post(format!("{}/incentives/calculate", c.t.base))
            .form(&[
                ("csrf", csrf.to_string()),
                ("period", "2027-Q1".into()),
                ("what_if_version", draft.number.to_string()),
                ("action", action.into()),
            ])
            .send()
    };
    let r = calc(&vc, "preview", &csrf).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    for part in [
        format!("Under version {} (draft)", draft.number).as_str(),
        "1,085.00",
        "Nothing is saved yet",
        "brightpath partner",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    assert_eq!(
        count(&c.t, "SELECT COUNT(*) FROM statements").await,
        0,
        "a preview saves nothing"
    );
    let r = calc(&vc, "save", &csrf).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/incentives?msg=calculated");
    assert_eq!(
        count(
            &c.t,
            "SELECT COUNT(*) FROM statements WHERE status = 'draft'"
        )
        .await,
        2
    );
    let (bpc, bcsrf, _) = signed_in(
        &c.t,
        "boss@brightpath.test",
        Role::PartnerAdmin,
        Some(&c.bp.id),
        &format!("/partners/{}/earnings", c.bp.id),
    )
    .await;
    let r = calc(&bpc, "save", &bcsrf).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn one_partners_statement_is_approved_from_the_page_and_the_payout_downloaded(b: Backend) {
    let c = quarter(b).await;
    fixtures::sales(
        &c.t.app,
        "M1,2027-05-02,brightpath,Acme,,DE,AUR-CL-100,1,100,USD,,\n\
         M2,2027-05-03,alpine,Brintex,,CH,AUR-CL-100,1,100,USD,,\n",
    )
    .await;
    calculate::run(&c.t.app, "2027-05", None, false)
        .await
        .unwrap();
    let status_of = |partner: &str| {
        sqlx::query_scalar::<_, String>(
            "SELECT status FROM statements WHERE period = '2027-05' AND partner_id = $1",
        )
        .bind(partner.to_string())
        .fetch_all(c.t.db.pool())
    };
    let (vc, csrf, _) = signed_in(
        &c.t,
        "admin@vendor.test",
        Role::VendorAdmin,
        None,
        "/incentives",
    )
    .await;
    let page = get_text(&vc, format!("{}/incentives", c.t.base)).await;
    assert!(
        page.contains(&format!("name=\"partner_id\" value=\"{}\"", c.bp.id)),
        "{page}"
    );
    let r = vc
        .post(format!("{}/incentives/approve", c.t.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("period", "2027-05"),
            ("partner_id", c.bp.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&c.bp.id).await.unwrap(), vec!["approved"]);
    assert_eq!(
        status_of(&c.alpine.id).await.unwrap(),
        vec!["draft"],
        "the other partner's draft stays a draft"
    );
    let r = vc
        .get(format!("{}/incentives/payout?period=2027-05", c.t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    assert!(
        csv.starts_with(
            "period,partner_slug,partner_name,rule,kind,seller,amount,paid_as,approved_at\n"
        ) && csv.contains("2027-05,brightpath,brightpath partner,")
            && !csv.contains("alpine"),
        "{csv}"
    );
    let (bpc, _, _) = signed_in(
        &c.t,
        "boss@brightpath.test",
        Role::PartnerAdmin,
        Some(&c.bp.id),
        "/account",
    )
    .await;
    let r = bpc
        .get(format!("{}/incentives/payout?period=2027-05", c.t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// `trellis import sales` dying while it writes: the batch is all or nothing.
async fn an_import_that_dies_leaves_nothing(b: Backend) {
    let c = cloud(b).await;
    let dir = tempfile::tempdir().unwrap();
    let n = 150_000;
    let mut text = String::from(SALES_HEADER);
    for i in 0..n {
        text.push_str(&format!(
            "K{i},2027-02-01,brightpath,Acme,,DE,AUR-CL-100,1,100,USD,,\n"
        ));
    }
    let path = file(&dir, "big.csv", &text);
    // The process dies after writing every segment, before committing.
    let out = cli(&c, &["import", "sales", &path])
        .env("TRELLIS_CRASH", "sales-import-commit")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the import should have died: {err}");
    assert!(
        err.contains(&format!("{n} lines")),
        "it read the whole file first: {err}"
    );
    assert_eq!(
        stored_lines(&c.t).await,
        0,
        "died while writing: none of it"
    );
    assert_eq!(count(&c.t, "SELECT COUNT(*) FROM sales_batches").await, 0);
    // And the same file then imports whole.
    let out = run_ok(cli(&c, &["import", "sales", &path]), "");
    assert!(out.contains(&format!("{n} line(s)")), "{out}");
    assert_eq!(stored_lines(&c.t).await, n as i64);
}

/// Two imports of the same file at once never count a line twice: one
/// imports it, the other skips every line or asks to be run again.
async fn imports_at_once_never_double_count(b: Backend) {
    let c = cloud(b).await;
    let mut text = String::from(SALES_HEADER);
    for i in 0..2_000 {
        text.push_str(&format!(
            "W{i},2027-02-01,brightpath,Acme,,DE,AUR-CL-100,1,100,USD,,\n"
        ));
    }
    let run = || async {
        import::import(
            &c.t.app,
            &Actor::system("test"),
            "same.csv",
            text.as_bytes(),
            UnknownSku::Reject,
            &mut |_, _| {},
        )
        .await
    };
    let (a, b2) = tokio::join!(run(), run());
    let mut imported = 0;
    for r in [a, b2] {
        match r {
            Ok(s) => imported += s.imported,
            Err(e) => assert!(e.to_string().contains("import it again"), "{e}"),
        }
    }
    assert_eq!(imported, 2_000);
    assert_eq!(stored_lines(&c.t).await, 2_000);
}

/// Each line is converted with the rate of its day, also when a rate
/// changes within the period; lines outside the period and the year before
/// need no rate; a line in the period without one is an error naming it.
async fn fx_rates_apply_by_day(b: Backend) {
    let c = cloud(b).await;
    fixtures::fx(
        &c.t.app,
        "EUR,USD,2027-02-01,1.10\nEUR,USD,2027-03-01,1.20\n",
    )
    .await;
    fixtures::sales(
        &c.t.app,
        "E1,2026-06-15,brightpath,Acme,,DE,AUR-CL-100,1,1000,EUR,,\n\
         E2,2027-02-10,brightpath,Acme,,DE,AUR-CL-100,1,1000,EUR,,\n\
         E3,2027-03-05,brightpath,Acme,,DE,AUR-CL-100,2,1000,EUR,,\n",
    )
    .await;
    let run = calculate::run(&c.t.app, "2027-Q1", None, true)
        .await
        .unwrap();
    let accrual = run.calculation.statements[0]
        .lines
        .iter()
        .find(|l| l.rule == "mdf-accrual")
        .unwrap();
    // 1,000 × 1.10 + 2,000 × 1.20; the June 2026 line (no rate then) is in neither period.
    assert_eq!(accrual.basis.to_string(), "3500.00");
    assert_eq!(run.calculation.lines_read, 2);
    fixtures::sales(
        &c.t.app,
        "E4,2027-01-15,brightpath,Acme,,DE,AUR-CL-100,1,1000,EUR,,\n",
    )
    .await;
    let err = calculate::run(&c.t.app, "2027-Q1", None, true)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("no FX rate to USD for: EUR (sales from 2027-01-01)"),
        "{err}"
    );
}

async fn uplifts_pay_only_on_the_partners_own_registrations(b: Backend) {
    let c = cloud(b).await;
    let own = fixtures::approved_registration(&c.t, &c.bp, "Kunde AG", "kunde.de").await;
    let others = fixtures::approved_registration(&c.t, &c.alpine, "Brintex AG", "brintex.ch").await;
    let waiting = fixtures::registration(&c.t, &c.bp, "Zentrix GmbH", "zentrix.de").await;
    fixtures::sales(
        &c.t.app,
        &format!(
            "U1,2027-02-01,brightpath,Kunde AG,kunde.de,DE,AUR-CL-100,1,10000,USD,{},\n\
             U2,2027-02-02,brightpath,Brintex AG,brintex.ch,CH,AUR-CL-100,1,20000,USD,{},\n\
             U3,2027-02-03,brightpath,Zentrix GmbH,zentrix.de,DE,AUR-CL-100,1,40000,USD,{},\n\
             U4,2027-02-04,alpine,Brintex AG,brintex.ch,CH,AUR-CL-100,1,5000,USD,{},\n",
            own.id, others.id, waiting.id, others.id
        ),
    )
    .await;
    let v = calculation(&c, "2027-Q1");
    let statements = v["calculation"]["statements"].as_array().unwrap();
    let of = |slug: &str| {
        statements
            .iter()
            .find(|s| s["partner_slug"] == slug)
            .unwrap_or_else(|| panic!("no statement for {slug}: {v}"))
    };
    let uplift = |slug: &str| {
        of(slug)["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rule"] == "registered-deals")
            .cloned()
    };
    // BrightPath's own approved registration counts; Alpine's and its own
    // registration still waiting do not.
    let bp = uplift("brightpath").expect("brightpath's uplift");
    assert_eq!(bp["basis"], "10000.00", "{bp}");
    assert_eq!(bp["amount"], "300.00");
    assert_eq!(bp["transactions"], 1);
    assert!(
        bp["explanation"]
            .as_str()
            .unwrap()
            .contains("your own approved or won"),
        "{bp}"
    );
    assert_eq!(
        uplift("alpine").expect("alpine's uplift")["basis"],
        "5000.00"
    );
    // Statements name their partner.
    assert_eq!(of("brightpath")["partner_name"], "brightpath partner");
    assert_eq!(of("alpine")["partner_id"], c.alpine.id.as_str());
}
