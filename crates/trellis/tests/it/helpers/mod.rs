//! Shared test helpers. `TestApp`: a Trellis server started in-process on a free port over a fresh
//! database (a temporary SQLite file, or a new PostgreSQL database that is
//! dropped afterwards), with helpers to call it.

pub mod chromium;
pub mod cli;
pub mod fixtures;
pub mod portal;
pub mod smtp;
pub mod webdriver;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use trellis_core::org::Role;
use trellis_server::app::{self, App};
use trellis_server::config::Config;
use trellis_server::db::Db;
use trellis_server::http::Application;
use trellis_server::store::{users, Actor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use: `TRELLIS_TEST_PG_URL`, else the local default.
pub fn pg_admin_url() -> String {
    std::env::var("TRELLIS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Whether PostgreSQL tests run. PostgreSQL is required by default: an
/// unreachable server fails the test, so a missing database is never mistaken
/// for a pass. Skipping is an explicit opt-in: with `TRELLIS_TEST_SKIP_PG=1` the
/// PostgreSQL half of every test passes without running (and says so on stderr).
pub async fn pg_available() -> bool {
    if std::env::var("TRELLIS_TEST_SKIP_PG").as_deref() == Ok("1") {
        eprintln!("skipping: TRELLIS_TEST_SKIP_PG=1");
        return false;
    }
    let ok = match Db::connect(&pg_admin_url()).await {
        Ok(db) => {
            let ok = db.ping().await;
            db.close().await;
            ok
        }
        Err(_) => false,
    };
    assert!(
        ok,
        "PostgreSQL is not reachable at {} (set TRELLIS_TEST_PG_URL to another server, \
         or TRELLIS_TEST_SKIP_PG=1 to skip the PostgreSQL tests)",
        pg_admin_url()
    );
    true
}

/// Generates one `#[tokio::test]` per backend for each `async fn name(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::helpers::pg_available().await {
                        super::$name($crate::helpers::Backend::Postgres).await
                    }
                }
            )*
        }
    };
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A database for one test.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("trellis.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let name = format!(
                    "trellis_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    uuid::Uuid::new_v4()
                        .simple()
                        .to_string()
                        .get(..8)
                        .unwrap_or("x")
                );
                let admin = Db::connect(&pg_admin_url())
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(admin.pool())
                    .await
                    .expect("create test database");
                admin.close().await;
                let base = pg_admin_url();
                let url = match base.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => panic!("TRELLIS_TEST_PG_URL must end with /DATABASE"),
                };
                TestDb {
                    url,
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    pub async fn open(&self) -> Db {
        let db = Db::connect(&self.url).await.expect("connect test database");
        db.migrate().await.expect("migrate test database");
        db
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop the database from a helper thread with its own runtime:
            // Drop cannot be async.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let admin = Db::connect(&pg_admin_url()).await.ok()?;
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(admin.pool())
                        .await;
                    admin.close().await;
                    Some(())
                })
            })
            .join();
        }
    }
}

/// A running server and its database.
pub struct TestApp {
    pub base: String,
    pub db: Db,
    /// The server's application layer, to set up what a test needs.
    pub app: App,
    pub http: reqwest::Client,
    pub test_db: TestDb,
}

/// A JSON response: status, headers and parsed body (`Value::Null` when empty or not JSON).
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn problem_code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// The fields named by a validation problem.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let test_db = TestDb::new(backend).await;
        Self::spawn_on(test_db, tweak).await
    }

    /// Starts a server over an existing test database (e.g. a second instance).
    pub async fn spawn_on(test_db: TestDb, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let db = test_db.open().await;
        let mut config = Config {
            database_url: test_db.url.clone(),
            bind: "127.0.0.1:0".into(),
            // Tests make requests as fast as they can; the rate limit has
            // its own test.
            api_requests_per_minute: 0,
            ..Config::default()
        };
        tweak(&mut config);
        let app = Application::bind(config.clone(), db.clone())
            .await
            .expect("bind");
        let base = format!("http://{}", app.local_addr());
        let application = app.state().app.clone();
        tokio::spawn(app.run_until(std::future::pending()));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        TestApp {
            base,
            db,
            app: application,
            http,
            test_db,
        }
    }

    /// A second server instance over the same database.
    pub async fn second_instance(&self) -> (String, Db) {
        let db = self.test_db.open().await;
        let config = Config {
            database_url: self.test_db.url.clone(),
            bind: "127.0.0.1:0".into(),
            ..Config::default()
        };
        let app = Application::bind(config, db.clone()).await.expect("bind");
        let base = format!("http://{}", app.local_addr());
        tokio::spawn(app.run_until(std::future::pending()));
        (base, db)
    }

    /// Creates an active user with a password and returns it with an API token.
    pub async fn user(
        &self,
        email: &str,
        role: Role,
        partner_id: Option<&str>,
    ) -> (users::User, String) {
        let hash = trellis_server::auth::hash_password(PASSWORD.into())
            .await
            .unwrap();
        let user = app::users::create(
            &self.app,
            &Actor::system("test"),
            users::NewUser {
                email: email.into(),
                name: email.split('@').next().unwrap().into(),
                role,
                partner_id: partner_id.map(str::to_string),
                password_hash: Some(hash),
            },
        )
        .await
        .expect("create user");
        let (_, token) = app::tokens::create(&self.app, &Actor::system("test"), &user, "test")
            .await
            .unwrap();
        (user, token)
    }

    pub async fn admin(&self) -> String {
        self.user("admin@vendor.test", Role::VendorAdmin, None)
            .await
            .1
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    /// Sends a raw body with a content type (e.g. a TOML program).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    /// Uploads a TOML program as a draft and returns the version's JSON.
    pub async fn upload_program(&self, token: &str, toml: &str) -> Value {
        let r = self
            .send_raw(
                Method::POST,
                "/api/v1/programs",
                token,
                "application/toml",
                toml.to_string(),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "upload program: {}", r.text);
        r.body
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Creates a partner through the API and returns its JSON.
    pub async fn partner(&self, token: &str, slug: &str, extra: Value) -> Value {
        let mut body = json!({"name": format!("Partner {slug}"), "slug": slug, "partner_type": "reseller", "region": "dach", "country": "DE"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let r = self.post("/api/v1/partners", token, body).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "create partner {slug}: {}",
            r.text
        );
        r.body
    }

    /// Number of rows in a table (to prove that nothing was written).
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }

    /// Subject and body of every e-mail queued for `recipient`, oldest first.
    pub async fn outbox_to(&self, recipient: &str) -> Vec<String> {
        sqlx::query_as::<_, (String, String)>(
            "SELECT subject, body FROM outbox WHERE recipient = $1 ORDER BY at, id",
        )
        .bind(recipient)
        .fetch_all(self.db.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|(s, b)| format!("{s}: {b}"))
        .collect()
    }
}

/// The password of users made by [`TestApp::user`].
pub const PASSWORD: &str = "violet-harbour-42";

/// Who set-up code acts as: a vendor admin.
pub fn operator() -> trellis_core::access::Principal {
    trellis_core::access::Principal {
        user_id: "test".into(),
        role: Role::VendorAdmin,
        partner_id: None,
    }
}
