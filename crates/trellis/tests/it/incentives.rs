//! Sales-out import and incentive calculation from the command line, on
//! SQLite and PostgreSQL: line errors reject the whole file, re-imports never
//! double count, batches roll back, FX converts, statements explain
//! themselves, and a draft program shows the difference per partner.

use crate::cli::{run_err, run_ok, trellis_on};
use crate::helpers::{app_on, operator};
use crate::helpers::{Backend, TestApp, TestDb, PASSWORD};
use crate::portal::{browser, csrf_of, get_text, sign_in};
use serde_json::Value;
use trellis_core::org::PartnerStatus;
use trellis_core::org::Role;
use trellis_core::program::Checked;
use trellis_server::app::incentives::{calculate, fx, import, UnknownSku};
use trellis_server::store::{partners, Actor};

crate::on_both_backends!(
    import_calculate_and_what_if,
    an_import_that_dies_leaves_nothing,
    imports_at_once_never_double_count,
    fx_rates_apply_by_day
);

const CLOUD: &str = include_str!("../../../../examples/programs/cloud-reseller.toml");

const HEADER: &str = "transaction_id,date,partner,customer_name,customer_domain,customer_country,sku,quantity,unit_price,currency,deal_id,seller\n";

async fn import_calculate_and_what_if(b: Backend) {
    let db = TestDb::new(b).await;
    let url = db.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_string()
    };
    run_ok(trellis_on(&url, &["migrate"]), "");
    let pool = db.open().await;
    let actor = Actor::system("test");
    let v = trellis_server::app::programs::save_draft(
        &app_on(&pool),
        &actor,
        &Checked::new(CLOUD.to_string()).unwrap(),
    )
    .await
    .unwrap();
    trellis_server::app::programs::publish(
        &app_on(&pool),
        &operator(),
        &actor,
        &v.program,
        v.number,
    )
    .await
    .unwrap();
    for (slug, ty) in [("brightpath", "reseller"), ("alpine", "msp")] {
        trellis_server::app::partners::create_many(
            &app_on(&pool),
            &actor,
            &[partners::NewPartner {
                slug: slug.into(),
                name: format!("{slug} partner"),
                partner_type: ty.into(),
                region: "dach".into(),
                country: "DE".into(),
                status: PartnerStatus::Active,
                website: None,
                channel_manager_id: None,
            }],
        )
        .await
        .unwrap();
    }
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool.pool())
                .await
                .unwrap()
        }
    };

    // Bad lines: every problem named by line; nothing imported.
    let bad = file(
        "bad.csv",
        &format!(
            "{HEADER}T1,2027-01-15,brightpath,Acme,acme.de,DE,AUR-CL-500,2,60000,USD,,\n\
             T2,2027-02-30,nobody,Acme,,XX,NOPE,ten,-5,GBP,,\n\
             T1,2027-01-16,brightpath,Acme,,DE,AUR-CL-100,1,100,USD,,\n\
             T3,2027-+1-16,brightpath,Acme,,DE,AUR-CL-100,20000000,0.0000001,USD,,\n"
        ),
    );
    let err = run_err(trellis_on(&url, &["import", "sales", &bad]), "");
    assert!(
        err.contains("bad.csv:3: date '2027-02-30' is not a date"),
        "{err}"
    );
    for part in [
        "partner 'nobody' is not a partner",
        "sku 'NOPE' is in no published program's catalogue",
        "quantity 'ten'",
        "unit_price '-5'",
        "currency 'GBP' has no FX rate",
        "bad.csv:5: date '2027-+1-16' is not a date",
        "quantity '20000000' is not a non-zero number (negative for a return) of at most 10,000,000 with at most 4 decimals",
        "unit_price '0.0000001' is not a number from 0 to 10,000,000,000 with at most 6 decimals",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
    assert!(
        err.contains("bad.csv:4: transaction_id T1 is already on line 2"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(
        count("SELECT CAST(COALESCE(SUM(lines), 0) AS BIGINT) FROM sales_segments").await,
        0
    );
    assert_eq!(count("SELECT COUNT(*) FROM sales_batches").await, 0);

    // A good file, then the same again: nothing is counted twice.
    let good = file(
        "sales.csv",
        &format!(
            "{HEADER}T1,2027-01-15,brightpath,Müller GmbH,mueller.de,DE,AUR-CL-500,2,60000,EUR,,anna\n\
             T2,2027-02-03,brightpath,Kovalo,kovalo.de,DE,AUR-AI-1,10,900,EUR,,anna\n\
             T3,2027-03-20,brightpath,Kovalo,kovalo.de,DE,AUR-CL-100,-1,20000,EUR,,anna\n\
             T4,2026-02-10,alpine,Brintex,brintex.ch,CH,AUR-CL-100,3,20000,USD,,\n\
             T5,2027-02-10,alpine,Brintex,brintex.ch,CH,AUR-CL-500,3,40000,USD,,\n\
             T6,2027-02-11,alpine,Brintex,brintex.ch,CH,LEGACY-9,1,100,USD,,\n"
        ),
    );
    let err = run_err(trellis_on(&url, &["import", "sales", &good]), "");
    assert!(err.contains("currency 'EUR' has no FX rate"), "{err}");
    let fx = file(
        "fx.csv",
        "from_currency,to_currency,valid_from,rate\nEUR,USD,2026-01-01,1.0850\n",
    );
    run_ok(trellis_on(&url, &["import", "fx", &fx]), "");
    let err = run_err(trellis_on(&url, &["import", "sales", &good]), "");
    assert!(err.contains("sales.csv:7: sku 'LEGACY-9'"), "{err}");
    let out = run_ok(
        trellis_on(&url, &["import", "sales", &good, "--unknown-skus", "hold"]),
        "",
    );
    assert!(
        out.contains("6 line(s): 6 imported, 0 already imported before (skipped), 1 held"),
        "{out}"
    );
    let out = run_ok(
        trellis_on(&url, &["import", "sales", &good, "--unknown-skus", "hold"]),
        "",
    );
    assert!(
        out.contains("0 imported, 6 already imported before"),
        "{out}"
    );
    assert_eq!(
        count("SELECT CAST(COALESCE(SUM(lines), 0) AS BIGINT) FROM sales_segments").await,
        6
    );

    // The statements, line by line with their reasons.
    let out = run_ok(
        trellis_on(
            &url,
            &[
                "incentives",
                "calculate",
                "--period",
                "2027-Q1",
                "--dry-run",
                "--format",
                "json",
            ],
        ),
        "",
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let st = v["calculation"]["statements"].as_array().unwrap();
    let line = |rule: &str| -> Value {
        st.iter()
            .flat_map(|s| s["lines"].as_array().unwrap().clone())
            .find(|l| l["rule"] == rule)
            .unwrap_or_else(|| panic!("no {rule}: {out}"))
    };
    // BrightPath: 2 × 60,000 EUR − 20,000 EUR = 100,000 EUR = 108,500 USD of cloud.
    assert_eq!(line("cloud-volume")["basis"], "108500.00");
    assert_eq!(line("cloud-volume")["amount"], "2170.00");
    assert_eq!(line("cloud-volume")["band"], 1);
    assert_eq!(line("ai-launch")["amount"], "500.00");
    assert_eq!(line("ai-launch")["seller"], "anna");
    // Alpine: growth 120,000 − 60,000 at 3 %; the held line is left out.
    assert_eq!(line("msp-growth")["amount"], "1800.00");
    assert_eq!(
        line("msp-growth")["explanation"],
        "growth of 60,000.00 (120,000.00 against 60,000.00 a year earlier) reached band 1 (from 0.00 at 3%), applied to the whole volume"
    );
    assert_eq!(count("SELECT COUNT(*) FROM statements").await, 0, "dry run");
    let text = run_ok(
        trellis_on(&url, &["incentives", "calculate", "--period", "2027-Q1"]),
        "",
    );
    assert!(
        text.contains("141500.00 USD more this period reaches 4% (cloud-volume)"),
        "{text}"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM statements WHERE status = 'draft'").await,
        2
    );

    // What-if: a draft with a richer top band, beside the published rules.
    let draft = file(
        "draft.toml",
        &CLOUD.replace(
            "{ from = 100000, rate_pct = 2 }, { from = 250000, rate_pct = 4 }",
            "{ from = 100000, rate_pct = 3 }, { from = 250000, rate_pct = 5 }",
        ),
    );
    let text = run_ok(
        trellis_on(
            &url,
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

    // Approval, then the payout file: cash and funds apart.
    let out = run_ok(
        trellis_on(&url, &["incentives", "approve", "--period", "2027-Q1"]),
        "",
    );
    assert!(out.contains("2 statement(s) approved"), "{out}");
    let csv = run_ok(
        trellis_on(&url, &["incentives", "payout", "--period", "2027-Q1"]),
        "",
    );
    assert!(
        csv.starts_with(
            "period,partner_slug,partner_name,rule,kind,seller,amount,paid_as,approved_at\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains("2027-Q1,brightpath,brightpath partner,cloud-volume,rebate,,2170.00,cash,"),
        "{csv}"
    );
    assert!(
        csv.contains("2027-Q1,brightpath,brightpath partner,ai-launch,spif,anna,500.00,cash,"),
        "{csv}"
    );
    assert!(
        csv.contains(",mdf-accrual,fund-accrual,,2365.30,funds,"),
        "{csv}"
    );

    // Late data for the approved quarter: Q1 stays as approved; Q2 carries the difference.
    let late = file(
        "late.csv",
        &format!(
            "{HEADER}T8,2027-03-30,brightpath,Kovalo,kovalo.de,DE,AUR-AI-1,1,1000,USD,,anna\n"
        ),
    );
    run_ok(trellis_on(&url, &["import", "sales", &late]), "");
    let approved_before: String = sqlx::query_scalar(
        "SELECT lines FROM statements WHERE period = '2027-Q1' AND status = 'approved' ORDER BY partner_id LIMIT 1",
    )
    .fetch_one(pool.pool())
    .await
    .unwrap();
    let text = run_ok(
        trellis_on(&url, &["incentives", "calculate", "--period", "2027-Q2"]),
        "",
    );
    // 1 unit of the AI add-on: SPIF 50.00 to anna + 2 % of 1,000 accrued = 70.00.
    assert!(text.contains("adjustment 2027-Q1"), "{text}");
    assert!(
        text.contains("late data for 2027-Q1: recalculated 5105.30 against 5035.30 approved"),
        "{text}"
    );
    let approved_after: String = sqlx::query_scalar(
        "SELECT lines FROM statements WHERE period = '2027-Q1' AND status = 'approved' ORDER BY partner_id LIMIT 1",
    )
    .fetch_one(pool.pool())
    .await
    .unwrap();
    assert_eq!(
        approved_before, approved_after,
        "an approved statement never changes"
    );
    let out = run_ok(
        trellis_on(&url, &["incentives", "calculate", "--period", "2027-Q1"]),
        "",
    );
    assert!(
        !out.contains("adjustment"),
        "no adjustment of a period by itself: {out}"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM statements WHERE period = '2027-Q1' AND status = 'draft'")
            .await,
        0,
        "partners approved for the period get no new draft"
    );
    run_ok(
        trellis_on(&url, &["incentives", "approve", "--period", "2027-Q2"]),
        "",
    );
    let text = run_ok(
        trellis_on(
            &url,
            &[
                "incentives",
                "calculate",
                "--period",
                "2027-Q3",
                "--dry-run",
            ],
        ),
        "",
    );
    assert!(
        !text.contains("adjustment 2027-Q1"),
        "adjusted once only: {text}"
    );

    // The partner reads its statements in the portal; another partner cannot.
    let bp = partners::get_by_slug(&pool, "brightpath")
        .await
        .unwrap()
        .unwrap();
    let alpine = partners::get_by_slug(&pool, "alpine")
        .await
        .unwrap()
        .unwrap();
    let app = TestApp::spawn_on(db, |_| {}).await;
    let (_, bp_token) = app
        .user("boss@brightpath.test", Role::PartnerAdmin, Some(&bp.id))
        .await;
    let (_, alpine_token) = app
        .user("boss@alpine.test", Role::PartnerAdmin, Some(&alpine.id))
        .await;
    let c = browser();
    sign_in(&c, &app.base, "boss@brightpath.test", PASSWORD).await;
    let page = c
        .get(format!("{}/partners/{}/earnings", app.base, bp.id))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let html = page.text().await.unwrap();
    for part in [
        "2027-Q1",
        "approved",
        "cloud-volume",
        "2,170.00",
        "adjustment 2027-Q1",
        "5,035.30 USD",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    // Earned to date: the approved statements, and the drafts apart.
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT status, total FROM statements WHERE partner_id = $1")
            .bind(&bp.id)
            .fetch_all(pool.pool())
            .await
            .unwrap();
    let sum = |status: &str| -> rust_decimal::Decimal {
        rows.iter()
            .filter(|(s, _)| s == status)
            .map(|(_, t)| t.parse::<rust_decimal::Decimal>().unwrap())
            .sum()
    };
    let (approved, draft) = (sum("approved"), sum("draft"));
    assert_eq!(approved.to_string(), "5105.30", "{rows:?}");
    assert!(draft.is_zero(), "{rows:?}");
    assert!(html.contains("Earned to date"), "{html}");
    assert!(
        html.contains(&format!(
            "<strong>{} USD</strong> approved",
            trellis_core::incentives::money(approved)
        )),
        "{approved}: {html}"
    );
    assert!(
        !html.contains("in draft statements"),
        "nothing is in draft: {html}"
    );
    let c = browser();
    sign_in(&c, &app.base, "boss@alpine.test", PASSWORD).await;
    let page = c
        .get(format!("{}/partners/{}/earnings", app.base, bp.id))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::NOT_FOUND);

    // The partner questions a line; the vendor sees it with the totals and answers.
    let bpc = browser();
    sign_in(&bpc, &app.base, "boss@brightpath.test", PASSWORD).await;
    let statement: String = sqlx::query_scalar(
        "SELECT id FROM statements WHERE partner_id = $1 AND period = '2027-Q1'",
    )
    .bind(&bp.id)
    .fetch_one(pool.pool())
    .await
    .unwrap();
    let mine = get_text(&bpc, format!("{}/partners/{}/earnings", app.base, bp.id)).await;
    let csrf = csrf_of(&mine);
    let r = bpc
        .post(format!(
            "{}/partners/{}/statements/{statement}/dispute",
            app.base, bp.id
        ))
        .form(&[
            ("csrf", csrf.as_str()),
            ("rule", "cloud-volume"),
            ("comment", "A March order is missing"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let back = r.headers()["location"].to_str().unwrap().to_string();
    let page = get_text(&bpc, format!("{}{back}", app.base)).await;
    assert!(
        page.contains("Your question was sent to the vendor."),
        "{page}"
    );
    let (_, admin_token) = app.user("admin@vendor.test", Role::VendorAdmin, None).await;
    let vc = browser();
    sign_in(&vc, &app.base, "admin@vendor.test", PASSWORD).await;
    let totals = get_text(&vc, format!("{}/incentives", app.base)).await;
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
        .fetch_one(pool.pool())
        .await
        .unwrap();
    let vcsrf = csrf_of(&totals);
    let r = vc
        .post(format!(
            "{}/incentives/disputes/{dispute}/resolve",
            app.base
        ))
        .form(&[
            ("csrf", vcsrf.as_str()),
            ("answer", "It was dated April: it counts in Q2"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let html = get_text(&bpc, format!("{}/partners/{}/earnings", app.base, bp.id)).await;
    assert!(html.contains("Answer: It was dated April"), "{html}");

    // The upload page runs the same import; resellers do not get it.
    let post = |body: String| {
        let vc = &vc;
        let url = format!("{}/sales/import", app.base);
        let csrf = vcsrf.clone();
        async move {
            vc.post(url)
                .form(&[("csrf", csrf), ("csv", body)])
                .send()
                .await
                .unwrap()
        }
    };
    let r = post(format!(
        "{HEADER}U1,2027-05-01,brightpath,Acme,,DE,AUR-CL-100,x,100,USD,,\n"
    ))
    .await;
    assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("upload.csv:2: quantity"));
    let r = post(format!(
        "{HEADER}U1,2027-05-01,brightpath,Acme,,DE,AUR-CL-100,1,100,USD,,\n"
    ))
    .await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert!(r.text().await.unwrap().contains("1 line(s): 1 imported"));
    let r = bpc
        .get(format!("{}/sales/import", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND);

    // The API: upload (all or nothing, lines named), statements with disputes.
    let upload = |token: &str, body: String| {
        let http = app.http.clone();
        let url = format!("{}/api/v1/sales/imports", app.base);
        let token = token.to_string();
        async move {
            http.post(url)
                .bearer_auth(token)
                .header("content-type", "text/csv")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let r = upload(
        &admin_token,
        format!("{HEADER}A1,2027-05-02,brightpath,Acme,,DE,AUR-CL-100,1,100,XYZ,,\n"),
    )
    .await;
    assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("upload.csv:2: currency 'XYZ'"),
        "{body}"
    );
    let r = upload(
        &admin_token,
        format!("{HEADER}A1,2027-05-02,brightpath,Acme,,DE,AUR-CL-100,1,100,USD,,\n"),
    )
    .await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["imported"], 1);
    let r = upload(
        &bp_token,
        format!("{HEADER}A2,2027-05-02,brightpath,Acme,,DE,AUR-CL-100,1,100,USD,,\n"),
    )
    .await;
    assert_eq!(
        r.status(),
        reqwest::StatusCode::FORBIDDEN,
        "resellers do not report sales-out"
    );
    let r = app
        .get(&format!("/api/v1/partners/{}/statements", bp.id), &bp_token)
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.text);
    let q1 = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["period"] == "2027-Q1")
        .unwrap()
        .clone();
    assert_eq!(q1["status"], "approved");
    assert_eq!(q1["disputes"][0]["status"], "resolved");
    let r = app
        .get(
            &format!("/api/v1/partners/{}/statements", bp.id),
            &alpine_token,
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::NOT_FOUND);
    let r = app
        .post(
            "/api/v1/incentives/calculations",
            &admin_token,
            serde_json::json!({"period": "2027-Q1", "dry_run": true}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["period"], "2027-Q1");
    assert!(r.body["statements"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
    // What-if over the API: a stored draft with a richer top band.
    let richer = CLOUD.replace(
        "{ from = 100000, rate_pct = 2 }, { from = 250000, rate_pct = 4 }",
        "{ from = 100000, rate_pct = 3 }, { from = 250000, rate_pct = 5 }",
    );
    let draft = trellis_server::app::programs::save_draft(
        &app_on(&pool),
        &actor,
        &Checked::new(richer).unwrap(),
    )
    .await
    .unwrap();
    let r = app
        .post(
            "/api/v1/incentives/calculations",
            &admin_token,
            serde_json::json!({"period": "2027-Q1", "dry_run": true, "what_if_version": draft.number}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.text);
    let w = &r.body["what_if"];
    assert_eq!(w["under"], format!("version {} (draft)", draft.number));
    let bright = w["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["partner"] == "brightpath partner")
        .unwrap_or_else(|| panic!("{w}"));
    assert_eq!(bright["difference"], "1085.00", "{w}");
    assert!(w["difference"].as_str().is_some_and(|d| d != "0.00"));
    let r = app
        .post(
            "/api/v1/incentives/calculations",
            &admin_token,
            serde_json::json!({"period": "2027-Q1", "dry_run": true, "what_if_version": 99}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["what_if_version"]);

    // The same from the Incentives page: a preview against the draft saves
    // nothing; saving writes the drafts; partners cannot.
    let page = get_text(&vc, format!("{}/incentives", app.base)).await;
    assert!(page.contains("Calculate a period"), "{page}");
    assert!(
        page.contains(&format!(
            "<option value=\"{}\">version {}",
            draft.number, draft.number
        )),
        "{page}"
    );
    let drafts_before = count("SELECT COUNT(*) FROM statements").await;
    let calc = |client: &reqwest::Client, action: &'static str, csrf: String| {
        let (client, url, n) = (
            client.clone(),
            format!("{}/incentives/calculate", app.base),
            draft.number.to_string(),
        );
        async move {
            client
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("period", "2027-Q1"),
                    ("what_if_version", n.as_str()),
                    ("action", action),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = calc(&vc, "preview", vcsrf.clone()).await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
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
        count("SELECT COUNT(*) FROM statements").await,
        drafts_before,
        "a preview saves nothing"
    );
    let r = calc(&vc, "save", vcsrf.clone()).await;
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/incentives?msg=calculated");
    let bcsrf = csrf_of(
        &bpc.get(format!("{}/partners/{}/earnings", app.base, bp.id))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let r = calc(&bpc, "save", bcsrf).await;
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    let r = app
        .post(
            "/api/v1/incentives/calculations",
            &admin_token,
            serde_json::json!({"period": "2027-Q9"}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["period"]);
    let r = app
        .post(
            "/api/v1/incentives/calculations",
            &bp_token,
            serde_json::json!({"period": "2027-Q1"}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::FORBIDDEN);

    // One partner's statement approved from the page; the payout file
    // downloaded there (vendor admins only).
    let r = vc
        .post(format!("{}/incentives/calculate", app.base))
        .form(&[
            ("csrf", vcsrf.as_str()),
            ("period", "2027-05"),
            ("action", "save"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let status_of = |partner: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT status FROM statements WHERE period = '2027-05' AND partner_id = $1",
            )
            .bind(partner)
            .fetch_all(pool.pool())
            .await
            .unwrap()
        }
    };
    assert_eq!(status_of(bp.id.clone()).await, vec!["draft"]);
    let others =
        count("SELECT COUNT(*) FROM statements WHERE period = '2027-05' AND status = 'draft'")
            .await
            - 1;
    let page = get_text(&vc, format!("{}/incentives", app.base)).await;
    assert!(
        page.contains(&format!("name=\"partner_id\" value=\"{}\"", bp.id)),
        "{page}"
    );
    let r = vc
        .post(format!("{}/incentives/approve", app.base))
        .form(&[
            ("csrf", vcsrf.as_str()),
            ("period", "2027-05"),
            ("partner_id", bp.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(status_of(bp.id.clone()).await, vec!["approved"]);
    assert_eq!(
        count("SELECT COUNT(*) FROM statements WHERE period = '2027-05' AND status = 'draft'")
            .await,
        others,
        "the other partners' drafts stay drafts"
    );
    let r = vc
        .get(format!("{}/incentives/payout?period=2027-05", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    assert!(
        csv.starts_with(
            "period,partner_slug,partner_name,rule,kind,seller,amount,paid_as,approved_at\n"
        ) && csv.contains("2027-05,brightpath,brightpath partner,"),
        "{csv}"
    );
    let r = bpc
        .get(format!("{}/incentives/payout?period=2027-05", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND);

    // Rolling a batch back removes its lines; again is an error.
    let batch: String = sqlx::query_scalar("SELECT id FROM sales_batches WHERE imported = 6")
        .fetch_one(pool.pool())
        .await
        .unwrap();
    let out = run_ok(trellis_on(&url, &["import", "rollback", &batch]), "");
    assert!(out.contains("6 line(s) removed"), "{out}");
    assert_eq!(
        count("SELECT CAST(COALESCE(SUM(lines), 0) AS BIGINT) FROM sales_segments").await,
        3,
        "the late batch and the uploads stay"
    );
    let err = run_err(trellis_on(&url, &["import", "rollback", &batch]), "");
    assert!(err.contains("already rolled back"), "{err}");
}

/// Publishes the example cloud program and creates a reseller.
async fn cloud_and_reseller(
    pool: &trellis_server::db::Db,
    slug: &str,
) -> trellis_server::store::partners::Partner {
    let actor = Actor::system("test");
    let v = trellis_server::app::programs::save_draft(
        &app_on(pool),
        &actor,
        &Checked::new(CLOUD.to_string()).unwrap(),
    )
    .await
    .unwrap();
    trellis_server::app::programs::publish(
        &app_on(pool),
        &operator(),
        &actor,
        &v.program,
        v.number,
    )
    .await
    .unwrap();
    trellis_server::app::partners::create_many(
        &app_on(pool),
        &actor,
        &[partners::NewPartner {
            slug: slug.into(),
            name: format!("Reseller {slug}"),
            partner_type: "reseller".into(),
            region: "dach".into(),
            country: "DE".into(),
            status: PartnerStatus::Active,
            website: None,
            channel_manager_id: None,
        }],
    )
    .await
    .unwrap()
    .remove(0)
}

/// `trellis import sales` dying while it writes: the batch is all or nothing.
async fn an_import_that_dies_leaves_nothing(b: Backend) {
    let db = TestDb::new(b).await;
    let url = db.url.clone();
    run_ok(trellis_on(&url, &["migrate"]), "");
    let pool = db.open().await;
    cloud_and_reseller(&pool, "big").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let n = 150_000;
    let mut text = String::from(HEADER);
    for i in 0..n {
        text.push_str(&format!(
            "K{i},2027-02-01,big,Acme,,DE,AUR-CL-100,1,100,USD,,\n"
        ));
    }
    std::fs::write(&path, text).unwrap();
    // The process dies after writing every segment, before committing.
    let out = trellis_on(&url, &["import", "sales", path.to_str().unwrap()])
        .env("TRELLIS_CRASH", "sales-import-commit")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the import should have died: {err}");
    assert!(
        err.contains(&format!("{n} lines")),
        "it read the whole file first: {err}"
    );
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool.pool())
                .await
                .unwrap()
        }
    };
    let (lines, batches) = (
        count("SELECT CAST(COALESCE(SUM(lines), 0) AS BIGINT) FROM sales_segments").await,
        count("SELECT COUNT(*) FROM sales_batches").await,
    );
    assert_eq!((lines, batches), (0, 0), "died while writing: none of it");
    // And the same file then imports whole.
    let out = run_ok(
        trellis_on(&url, &["import", "sales", path.to_str().unwrap()]),
        "",
    );
    assert!(out.contains(&format!("{n} line(s)")), "{out}");
    assert_eq!(
        count("SELECT CAST(COALESCE(SUM(lines), 0) AS BIGINT) FROM sales_segments").await,
        n as i64
    );
}

/// Two imports of the same file at once never count a line twice: one
/// imports it, the other skips every line or asks to be run again.
async fn imports_at_once_never_double_count(b: Backend) {
    let db = TestDb::new(b).await;
    let pool = db.open().await;
    cloud_and_reseller(&pool, "twice").await;
    let mut text = String::from(HEADER);
    for i in 0..2_000 {
        text.push_str(&format!(
            "W{i},2027-02-01,twice,Acme,,DE,AUR-CL-100,1,100,USD,,\n"
        ));
    }
    let import = |pool: trellis_server::db::Db, text: String| async move {
        import::import(
            &app_on(&pool),
            &Actor::system("test"),
            "same.csv",
            text.as_bytes(),
            UnknownSku::Reject,
            &mut |_, _| {},
        )
        .await
    };
    let (a, b2) = tokio::join!(
        import(pool.clone(), text.clone()),
        import(pool.clone(), text.clone())
    );
    let mut imported = 0;
    for r in [a, b2] {
        match r {
            Ok(s) => imported += s.imported,
            Err(e) => assert!(e.to_string().contains("import it again"), "{e}"),
        }
    }
    assert_eq!(imported, 2_000);
    let stored: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(lines), 0) AS BIGINT) FROM sales_segments")
            .fetch_one(pool.pool())
            .await
            .unwrap();
    assert_eq!(stored, 2_000);
}

/// Each line is converted with the rate of its day, also when a rate
/// changes within the period; lines outside the period and the year before
/// need no rate; a line in the period without one is an error naming it.
async fn fx_rates_apply_by_day(b: Backend) {
    let db = TestDb::new(b).await;
    let pool = db.open().await;
    cloud_and_reseller(&pool, "euro").await;
    fx::import(
        &app_on(&pool),
        "fx.csv",
        "from_currency,to_currency,valid_from,rate\nEUR,USD,2027-02-01,1.10\nEUR,USD,2027-03-01,1.20\n",
    )
    .await
    .unwrap();
    let import = |body: &'static str| {
        let pool = pool.clone();
        async move {
            import::import(
                &app_on(&pool),
                &Actor::system("test"),
                "euro.csv",
                format!("{HEADER}{body}").as_bytes(),
                UnknownSku::Reject,
                &mut |_, _| {},
            )
            .await
            .unwrap()
        }
    };
    import(
        "E1,2026-06-15,euro,Acme,,DE,AUR-CL-100,1,1000,EUR,,\n\
         E2,2027-02-10,euro,Acme,,DE,AUR-CL-100,1,1000,EUR,,\n\
         E3,2027-03-05,euro,Acme,,DE,AUR-CL-100,2,1000,EUR,,\n",
    )
    .await;
    let run = calculate::run(&app_on(&pool), "2027-Q1", None, true)
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
    import("E4,2027-01-15,euro,Acme,,DE,AUR-CL-100,1,1000,EUR,,\n").await;
    let err = calculate::run(&app_on(&pool), "2027-Q1", None, true)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("no FX rate to USD for: EUR (sales from 2027-01-01)"),
        "{err}"
    );
}
