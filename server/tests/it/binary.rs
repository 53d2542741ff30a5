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
    let port = crate::common::free_port();
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

    // Reuse, for the security event in the log: R1 -> R2 -> R3, then R1 again.
    let base = format!("http://127.0.0.1:{port}");
    let secret_password = "a password that must never reach the log";
    let creds = serde_json::json!({"username": "lou", "email": "lou@example.com", "password": secret_password});
    let post = |path: &str, body: serde_json::Value| {
        let (http, url) = (http.clone(), format!("{base}{path}"));
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    assert_eq!(post("/register", creds.clone()).await.0, 201);
    let (status, login) = post("/login", creds).await;
    assert_eq!(status, 200);
    let r1 = login["data"]["refreshToken"].clone();
    let (_, p2) = post("/refresh-token", serde_json::json!({"refreshToken": r1})).await;
    let (status, _) = post(
        "/refresh-token",
        serde_json::json!({"refreshToken": p2["data"]["refreshToken"]}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = post("/refresh-token", serde_json::json!({"refreshToken": r1})).await;
    assert_eq!(status, 401);

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
    let event = out
        .lines()
        .find_map(|l| l.split_once("rotor security event: ").map(|(_, json)| json))
        .expect("a security event line");
    let event: serde_json::Value = serde_json::from_str(event).expect("the event is JSON");
    assert_eq!(event["event"], "refresh_token_reuse");
    assert_eq!(event["action"], "session_revoked");
    assert_eq!(event["session_was_active"], true);
    assert!(!out.contains(secret_password), "a password reached the log");
    assert!(
        !out.contains(r1.as_str().unwrap()),
        "a refresh token reached the log"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn release_profile_starts_with_the_original_variables() {
    let dir = temp_dir("vars");
    let port = crate::common::free_port();
    let _child = bare(&dir)
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_PROFILE", "release")
        .env("ROCKET_LOG_LEVEL", "off")
        .env("ROCKET_PASSWORD_MEMORY_KIB", "64")
        .env("ROCKET_PASSWORD_ITERATIONS", "1")
        .env("ACCESS_TOKEN_SECRET", crate::common::ACCESS_SECRET)
        .env("REFRESH_TOKEN_SECRET", crate::common::REFRESH_SECRET)
        .env("ACCESS_TOKEN_EXPIRY", "2m")
        .env("REFRESH_TOKEN_EXPIRY", "1d")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while http.get(format!("{base}/health")).send().await.is_err() {
        assert!(Instant::now() < deadline, "no answer on port {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let creds = serde_json::json!({"username": "vera", "email": "vera@example.com", "password": crate::common::PASSWORD});
    let r = http
        .post(format!("{base}/register"))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .post(format!("{base}/login"))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body: serde_json::Value = r.json().await.unwrap();
    let find = |name: &str| {
        cookies
            .iter()
            .find(|c| c.starts_with(name))
            .unwrap()
            .clone()
    };
    assert!(find("accessToken=").contains("Max-Age=120"), "{cookies:?}");
    assert!(
        find("refreshToken=").contains("Max-Age=86400"),
        "{cookies:?}"
    );
    // The tokens verify with the configured secrets and carry the configured lifetimes.
    let token = body["data"]["refreshToken"].as_str().unwrap();
    let mut scratch = vec![0u8; rotor_core::scratch_len(token.len())];
    let header_kid = {
        let mut s = vec![0u8; rotor_core::scratch_len(token.len())];
        let u = rotor_core::inspect(token, &mut s).unwrap();
        serde_json::from_str::<serde_json::Value>(u.header).unwrap()["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let key =
        rotor_core::Key::with_kid(crate::common::REFRESH_SECRET.as_bytes(), &header_kid).unwrap();
    let v = rotor_core::verify(
        token,
        &key,
        &rotor_core::Validation::new().issuer("rotor"),
        rotor_server::tokens::now(),
        &mut scratch,
    )
    .unwrap();
    assert_eq!(v.claims.exp.unwrap() - v.claims.iat.unwrap(), 86_400);
    let _ = std::fs::remove_dir_all(dir);
}
