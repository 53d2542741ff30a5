//! Tests of the `rotor-server` command line: every sub-command through the real binary
//! (`assert_cmd`), good and bad input, exit codes 0/1/2.
//!
//! Database commands run on a temporary SQLite file, and on PostgreSQL when
//! `ROTOR_TEST_POSTGRES_URL` is set (a loud SKIPPED line otherwise; `ROTOR_REQUIRE_POSTGRES=1`
//! makes a missing PostgreSQL fail instead).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;
mod database;
mod secret;
mod serve;
#[path = "../support/mod.rs"]
mod support;
mod token;
