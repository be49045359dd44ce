//! E-mail over real SMTP: a server started by the test (Python's aiosmtpd,
//! Debian package `python3-aiosmtpd`) receives what Trellis sends, into a
//! Maildir the test reads. Without SMTP, or when the server is down, the
//! messages wait in the outbox that vendor admins read.

use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::portal::{browser, sign_in};
use reqwest::StatusCode;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;
use trellis_core::org::Role;

crate::on_both_backends!(
    invitations_and_deal_news_arrive_over_smtp,
    unreachable_smtp_is_retried_and_shown_in_the_outbox,
);

const INSTALL_HINT: &str = "run `apt-get install -y python3-aiosmtpd` (scripts/test-all does)";

/// The Python with Debian's packages (`TRELLIS_TEST_PYTHON` overrides): a
/// `python3` earlier in PATH (pyenv, a venv) may not see them.
fn python() -> String {
    std::env::var("TRELLIS_TEST_PYTHON").unwrap_or_else(|_| {
        if std::path::Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3".into()
        } else {
            "python3".into()
        }
    })
}

/// An SMTP server for one test, killed on drop.
pub struct SmtpServer {
    child: std::process::Child,
    pub port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("Maildir");
        let port = free_port();
        let child = std::process::Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} -m aiosmtpd ({e}): {INSTALL_HINT}",
                    python()
                )
            });
        let mut server = SmtpServer {
            child,
            port,
            maildir,
            _dir: dir,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = server.child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                panic!("aiosmtpd exited ({status}): {err}\n{INSTALL_HINT}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not listen on port {port} within 10 s");
    }

    /// Every message received so far, as raw RFC 5322 text.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                if let Ok(text) = std::fs::read_to_string(e.path()) {
                    // Undo quoted-printable soft breaks and escaped '='.
                    out.push(
                        text.replace("=\r\n", "")
                            .replace("=\n", "")
                            .replace("=3D", "="),
                    );
                }
            }
        }
        out
    }

    /// Waits (up to 20 s) for a message to `to` whose text contains `needle`.
    pub async fn wait_for(&self, to: &str, needle: &str) -> String {
        for _ in 0..200 {
            if let Some(m) = self
                .messages()
                .into_iter()
                .find(|m| header(m, "To").is_some_and(|t| t.contains(to)) && m.contains(needle))
            {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no message to {to} containing {needle:?} arrived; got: {:#?}",
            self.messages()
        );
    }
}

/// A header's value (first occurrence).
pub fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    })
}

/// The first URL in a message's body that starts with `prefix`.
pub fn link(message: &str, prefix: &str) -> String {
    let start = message.find(prefix).expect("link in message");
    message[start..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

async fn invitations_and_deal_news_arrive_over_smtp(b: Backend) {
    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    let app = TestApp::spawn_with(b, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.mail_from = "Acme Partner Program <prm@acme.test>".into();
    })
    .await;
    let admin = app.admin().await;

    // An invitation: the link arrives by e-mail and sets the password once.
    let r = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"email": "new.cm@vendor.test", "name": "New CM", "role": "channel-manager"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let mail = smtp.wait_for("new.cm@vendor.test", "Your invitation").await;
    assert_eq!(
        header(&mail, "From"),
        Some("\"Acme Partner Program\" <prm@acme.test>")
    );
    assert!(mail.contains("admin@vendor.test invited you"), "{mail}");
    let url = link(&mail, &format!("{}/invite/", app.base));
    assert_eq!(url, r.body["invite_url"].as_str().unwrap());
    let c = browser();
    let page = c.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    // The outbox records the delivery and forgets the secret link (the
    // server may have the message a moment before the outbox says so).
    let mut row: (Option<String>, Option<String>) = (None, None);
    for _ in 0..100 {
        row = sqlx::query_as(
            "SELECT sent_at, link FROM outbox WHERE channel = 'email' AND recipient = 'new.cm@vendor.test'",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        if row.0.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (sent, link_kept) = row;
    assert!(sent.is_some(), "marked sent within 5 s");
    assert_eq!(link_kept, None, "invitation links are erased once sent");

    // Deal news: the channel manager hears of a new registration by e-mail.
    let (cm, _) = app.user("cm@vendor.test", Role::ChannelManager, None).await;
    let p = app
        .partner(&admin, "alpha", json!({"channel_manager_id": cm.id}))
        .await;
    let pid = p["id"].as_str().unwrap();
    let (_, seller) = app
        .user("seller@alpha.test", Role::PartnerUser, Some(pid))
        .await;
    let close = (chrono::Utc::now().date_naive() + chrono::Days::new(30))
        .format("%Y-%m-%d")
        .to_string();
    let r = app
        .post(
            "/api/v1/deals",
            &seller,
            json!({"customer_name": "Kovalo Analytics GmbH", "customer_domain": "kovalo.de", "country": "DE",
                   "city": "Berlin", "amount": "12000", "currency": "EUR", "expected_close": close, "products": "Aurora"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let deal_id = r.body["deal"]["id"].as_str().unwrap();
    let mail = smtp.wait_for("cm@vendor.test", "Kovalo").await;
    assert!(
        mail.contains(&format!("{}/deals/{deal_id}", app.base)),
        "{mail}"
    );

    // Vendor admins read the outbox in the console; others may not.
    let c = browser();
    sign_in(&c, &app.base, "admin@vendor.test", PASSWORD).await;
    let page = c
        .get(format!("{}/admin/outbox?status=sent", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Your invitation to Trellis"), "{html}");
    assert!(html.contains("E-mail is delivered over SMTP ("), "{html}");
    assert!(
        !html.contains(url.as_str()),
        "the invitation link is hidden"
    );
    let c = browser();
    sign_in(&c, &app.base, "cm@vendor.test", PASSWORD).await;
    let page = c
        .get(format!("{}/admin/outbox", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
}

async fn unreachable_smtp_is_retried_and_shown_in_the_outbox(b: Backend) {
    let port = free_port(); // nothing listens there
    let app = TestApp::spawn_with(b, |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    })
    .await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"email": "later@vendor.test", "name": "Later", "role": "vendor-admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let mut row = (0i64, None::<String>, None::<String>, None::<String>);
    for _ in 0..100 {
        row = sqlx::query_as(
            "SELECT attempts, last_error, next_attempt_at, failed_at FROM outbox WHERE recipient = 'later@vendor.test'",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        if row.0 > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (attempts, error, next, failed) = row;
    assert_eq!(attempts, 1, "one attempt, then a pause");
    assert!(error.is_some(), "the error is kept");
    assert!(next.is_some_and(|n| n > trellis_server::db::now()));
    assert_eq!(failed, None, "a refused connection is retried");

    let c = browser();
    sign_in(&c, &app.base, "admin@vendor.test", PASSWORD).await;
    let html = c
        .get(format!("{}/admin/outbox?status=queued", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("later@vendor.test"), "{html}");
    assert!(html.contains("1 attempt"), "{html}");
    assert!(html.contains("next try"), "{html}");
}
