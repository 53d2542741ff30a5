//! Two real server processes against one PostgreSQL database behave as one service.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::common::*;

/// A `rotor-server` child process on a loopback port, killed on drop.
pub struct Server {
    pub base: String,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Server {
    /// Starts the binary with `url` and waits (at most 60 s) until `/health` answers 200.
    pub async fn start(url: &str, extra: &[(&str, &str)]) -> Self {
        let port = free_port();
        let dir = std::env::temp_dir();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rotor-server"));
        cmd.current_dir(&dir)
            .env("ROCKET_ADDRESS", "127.0.0.1")
            .env("ROCKET_PORT", port.to_string())
            .env("ROCKET_LOG_LEVEL", "off")
            .env("ROCKET_CLI_COLORS", "false")
            .env("ROCKET_DATABASES", format!("{{rotor={{url=\"{url}\"}}}}"))
            .env("ACCESS_TOKEN_SECRET", ACCESS_SECRET)
            .env("REFRESH_TOKEN_SECRET", REFRESH_SECRET)
            .env("ROCKET_PASSWORD_MEMORY_KIB", "64")
            .env("ROCKET_PASSWORD_ITERATIONS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn rotor-server");
        let server = Self {
            base: format!("http://127.0.0.1:{port}"),
            child,
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(format!("{}/health", server.base)).send().await {
                if r.status() == 200 {
                    return server;
                }
            }
            assert!(
                Instant::now() < deadline,
                "server on port {port} did not become healthy"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A JSON request against one of the processes: (status, body).
pub async fn call(
    http: &reqwest::Client,
    server: &Server,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let r = http
        .post(format!("{}{path}", server.base))
        .json(&body)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON body"))
}

fn refresh_of(body: &Value) -> String {
    body["data"]["refreshToken"]
        .as_str()
        .expect("refreshToken")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_rotation_state() {
    let Some(db) = TestDb::new(
        Kind::Postgres,
        "processes::two_processes_share_rotation_state",
    )
    .await
    else {
        return;
    };
    let a = Server::start(&db.url, &[]).await;
    let b = Server::start(&db.url, &[]).await;
    let http = reqwest::Client::new();
    let (name, email) = ("procuser", "procuser@example.com");

    let (s, _) = call(
        &http,
        &a,
        "/register",
        json!({"username": name, "email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, login) = call(
        &http,
        &b,
        "/login",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200);
    let r1 = refresh_of(&login);

    // Rotation on A; the double submit on B gets the same successor (grace window).
    let (s, p2a) = call(&http, &a, "/refresh-token", json!({"refreshToken": r1})).await;
    assert_eq!(s, 200);
    let (s, p2b) = call(&http, &b, "/refresh-token", json!({"refreshToken": r1})).await;
    assert_eq!(s, 200);
    assert_eq!(p2a, p2b, "same successor from either process");
    // Successor used on B; the old token on A is now reuse, and the family dies on both.
    let (s, p3) = call(
        &http,
        &b,
        "/refresh-token",
        json!({"refreshToken": refresh_of(&p2b)}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, body) = call(&http, &a, "/refresh-token", json!({"refreshToken": r1})).await;
    assert_eq!(
        (s, body["message"].as_str()),
        (401, Some("Refresh token is expired or used"))
    );
    let (s, _) = call(
        &http,
        &b,
        "/refresh-token",
        json!({"refreshToken": refresh_of(&p3)}),
    )
    .await;
    assert_eq!(s, 401);

    // The race split across both processes still records exactly one successor.
    let (s, login) = call(
        &http,
        &a,
        "/login",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200);
    let token = refresh_of(&login);
    let servers = [&a, &b];
    let mut set = Vec::new();
    for i in 0..crate::race::RACERS {
        let (http, base, token) = (http.clone(), servers[i % 2].base.clone(), token.clone());
        set.push(tokio::spawn(async move {
            let r = http
                .post(format!("{base}/refresh-token"))
                .json(&json!({"refreshToken": token}))
                .timeout(Duration::from_secs(60))
                .send()
                .await
                .expect("request");
            (r.status().as_u16(), r.text().await.expect("body"))
        }));
    }
    let mut answers = Vec::new();
    for t in set {
        answers.push(t.await.expect("task"));
    }
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    assert!(
        answers.iter().all(|a| a.1 == answers[0].1),
        "byte-identical across processes"
    );
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM refresh_tokens WHERE session_id = $1")
        .bind(sid_of(&token))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 2, "exactly one successor recorded");
    drop((a, b));
}
