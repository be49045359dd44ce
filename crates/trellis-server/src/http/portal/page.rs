//! What a page knows about its request beyond its handler's values: the
//! signed-in user (so that every page, error pages too, shows the
//! navigation) and the problems with its query string (unknown parameters
//! are ignored; values that do not parse are left out and said).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::cell::RefCell;

#[derive(Default, Clone)]
pub struct Page {
    pub me: Option<minijinja::Value>,
    pub csrf: Option<String>,
    pub problems: Vec<String>,
}

tokio::task_local! {
    static PAGE: RefCell<Page>;
}

/// Runs a request with its own page state.
pub async fn scope<F: std::future::Future>(f: F) -> F::Output {
    PAGE.scope(RefCell::new(Page::default()), f).await
}

/// The page state of the current request (empty outside one).
pub fn current() -> Page {
    PAGE.try_with(|p| p.borrow().clone()).unwrap_or_default()
}

pub fn signed_in(me: minijinja::Value, csrf: &str) {
    let _ = PAGE.try_with(|p| {
        let mut p = p.borrow_mut();
        p.me = Some(me);
        p.csrf = Some(csrf.to_string());
    });
}

/// A problem with the request that the page shows above its content.
pub fn problem(message: String) {
    let _ = PAGE.try_with(|p| p.borrow_mut().problems.push(message));
}

/// A page's query string: parameters the page does not know are ignored,
/// and a value that does not parse is left out with a message the page
/// shows (never a raw error).
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut pairs: Vec<(String, String)> =
            form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        // Each round drops the one parameter serde stopped at.
        for _ in 0..=pairs.len() {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&pairs)
                .finish();
            let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
            match serde_path_to_error::deserialize::<_, T>(de) {
                Ok(q) => return Ok(PageQuery(q)),
                Err(err) => {
                    let path = err.path().to_string();
                    let msg = err.into_inner().to_string();
                    let name = if msg.starts_with("unknown field") {
                        msg.split('`').nth(1).unwrap_or("").to_string()
                    } else {
                        path
                    };
                    let value = pairs
                        .iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| v.clone());
                    let before = pairs.len();
                    pairs.retain(|(k, _)| *k != name);
                    if pairs.len() == before {
                        // Nothing to leave out (a required value is missing).
                        problem(
                            "This address is missing part of what the page needs, so the page shows everything instead."
                                .into(),
                        );
                        return Ok(PageQuery(T::default()));
                    }
                    if !msg.starts_with("unknown field") {
                        let shown: String = value.unwrap_or_default().chars().take(40).collect();
                        problem(format!(
                            "The address asks for {name} “{shown}”, which this page cannot use, so it was left out."
                        ));
                    }
                }
            }
        }
        Ok(PageQuery(T::default()))
    }
}
