//! Trellis server: everything with IO. The use cases ([`app`]), storage
//! ([`store`]), HTTP ([`http`]), background jobs ([`jobs`]), configuration,
//! demo data and logging. Who may call what: `http`, `jobs` and the command
//! line call `app`; `app` calls the core and `store`; `store` holds SQL only.

pub mod app;
pub mod auth;
pub mod backup;
pub mod config;
pub mod db;
pub mod demo;
pub mod http;
pub mod jobs;
pub mod matcher;
pub mod store;
pub mod telemetry;
