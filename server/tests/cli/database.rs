//! `migrate`, `user add`, `session revoke` on a temporary SQLite file and on PostgreSQL.

use rotor_server::config::Config;
use rotor_server::store::{self, TokenRow};

use crate::common::{block_on, run, Kind, TestDb};

const PASSWORD: &str = "correct horse battery staple";

fn cheap() -> Config {
    Config {
        password_memory_kib: 64,
        password_iterations: 1,
        ..Config::default()
    }
}

fn args<'a>(db: &'a TestDb, cmd: &[&'a str]) -> Vec<&'a str> {
    let mut v = cmd.to_vec();
    v.extend(db.flag());
    v
}

fn add_user<'a>(db: &'a TestDb, name: &'a str, email: &'a str, stdin: &[u8]) -> crate::common::Out {
    run(
        &args(db, &["user", "add", "--username", name, "--email", email]),
        Some(stdin),
    )
}

fn migrate_then_manage(kind: Kind, test: &str) {
    let Some(db) = block_on(TestDb::new(kind, test)) else {
        return;
    };

    // A fresh database: everything pending. SQLite: the file is not even created by a check.
    let check = run(&args(&db, &["migrate", "--check"]), None);
    check.expect_code(1);
    match kind {
        Kind::Sqlite => {
            check.expect_error("does not exist");
            assert!(!db.sqlite_path().exists(), "--check created the file");
        }
        Kind::Postgres => {
            check.expect_error("4 migration(s) pending");
            assert!(
                check.stdout.starts_with("pending: 20261126000001 init"),
                "{check:#?}"
            );
            for later in [
                "20261201000001 late replay",
                "20261201000002 session centre",
                "20261201000003 token indexes",
            ] {
                assert!(
                    check.stdout.contains(&format!("pending: {later}")),
                    "{check:#?}"
                );
            }
        }
    }
    // The other commands refuse an out-of-date schema instead of failing half-way.
    let early = add_user(&db, "alice", "alice@example.com", PASSWORD.as_bytes());
    early.expect_code(1);
    if kind == Kind::Postgres {
        early.expect_error("run `rotor-server migrate` first");
    }

    let out = run(&args(&db, &["migrate"]), None);
    out.expect_code(0);
    assert!(
        out.stdout.contains("applied: 20261126000001 init"),
        "{out:#?}"
    );
    let again = run(&args(&db, &["migrate"]), None);
    again.expect_code(0);
    assert!(
        again
            .stdout
            .contains("0 migration(s) applied now, 4 before"),
        "{again:#?}"
    );
    let check = run(&args(&db, &["migrate", "--check"]), None);
    check.expect_code(0);
    assert!(check.stdout.contains("up to date"), "{check:#?}");

    // user add: password from standard input (not a terminal here), one line.
    let out = add_user(
        &db,
        "Alice",
        "Alice@Example.com",
        format!("{PASSWORD}\n").as_bytes(),
    );
    out.expect_code(0);
    let user = out.json();
    assert_eq!(user["username"], "alice");
    assert_eq!(user["email"], "alice@example.com");
    assert!(user.get("password_hash").is_none() && !out.stdout.contains("argon2"));
    let id = user["id"].as_str().unwrap().to_owned();
    let row = block_on(async {
        let pool = db.pool().await;
        let row = store::user_by_login(pool.pool(), "alice")
            .await
            .unwrap()
            .unwrap();
        assert!(
            rotor_server::passwords::verify(
                &cheap(),
                PASSWORD.into(),
                Some(row.password_hash.clone())
            )
            .await
            .unwrap(),
            "the stored hash checks the piped password"
        );
        assert!(!rotor_server::passwords::verify(
            &cheap(),
            format!("{PASSWORD}\n"),
            Some(row.password_hash.clone())
        )
        .await
        .unwrap());
        pool.pool().close().await;
        row
    });
    assert_eq!(row.id, id);
    assert!(row.password_hash.starts_with("$argon2id$"));

    add_user(&db, "alice", "other@example.com", PASSWORD.as_bytes())
        .expect_code(1)
        .expect_error("already exists");
    for (name, email, stdin, needle) in [
        (
            "bob",
            "bob@example.com",
            &b"short\n"[..],
            "at least 8 characters",
        ),
        (
            "bob",
            "bob@example.com",
            &b"first line\nsecond line\n"[..],
            "more than one line",
        ),
        ("bob", "bob@example.com", &b""[..], "no password"),
        (
            "bob",
            "bob@example.com",
            &b"\xff\xfe password\n"[..],
            "not UTF-8",
        ),
        (
            "bob",
            "bob@example.com",
            &[b'p'; 5000][..],
            "longer than 1024 bytes",
        ),
        (
            "b",
            "bob@example.com",
            PASSWORD.as_bytes(),
            "--username must be",
        ),
        (
            "bo b",
            "bob@example.com",
            PASSWORD.as_bytes(),
            "--username must be",
        ),
        ("bob", "not-an-address", PASSWORD.as_bytes(), "--email"),
    ] {
        add_user(&db, name, email, stdin)
            .expect_code(2)
            .expect_error(needle);
    }

    // session revoke: two active sessions and one already ended.
    let token = |jti: &str, sid: &str| TokenRow {
        jti: jti.into(),
        session_id: sid.into(),
        user_id: id.clone(),
        fingerprint: rotor_core::Fingerprint::of(jti.as_bytes())
            .as_bytes()
            .to_vec(),
        issued_at: 1,
        expires_at: i64::MAX / 2,
        used_at: None,
        revoked_at: None,
        successor_jti: None,
    };
    block_on(async {
        let pool = db.pool().await;
        for (jti, sid) in [("t1", "s1"), ("t2", "s2"), ("t3", "s3")] {
            store::create_session(pool.pool(), &token(jti, sid), &store::Seen::default())
                .await
                .unwrap();
        }
        assert!(store::revoke_session(pool.pool(), "s3", "logout", 2)
            .await
            .unwrap());
        pool.pool().close().await;
    });
    let out = run(
        &args(&db, &["session", "revoke", "--email", "ALICE@example.com"]),
        None,
    );
    out.expect_code(0);
    assert_eq!(out.json()["sessionsRevoked"], 2, "{out:#?}");
    assert_eq!(out.json()["id"], id.as_str());
    block_on(async {
        let pool = db.pool().await;
        for (jti, sid) in [("t1", "s1"), ("t2", "s2")] {
            let s = store::session(pool.pool(), sid).await.unwrap().unwrap();
            assert!(s.revoked_at.is_some(), "{sid} revoked");
            let t = store::token_by_jti(pool.pool(), jti)
                .await
                .unwrap()
                .unwrap();
            assert!(t.revoked_at.is_some(), "{jti} revoked");
        }
        pool.pool().close().await;
    });
    // By id too; nothing left to revoke.
    let out = run(&args(&db, &["session", "revoke", "--id", &id]), None);
    out.expect_code(0);
    assert_eq!(out.json()["sessionsRevoked"], 0);
    run(
        &args(&db, &["session", "revoke", "--username", "mallory"]),
        None,
    )
    .expect_code(1)
    .expect_error("no user with the user name `mallory`");

    // A user name chosen to equal alice's id does not redirect a revocation by id: the
    // selectors are explicit. The decoy registers with alice's id as its name.
    let decoy = add_user(&db, &id, "decoy@example.com", PASSWORD.as_bytes());
    decoy.expect_code(0);
    block_on(async {
        let pool = db.pool().await;
        store::create_session(pool.pool(), &token("t9", "s9"), &store::Seen::default())
            .await
            .unwrap();
        pool.pool().close().await;
    });
    let listed = run(&args(&db, &["session", "list", "--id", &id]), None);
    listed.expect_code(0);
    assert_eq!(listed.json()["id"], id.as_str());
    assert_eq!(
        listed.json()["sessions"].as_array().unwrap().len(),
        1,
        "{listed:#?}"
    );
    let by_id = run(&args(&db, &["session", "revoke", "--id", &id]), None);
    by_id.expect_code(0);
    assert_eq!(
        by_id.json()["id"],
        id.as_str(),
        "the id names alice, not the decoy"
    );
    assert_eq!(by_id.json()["sessionsRevoked"], 1);
    let by_name = run(&args(&db, &["session", "revoke", "--username", &id]), None);
    by_name.expect_code(0);
    assert_ne!(
        by_name.json()["id"],
        id.as_str(),
        "the user name names the decoy"
    );
    // Two selectors at once, or none: a usage error.
    run(
        &args(&db, &["session", "revoke", "--id", &id, "--username", "x"]),
        None,
    )
    .expect_code(2);
}

#[test]
fn sqlite_migrate_user_add_session_revoke() {
    migrate_then_manage(
        Kind::Sqlite,
        "database::sqlite_migrate_user_add_session_revoke",
    );
}

#[test]
fn postgres_migrate_user_add_session_revoke() {
    migrate_then_manage(
        Kind::Postgres,
        "database::postgres_migrate_user_add_session_revoke",
    );
}

#[test]
fn sqlite_commands_never_create_a_missing_file() {
    let Some(db) = block_on(TestDb::new(
        Kind::Sqlite,
        "database::sqlite_commands_never_create_a_missing_file",
    )) else {
        return;
    };
    add_user(&db, "alice", "alice@example.com", PASSWORD.as_bytes())
        .expect_code(1)
        .expect_error("does not exist");
    run(
        &args(&db, &["session", "revoke", "--username", "alice"]),
        None,
    )
    .expect_code(1)
    .expect_error("does not exist");
    assert!(!db.sqlite_path().exists());
}

#[test]
fn unusable_database_urls_are_one_line_errors() {
    // Nothing listens on port 1 of the loopback address.
    let out = run(
        &[
            "migrate",
            "--database-url",
            "postgres://rotor:rotor@127.0.0.1:1/rotor",
        ],
        None,
    );
    out.expect_code(1)
        .expect_error("cannot open the Postgres database");
    assert!(
        !out.stderr.contains("rotor:rotor"),
        "no password in errors: {out:#?}"
    );
    run(
        &["migrate", "--database-url", "mysql://u@localhost/db"],
        None,
    )
    .expect_code(2)
    .expect_error("must start with sqlite:");
    // The URL also comes from the configuration, as for the server.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("from-env.db").display());
    let out = crate::common::command(dir.path())
        .env("ROCKET_DATABASES", format!("{{rotor={{url=\"{url}\"}}}}"))
        .arg("migrate")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(dir.path().join("from-env.db").exists());
}

/// Runs `args` on a pseudo-terminal (util-linux `script`), answering each prompt in `answers`
/// only once it has appeared. Returns everything the terminal showed, and the exit status.
fn on_terminal(
    dir: &std::path::Path,
    args: &[&str],
    answers: &[(&str, &str)],
) -> Option<(String, i32)> {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    if Command::new("script").arg("--version").output().is_err() {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED terminal prompt test: util-linux `script` is not installed ***\n"
        );
        return None;
    }
    let line = std::iter::once(env!("CARGO_BIN_EXE_rotor-server"))
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(dir)
        .env("ROCKET_PASSWORD_MEMORY_KIB", "64")
        .env("ROCKET_PASSWORD_ITERATIONS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut shown = Vec::new();
    let wait_for = |text: &str, shown: &mut Vec<u8>| {
        while !String::from_utf8_lossy(shown).contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => shown.extend(chunk),
                Err(_) => break,
            }
        }
    };
    for (prompt, answer) in answers {
        wait_for(prompt, &mut shown);
        assert!(
            String::from_utf8_lossy(&shown).contains(prompt),
            "no prompt {prompt:?}: {}",
            String::from_utf8_lossy(&shown)
        );
        // The prompt is printed just before echo is switched off: answering at once would race
        // the terminal mode change and be echoed by the pseudo-terminal itself.
        std::thread::sleep(Duration::from_millis(500));
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no exit: {}", String::from_utf8_lossy(&shown));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(stdin);
    while let Ok(chunk) = rx.recv_timeout(Duration::from_secs(2)) {
        shown.extend(chunk);
    }
    Some((
        String::from_utf8_lossy(&shown).into_owned(),
        status.code().unwrap_or(-1),
    ))
}

#[test]
fn user_add_asks_for_the_password_on_a_terminal() {
    let Some(db) = block_on(TestDb::new(
        Kind::Sqlite,
        "database::user_add_asks_for_the_password_on_a_terminal",
    )) else {
        return;
    };
    run(&args(&db, &["migrate"]), None).expect_code(0);
    let secret = "terminal password 1234";
    let add = args(
        &db,
        &[
            "user",
            "add",
            "--username",
            "carol",
            "--email",
            "carol@example.com",
        ],
    );
    let Some((shown, code)) = on_terminal(
        db.dir.path(),
        &add,
        &[
            ("Password for carol: ", secret),
            ("Same password again: ", secret),
        ],
    ) else {
        return;
    };
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains(r#""username":"carol""#), "{shown}");
    assert!(
        !shown.contains(secret),
        "the password is not echoed: {shown}"
    );
    block_on(async {
        let pool = db.pool().await;
        let row = store::user_by_login(pool.pool(), "carol")
            .await
            .unwrap()
            .unwrap();
        assert!(
            rotor_server::passwords::verify(&cheap(), secret.into(), Some(row.password_hash))
                .await
                .unwrap()
        );
        pool.pool().close().await;
    });
    // Two different answers: nothing is created.
    let add = args(
        &db,
        &[
            "user",
            "add",
            "--username",
            "dave",
            "--email",
            "dave@example.com",
        ],
    );
    let (shown, code) = on_terminal(
        db.dir.path(),
        &add,
        &[
            ("Password for dave: ", secret),
            ("Same password again: ", "something else 99"),
        ],
    )
    .unwrap();
    assert_eq!(code, 2, "{shown}");
    assert!(shown.contains("the two passwords differ"), "{shown}");
}
