//! Trellis server: everything with IO. Storage ([`store`]), HTTP ([`http`]),
//! configuration, demo data and logging.

pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod http;
pub mod import;
pub mod mail;
pub mod matcher;
pub mod sales;
pub mod store;
pub mod telemetry;
