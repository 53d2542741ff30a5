//! The binary's top level: help, usage errors, and `serve` starting the server as before.

use std::time::{Duration, Instant};

use crate::common::{command, run};

#[test]
fn help_explains_every_command_and_flag() {
    let out = run(&["--help"], None);
    out.expect_code(0);
    for cmd in [
        "serve",
        "migrate",
        "secret",
        "token",
        "user",
        "session",
        "Exit codes",
    ] {
        assert!(out.stdout.contains(cmd), "{cmd}: {out:#?}");
    }
    for (args, flags) in [
        (
            &["token", "verify", "--help"][..],
            &[
                "--secret",
                "--now",
                "--leeway",
                "--iss",
                "--aud",
                "--typ",
                "hex:",
                "base64:",
                "bad_signature",
            ][..],
        ),
        (
            &["token", "sign", "--help"][..],
            &[
                "--secret",
                "--kid",
                "--server-kid",
                "--claims",
                "--sub",
                "--ttl",
                "--no-exp",
            ][..],
        ),
        (
            &["token", "inspect", "--help"][..],
            &["WITHOUT verifying"][..],
        ),
        (
            &["secret", "generate", "--help"][..],
            &["--bytes", "RFC 7518"][..],
        ),
        (
            &["migrate", "--help"][..],
            &["--check", "--database-url"][..],
        ),
        (
            &["user", "add", "--help"][..],
            &["--username", "--email", "standard input"][..],
        ),
        (
            &["session", "revoke", "--help"][..],
            &["--id", "--email", "--username"][..],
        ),
        (
            &["session", "list", "--help"][..],
            &["--id", "--email", "--username"][..],
        ),
    ] {
        let out = run(args, None);
        out.expect_code(0);
        for flag in flags {
            assert!(out.stdout.contains(flag), "{args:?} lacks {flag}: {out:#?}");
        }
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["token"][..],
        &["token", "verify", "x.y.z"][..],
        &["token", "verify", "--secret"][..],
        &["user", "add", "--username", "bob"][..],
        &[
            "user",
            "add",
            "--username",
            "bob",
            "--email",
            "b@example.com",
            "--password",
            "hunter22",
        ][..],
        &["session", "revoke"][..],
    ] {
        let out = run(args, None);
        out.expect_code(2);
        // Clap's message: what is wrong, and the usage or a pointer to --help.
        assert!(
            out.stderr.contains("Usage:") || out.stderr.contains("--help"),
            "{args:?}: {out:#?}"
        );
        assert_eq!(out.stdout, "", "{args:?}");
    }
}

#[test]
fn serve_starts_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rotor-server"))
        .arg("serve")
        .current_dir(dir.path())
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_LOG_LEVEL", "off")
        .env_remove("ROCKET_DATABASES")
        .env_remove("ROCKET_PROFILE")
        .env_remove("ACCESS_TOKEN_SECRET")
        .env_remove("REFRESH_TOKEN_SECRET")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let answer = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
                .unwrap();
            let mut text = String::new();
            let _ = s.read_to_string(&mut text);
            break text;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no answer on port {port}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    assert!(dir.path().join("rotor.db").exists());
    // Release profile without secrets: refuses, as before.
    let out = command(dir.path())
        .env("ROCKET_PROFILE", "release")
        .env("ROCKET_PORT", "0")
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("ACCESS_TOKEN_SECRET is not set"));
}
