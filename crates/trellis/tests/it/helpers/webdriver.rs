//! Minimal async client for the W3C WebDriver protocol, driving headless
//! Chromium through `chromedriver`, for browser-level integration tests.
//!
//! Every method panics on failure with a message naming the CSS selector (if
//! any) and the page's current URL: these helpers are called straight from
//! tests, where a panic with context is the most useful failure mode.

// Not every test binary uses every helper.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::Method;
use serde_json::{json, Value};

/// The W3C "web element identifier": the JSON key under which element
/// references travel (WebDriver spec, section "Elements").
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The browser binary handed to chromedriver.
const CHROMIUM: &str = "/usr/bin/chromium";
const INSTALL_HINT: &str = "run `apt-get install -y chromium chromium-driver`";
/// Command-line flags for Chromium, space-separated (a `--user-data-dir` is appended).
const CHROMIUM_ARGS: &str =
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --disable-quic --window-size=1280,900";
/// How long [`Browser::find`] (and a click on a covered element) keeps retrying.
const WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(100);

/// HTTP connection to one WebDriver session, shared by a browser and its elements.
#[derive(Clone)]
struct Conn {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
}

impl Conn {
    /// Sends one command; returns its `value`, or `Err("<error code>: <message>")`.
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.session);
        let mut req = self.http.request(method, &url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("request to {url} failed: {e}"))?;
        let ok = resp.status().is_success();
        let json: Value = resp
            .json()
            .await
            .map_err(|e| format!("bad reply from {url}: {e}"))?;
        let value = json.get("value").cloned().unwrap_or(Value::Null);
        if ok {
            return Ok(value);
        }
        let code = value["error"].as_str().unwrap_or("unknown error");
        let message = value["message"]
            .as_str()
            .and_then(|m| m.lines().next())
            .unwrap_or("");
        match message.starts_with(code) {
            true => Err(message.to_string()), // chromedriver already prefixes the code
            false => Err(format!("{code}: {message}")),
        }
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        self.send(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.send(Method::POST, path, Some(body)).await
    }

    /// Builds a panic message naming the action, selector (if any) and current URL.
    async fn failure(&self, action: &str, css: &str, err: &str) -> String {
        let url = self.get("/url").await.map(string);
        let url = url
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or("<unknown>".into());
        let on = if css.is_empty() {
            String::new()
        } else {
            format!(" on `{css}`")
        };
        format!("webdriver: {action}{on} failed (page {url}): {err}")
    }

    /// Sends a command (a POST if it has a body, else a GET), panicking with
    /// context (`action`, `css`) on error.
    async fn must(&self, path: &str, body: Option<Value>, action: &str, css: &str) -> Value {
        let method = if body.is_some() {
            Method::POST
        } else {
            Method::GET
        };
        match self.send(method, path, body).await {
            Ok(v) => v,
            Err(e) => panic!("{}", self.failure(action, css, &e).await),
        }
    }
}

/// The string inside a JSON value (empty if it is not a string).
fn string(v: Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn by_css(css: &str) -> Value {
    json!({ "using": "css selector", "value": css })
}

/// Locates `chromedriver` at `/usr/bin/chromedriver` or on `PATH`.
fn find_chromedriver() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::iter::once(PathBuf::from("/usr/bin")).chain(std::env::split_paths(&path));
    let found = dirs.map(|d| d.join("chromedriver")).find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("chromedriver not in /usr/bin or PATH: {INSTALL_HINT}"))
}

/// The chromedriver process; killed (and reaped) when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A headless Chromium session. Dropping it ends the session and kills chromedriver.
pub struct Browser {
    conn: Conn,
    port: u16,
    session_id: String,
    // Field order matters: chromedriver is killed before the profile is deleted.
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Spawns chromedriver on a free port and opens a fresh headless Chromium session.
    pub async fn start() -> Browser {
        let chromedriver = find_chromedriver();
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} not found: {INSTALL_HINT}"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("no free localhost port")
            .port();
        let mut driver = Driver(
            Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", chromedriver.display())),
        );
        // Local traffic only: never route it through an environment-configured proxy.
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("build HTTP client");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = driver.0.try_wait() {
                panic!("chromedriver exited during startup ({status})");
            }
            if let Ok(resp) = http.get(format!("{base}/status")).send().await {
                if resp
                    .json::<Value>()
                    .await
                    .is_ok_and(|v| v["value"]["ready"] == true)
                {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver on port {port} not ready after 15 s"
            );
            tokio::time::sleep(POLL).await;
        }
        let profile = tempfile::TempDir::new().expect("create Chromium profile dir");
        let mut args: Vec<String> = CHROMIUM_ARGS.split_whitespace().map(String::from).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        }}});
        let reply: Value = match http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
        {
            Ok(resp) => resp.json().await.unwrap_or(Value::Null),
            Err(e) => panic!("webdriver: new session request failed: {e}"),
        };
        let Some(session_id) = reply["value"]["sessionId"].as_str().map(String::from) else {
            panic!("webdriver: could not start Chromium ({INSTALL_HINT}?): {reply}");
        };
        let conn = Conn {
            http,
            session: format!("{base}/session/{session_id}"),
        };
        Browser {
            conn,
            port,
            session_id,
            _driver: driver,
            _profile: profile,
        }
    }

    /// Sends a session command (POST if `body` is set, else GET), panicking on error.
    async fn cmd(&self, action: &str, path: &str, body: Option<Value>) -> Value {
        self.conn.must(path, body, action, "").await
    }

    /// Navigates to `url` and waits for the page load to complete.
    pub async fn goto(&self, url: &str) {
        let body = Some(json!({ "url": url }));
        self.cmd(&format!("goto {url}"), "/url", body).await;
    }

    /// The URL of the current page.
    pub async fn current_url(&self) -> String {
        string(self.cmd("current_url", "/url", None).await)
    }

    /// The first element matching `css`, polling for up to 5 s for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.conn.post("/element", by_css(css)).await {
                Ok(v) => return Element::new(&self.conn, &v, css),
                Err(e) if e.starts_with("no such element") && Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await
                }
                Err(e) => panic!("{}", self.conn.failure("find (waited 5 s)", css, &e).await),
            }
        }
    }

    /// All elements currently matching `css` (no waiting; may be empty).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let found = self
            .conn
            .must("/elements", Some(by_css(css)), "find_all", css);
        let found = found.await.as_array().cloned().unwrap_or_default();
        let label = |i| format!("{css} [#{i}]");
        let elements = found.iter().enumerate();
        elements
            .map(|(i, v)| Element::new(&self.conn, v, &label(i)))
            .collect()
    }

    /// Whether an element matching `css` exists right now (no waiting).
    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// The document title.
    pub async fn title(&self) -> String {
        string(self.cmd("title", "/title", None).await)
    }

    /// The rendered text of the page (`document.body.innerText`).
    pub async fn page_text(&self) -> String {
        let script = "return document.body ? document.body.innerText : '';";
        string(self.execute(script, &[]).await)
    }

    /// Runs `script` as a function body (`arguments[i]` are `args`; pass
    /// elements with `Value::from(&element)`) and returns its result.
    pub async fn execute(&self, script: &str, args: &[Value]) -> Value {
        let body = Some(json!({ "script": script, "args": args }));
        let action = format!("execute `{}`", script.chars().take(80).collect::<String>());
        self.cmd(&action, "/execute/sync", body).await
    }

    /// Saves a PNG screenshot of the viewport to `path`, creating parent dirs.
    pub async fn screenshot(&self, path: &Path) {
        let b64 = string(self.cmd("screenshot", "/screenshot", None).await);
        let data = base64::engine::general_purpose::STANDARD.decode(b64);
        let data = data.expect("screenshot is not valid base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        }
        std::fs::write(path, data).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Resizes the browser window to `width` x `height` CSS pixels.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        let body = Some(json!({ "width": width, "height": height }));
        self.cmd("set_window_size", "/window/rect", body).await;
    }
}

impl Drop for Browser {
    /// Best effort, blocking: ends the session so chromedriver quits Chromium;
    /// the chromedriver process itself is then killed by [`Driver`]'s drop.
    fn drop(&mut self) {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.session_id, self.port
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            let _ = stream.read(&mut [0u8; 1024]); // wait for the reply (session closed)
        }
    }
}

/// A reference to a DOM element in the browser's current page.
pub struct Element {
    conn: Conn,
    id: String,
    /// The selector this element was found by, for error messages.
    css: String,
}

impl From<&Element> for Value {
    /// The W3C JSON form of the element, usable as an [`Browser::execute`] argument.
    fn from(el: &Element) -> Value {
        json!({ ELEMENT_KEY: el.id })
    }
}

impl Element {
    fn new(conn: &Conn, reply: &Value, css: &str) -> Element {
        let Some(id) = reply[ELEMENT_KEY].as_str() else {
            panic!("webdriver: reply for `{css}` lacks the W3C element key: {reply}");
        };
        Element {
            conn: conn.clone(),
            id: id.to_string(),
            css: css.to_string(),
        }
    }

    /// Sends an element command (`suffix` after `/element/ID`), panicking on error.
    async fn cmd(&self, action: &str, suffix: &str, body: Option<Value>) -> Value {
        let path = format!("/element/{}{suffix}", self.id);
        self.conn.must(&path, body, action, &self.css).await
    }

    /// Clicks the element (retrying for up to 5 s while it is covered or not
    /// yet interactable). Counts as one interaction.
    pub async fn click(&self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let path = format!("/element/{}/click", self.id);
            match self.conn.post(&path, json!({})).await {
                Ok(_) => return,
                Err(e)
                    if Instant::now() < deadline
                        && (e.starts_with("element click intercepted")
                            || e.starts_with("element not interactable")) =>
                {
                    tokio::time::sleep(POLL).await
                }
                Err(e) => panic!("{}", self.conn.failure("click", &self.css, &e).await),
            }
        }
    }

    /// Types `text` into the element. Counts as one interaction.
    pub async fn send_keys(&self, text: &str) {
        self.cmd("send_keys", "/value", Some(json!({ "text": text })))
            .await;
    }

    /// Clears an input or textarea.
    pub async fn clear(&self) {
        self.cmd("clear", "/clear", Some(json!({}))).await;
    }

    /// The element's rendered text.
    pub async fn text(&self) -> String {
        string(self.cmd("text", "/text", None).await)
    }

    /// The HTML attribute `name`, or `None` if absent. Note this is the markup
    /// value: an input's typed text is `prop("value")`, not `attr("value")`.
    pub async fn attr(&self, name: &str) -> Option<String> {
        let (action, suffix) = (format!("attr {name}"), format!("/attribute/{name}"));
        self.cmd(&action, &suffix, None)
            .await
            .as_str()
            .map(String::from)
    }

    /// The DOM property `name` as JSON (e.g. `"value"` of an input as typed).
    pub async fn prop(&self, name: &str) -> Value {
        self.cmd(&format!("prop {name}"), &format!("/property/{name}"), None)
            .await
    }

    /// Chooses the `<option>` with this `value` in a `<select>` by clicking it
    /// (fires `input`/`change` like a user would). Counts as one interaction.
    pub async fn select_by_value(&self, value: &str) {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        let css = format!("option[value=\"{escaped}\"]");
        let action = format!("select_by_value {value:?}");
        let reply = self.cmd(&action, "/element", Some(by_css(&css))).await;
        let label = format!("{} {css}", self.css);
        Element::new(&self.conn, &reply, &label).click().await;
    }
}
