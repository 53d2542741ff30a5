//! Helpers of the load benchmark (`bench/run.sh`): seed users with a live session each through
//! the server library, forge a token for the 401 path, and check the database after a run.
//!
//! ```text
//! rotor-bench seed-rotor <users> <tokens_out>     # "<user_id> <refresh_token>" per line
//! rotor-bench forge-rotor                         # prints a well-formed token with a wrong key
//! rotor-bench verify-rotor <final_tokens> <ok200>
//! rotor-bench verify-peer <database_url> <final_tokens>
//! ```
//!
//! The rotor commands read the same configuration as the server (`Rocket.toml`, `ROCKET_*`,
//! `ACCESS_TOKEN_SECRET`, `REFRESH_TOKEN_SECRET`), so the tokens are minted exactly as the
//! server mints them: [`rotor_server::sessions::start`] is the login path minus the password
//! check.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use rocket::figment::Figment;
use rotor_server::config::{Config, Secret};
use rotor_server::db::{Backend, DbPool};
use rotor_server::keys::Keys;
use rotor_server::store::{self, UserRow};
use rotor_server::{passwords, sessions, tokens};
use sqlx::{AnyPool, Row};

type Res<T> = Result<T, String>;

fn rotor_config() -> Res<(Figment, Config, Keys)> {
    let figment = rocket::Config::figment();
    let cfg = Config::from_figment(&figment).map_err(|e| format!("configuration: {e}"))?;
    let keys = Keys::from_config(&cfg, false)?;
    Ok((figment, cfg, keys))
}

async fn rotor_db(figment: &Figment) -> Res<DbPool> {
    let db = rotor_db_as_is(figment).await?;
    db.migrate().await.map_err(|e| format!("migrations: {e}"))?;
    Ok(db)
}

/// The database without running migrations: a run's check reads what the server wrote, and a
/// baseline server's database may lack this tree's later migrations on purpose.
async fn rotor_db_as_is(figment: &Figment) -> Res<DbPool> {
    DbPool::connect(&figment.focus("databases.rotor"))
        .await
        .map_err(|e| format!("database: {e}"))
}

/// Creates `users` users, each logged in once, through the server library.
async fn seed_rotor(users: usize, out: &str) -> Res<()> {
    let t0 = Instant::now();
    let (figment, cfg, keys) = rotor_config()?;
    let db = Arc::new(rotor_db(&figment).await?);
    // One Argon2id hash shared by every seeded user (as the peer's seed.js shares one bcrypt
    // hash): hashing 10,000 passwords would take minutes and is not what is measured.
    let hash = passwords::hash(&cfg, "password123".into())
        .await
        .map_err(|e| format!("password hash: {e}"))?;
    // SQLite has one writer: more tasks would only wait for the lock.
    let tasks = match db.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => 32,
    };
    let (cfg, keys, hash) = (Arc::new(cfg), Arc::new(keys), Arc::new(hash));
    let now = tokens::now();
    let created_at = i64::try_from(now).map_err(|e| e.to_string())?;
    let mut handles = Vec::new();
    for task in 0..tasks {
        let (db, cfg, keys, hash) = (db.clone(), cfg.clone(), keys.clone(), hash.clone());
        handles.push(tokio::spawn(async move {
            let mut lines = Vec::new();
            for i in (task..users).step_by(tasks) {
                let user = UserRow {
                    id: tokens::random_id(),
                    username: format!("user{i}"),
                    email: format!("user{i}@example.com"),
                    password_hash: hash.to_string(),
                    created_at,
                };
                if !store::insert_user(db.pool(), &user)
                    .await
                    .map_err(|e| format!("insert user: {e}"))?
                {
                    return Err(format!("user{i} already exists: seed a fresh database"));
                }
                let pair = sessions::start(&db, &cfg, &keys, &user, now, &store::Seen::default())
                    .await
                    .map_err(|e| format!("start session: {e}"))?;
                lines.push((i, format!("{} {}\n", user.id, pair.refresh)));
            }
            Ok::<_, String>(lines)
        }));
    }
    let mut lines = Vec::with_capacity(users);
    for h in handles {
        lines.extend(h.await.map_err(|e| e.to_string())??);
    }
    lines.sort_by_key(|(i, _)| *i);
    let text: String = lines.into_iter().map(|(_, l)| l).collect();
    std::fs::write(out, text).map_err(|e| format!("{out}: {e}"))?;
    db.pool().close().await;
    eprintln!(
        "seeded {users} users with one session each ({:?}) in {} ms -> {out}",
        db.backend(),
        t0.elapsed().as_millis()
    );
    Ok(())
}

/// A refresh token shaped exactly like the server's (same claims, issuer, lifetime) but signed
/// with secrets the server does not hold: a forgery that only the signature check can reject.
fn forge_rotor() -> Res<()> {
    let (_, cfg, _) = rotor_config()?;
    let forged_cfg = Config {
        access_token_secret: Some(Secret::new("forged-access-secret-0123456789abcdef")),
        refresh_token_secret: Some(Secret::new("forged-refresh-secret-0123456789abcdef")),
        access_token_previous_secrets: Vec::new(),
        refresh_token_previous_secrets: Vec::new(),
        ..cfg
    };
    let keys = Keys::from_config(&forged_cfg, false)?;
    let (sub, sid, jti, now) = (
        tokens::random_id(),
        tokens::random_id(),
        tokens::random_id(),
        tokens::now(),
    );
    let issue = tokens::Issue {
        sub: &sub,
        sid: &sid,
        jti: &jti,
        iat: now,
        refresh_exp: now.saturating_add(forged_cfg.refresh_token_expiry.0),
    };
    let pair = tokens::sign_pair(&forged_cfg, &keys, &issue).map_err(|e| e.to_string())?;
    println!("{}", pair.refresh);
    Ok(())
}

/// One line of the final-state file written by `wrk/refresh_chain.lua`.
struct Held {
    id: String,
    token: String,
    in_flight: bool,
}

fn read_final(path: &str) -> Res<Vec<Held>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [id, token, state] if *state == "ready" || *state == "inflight" => Ok(Held {
                    id: (*id).to_owned(),
                    token: (*token).to_owned(),
                    in_flight: *state == "inflight",
                }),
                _ => Err(format!("{path}: bad line {l:?}")),
            }
        })
        .collect()
}

async fn count(pool: &AnyPool, sql: &str) -> Res<i64> {
    sqlx::query(sql)
        .fetch_one(pool)
        .await
        .and_then(|r| r.try_get::<i64, _>(0))
        .map_err(|e| format!("{sql}: {e}"))
}

/// Checks the rotor database after a run against what the load generator saw.
///
/// - every session is active and holds exactly one live (unused, unrevoked) refresh token;
/// - the tokens form chains without forks: `tokens - used = sessions`;
/// - every user the generator holds a settled token for: that token is the live one;
/// - rotations recorded = 200s counted + rotations whose response the generator never read
///   (a user in flight when wrk stopped whose live token is not the one it held);
/// - so every 200 was exactly one rotation, and every rotated token was accepted exactly once.
async fn verify_rotor(final_path: &str, ok200: i64) -> Res<()> {
    let (figment, _, _) = rotor_config()?;
    let db = rotor_db_as_is(&figment).await?;
    let pool = db.pool();
    let held = read_final(final_path)?;
    let users = count(pool, "SELECT COUNT(*) FROM users").await?;
    let sessions = count(pool, "SELECT COUNT(*) FROM sessions").await?;
    let revoked = count(
        pool,
        "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL",
    )
    .await?;
    let tokens_n = count(pool, "SELECT COUNT(*) FROM refresh_tokens").await?;
    let used = count(
        pool,
        "SELECT COUNT(*) FROM refresh_tokens WHERE used_at IS NOT NULL",
    )
    .await?;
    let not_one_live = count(
        pool,
        "SELECT COUNT(*) FROM sessions s WHERE (SELECT COUNT(*) FROM refresh_tokens t \
         WHERE t.session_id = s.id AND t.used_at IS NULL AND t.revoked_at IS NULL) <> 1",
    )
    .await?;
    let rows = sqlx::query(
        "SELECT user_id, fingerprint FROM refresh_tokens \
         WHERE used_at IS NULL AND revoked_at IS NULL",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| format!("live tokens: {e}"))?;
    let mut live: HashMap<String, Vec<u8>> = HashMap::with_capacity(rows.len());
    for r in rows {
        let user: String = r.try_get(0).map_err(|e| e.to_string())?;
        let fp: Vec<u8> = r.try_get(1).map_err(|e| e.to_string())?;
        live.insert(user, fp);
    }
    let (mut ready_ok, mut ready_bad, mut unseen, mut in_flight) = (0i64, 0i64, 0i64, 0i64);
    for h in &held {
        let matches = live.get(&h.id).is_some_and(|fp| {
            tokens::stored_fingerprint(fp).is_some_and(|s| s == tokens::fingerprint(&h.token))
        });
        if h.in_flight {
            in_flight += 1;
            if !matches {
                unseen += 1;
            }
        } else if matches {
            ready_ok += 1;
        } else {
            ready_bad += 1;
        }
    }
    let mut failures = Vec::new();
    if users != sessions {
        failures.push(format!("{users} users but {sessions} sessions"));
    }
    if i64::try_from(held.len()).unwrap_or(-1) != users {
        failures.push(format!(
            "{} users in the final token file, {users} in the database",
            held.len()
        ));
    }
    if revoked != 0 {
        failures.push(format!(
            "{revoked} sessions revoked (reuse detected under chained load)"
        ));
    }
    if not_one_live != 0 {
        failures.push(format!(
            "{not_one_live} sessions without exactly one live refresh token"
        ));
    }
    if tokens_n - used != sessions {
        failures.push(format!(
            "{tokens_n} tokens - {used} used != {sessions} sessions (a forked chain)"
        ));
    }
    if ready_bad != 0 {
        failures.push(format!(
            "{ready_bad} users whose last received token is not their live one"
        ));
    }
    if used != ok200 + unseen {
        failures.push(format!(
            "{used} rotations recorded != {ok200} 200s seen + {unseen} unseen in-flight rotations"
        ));
    }
    println!(
        "CHECK rotor users={users} sessions={sessions} tokens={tokens_n} rotations={used} ok200={ok200} \
         in_flight_at_stop={in_flight} unseen_rotations={unseen} settled_match={ready_ok} \
         settled_mismatch={ready_bad} sessions_not_one_live={not_one_live} revoked={revoked} \
         result={}",
        if failures.is_empty() { "PASS" } else { "FAIL" }
    );
    db.pool().close().await;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// Checks the peer's database: each user holds one token (its column); every settled token the
/// generator holds is the stored one.
async fn verify_peer(url: &str, final_path: &str) -> Res<()> {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(url)
        .await
        .map_err(|e| format!("peer database: {e}"))?;
    let held = read_final(final_path)?;
    let rows = sqlx::query("SELECT id, refresh_token FROM users")
        .fetch_all(&pool)
        .await
        .map_err(|e| format!("peer users: {e}"))?;
    let mut stored: HashMap<String, Option<String>> = HashMap::with_capacity(rows.len());
    for r in rows {
        let id: String = r.try_get(0).map_err(|e| e.to_string())?;
        let tok: Option<String> = r.try_get(1).map_err(|e| e.to_string())?;
        stored.insert(id, tok);
    }
    let (mut ok, mut bad, mut in_flight) = (0, 0, 0);
    for h in &held {
        if h.in_flight {
            in_flight += 1;
        } else if stored.get(&h.id).and_then(Option::as_deref) == Some(h.token.as_str()) {
            ok += 1;
        } else {
            bad += 1;
        }
    }
    let pass = bad == 0 && held.len() == stored.len();
    println!(
        "CHECK peer users={} held={} in_flight_at_stop={in_flight} settled_match={ok} \
         settled_mismatch={bad} result={}",
        stored.len(),
        held.len(),
        if pass { "PASS" } else { "FAIL" }
    );
    pool.close().await;
    if pass {
        Ok(())
    } else {
        Err(format!(
            "{bad} settled tokens differ from the stored ones, or user counts differ"
        ))
    }
}

fn usage() -> String {
    "usage: rotor-bench seed-rotor <users> <tokens_out> | forge-rotor | \
     verify-rotor <final_tokens> <ok200> | verify-peer <database_url> <final_tokens>"
        .into()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let res = match argv.as_slice() {
        ["seed-rotor", n, out] => match n.parse() {
            Ok(n) => seed_rotor(n, out).await,
            Err(_) => Err(format!("not a number of users: {n}")),
        },
        ["forge-rotor"] => forge_rotor(),
        ["verify-rotor", path, ok] => match ok.parse() {
            Ok(ok) => verify_rotor(path, ok).await,
            Err(_) => Err(format!("not a count: {ok}")),
        },
        ["verify-peer", url, path] => verify_peer(url, path).await,
        _ => Err(usage()),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rotor-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
