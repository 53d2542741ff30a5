#![doc = include_str!("../README.md")]

pub mod cleanup;
pub mod client;
pub mod config;
pub mod cookies;
pub mod cors;
pub mod db;
pub mod error;
pub mod events;
pub mod guards;
pub mod keys;
pub mod limits;
pub mod messages;
pub mod metrics;
pub mod passwords;
pub mod response;
pub mod routes;
pub mod sessions;
pub mod store;
pub mod tokens;
pub mod users;

use rocket::figment::Figment;
use rocket::{Build, Rocket};

pub use routes::routes;

/// The whole service: configuration, database, routes, error envelope, expired-row sweeper,
/// configured from `Rocket.toml` and `ROCKET_*` like any Rocket application.
#[must_use]
pub fn rocket() -> Rocket<Build> {
    custom(rocket::Config::figment())
}

/// The whole service with a configuration of your own (tests, embedding).
#[must_use]
pub fn custom(figment: Figment) -> Rocket<Build> {
    rocket::custom(figment)
        .attach(config::stage())
        .attach(db::stage())
        .attach(routes::stage())
        .attach(cors::stage())
        .attach(metrics::stage())
        .attach(error::stage())
        .attach(cleanup::stage())
}
