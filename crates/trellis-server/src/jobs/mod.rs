//! Background work that runs beside the server on every instance, each job
//! claiming its work from the database so that instances share it.

pub mod expiry;
pub mod mail;

use crate::app::App;
use tokio::task::JoinHandle;

/// Starts every job this instance runs; abort the handles to stop them.
pub fn spawn_all(app: &App) -> Vec<JoinHandle<()>> {
    let mut jobs = vec![tokio::spawn(expiry::run(app.clone()))];
    // The configuration was checked at load; an SMTP URL means delivery.
    if let Ok(Some(mailer)) = app.config.mailer() {
        tracing::info!("e-mail is delivered over SMTP");
        jobs.push(tokio::spawn(mail::delivery_job(
            app.db.clone(),
            mailer,
            app.public_url(),
            std::time::Duration::from_secs(2),
        )));
    } else {
        tracing::info!("no smtp_url: e-mail stays in the outbox (/admin/outbox)");
    }
    jobs
}
