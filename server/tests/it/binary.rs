//! The standalone binary: starts with no set-up (SQLite file created in the working directory,
//! ephemeral secrets with a warning in debug), and refuses to start in release without secrets.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::process::Command;

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rotor-bin-{tag}-{}-{}",
        std::process::id(),
        &rotor_server::tokens::random_id()[..8]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn bare(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rotor-server"));
    cmd.current_dir(dir)
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_CLI_COLORS", "false")
        .env_remove("ROCKET_DATABASES")
        .env_remove("ACCESS_TOKEN_SECRET")
        .env_remove("REFRESH_TOKEN_SECRET")
        .env_remove("ROCKET_PROFILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

#[tokio::test]
async fn release_profile_refuses_to_start_without_secrets() {
    let dir = temp_dir("release");
    let mut child = bare(&dir)
        .env("ROCKET_PORT", "0")
        .env("ROCKET_PROFILE", "release")
        .spawn()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("exits by itself")
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    assert!(!status.success());
    assert!(
        out.contains("refusing to start: ACCESS_TOKEN_SECRET is not set"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn debug_binary_starts_with_no_setup() {
    let dir = temp_dir("debug");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = bare(&dir)
        .env("ROCKET_PORT", port.to_string())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let health = loop {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
        {
            break r;
        }
        assert!(Instant::now() < deadline, "no answer on port {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health.status(), 200);
    assert!(
        dir.join("rotor.db").exists(),
        "SQLite file created in the working directory"
    );
    child.start_kill().unwrap();
    let _ = child.wait().await;
    // Rocket's logger writes to stdout.
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    assert!(out.contains("generated EPHEMERAL secrets"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}
