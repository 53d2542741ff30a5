//! Prometheus metrics (the `prometheus` crate, one registry per service instance): refresh and
//! login outcomes, rate-limit hits, sessions started and ended, a latency histogram per route,
//! and pool usage.
//!
//! Not served unless `metrics` is set: `"on"` serves `GET <base>/metrics` on the service's own port,
//! and an address such as `"127.0.0.1:9100"` serves `GET /metrics` on a listener of its own, so
//! the numbers need not be public. A registry per instance (not the process-global default)
//! keeps several Rocket instances in one process apart, as tests and embedding apps have.

use std::time::Instant;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::http::ContentType;
use rocket::{tokio, Data, Request, Response, State};

use crate::db::{Db, DbPool};

/// Every metric of the service (clones share the counters).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `rotor_refresh_total{outcome}`.
    pub refresh: IntCounterVec,
    /// `rotor_login_total{outcome}`.
    pub login: IntCounterVec,
    /// `rotor_rate_limited_total{limit}`.
    pub rate_limited: IntCounterVec,
    /// `rotor_sessions_started_total`.
    pub sessions_started: IntCounterVec,
    /// `rotor_sessions_ended_total{reason}`.
    pub sessions_ended: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    groups: IntCounter,
    grouped: IntCounter,
    lookup_batches: IntCounter,
    lookups: IntCounter,
    checkpoints: IntCounter,
    checkpoints_failed: IntCounter,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| {
        unreachable!("metric {name} is well formed: {e}");
    });
    let _ = registry.register(Box::new(c.clone()));
    c
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    #[must_use]
    pub fn new() -> Self {
        let registry = Registry::new();
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "rotor_http_request_duration_seconds",
                "Time from request to response, per route",
            )
            .buckets(vec![
                0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        )
        .unwrap_or_else(|e| unreachable!("histogram is well formed: {e}"));
        let _ = registry.register(Box::new(latency.clone()));
        let pool = IntGaugeVec::new(
            Opts::new(
                "rotor_db_pool_connections",
                "Database pool connections by state",
            ),
            &["state"],
        )
        .unwrap_or_else(|e| unreachable!("gauge is well formed: {e}"));
        let _ = registry.register(Box::new(pool.clone()));
        let plain = |name: &str, help: &str| {
            let c = IntCounter::new(name, help)
                .unwrap_or_else(|e| unreachable!("metric {name} is well formed: {e}"));
            let _ = registry.register(Box::new(c.clone()));
            c
        };
        let groups = plain(
            "rotor_rotation_groups_total",
            "Commits of grouped refresh-token rotations (store::group)",
        );
        let grouped = plain(
            "rotor_rotation_grouped_total",
            "Rotations in those commits (divided by the groups: the mean group size)",
        );
        let lookup_batches = plain(
            "rotor_refresh_lookup_batches_total",
            "Statements that looked up presented refresh tokens (store::lookup)",
        );
        let lookups = plain(
            "rotor_refresh_lookups_total",
            "Refresh tokens looked up in those statements (divided by them: the mean batch size)",
        );
        let checkpoints = plain(
            "rotor_sqlite_checkpoints_total",
            "SQLite WAL checkpoints run by the background task (store::checkpoint)",
        );
        let checkpoints_failed = plain(
            "rotor_sqlite_checkpoints_failed_total",
            "Background SQLite WAL checkpoints that failed (logged; tried again)",
        );
        Self {
            refresh: counter(
                &registry,
                "rotor_refresh_total",
                "POST /refresh-token outcomes",
                &["outcome"],
            ),
            login: counter(
                &registry,
                "rotor_login_total",
                "POST /login outcomes",
                &["outcome"],
            ),
            rate_limited: counter(
                &registry,
                "rotor_rate_limited_total",
                "Requests over a rate limit",
                &["limit"],
            ),
            sessions_started: counter(
                &registry,
                "rotor_sessions_started_total",
                "Sessions started (logins)",
                &[],
            ),
            sessions_ended: counter(
                &registry,
                "rotor_sessions_ended_total",
                "Sessions ended, by reason",
                &["reason"],
            ),
            registry,
            latency,
            pool,
            groups,
            grouped,
            lookup_batches,
            lookups,
            checkpoints,
            checkpoints_failed,
        }
    }

    /// The text exposition format, with the pool gauges and the group-commit and look-up counts read now.
    #[must_use]
    pub fn render(&self, db: Option<&DbPool>) -> String {
        if let Some(db) = db {
            let (groups, grouped) = db.group().stats();
            self.groups.inc_by(groups.saturating_sub(self.groups.get()));
            self.grouped
                .inc_by(grouped.saturating_sub(self.grouped.get()));
            let (batches, lookups) = db.lookups().stats();
            self.lookup_batches
                .inc_by(batches.saturating_sub(self.lookup_batches.get()));
            self.lookups
                .inc_by(lookups.saturating_sub(self.lookups.get()));
            if let Some((runs, failed)) = db.checkpoints().map(|c| c.stats()) {
                self.checkpoints
                    .inc_by(runs.saturating_sub(self.checkpoints.get()));
                self.checkpoints_failed
                    .inc_by(failed.saturating_sub(self.checkpoints_failed.get()));
            }
        }
        if let Some(pool) = db.map(DbPool::pool) {
            let size = i64::from(pool.size());
            let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
            self.pool.with_label_values(&["idle"]).set(idle);
            self.pool
                .with_label_values(&["in_use"])
                .set(size.saturating_sub(idle));
        }
        let mut out = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            log::error!("rotor: metrics could not be encoded");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts `outcome` on `counter` if metrics are on for this instance.
pub fn count(
    metrics: Option<&Metrics>,
    pick: impl FnOnce(&Metrics) -> &IntCounterVec,
    label: &str,
) {
    if let Some(m) = metrics {
        pick(m).with_label_values(&[label]).inc();
    }
}

/// Counts one started session.
pub fn session_started(metrics: Option<&Metrics>) {
    if let Some(m) = metrics {
        m.sessions_started.with_label_values(&[] as &[&str]).inc();
    }
}

struct Started(Instant);

/// Observes each request's latency under its route's name.
struct Latency;

#[rocket::async_trait]
impl Fairing for Latency {
    fn info(&self) -> Info {
        Info {
            name: "rotor metrics",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| Started(Instant::now()));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, _: &mut Response<'r>) {
        let Some(m) = req.rocket().state::<Metrics>() else {
            return;
        };
        let started = req.local_cache(|| Started(Instant::now()));
        let route = req
            .route()
            .and_then(|r| r.name.as_deref())
            .unwrap_or("unmatched");
        m.latency
            .with_label_values(&[route])
            .observe(started.0.elapsed().as_secs_f64());
    }
}

/// `GET <base>/metrics` (with `metrics = "on"`): the text exposition format; 404 when metrics
/// are off or served on their own listener.
#[rocket::get("/metrics")]
pub fn metrics(
    m: Option<&State<Metrics>>,
    cfg: &State<crate::config::Config>,
    db: &State<Db>,
) -> Option<(ContentType, String)> {
    let on_this_port = Exposure::parse(&cfg.metrics).is_ok_and(|e| e == Exposure::OnServicePort);
    let m = m.filter(|_| on_this_port)?;
    let db: &DbPool = db;
    Some((exposition_type(), m.render(Some(db))))
}

/// Where the metrics are served, from the `metrics` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exposure {
    /// Not at all (the default).
    Off,
    /// `GET <base>/metrics` on the service's port.
    OnServicePort,
    /// `GET /metrics` on a listener of its own at this address.
    Separate(std::net::SocketAddr),
}

impl Exposure {
    /// Parses the `metrics` setting: `"off"`, `"on"` or `"host:port"`.
    ///
    /// # Errors
    /// A message naming the accepted forms.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "" | "off" => Ok(Self::Off),
            "on" => Ok(Self::OnServicePort),
            addr => addr.parse().map(Self::Separate).map_err(|_| {
                format!("metrics = `{addr}`: use \"off\", \"on\" or an address such as \"127.0.0.1:9100\"")
            }),
        }
    }
}

/// The pool a separate metrics listener reads the gauges from.
struct ListenerPool(Option<DbPool>);

/// `GET /metrics` on the separate listener.
#[rocket::get("/metrics")]
fn separate_metrics(m: &State<Metrics>, pool: &State<ListenerPool>) -> (ContentType, String) {
    (exposition_type(), m.render(pool.0.as_ref()))
}

fn exposition_type() -> ContentType {
    ContentType::new("text", "plain").with_params(("version", "0.0.4"))
}

/// Attaches the latency fairing when `metrics` is not off (the registry itself is managed by
/// `config::stage()`, so the routes always count); with a separate address, starts that
/// listener at lift-off (it stops with the service).
#[must_use]
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("rotor metrics", |rocket| async {
        let setting = rocket
            .state::<crate::config::Config>()
            .map(|c| c.metrics.clone())
            .unwrap_or_default();
        let exposure = Exposure::parse(&setting).unwrap_or(Exposure::Off);
        if exposure == Exposure::Off {
            return rocket;
        }
        let rocket = rocket.attach(Latency);
        let Exposure::Separate(addr) = exposure else {
            return rocket;
        };
        rocket.attach(AdHoc::on_liftoff("rotor metrics listener", move |main| {
            Box::pin(async move {
                let Some(m) = main.state::<Metrics>().cloned() else {
                    return;
                };
                let pool = main.state::<Db>().map(|d| DbPool::clone(d));
                let shutdown = main.shutdown();
                let cfg = rocket::Config {
                    address: addr.ip(),
                    port: addr.port(),
                    ..rocket::Config::release_default()
                };
                let listener = rocket::custom(cfg)
                    .manage(m)
                    .manage(ListenerPool(pool))
                    .mount("/", rocket::routes![separate_metrics]);
                tokio::spawn(async move {
                    rocket::tokio::select! {
                        res = listener.launch() => {
                            if let Err(e) = res {
                                log::error!("rotor: the metrics listener on {addr} failed: {e}");
                            }
                        }
                        () = shutdown => {}
                    }
                });
            })
        }))
    })
}
