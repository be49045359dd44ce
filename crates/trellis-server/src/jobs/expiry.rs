//! Expires approved deal registrations whose protection period ended.

use crate::app::{self, App};

/// Runs [`app::deals::expire_due`] every minute.
pub async fn run(app: App) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        match app::deals::expire_due(&app, &app::today()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "deal registrations expired"),
            Err(e) => tracing::warn!(error = %e, "expiry job failed; retrying in a minute"),
        }
    }
}
