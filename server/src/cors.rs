//! CORS with credentials for the front-end origins of `cors_origins` / `CORS_ORIGIN`, as the
//! original app's `cors({ origin: process.env.CORS_ORIGIN, credentials: true })`.
//!
//! For a listed origin every response carries `Access-Control-Allow-Origin: <that origin>`
//! (never `*`: the Fetch Standard's CORS protocol refuses `*` for credentialed requests) and
//! `Access-Control-Allow-Credentials: true`; preflights (`OPTIONS` with
//! `Access-Control-Request-Method`) are answered for every path with the methods and headers
//! the routes use. An unlisted origin gets no CORS header at all, so its script cannot read any
//! answer. Every response carries `Vary: Origin`, since its headers depend on it.
//!
//! Written here rather than with `rocket_cors` 0.6, whose fairing does not fit this service:
//! it sends no `Vary: Origin` for a list of origins, it has no notion of the service's own
//! origin, so a same-origin `POST` (browsers send `Origin` on those too) from an unlisted own
//! origin is rerouted to its 403 route, and with an empty list every such request is refused.
//! What is left is the few header lines below.

use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::http::{Header, Method, Status};
use rocket::{Request, Response, Route};

use crate::config::Config;

/// Methods the routes use, sent in preflight answers.
pub const ALLOW_METHODS: &str = "GET, POST, DELETE, OPTIONS";
/// Request headers the routes read, sent in preflight answers.
pub const ALLOW_HEADERS: &str = "Content-Type, Authorization";
/// Response headers a listed origin's script may read beyond the safelisted ones.
pub const EXPOSE_HEADERS: &str = "Retry-After";
/// How long a browser may cache a preflight answer, in seconds.
pub const MAX_AGE: &str = "600";

/// The response fairing; see the module documentation.
pub struct Cors;

#[rocket::async_trait]
impl Fairing for Cors {
    fn info(&self) -> Info {
        Info {
            name: "rotor CORS",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        res.adjoin_header(Header::new("Vary", "Origin"));
        let Some(cfg) = req.rocket().state::<Config>() else {
            return;
        };
        let Some(origin) = req.headers().get_one("Origin") else {
            return;
        };
        if !cfg.origin_allowed(origin) {
            return;
        }
        res.set_header(Header::new(
            "Access-Control-Allow-Origin",
            origin.to_owned(),
        ));
        res.set_header(Header::new("Access-Control-Allow-Credentials", "true"));
        // A cross-origin script reads only the safelisted response headers unless told: the
        // helper needs `Retry-After` of a 429 or 503 to back off as the server asks.
        res.set_header(Header::new("Access-Control-Expose-Headers", EXPOSE_HEADERS));
        let preflight = req.method() == Method::Options
            && req
                .headers()
                .get_one("Access-Control-Request-Method")
                .is_some();
        if preflight {
            res.set_header(Header::new("Access-Control-Allow-Methods", ALLOW_METHODS));
            res.set_header(Header::new("Access-Control-Allow-Headers", ALLOW_HEADERS));
            res.set_header(Header::new("Access-Control-Max-Age", MAX_AGE));
        }
    }
}

/// `OPTIONS` on any path: 204, for preflights; the fairing adds the headers for listed
/// origins only.
#[rocket::options("/<_..>")]
pub fn preflight() -> Status {
    Status::NoContent
}

/// The preflight route, to mount at the base path.
#[must_use]
pub fn routes() -> Vec<Route> {
    rocket::routes![preflight]
}

/// Attaches [`Cors`] (the routes come with [`crate::routes::stage`]).
#[must_use]
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("rotor CORS", |rocket| async { rocket.attach(Cors) })
}
