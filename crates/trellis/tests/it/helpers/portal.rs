//! The portal over plain HTTP, as a browser without JavaScript uses it.

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// The body of a GET (whatever its status).
pub async fn get_text(c: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    c.get(url).send().await.unwrap().text().await.unwrap()
}

/// The value of the `csrf` hidden field of the first form on a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("page has a csrf field");
    html[start..].split('"').next().unwrap().to_string()
}

/// Signs in and returns the response of the POST.
pub async fn sign_in(
    c: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let page = get_text(c, format!("{base}/login")).await;
    let csrf = csrf_of(&page);
    c.post(format!("{base}/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf", &csrf),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap()
}
