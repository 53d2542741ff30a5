//! The headless-Chromium end-to-end suite (`server/tests/browser/`, Node + playwright-core
//! driving Debian's `/usr/bin/chromium` against a release build), run from `cargo test` when
//! `ROTOR_BROWSER_TESTS=1` (as `.ci/run` sets, after building the release binary and installing
//! Chromium); otherwise skipped with a loud line saying so.

use std::path::Path;
use std::process::Command;

use crate::support::db::loud;

#[test]
fn chromium_end_to_end() {
    if std::env::var("ROTOR_BROWSER_TESTS").as_deref() != Ok("1") {
        loud(
            "*** SKIPPED browser::chromium_end_to_end: the headless-Chromium suite \
             (server/tests/browser) was NOT run. Set ROTOR_BROWSER_TESTS=1 with Debian's chromium, \
             node and a release build (`cargo build --release -p rotor-server`); .ci/run does. ***",
        );
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/run.sh");
    let status = Command::new("bash")
        .arg(&script)
        .status()
        .expect("bash runs server/tests/browser/run.sh");
    assert!(status.success(), "the Chromium suite failed: {status}");
}
