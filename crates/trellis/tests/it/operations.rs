//! What operators do from the command line: partners created, enrolled and
//! imported without the console, and distributors' sales files whose columns
//! are named otherwise.

use crate::helpers::cli::{run_err, run_ok, trellis_on};
use crate::helpers::fixtures::{self, file, CLOUD};
use crate::helpers::{Backend, TestApp, TestDb};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use trellis_core::org::Role;

crate::on_both_backends!(
    partners_are_created_enrolled_and_imported_from_the_command_line,
    a_sales_file_with_other_column_names_is_imported_with_a_map,
    a_backup_taken_under_write_load_holds_every_acknowledged_write,
);

async fn tasks_of(t: &TestApp, slug: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT o.task_id FROM onboarding_tasks o JOIN partners p ON p.id = o.partner_id \
         WHERE p.slug = $1 ORDER BY o.position",
    )
    .bind(slug)
    .fetch_all(t.db.pool())
    .await
    .unwrap()
}

async fn partners_are_created_enrolled_and_imported_from_the_command_line(b: Backend) {
    let t = TestApp::spawn(b).await;
    fixtures::publish(&t.app, CLOUD).await;
    t.user("cm@vendor.test", Role::ChannelManager, None).await;
    let url = t.test_db.url.clone();
    let cli = |args: &[&str]| trellis_on(&url, args);

    let out = run_ok(
        cli(&[
            "partner",
            "create",
            "--name",
            "Kovalo Cloud GmbH",
            "--type",
            "reseller",
            "--region",
            "dach",
            "--country",
            "DE",
            "--channel-manager",
            "cm@vendor.test",
        ]),
        "",
    );
    assert!(
        out.contains("created partner kovalo-cloud-gmbh (Kovalo Cloud GmbH)"),
        "{out}"
    );
    let err = run_err(
        cli(&[
            "partner",
            "create",
            "--name",
            "X",
            "--type",
            "reseller",
            "--region",
            "dach",
            "--country",
            "Germany",
        ]),
        "",
    );
    assert!(err.contains("country"), "{err}");

    let enroll = |segment: &'static str| {
        cli(&[
            "partner",
            "enroll",
            "--partner",
            "kovalo-cloud-gmbh",
            "--program",
            "aurora-cloud",
            "--type",
            "reseller",
            "--segment",
            segment,
            "--level",
            "registered",
        ])
    };
    let err = run_err(enroll("nowhere"), "");
    assert!(err.contains("segment"), "{err}");
    let out = run_ok(enroll("dach-midmarket"), "");
    assert!(
        out.contains("enrolled kovalo-cloud-gmbh in aurora-cloud as reseller in dach-midmarket at registered; onboarding: 0 of 5 task(s) done"),
        "{out}"
    );
    assert_eq!(tasks_of(&t, "kovalo-cloud-gmbh").await.len(), 5);

    // A file with bad lines imports nothing and names each line.
    let dir = tempfile::tempdir().unwrap();
    let header = "name,slug,partner_type,region,country,status,channel_manager,program,program_partner_type,segment,level\n";
    let bad = file(
        &dir,
        "bad.csv",
        &format!(
            "{header}\
             Kovalo Again,kovalo-cloud-gmbh,reseller,dach,DE,,,,,,\n\
             Brintex AG,brintex,reseller,dach,CH,active,,aurora-clod,,dach-midmarket,\n\
             Zentrix Labs,zentrix,reseller,dach,Germany,,,,,,\n\
             Nordwind GmbH,nordwind,msp,dach,DE,,nobody@vendor.test,aurora-cloud,msp,dach-midmarket,gold\n\
             Nordwind Zwei,nordwind,msp,dach,DE,,,,,,\n"
        ),
    );
    let err = run_err(cli(&["import", "partners", &bad]), "");
    for expected in [
        "bad.csv:2: slug: a partner with slug kovalo-cloud-gmbh already exists",
        "bad.csv:3: program: no published program aurora-clod",
        "bad.csv:4: country",
        "bad.csv:5: channel_manager: nobody@vendor.test is not a vendor user",
        "bad.csv:6: slug: nordwind is already used at line 5",
        "nothing was imported",
    ] {
        assert!(err.contains(expected), "{expected}: {err}");
    }
    assert_eq!(t.count("partners").await, 1);

    let good = file(
        &dir,
        "good.csv",
        &format!(
            "{header}\
             Brintex AG,,reseller,dach,CH,active,cm@vendor.test,aurora-cloud,,dach-midmarket,gold\n\
             Great Lakes Systems,great-lakes,managed,na,US,,,aurora-cloud,msp,na-enterprise,\n\
             Sole Trader Ltd,sole,referral,uk,GB,,,,,,\n"
        ),
    );
    let out = run_ok(cli(&["import", "partners", &good]), "");
    assert!(out.contains("3 partner(s) created"), "{out}");
    assert_eq!(t.count("partners").await, 4);
    let enrolled: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT p.slug, e.partner_type, e.segment FROM partner_programs e \
         JOIN partners p ON p.id = e.partner_id ORDER BY p.slug",
    )
    .fetch_all(t.db.pool())
    .await
    .unwrap();
    assert_eq!(
        enrolled,
        [
            (
                "brintex-ag".into(),
                "reseller".into(),
                "dach-midmarket".into()
            ),
            ("great-lakes".into(), "msp".into(), "na-enterprise".into()),
            (
                "kovalo-cloud-gmbh".into(),
                "reseller".into(),
                "dach-midmarket".into()
            ),
        ]
    );
    // Each enrolled partner has its type's plan; the one not enrolled none.
    assert_eq!(tasks_of(&t, "brintex-ag").await.len(), 5);
    assert_eq!(
        tasks_of(&t, "great-lakes").await,
        ["accept-agreement", "kickoff", "first-deal"]
    );
    assert!(tasks_of(&t, "sole").await.is_empty());
}

async fn a_sales_file_with_other_column_names_is_imported_with_a_map(b: Backend) {
    let c = fixtures::cloud(b).await;
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        &dir,
        "distributor.csv",
        "Txn_ID,date,Reseller,customer_name,customer_country,sku,quantity,unit_price,currency\n\
         D1,2027-01-15,brightpath,Müller GmbH,DE,AUR-CL-100,2,1000,USD\n\
         D2,2027-01-16,alpine,Brintex,CH,AUR-CL-500,1,5000,USD\n",
    );
    let url = c.t.test_db.url.clone();
    let err = run_err(trellis_on(&url, &["import", "sales", &path]), "");
    assert!(err.contains("unknown column(s) txn_id, reseller"), "{err}");
    let err = run_err(
        trellis_on(
            &url,
            &["import", "sales", &path, "--map", "txn=transaction_id"],
        ),
        "",
    );
    assert!(err.contains("the file has no column txn"), "{err}");
    let err = run_err(
        trellis_on(&url, &["import", "sales", &path, "--map", "txn_id=txn"]),
        "",
    );
    assert!(err.contains("txn is not a column Trellis reads"), "{err}");
    let out = run_ok(
        trellis_on(
            &url,
            &[
                "import",
                "sales",
                &path,
                "--map",
                "txn_id=transaction_id",
                "--map",
                "reseller=partner",
            ],
        ),
        "",
    );
    assert!(out.contains("2 line(s): 2 imported"), "{out}");
}

async fn a_backup_taken_under_write_load_holds_every_acknowledged_write(b: Backend) {
    let t = Arc::new(TestApp::spawn(b).await);
    let admin = t.admin().await;
    let stop = Arc::new(AtomicBool::new(false));
    // Each writer's acknowledged partners, in the order it wrote them.
    let acked: Arc<Vec<Mutex<Vec<String>>>> =
        Arc::new((0..4).map(|_| Mutex::new(Vec::new())).collect());
    let mut writers = Vec::new();
    for w in 0..4 {
        let (t, admin, stop, acked) = (t.clone(), admin.clone(), stop.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let slug = format!("w{w}-{i:05}");
                let r = t
                    .post(
                        "/api/v1/partners",
                        &admin,
                        json!({"slug": slug, "name": format!("Writer {w} partner {i}"),
                               "partner_type": "reseller", "region": "dach", "country": "DE"}),
                    )
                    .await;
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
                acked[w].lock().unwrap().push(slug);
                i += 1;
            }
        }));
    }
    let total =
        |acked: &[Mutex<Vec<String>>]| acked.iter().map(|a| a.lock().unwrap().len()).sum::<usize>();
    while total(&acked) < 80 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Everything acknowledged before the backup starts must be in it.
    let before: Vec<String> = acked
        .iter()
        .flat_map(|a| a.lock().unwrap().clone())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("backup.trellis");
    let dest_s = dest.to_str().unwrap().to_string();
    let url = t.test_db.url.clone();
    let out =
        tokio::task::spawn_blocking(move || run_ok(trellis_on(&url, &["backup", &dest_s]), ""))
            .await
            .unwrap();
    assert!(out.contains("backed up to"), "{out}");
    let during = total(&acked);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    assert!(
        total(&acked) > during,
        "writes went on during and after the backup"
    );

    let target = TestDb::new(b).await;
    let (url, src) = (target.url.clone(), dest.to_str().unwrap().to_string());
    let out = tokio::task::spawn_blocking(move || run_ok(trellis_on(&url, &["restore", &src]), ""))
        .await
        .unwrap();
    assert!(out.contains("restored into"), "{out}");
    let restored = target.open().await;
    let present: std::collections::BTreeSet<String> =
        sqlx::query_scalar("SELECT slug FROM partners")
            .fetch_all(restored.pool())
            .await
            .unwrap()
            .into_iter()
            .collect();
    for slug in &before {
        assert!(
            present.contains(slug),
            "{slug} was acknowledged before the backup"
        );
    }
    // One consistent moment: each writer's partners are a prefix of what it
    // wrote, and each has its audit entry.
    for a in acked.iter() {
        let a = a.lock().unwrap();
        let n = a.iter().take_while(|s| present.contains(*s)).count();
        assert!(a[n..].iter().all(|s| !present.contains(s)), "not a prefix");
    }
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'partner.create'")
            .fetch_one(restored.pool())
            .await
            .unwrap();
    assert_eq!(audited as usize, present.len());
    assert!(present.len() >= before.len() && present.len() <= total(&acked));
    restored.close().await;
    // A backup never overwrites, and a restore never replaces data unasked.
    let url = t.test_db.url.clone();
    let err = run_err(trellis_on(&url, &["backup", dest.to_str().unwrap()]), "");
    assert!(err.contains("already exists"), "{err}");
    let err = run_err(
        trellis_on(&target.url, &["restore", dest.to_str().unwrap()]),
        "",
    );
    assert!(err.contains("--replace"), "{err}");
}
