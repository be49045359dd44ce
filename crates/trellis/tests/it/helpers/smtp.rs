//! A real SMTP server for the e-mail tests (Python's aiosmtpd, writing a
//! Maildir), and reading what it received.

use std::path::PathBuf;
use std::time::Duration;

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

pub fn free_port() -> u16 {
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
