//! Helpers of the load benchmark (`bench/run.sh`): seed users with a live session each through
//! the server library, forge a token for the 401 path, and check the database after a run.
//!
//! ```text
//! rotor-bench seed-rotor <users> <tokens_out> [history]  # "<user_id> <refresh_token>" per line
//! rotor-bench forge-rotor                         # prints a well-formed token with a wrong key
//! rotor-bench verify-rotor <final_tokens> <ok200>
//! rotor-bench verify-peer <database_url> <final_tokens>
//! rotor-bench bulk-rotor <sessions> <history> live|expired <tag>   # bench/scale.sh
//! rotor-bench count-rotor [expired]               # row counts, expired rows
//! rotor-bench driven-used <tokens_file>           # used tokens of those users' sessions
//! rotor-bench verify-scale <final_tokens> <ok200> <used_before> <start_tokens>
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

/// The database with this tree's migrations applied: all of them, or with
/// `ROTOR_BENCH_MIGRATE_TO=<version>` only those up to that version (a baseline server's
/// database must not get the later ones' indexes and table layout).
async fn rotor_db(figment: &Figment) -> Res<DbPool> {
    let db = rotor_db_as_is(figment).await?;
    let all = db.backend().migrator();
    match std::env::var("ROTOR_BENCH_MIGRATE_TO") {
        Ok(to) => {
            let to: i64 = to
                .parse()
                .map_err(|e| format!("ROTOR_BENCH_MIGRATE_TO `{to}`: {e}"))?;
            let upto = sqlx::migrate::Migrator {
                migrations: std::borrow::Cow::Owned(
                    all.migrations
                        .iter()
                        .filter(|m| m.version <= to)
                        .cloned()
                        .collect(),
                ),
                ignore_missing: false,
                locking: true,
                no_tx: false,
            };
            upto.run(db.pool()).await
        }
        Err(_) => db.migrate().await,
    }
    .map_err(|e| format!("migrations: {e}"))?;
    Ok(db)
}

/// The database without running migrations: a run's check reads what the server wrote, and a
/// baseline server's database may lack this tree's later migrations on purpose.
///
/// Without SQLite reader connections (`sqlite_readers = 0`): the helper's one connection is
/// then the last to close, so SQLite checkpoints the WAL into the file and removes it, and the
/// seeded file can be copied alone.
async fn rotor_db_as_is(figment: &Figment) -> Res<DbPool> {
    DbPool::connect(
        &figment
            .focus("databases.rotor")
            .merge(("sqlite_readers", 0)),
    )
    .await
    .map_err(|e| format!("database: {e}"))
}

/// On SQLite, folds the WAL into the database file and truncates it, so the file can be copied
/// alone. SQLite does the same when its last connection closes, but sqlx may finish closing
/// after the process has exited: a 2 GiB bulk insert was once left whole in the WAL.
async fn checkpoint(db: &DbPool) -> Res<()> {
    if db.backend() != Backend::Sqlite {
        return Ok(());
    }
    let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(db.pool())
        .await
        .map_err(|e| format!("wal_checkpoint: {e}"))?;
    let busy: i64 = row.try_get(0).map_err(|e| e.to_string())?;
    if busy != 0 {
        return Err("wal_checkpoint: busy (another connection has the database open)".into());
    }
    Ok(())
}

/// Creates `users` users, each logged in once, through the server library; with `history`, each
/// session's token is then refreshed that many times (`sessions::refresh`, as `/refresh-token`
/// does), so it holds `history` used tokens and one live one, and the file names the live one.
async fn seed_rotor(users: usize, out: &str, history: usize) -> Res<()> {
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
                    id: tokens::new_id(),
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
                let mut refresh = pair.refresh;
                for _ in 0..history {
                    let (next, _) =
                        sessions::refresh(&db, &cfg, &keys, &refresh, now, &store::Seen::default())
                            .await
                            .map_err(|e| format!("refresh: {e:?}"))?;
                    refresh = next.refresh;
                }
                lines.push((i, format!("{} {}\n", user.id, refresh)));
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
    checkpoint(&db).await?;
    db.pool().close().await;
    eprintln!(
        "seeded {users} users with one session each{} ({:?}) in {} ms -> {out}",
        if history > 0 {
            format!(", {history} used tokens + 1 live per session")
        } else {
            String::new()
        },
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
        tokens::new_id(),
        tokens::new_id(),
        tokens::new_id(),
        tokens::now(),
    );
    let issue = tokens::Issue {
        sub: &sub,
        sid: &sid,
        jti: &jti,
        iat: now,
        refresh_exp: now.saturating_add(forged_cfg.refresh_token_expiry.0),
        auth_time: Some(now),
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

/// Seconds in a day.
const DAY: i64 = 86_400;
/// Refresh-token lifetime of the bulk rows (the bench's `REFRESH_TOKEN_EXPIRY=10d`).
const BULK_TOKEN_LIFE: i64 = 10 * DAY;
/// A browser-like user agent on the bulk sessions, so their rows are as wide as real ones.
const BULK_UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

/// Bulk rows written by SQL: `n` users with one session each holding `history` used tokens
/// and one unused token, with the columns and invariants of rows the server writes (chained
/// `successor_jti`, 32-byte fingerprints, time-ordered 32-hex ids as `tokens::new_id` makes
/// them). Their fingerprints are of no token anyone holds: they are never presented.
///
/// - `live`: sessions started within the last 4 days, refreshed hourly `history` times, every
///   row unexpired (the sweeper leaves them alone).
/// - `expired`: the same, 40 to 50 days ago: every session and token expired 30+ days ago
///   (the sweeper's backlog).
///
/// Each bulk session `k` has a random hex `h` (PostgreSQL: md5 of the tag and `k`; SQLite:
/// `randomblob`) and a start `c`. Every id is a UUIDv7 of the time its row was made (the user a
/// day before `c`, the session at `c`, token `j` at `c + 3600 j`) with `h` in its random bits
/// and the row's kind in its last two digits; its fingerprints start with the token id. Rows are
/// inserted in id order, so every text index is filled front to back (a random order is 5-10x
/// slower at 1M sessions, once the indexes outgrow the buffer cache), as the server fills them.
/// The driven users, seeded through the server library before the bulk rows, are the newest
/// sessions of the table: their rows sit at the right edge of the id indexes, as a deployment's
/// newest sessions do, while sessions active for days sit among older ones.
///
/// PostgreSQL: `generate_series`, two sessions at once, then `VACUUM ANALYZE` (what autovacuum
/// does soon after a bulk insert). SQLite: a temporary table of random `h`, one transaction.
async fn bulk_rotor(n: i64, history: i64, mode: &str, tag: &str) -> Res<()> {
    let t0 = Instant::now();
    let (figment, cfg, _) = rotor_config()?;
    let db = rotor_db(&figment).await?;
    let hash = passwords::hash(&cfg, "password123".into())
        .await
        .map_err(|e| format!("password hash: {e}"))?;
    let now = i64::try_from(tokens::now()).map_err(|e| e.to_string())?;
    // c0: start of the newest session; sessions spread over `span` seconds before it.
    let (c0, span) = match mode {
        "live" => (now - 3600 * (history + 1), 4 * DAY),
        "expired" => (now - 40 * DAY, 10 * DAY),
        _ => return Err(format!("mode must be live or expired, not {mode}")),
    };
    if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("tag must be alphanumeric: {tag:?}"));
    }
    if history > 200 {
        return Err("at most 200 used tokens per session".into());
    }
    let ip = "'10.' || (i % 250) || '.' || (i / 250 % 250) || '.' || (i / 62500 % 250)";
    let mut conn = db.pool().acquire().await.map_err(|e| e.to_string())?;
    let mut steps: Vec<(&str, u128)> = Vec::new();
    let mut step = |name: &'static str, t: Instant| steps.push((name, t.elapsed().as_millis()));
    match db.backend() {
        Backend::Postgres => {
            // Two sessions at once, each on every other k (each still in `h` order): the
            // inserts are CPU-bound in the backend, one core each.
            let jobs: i64 = 2;
            let g = "(SELECT i, h, $2::bigint - (i % $3::bigint) AS c FROM \
                     (SELECT i, md5($5 || '-' || i) AS h \
                      FROM generate_series($6::bigint, $1::bigint, $7::bigint) i) r \
                     ORDER BY c, h) g";
            // The UUIDv7 of a row made at `t` seconds, ending in `kind` (two hex digits).
            let id = |t: &str, kind: &str| {
                format!(
                    "(lpad(to_hex(({t}) * 1000), 12, '0') || '7' || substr(h, 1, 3) || '8' \
                     || substr(h, 4, 13) || {kind})"
                )
            };
            let (user, session) = (id(&format!("c - {DAY}"), "'00'"), id("c", "'01'"));
            let jti = id("c + 3600 * j", "to_hex(16 + j)");
            let next = id("c + 3600 * (j + 1)", "to_hex(17 + j)");
            let stmts = [
                (
                    "users",
                    format!(
                        "INSERT INTO users (id, username, email, password_hash, created_at) \
                         SELECT {user}, 'bulk{tag}-' || h, 'bulk{tag}-' || h || '@example.com', \
                         $4, c - {DAY} FROM {g}"
                    ),
                ),
                (
                    "sessions",
                    format!(
                        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, \
                         login_ip, login_user_agent, last_ip, last_user_agent) \
                         SELECT {session}, {user}, c, c + 3600 * $4::bigint, \
                         c + 3600 * $4::bigint + {BULK_TOKEN_LIFE}, {ip}, '{BULK_UA}', {ip}, '{BULK_UA}' \
                         FROM {g}"
                    ),
                ),
                (
                    "refresh_tokens",
                    format!(
                        "INSERT INTO refresh_tokens (jti, session_id, user_id, fingerprint, issued_at, \
                         expires_at, used_at, successor_jti) \
                         SELECT {jti}, {session}, {user}, \
                         decode({jti} || md5(h || '-' || j), 'hex'), c + 3600 * j, \
                         c + 3600 * j + {BULK_TOKEN_LIFE}, \
                         CASE WHEN j < $4::bigint THEN c + 3600 * (j + 1) END, \
                         CASE WHEN j < $4::bigint THEN {next} END \
                         FROM {g} CROSS JOIN LATERAL generate_series(0, $4::bigint) j \
                         ORDER BY c + 3600 * j, h"
                    ),
                ),
            ];
            for (name, sql) in stmts {
                let t = Instant::now();
                let mut handles = Vec::new();
                for k in 0..jobs {
                    let (pool, sql, hash, tag) =
                        (db.pool().clone(), sql.clone(), hash.clone(), tag.to_owned());
                    handles.push(tokio::spawn(async move {
                        let mut c = pool.acquire().await?;
                        for set in ["SET synchronous_commit = off", "SET work_mem = '256MB'"] {
                            sqlx::query(set).execute(&mut *c).await?;
                        }
                        let q = sqlx::query(&sql).bind(n).bind(c0).bind(span);
                        let q = if name == "users" {
                            q.bind(hash)
                        } else {
                            q.bind(history)
                        };
                        q.bind(tag).bind(k + 1).bind(jobs).execute(&mut *c).await?;
                        Ok::<_, sqlx::Error>(())
                    }));
                }
                for h in handles {
                    h.await
                        .map_err(|e| e.to_string())?
                        .map_err(|e| format!("bulk {name}: {e}"))?;
                }
                step(name, t);
            }
            let t = Instant::now();
            sqlx::query("VACUUM ANALYZE users, sessions, refresh_tokens")
                .execute(&mut *conn)
                .await
                .map_err(|e| format!("vacuum analyze: {e}"))?;
            step("vacuum_analyze", t);
        }
        Backend::Sqlite => {
            // A large page cache for this connection only (the helper's, not the server's).
            sqlx::query("PRAGMA cache_size = -1000000")
                .execute(&mut *conn)
                .await
                .map_err(|e| e.to_string())?;
            let mut tx = store::begin_write(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            // The UUIDv7 of a row made at `t` seconds, ending in `kind` (two hex digits).
            let id = |t: &str, kind: &str| {
                format!(
                    "(printf('%012x', ({t}) * 1000) || '7' || substr(h, 1, 3) || '8' \
                     || substr(h, 4, 13) || {kind})"
                )
            };
            let (user, session) = (id(&format!("c - {DAY}"), "'00'"), id("c", "'01'"));
            let jti = id("c + 3600 * j", "printf('%02x', 16 + j)");
            let next = id("c + 3600 * (j + 1)", "printf('%02x', 17 + j)");
            let stmts = [
                (
                    "ids",
                    "CREATE TEMP TABLE bulk_ids (i INTEGER PRIMARY KEY, h TEXT NOT NULL, \
                     c BIGINT NOT NULL)"
                        .to_owned(),
                ),
                (
                    "ids",
                    "INSERT INTO bulk_ids (i, h, c) \
                     WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1) \
                     SELECT i, lower(hex(randomblob(16))), $2 - (i % $3) FROM s"
                        .to_owned(),
                ),
                (
                    "ids",
                    "CREATE INDEX temp.bulk_ids_c_h ON bulk_ids (c, h)".to_owned(),
                ),
                (
                    "users",
                    format!(
                        "INSERT INTO users (id, username, email, password_hash, created_at) \
                         SELECT {user}, 'bulk{tag}-' || h, \
                         'bulk{tag}-' || h || '@example.com', $1, c - {DAY} \
                         FROM bulk_ids ORDER BY c, h"
                    ),
                ),
                (
                    "sessions",
                    format!(
                        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, \
                         login_ip, login_user_agent, last_ip, last_user_agent) \
                         SELECT {session}, {user}, c, c + 3600 * $1, \
                         c + 3600 * $1 + {BULK_TOKEN_LIFE}, {ip}, '{BULK_UA}', {ip}, '{BULK_UA}' \
                         FROM bulk_ids ORDER BY c, h"
                    ),
                ),
                (
                    "refresh_tokens",
                    format!(
                        "INSERT INTO refresh_tokens (jti, session_id, user_id, fingerprint, issued_at, \
                         expires_at, used_at, successor_jti) \
                         WITH RECURSIVE js(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM js WHERE j < $1) \
                         SELECT {jti}, {session}, {user}, \
                         unhex({jti} || hex(randomblob(16))), c + 3600 * j, \
                         c + 3600 * j + {BULK_TOKEN_LIFE}, \
                         CASE WHEN j < $1 THEN c + 3600 * (j + 1) END, \
                         CASE WHEN j < $1 THEN {next} END \
                         FROM bulk_ids CROSS JOIN js ORDER BY c + 3600 * j, h"
                    ),
                ),
                ("ids", "DROP TABLE bulk_ids".to_owned()),
            ];
            for (name, sql) in stmts {
                let t = Instant::now();
                let q = sqlx::query(&sql);
                let q = match name {
                    "ids" if sql.starts_with("INSERT") => q.bind(n).bind(c0).bind(span),
                    "users" => q.bind(hash.clone()),
                    "sessions" | "refresh_tokens" => q.bind(history),
                    _ => q,
                };
                q.execute(&mut *tx)
                    .await
                    .map_err(|e| format!("bulk {name}: {e}"))?;
                step(name, t);
            }
            let t = Instant::now();
            tx.commit().await.map_err(|e| format!("commit: {e}"))?;
            step("commit", t);
        }
    }
    drop(conn);
    let t = Instant::now();
    checkpoint(&db).await?;
    step("checkpoint", t);
    db.pool().close().await;
    let detail: Vec<String> = steps.iter().map(|(k, ms)| format!("{k} {ms} ms")).collect();
    println!(
        "BULK mode={mode} sessions={n} users={n} tokens={} backend={:?} ms={} ({})",
        n * (history + 1),
        db.backend(),
        t0.elapsed().as_millis(),
        detail.join(", ")
    );
    Ok(())
}

/// Row counts: everything, and what expired before now (the sweeper's work). With
/// `expired_only`, only the expired rows (two range counts on the `expires_at` indexes: cheap
/// enough to take while a load runs).
async fn count_rotor(expired_only: bool) -> Res<()> {
    let (figment, _, _) = rotor_config()?;
    let db = rotor_db_as_is(&figment).await?;
    let pool = db.pool();
    let now = tokens::now();
    let exp_s = count(
        pool,
        &format!("SELECT COUNT(*) FROM sessions WHERE expires_at < {now}"),
    )
    .await?;
    let exp_t = count(
        pool,
        &format!("SELECT COUNT(*) FROM refresh_tokens WHERE expires_at < {now}"),
    )
    .await?;
    if expired_only {
        println!("COUNT expired_sessions={exp_s} expired_tokens={exp_t}");
        db.pool().close().await;
        return Ok(());
    }
    let users = count(pool, "SELECT COUNT(*) FROM users").await?;
    let sessions = count(pool, "SELECT COUNT(*) FROM sessions").await?;
    let tokens_n = count(pool, "SELECT COUNT(*) FROM refresh_tokens").await?;
    println!(
        "COUNT users={users} sessions={sessions} tokens={tokens_n} expired_sessions={exp_s} \
         expired_tokens={exp_t} live_sessions={} live_tokens={}",
        sessions - exp_s,
        tokens_n - exp_t
    );
    db.pool().close().await;
    Ok(())
}

/// What the database holds for the users of a token file (the users wrk drives).
struct Driven {
    /// Sessions per user.
    sessions: HashMap<String, i64>,
    /// Users whose session is revoked.
    revoked: i64,
    /// Sessions whose tokens - used != 1 or live tokens != 1.
    not_one_live: i64,
    /// All tokens and used tokens of these users' sessions.
    tokens: i64,
    used: i64,
    /// The live token's fingerprint per user.
    live: HashMap<String, Vec<u8>>,
}

/// Reads the rows of the users named in `path` (first field of each line), through a temporary
/// table joined on the indexed columns (`sessions.user_id`, `refresh_tokens.session_id`): a few
/// queries however many bulk rows surround them.
async fn driven(pool: &AnyPool, path: &str) -> Res<Driven> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
    let e = |what: &'static str| move |err: sqlx::Error| format!("{what}: {err}");
    sqlx::query("CREATE TEMP TABLE IF NOT EXISTS driven (id TEXT PRIMARY KEY NOT NULL)")
        .execute(&mut *conn)
        .await
        .map_err(e("temp table"))?;
    sqlx::query("DELETE FROM driven")
        .execute(&mut *conn)
        .await
        .map_err(e("temp table"))?;
    for chunk in ids.chunks(500) {
        let values: Vec<String> = (1..=chunk.len()).map(|k| format!("(${k})")).collect();
        let sql = format!("INSERT INTO driven (id) VALUES {}", values.join(", "));
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *conn).await.map_err(e("temp rows"))?;
    }
    let rows = sqlx::query(
        "SELECT s.user_id, COUNT(CASE WHEN s.revoked_at IS NOT NULL THEN 1 END), COUNT(t.jti), \
         COUNT(t.used_at), COUNT(CASE WHEN t.jti IS NOT NULL AND t.used_at IS NULL \
         AND t.revoked_at IS NULL THEN 1 END) \
         FROM driven d JOIN sessions s ON s.user_id = d.id \
         LEFT JOIN refresh_tokens t ON t.session_id = s.id GROUP BY s.id, s.user_id",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(e("driven sessions"))?;
    let mut out = Driven {
        sessions: HashMap::new(),
        revoked: 0,
        not_one_live: 0,
        tokens: 0,
        used: 0,
        live: HashMap::new(),
    };
    for r in rows {
        let get = |k: usize| r.try_get::<i64, _>(k).map_err(|e| e.to_string());
        let user: String = r.try_get(0).map_err(|e| e.to_string())?;
        *out.sessions.entry(user).or_default() += 1;
        let (revoked, toks, used, live) = (get(1)?, get(2)?, get(3)?, get(4)?);
        out.revoked += i64::from(revoked > 0);
        out.not_one_live += i64::from(live != 1 || toks - used != 1);
        out.tokens += toks;
        out.used += used;
    }
    let rows = sqlx::query(
        "SELECT s.user_id, t.fingerprint FROM driven d JOIN sessions s ON s.user_id = d.id \
         JOIN refresh_tokens t ON t.session_id = s.id \
         WHERE t.used_at IS NULL AND t.revoked_at IS NULL",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(e("driven live tokens"))?;
    for r in rows {
        let user: String = r.try_get(0).map_err(|e| e.to_string())?;
        let fp: Vec<u8> = r.try_get(1).map_err(|e| e.to_string())?;
        out.live.insert(user, fp);
    }
    sqlx::query("DROP TABLE driven")
        .execute(&mut *conn)
        .await
        .map_err(e("temp table"))?;
    Ok(out)
}

/// Prints the used tokens of the sessions of the users in `path` (before a run).
async fn driven_used(path: &str) -> Res<()> {
    let (figment, _, _) = rotor_config()?;
    let db = rotor_db_as_is(&figment).await?;
    let d = driven(db.pool(), path).await?;
    println!("{}", d.used);
    db.pool().close().await;
    Ok(())
}

/// [`verify_rotor`] for a database with rows of other users around the driven ones (bulk
/// sessions, an expired backlog being swept): the same checks, restricted to the users of the
/// final token file, with `used_before` the used tokens of their sessions before the run.
///
/// - each driven user has exactly one session, not revoked, with exactly one live token and no
///   fork (tokens - used = 1);
/// - every settled token wrk holds is its user's live one;
/// - rotations during the run (used now - used before) = 200s + unseen in-flight rotations,
///   counting as in flight only the users that were settled in `start_path` (the token file
///   the run started from): one already in flight there was accounted for by an earlier check.
async fn verify_scale(final_path: &str, ok200: i64, used_before: i64, start_path: &str) -> Res<()> {
    let (figment, _, _) = rotor_config()?;
    let db = rotor_db_as_is(&figment).await?;
    let held = read_final(final_path)?;
    let start = std::fs::read_to_string(start_path).map_err(|e| format!("{start_path}: {e}"))?;
    let carried: std::collections::HashSet<&str> = start
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"inflight")).then(|| f[0])
        })
        .collect();
    let d = driven(db.pool(), final_path).await?;
    let (mut ready_ok, mut ready_bad, mut unseen, mut in_flight) = (0i64, 0i64, 0i64, 0i64);
    let mut not_one_session = 0i64;
    for h in &held {
        if d.sessions.get(&h.id).copied().unwrap_or(0) != 1 {
            not_one_session += 1;
        }
        let matches = d.live.get(&h.id).is_some_and(|fp| {
            tokens::stored_fingerprint(fp).is_some_and(|s| s == tokens::fingerprint(&h.token))
        });
        if h.in_flight {
            in_flight += 1;
            if !carried.contains(h.id.as_str()) {
                unseen += i64::from(!matches);
            }
        } else if matches {
            ready_ok += 1;
        } else {
            ready_bad += 1;
        }
    }
    let rotations = d.used - used_before;
    let mut failures = Vec::new();
    if not_one_session != 0 {
        failures.push(format!(
            "{not_one_session} driven users without exactly one session"
        ));
    }
    if d.revoked != 0 {
        failures.push(format!("{} driven sessions revoked", d.revoked));
    }
    if d.not_one_live != 0 {
        failures.push(format!(
            "{} driven sessions without exactly one live token, or forked",
            d.not_one_live
        ));
    }
    if ready_bad != 0 {
        failures.push(format!(
            "{ready_bad} users whose last received token is not their live one"
        ));
    }
    if rotations != ok200 + unseen {
        failures.push(format!(
            "{rotations} rotations recorded != {ok200} 200s seen + {unseen} unseen in-flight rotations"
        ));
    }
    println!(
        "CHECK rotor-scale users={} sessions={} tokens={} used_before={used_before} used={} \
         rotations={rotations} ok200={ok200} in_flight_at_stop={in_flight} \
         in_flight_before={} unseen_rotations={unseen} \
         settled_match={ready_ok} settled_mismatch={ready_bad} sessions_not_one_live={} revoked={} \
         result={}",
        held.len(),
        d.sessions.values().sum::<i64>(),
        d.tokens,
        d.used,
        carried.len(),
        d.not_one_live,
        d.revoked,
        if failures.is_empty() { "PASS" } else { "FAIL" }
    );
    db.pool().close().await;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

fn usage() -> String {
    "usage: rotor-bench seed-rotor <users> <tokens_out> [history] | forge-rotor | \
     verify-rotor <final_tokens> <ok200> | verify-peer <database_url> <final_tokens> | \
     bulk-rotor <sessions> <history> live|expired <tag> | count-rotor [expired] | \
     driven-used <tokens_file> | verify-scale <final_tokens> <ok200> <used_before> <start_tokens>"
        .into()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let res = match argv.as_slice() {
        ["seed-rotor", n, out] => match n.parse() {
            Ok(n) => seed_rotor(n, out, 0).await,
            Err(_) => Err(format!("not a number of users: {n}")),
        },
        ["seed-rotor", n, out, h] => match (n.parse(), h.parse()) {
            (Ok(n), Ok(h)) => seed_rotor(n, out, h).await,
            _ => Err(format!("not numbers: {n} {h}")),
        },
        ["bulk-rotor", n, h, mode, tag] => match (n.parse(), h.parse()) {
            (Ok(n), Ok(h)) if n >= 0 && h >= 0 => bulk_rotor(n, h, mode, tag).await,
            _ => Err(format!("not counts: {n} {h}")),
        },
        ["count-rotor"] => count_rotor(false).await,
        ["count-rotor", "expired"] => count_rotor(true).await,
        ["driven-used", path] => driven_used(path).await,
        ["verify-scale", path, ok, before, start] => match (ok.parse(), before.parse()) {
            (Ok(ok), Ok(b)) => verify_scale(path, ok, b, start).await,
            _ => Err(format!("not counts: {ok} {before}")),
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
