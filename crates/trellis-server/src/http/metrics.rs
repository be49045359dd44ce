//! Prometheus metrics: request counts by route and status, latency histograms
//! by route. Routes are the matched templates (`/api/v1/partners/{id}`), so
//! label cardinality stays bounded.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Histogram>,
}

/// Process-wide HTTP metrics.
pub struct Metrics {
    inner: Mutex<Inner>,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            inner: Mutex::default(),
            started: Instant::now(),
        }
    }

    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        let Ok(mut g) = self.inner.lock() else { return };
        *g.requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        let h = g
            .latency
            .entry((method.to_string(), route.to_string()))
            .or_default();
        h.count += 1;
        h.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(g) = self.inner.lock() else { return out };
        out.push_str("# HELP trellis_http_requests_total HTTP requests served, by method, route and status.\n");
        out.push_str("# TYPE trellis_http_requests_total counter\n");
        for ((m, r, s), n) in &g.requests {
            let _ = writeln!(
                out,
                "trellis_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{s}\"}} {n}",
                esc(r)
            );
        }
        out.push_str("# HELP trellis_http_request_duration_seconds Time to produce a response, by method and route.\n");
        out.push_str("# TYPE trellis_http_request_duration_seconds histogram\n");
        for ((m, r), h) in &g.latency {
            let r = esc(r);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "trellis_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"{b}\"}} {}", h.counts[i]);
            }
            let _ = writeln!(out, "trellis_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(
                out,
                "trellis_http_request_duration_seconds_sum{{method=\"{m}\",route=\"{r}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "trellis_http_request_duration_seconds_count{{method=\"{m}\",route=\"{r}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP trellis_uptime_seconds Seconds since the process started serving.\n");
        out.push_str("# TYPE trellis_uptime_seconds gauge\n");
        let _ = writeln!(
            out,
            "trellis_uptime_seconds {}",
            self.started.elapsed().as_secs_f64()
        );
        out
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Middleware recording every request.
pub async fn track(
    axum::extract::State(metrics): axum::extract::State<std::sync::Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let resp = next.run(req).await;
    metrics.observe(
        &method,
        &route,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_counts_and_buckets() {
        let m = super::Metrics::new();
        m.observe("GET", "/api/v1/partners", 200, 0.003);
        m.observe("GET", "/api/v1/partners", 200, 0.2);
        m.observe("GET", "/api/v1/partners", 404, 0.001);
        let text = m.render();
        assert!(text.contains("trellis_http_requests_total{method=\"GET\",route=\"/api/v1/partners\",status=\"200\"} 2"));
        assert!(text.contains("le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 3"));
    }
}
