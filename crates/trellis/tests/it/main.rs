//! Trellis integration tests: one binary, every test against a real server
//! over HTTP, each on SQLite and on PostgreSQL.

mod helpers;

mod api_errors;
mod api_partners;
mod audit;
mod auth_api;
mod browser;
mod browser_deals;
mod browser_recruit;
mod cli;
mod deals;
mod incentives;
mod isolation;
mod layers;
mod mail;
mod openapi;
mod operations;
mod portal;
mod portal_deals;
mod portal_programs;
mod privacy;
mod programs;
mod recruit;
mod reliability;
mod tokens;
