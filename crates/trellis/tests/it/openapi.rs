//! The OpenAPI document: generated from the code, served, committed, documented.

use crate::helpers::{Backend, TestApp};
use reqwest::StatusCode;

crate::on_both_backends!(openapi_is_served_committed_and_documented);

async fn openapi_is_served_committed_and_documented(b: Backend) {
    let app = TestApp::spawn(b).await;
    let served = app
        .http
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "OpenAPI 3.1"
    );
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json"))
            .expect("openapi.json is committed");
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(
        doc, committed,
        "openapi.json is stale: run `trellis export-openapi > openapi.json`"
    );

    let docs = app
        .http
        .get(format!("{}/api/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    // minijinja escapes "/" in HTML text.
    let html = docs
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    assert!(
        !html.contains("<script"),
        "the docs page needs no JavaScript"
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                html.contains(&format!("<code>{path}</code>")),
                "{path} documented"
            );
            let summary = op["summary"].as_str().unwrap_or("");
            assert!(!summary.is_empty(), "{method} {path} has a summary");
            assert!(html.contains(summary), "{method} {path}: summary shown");
        }
    }
    for schema in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(
            html.contains(&format!("id=\"schema-{schema}\"")),
            "schema {schema} documented"
        );
    }
}
