//! Integration tests of rotor-server: one binary, the same suite on SQLite and PostgreSQL.
//!
//! PostgreSQL tests need `ROTOR_TEST_POSTGRES_URL` (a role with CREATEDB; each test creates and
//! drops its own database). Without it they print a loud SKIPPED line; with
//! `ROTOR_REQUIRE_POSTGRES=1` a missing or unreachable PostgreSQL fails them instead.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod access;
mod api;
mod binary;
mod browser;
mod centre;
mod common;
mod faults;
mod group;
mod metrics;
mod mount;
mod processes;
mod race;
mod revoke_race;
mod rotation;
mod sqlite;
#[path = "../support/mod.rs"]
mod support;
mod upgrade;
mod web;
