//! Helpers of the browser tests: where screenshots go, signing in.

use super::webdriver::Browser;
use super::{Backend, PASSWORD};
use std::path::PathBuf;

pub fn shot_dir(b: Backend) -> PathBuf {
    let base = std::env::var("TRELLIS_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/screenshots"
            ))
        });
    base.join(match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    })
}

/// Signs in and waits for the signed-in page (its header shows who).
pub async fn sign_in(br: &Browser, base: &str, email: &str) {
    br.goto(&format!("{base}/login")).await;
    br.find("#f-email").await.send_keys(email).await;
    br.find("#f-password").await.send_keys(PASSWORD).await;
    br.find("button[type=submit]").await.click().await;
    br.find(".who").await;
}
