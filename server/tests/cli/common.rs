//! Running the real `rotor-server` binary, and fresh databases for it.

use std::path::Path;
use std::time::Duration;

/// Every run is bounded: a hung command fails its test instead of hanging the suite.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// What one run of the binary gave.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// The standard output as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Asserts the exit code, showing everything on failure.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{self:#?}");
        self
    }

    /// Asserts that standard error is one line that starts with `error: ` and contains `needle`.
    #[track_caller]
    pub fn expect_error(&self, needle: &str) -> &Self {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {self:#?}");
        assert!(lines[0].starts_with("error: "), "{self:#?}");
        assert!(lines[0].contains(needle), "wanted `{needle}`: {self:#?}");
        self
    }
}

/// The binary in a clean environment: no `ROCKET_*`/secret variables of the caller, a
/// temporary working directory (so no Rocket.toml is found), cheap password hashing.
pub fn command(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_rotor-server"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("ROCKET_") || name.ends_with("_TOKEN_SECRET") {
            cmd.env_remove(name);
        }
    }
    cmd.current_dir(dir)
        .env("ROCKET_CLI_COLORS", "false")
        .env("ROCKET_PASSWORD_MEMORY_KIB", "64")
        .env("ROCKET_PASSWORD_ITERATIONS", "1")
        .timeout(TIMEOUT);
    cmd
}

/// Runs the binary with `args` and optional standard input (none: an empty pipe).
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Out {
    let mut cmd = command(dir);
    cmd.args(args);
    cmd.write_stdin(stdin.unwrap_or_default().to_vec());
    let out = cmd.output().expect("the binary runs");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs the binary in a throw-away directory.
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> Out {
    let dir = tempfile::tempdir().expect("temporary directory");
    run_in(dir.path(), args, stdin)
}

pub use crate::support::db::{Kind, TestDb};

/// Runs a future on a runtime of its own (tests here are plain `#[test]`s).
pub fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}
