//! HTTP: the JSON API, the portal, health, metrics and API docs in one axum app.

pub mod api;
pub mod docs;
pub mod error;
pub mod extract;
pub mod guard;
pub mod metrics;
pub mod portal;
pub mod ratelimit;

use crate::app::App;
use crate::config::Config;
use crate::db::Db;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Largest accepted request body (JSON and forms).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Shared state of every handler: the application (database, matcher,
/// configuration) and what only the web needs.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub templates: Arc<portal::Templates>,
    pub metrics: Arc<metrics::Metrics>,
    /// API requests per token.
    pub limiter: Arc<ratelimit::Limiter>,
}

impl AppState {
    pub fn new(app: App) -> AppState {
        let limiter = ratelimit::Limiter::per_minute(app.config.api_requests_per_minute);
        AppState {
            app,
            templates: Arc::new(portal::Templates::new()),
            metrics: Arc::new(metrics::Metrics::new()),
            limiter: Arc::new(limiter),
        }
    }
}

/// Handlers reach the application's parts directly (`state.db`, `state.config`).
impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api::router().split_for_parts();
    let openapi = api::complete(openapi);
    let openapi_json = Arc::new(openapi.to_pretty_json().unwrap_or_default());
    let docs_html = Arc::new(docs::render(&openapi, &state.templates));

    Router::new()
        .merge(api)
        .merge(portal::router())
        .route(
            "/api/openapi.json",
            get(move || {
                let body = openapi_json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body.to_string()) }
            }),
        )
        .route(
            "/api/docs",
            get(move || {
                let body = docs_html.clone();
                async move { axum::response::Html(body.to_string()) }
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route_layer(middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(middleware::from_fn(guard::refuse_nul))
        .layer(middleware::from_fn(request_id_scope))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Makes the request id available to error rendering (see [`error::REQUEST_ID`]).
async fn request_id_scope(req: Request, next: Next) -> Response {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|r| r.header_value().to_str().ok())
        .unwrap_or("-")
        .to_string();
    error::REQUEST_ID
        .scope(id, portal::page::scope(next.run(req)))
        .await
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.db.ping().await {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// API paths get a problem document, everything else the portal's page.
async fn not_found(State(state): State<AppState>, req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        error::ApiError::NotFound("route").into_response()
    } else {
        portal::not_found_page(&state)
    }
}

/// A bound, migrated server ready to run.
pub struct Application {
    listener: tokio::net::TcpListener,
    state: AppState,
}

impl Application {
    /// Binds `config.bind` (port 0 picks a free port) over an open database.
    pub async fn bind(mut config: Config, db: Db) -> std::io::Result<Application> {
        let listener = tokio::net::TcpListener::bind(&config.bind).await?;
        // Links in invitations need the real address when port 0 was asked for.
        if config.public_url.is_none() {
            config.public_url = Some(format!("http://{}", listener.local_addr()?));
        }
        let app = App::load(db, config)
            .await
            .map_err(|e| std::io::Error::other(format!("cannot build the matcher index: {e}")))?;
        let state = AppState::new(app);
        Ok(Application { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes; in-flight requests are allowed to finish.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = router(self.state.clone());
        let jobs = crate::jobs::spawn_all(&self.state.app);
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        for job in jobs {
            job.abort();
        }
        served
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}
