//! The `trellis` binary: migrate, user and token commands, serve with the
//! demo, configuration layers, and graceful shutdown.

use crate::helpers::cli::{run_err, run_ok, trellis, trellis_on};
use crate::helpers::{Backend, TestDb};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

crate::on_both_backends!(
    cli_creates_users_and_tokens_that_the_server_accepts,
    csv_imports_are_all_or_nothing_and_conflicts_are_checked_in_batch,
    conflicts_check_lists_the_top_candidates_of_each_line,
);

async fn csv_imports_are_all_or_nothing_and_conflicts_are_checked_in_batch(b: Backend) {
    let db = TestDb::new(b).await;
    let url = db.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, body: &str| crate::helpers::fixtures::file(&dir, name, body);
    run_ok(trellis_on(&url, &["migrate"]), "");
    let pool = db.open().await;
    let count = |table: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(pool.pool())
                .await
                .unwrap()
        }
    };

    // Accounts: a bad line rejects the file, naming the line and the field.
    let bad = file(
        "accounts-bad.csv",
        "external_id,name,domain,country,city,owner,house\ncrm-1,Siemens AG,siemens.com,DE,München,Key accounts,yes\ncrm-2,,x.de,ZZ,,,maybe\ncrm-3,Bosch GmbH,not a domain,DE,,,no\n",
    );
    let err = run_err(trellis_on(&url, &["import", "accounts", &bad]), "");
    assert!(
        err.contains("accounts-bad.csv:3: house: must be yes or no"),
        "{err}"
    );
    assert!(err.contains("accounts-bad.csv:4: domain:"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(count("accounts").await, 0);
    let bad_header = file("accounts-header.csv", "name,country,colour\nA,DE,red\n");
    let err = run_err(trellis_on(&url, &["import", "accounts", &bad_header]), "");
    assert!(
        err.contains("accounts-header.csv:1: unknown column(s) colour"),
        "{err}"
    );

    let good = file(
        "accounts.csv",
        "external_id,name,domain,country,city,owner,house\ncrm-1,Siemens AG,siemens.com,DE,München,Key accounts,yes\ncrm-2,Nordic Freight Lines AB,nordicfreight.se,SE,Göteborg,,no\n",
    );
    let out = run_ok(trellis_on(&url, &["import", "accounts", &good]), "");
    assert!(out.contains("2 account(s) created, 0 updated"), "{out}");
    let out = run_ok(trellis_on(&url, &["import", "accounts", &good]), "");
    assert!(
        out.contains("0 account(s) created, 2 updated"),
        "re-import updates: {out}"
    );
    assert_eq!(count("accounts").await, 2);

    // Deals of one partner.
    let out = run_ok(trellis_on(&url, &["seed", "partners", "--count", "1"]), "");
    assert!(out.contains("created 1 partners"), "{out}");
    let close = crate::helpers::fixtures::days_ahead(40);
    let header =
        "customer_name,customer_domain,contact_email,country,city,amount,currency,expected_close";
    let bad = file(
        "deals-bad.csv",
        &format!("{header}\nKovalo Analytics Ltd,kovalo.co.uk,,GB,Leeds,12000,GBP,{close}\nBroken Co,,,XX,,0,EUR,2020-01-01\n"),
    );
    let err = run_err(
        trellis_on(
            &url,
            &["import", "deals", &bad, "--partner", "load-0000000"],
        ),
        "",
    );
    assert!(err.contains("deals-bad.csv:3:"), "{err}");
    for field in ["customer_domain", "country", "amount", "expected_close"] {
        assert!(err.contains(&format!("{field}:")), "{field}: {err}");
    }
    assert_eq!(count("deals").await, 0, "nothing written");
    let good = file(
        "deals.csv",
        &format!(
            "{header}\nKovalo Analytics Ltd,kovalo.co.uk,,GB,Leeds,12000,GBP,{close}\nSiemens Aktiengesellschaft,,einkauf@siemens.com,DE,,50000,EUR,{close}\nKovalo Analytics,,sales@kovalo.co.uk,GB,,9000,GBP,{close}\n"
        ),
    );
    let out = run_ok(
        trellis_on(
            &url,
            &["import", "deals", &good, "--partner", "load-0000000"],
        ),
        "",
    );
    assert!(out.contains("3 registration(s)"), "{out}");
    assert!(out.contains("1 rejected"), "the house account: {out}");
    assert!(
        out.contains("2 submitted"),
        "the second Kovalo line goes to review: {out}"
    );
    assert_eq!(count("deals").await, 3);

    // Batch conflict check: one line per input line.
    let input = file(
        "check.csv",
        "id,customer_name,customer_domain,country,city\nq1,KOVALO ANALYTICS LIMITED,https://www.kovalo.co.uk,GB,\nq2,Zentrix Labs,zentrix.io,US,\nq3,Siemens,,DE,\n",
    );
    let out = run_ok(
        trellis_on(
            &url,
            &["conflicts", "check", "--input", &input, "--top", "1"],
        ),
        "",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with("line,id,customer_name,conflict,score"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("2,q1,KOVALO ANALYTICS LIMITED,yes,"),
        "{out}"
    );
    assert!(
        lines[1].contains("same registrable domain (kovalo.co.uk)"),
        "{out}"
    );
    assert!(lines[2].starts_with("3,q2,Zentrix Labs,no,"), "{out}");
    assert!(
        lines[3].starts_with("4,q3,Siemens,yes,") && lines[3].contains("account"),
        "{out}"
    );
}

/// `trellis conflicts check` writes the best candidates of each input line
/// (three unless `--top` says otherwise), best first, each with its rank,
/// score and reasons; a line with no candidate gets one line saying so.
async fn conflicts_check_lists_the_top_candidates_of_each_line(b: Backend) {
    let db = TestDb::new(b).await;
    let url = db.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, body: &str| crate::helpers::fixtures::file(&dir, name, body);
    run_ok(trellis_on(&url, &["migrate"]), "");
    let accounts = file(
        "accounts.csv",
        "external_id,name,domain,country,city,owner,house\n\
         k1,Kestrel Consulting GmbH,,DE,München,,no\n\
         k2,Kestrel Software GmbH,,DE,Hamburg,,no\n\
         k3,Kestrel Analytics AG,,DE,Berlin,,no\n\
         k4,Kestrel Logistics GmbH,,DE,Köln,,no\n\
         f1,Falcon Systems GmbH,,DE,Berlin,,no\n",
    );
    run_ok(trellis_on(&url, &["import", "accounts", &accounts]), "");
    let input = file(
        "check.csv",
        "id,customer_name,customer_domain,country,city\nq1,Kestrel,,DE,\nq2,Zentrix Labs,zentrix.io,US,\nq3,Kestrel (Munich),,DE,Munich\n",
    );
    let rows = |args: &[&str]| -> Vec<csv::StringRecord> {
        let mut all = vec!["conflicts", "check", "--input", &input];
        all.extend_from_slice(args);
        let out = run_ok(trellis_on(&url, &all), "");
        let mut r = csv::Reader::from_reader(out.as_bytes());
        let headers = r.headers().unwrap().clone();
        assert_eq!(&headers[0], "line", "{out}");
        assert_eq!(&headers[10], "rank", "{out}");
        r.records().map(Result::unwrap).collect()
    };

    let all = rows(&[]);
    let q1: Vec<&csv::StringRecord> = all.iter().filter(|r| &r[1] == "q1").collect();
    assert_eq!(q1.len(), 3, "three candidates by default: {all:?}");
    let ranks: Vec<&str> = q1.iter().map(|r| &r[10]).collect();
    assert_eq!(ranks, ["1", "2", "3"]);
    let scores: Vec<f64> = q1.iter().map(|r| r[4].parse().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    for (r, score) in q1.iter().zip(&scores) {
        let flagged = &r[3] == "yes";
        assert_eq!(flagged, *score >= 0.8, "the flag is the threshold: {r:?}");
    }
    let q2: Vec<&csv::StringRecord> = all.iter().filter(|r| &r[1] == "q2").collect();
    assert_eq!(q2.len(), 1, "{all:?}");
    assert_eq!((&q2[0][3], &q2[0][4], &q2[0][10]), ("no", "", ""));

    let q3: Vec<&csv::StringRecord> = all.iter().filter(|r| &r[1] == "q3").collect();
    assert_eq!(
        &q3[0][7], "Kestrel Consulting GmbH",
        "the Munich one first: {q3:?}"
    );
    assert!(
        q3[0][9].contains("place, branch or legal-form words set aside"),
        "{q3:?}"
    );

    let one = rows(&["--top", "1"]);
    assert_eq!(one.iter().filter(|r| &r[1] == "q1").count(), 1, "{one:?}");
    let five = rows(&["--top", "5"]);
    assert_eq!(
        five.iter().filter(|r| &r[1] == "q1").count(),
        4,
        "every Kestrel: {five:?}"
    );
}

/// A `trellis serve` process and the URL it printed.
struct Server {
    child: Child,
    url: String,
    stdout: String,
}

impl Server {
    fn start(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut stdout = String::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut url = None;
        // Read up to the last line of the banner ("API docs: …").
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 || Instant::now() > deadline {
                let mut err = String::new();
                let _ = child.kill();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("server did not start: {stdout}{err}");
            }
            stdout.push_str(&line);
            if let Some(rest) = line.strip_prefix("Trellis is running at ") {
                url = rest.split_whitespace().next().map(str::to_string);
            }
            if line.starts_with("API docs:") {
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        Server {
            child,
            url: url.expect("banner names the URL"),
            stdout,
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn cli_creates_users_and_tokens_that_the_server_accepts(b: Backend) {
    let db = TestDb::new(b).await;
    let url = db.url.clone();
    let out = run_ok(trellis_on(&url, &["migrate"]), "");
    assert!(
        out.contains("applied ") && !out.contains("applied 0 migration"),
        "{out}"
    );
    let out = run_ok(trellis_on(&url, &["migrate"]), "");
    assert!(out.contains("applied 0 migration"), "idempotent: {out}");

    run_ok(
        trellis_on(
            &url,
            &[
                "user",
                "create",
                "--email",
                "root@vendor.test",
                "--role",
                "vendor-admin",
                "--password-stdin",
            ],
        ),
        "violet-harbour-42\n",
    );
    let err = run_err(
        trellis_on(
            &url,
            &[
                "user",
                "create",
                "--email",
                "weak@vendor.test",
                "--role",
                "vendor-admin",
                "--password-stdin",
            ],
        ),
        "password\n",
    );
    assert!(
        err.contains("password") && err.contains("12 characters"),
        "{err}"
    );
    let err = run_err(
        trellis_on(
            &url,
            &[
                "user",
                "create",
                "--email",
                "p@x.test",
                "--role",
                "partner-user",
                "--password-stdin",
            ],
        ),
        "violet-harbour-42\n",
    );
    assert!(err.contains("--partner"), "{err}");
    let err = run_err(
        trellis_on(
            &url,
            &[
                "user",
                "create",
                "--email",
                "not-an-email",
                "--role",
                "vendor-admin",
            ],
        ),
        "",
    );
    assert!(err.contains("--email"), "{err}");
    let err = run_err(
        trellis_on(
            &url,
            &[
                "user",
                "create",
                "--email",
                "root@vendor.test",
                "--role",
                "vendor-admin",
                "--password-stdin",
            ],
        ),
        "violet-harbour-42\n",
    );
    assert!(err.contains("already exists"), "{err}");

    let token = run_ok(
        trellis_on(
            &url,
            &[
                "token",
                "create",
                "--email",
                "root@vendor.test",
                "--name",
                "ci",
            ],
        ),
        "",
    );
    assert_eq!(token.lines().count(), 1, "only the token on stdout");
    let token = token.trim().to_string();
    assert!(token.starts_with("trl_") && token.len() == 44, "{token}");

    let server = Server::start({
        let mut c = trellis_on(&url, &["serve", "--bind", "127.0.0.1:0"]);
        c.env("TRELLIS_BIND", "127.0.0.1:1"); // the flag wins over the environment
        c
    });
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let me: serde_json::Value = http
        .get(format!("{}/api/v1/me", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["email"], "root@vendor.test");
    assert_eq!(me["user"]["role"], "vendor-admin");
    // A partner user for a partner made through the API.
    let p: serde_json::Value = http
        .post(format!("{}/api/v1/partners", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "CLI Partner", "partner_type": "reseller", "region": "dach", "country": "AT"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["slug"], "cli-partner");
    let out = run_ok(
        trellis_on(
            &url,
            &[
                "user",
                "create",
                "--email",
                "seller@cli.test",
                "--role",
                "partner-user",
                "--partner",
                "cli-partner",
            ],
        ),
        "",
    );
    assert!(
        out.contains("/invite/"),
        "without a password the user is invited: {out}"
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_defaults_to_sqlite_in_the_working_directory_with_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = trellis(&["serve", "--demo", "--bind", "127.0.0.1:0"]);
    cmd.current_dir(dir.path());
    let mut server = Server::start(cmd);
    assert!(
        dir.path().join("trellis.db").exists(),
        "./trellis.db created"
    );
    assert!(
        server
            .stdout
            .contains("Demo logins (password for all: trellis-demo-2027)"),
        "{}",
        server.stdout
    );
    assert!(server.stdout.contains("admin@aurora.example"));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    assert_eq!(
        http.get(format!("{}/readyz", server.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // WAL journal.
    let db = trellis_server::db::Db::connect(&format!(
        "sqlite://{}",
        dir.path().join("trellis.db").display()
    ))
    .await
    .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let partners: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM partners")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(partners, 12, "a dozen demo partners");
    let roles: Vec<String> = sqlx::query_scalar("SELECT DISTINCT role FROM users ORDER BY role")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(
        roles,
        [
            "channel-manager",
            "partner-admin",
            "partner-user",
            "vendor-admin"
        ]
    );
    db.close().await;

    // Graceful shutdown: a request in flight when SIGTERM arrives still gets its answer.
    let addr = server.url.trim_start_matches("http://").to_string();
    let body = r#"{"name":"x"}"#;
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(stream, "POST /api/v1/tokens HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.signal("-TERM");
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = stream.read_to_string(&mut response);
    assert!(
        response.starts_with("HTTP/1.1 401"),
        "in-flight request answered: {response:?}"
    );
    let status = server.wait_exit();
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
}

#[test]
fn config_file_json_logs_and_openapi_export() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("trellis.toml");
    std::fs::write(
        &cfg,
        format!(
            "database_url = \"sqlite://{}\"\nlog_format = \"json\"\n",
            dir.path().join("x.db").display()
        ),
    )
    .unwrap();
    let out = trellis(&["migrate", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.path().join("x.db").exists(),
        "database_url from the file"
    );
    let logs = String::from_utf8_lossy(&out.stderr);
    let line = logs
        .lines()
        .find(|l| l.contains("applied migration"))
        .expect("migration logged");
    let json: serde_json::Value =
        serde_json::from_str(line).expect("log_format = json from the file");
    assert_eq!(json["level"], "INFO");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "bind = 12\n").unwrap();
    let out = trellis(&["migrate", "--config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("bind"), "{err}");
    let out = trellis(&["export-openapi"]).output().unwrap();
    let committed =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json")).unwrap();
    assert_eq!(
        out.stdout, committed,
        "openapi.json is what export-openapi prints"
    );
}

#[test]
fn program_check_and_economics() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/programs/cloud-reseller.toml"
    );
    let out = trellis(&["program", "check", example]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 error(s), 0 warning(s)"));

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.toml");
    let src = std::fs::read_to_string(example)
        .unwrap()
        .replace("protection_days = 90", "protection_days = 0")
        .replace("benefits = [\"deal-reg-uplift\"]", "benefits = [\"nope\"]");
    std::fs::write(&broken, &src).unwrap();
    let out = trellis(&["program", "check", broken.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "an error finding fails the check"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = src
        .lines()
        .position(|l| l.contains("benefits = [\"nope\"]"))
        .unwrap()
        + 1;
    assert!(
        text.contains(&format!("broken.toml:{line}:13: error[unknown-reference]")),
        "{text}"
    );
    assert!(
        text.contains("warning[deal-registration-too-complex]"),
        "{text}"
    );
    let out = trellis(&[
        "program",
        "check",
        "--format",
        "json",
        broken.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["unknown-reference", "deal-registration-too-complex"]
    );
    assert_eq!(doc["findings"][0]["line"], line);

    std::fs::write(
        &broken,
        src.replace("purpose = \"enable\"", "purpose = \"inspire\""),
    )
    .unwrap();
    let out = trellis(&["program", "check", broken.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error[parse]: elements[0].purpose: unknown variant `inspire`"),
        "{err}"
    );

    let out = trellis(&["program", "economics", "--format", "json", example])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows[0]["ours"]["net_per_year"], "52600.00",
        "money always has two decimals"
    );
    assert_eq!(rows[0]["competitors"][0]["program"], "Rival Cloud Alliance");
}
