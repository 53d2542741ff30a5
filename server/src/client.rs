//! Who is calling: the client IP address, and the user agent, as the rate limits and the
//! session centre see them.
//!
//! The client IP is the socket peer, unless the peer is one of `trusted_proxies`: then it is the
//! right-most address of the forwarding header (`X-Forwarded-For` by default) that is not itself
//! a trusted proxy. Rocket's own `client_ip()` believes its `ip_header` from any client, so a
//! client could name any address and walk around every per-IP limit; it is not used (OWASP
//! Denial of Service Cheat Sheet; ASVS 5.0 V4 "never trust client-supplied forwarding headers").

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};

use crate::config::Config;

/// Longest user agent kept, in bytes (cut at a character boundary).
pub const MAX_USER_AGENT: usize = 256;

/// An address or a CIDR range (`10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`).
#[must_use]
pub fn parse_net(text: &str) -> Option<IpNet> {
    let t = text.trim();
    t.parse::<IpNet>()
        .ok()
        .or_else(|| t.parse::<IpAddr>().ok().map(IpNet::from))
}

fn trusted(cfg: &Config, ip: IpAddr) -> bool {
    cfg.trusted_proxies
        .iter()
        .filter_map(|p| parse_net(p))
        .any(|net| net.contains(&ip))
}

/// The client address of a request with socket peer `peer` and forwarding header values
/// `forwarded` (in order), under `cfg`'s trusted proxies.
#[must_use]
pub fn client_ip<'a>(
    cfg: &Config,
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
) -> IpAddr {
    if !trusted(cfg, peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded.flat_map(|h| h.split(',')).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted(cfg, ip) {
                    break;
                }
            }
            // A hop that is no address ends what can be believed.
            Err(_) => break,
        }
    }
    client
}

/// The caller: client IP and user agent (cut to [`MAX_USER_AGENT`] bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The client IP (see the module documentation).
    pub ip: IpAddr,
    /// The `User-Agent` header, bounded; empty when absent.
    pub user_agent: String,
}

fn bounded(ua: &str) -> String {
    let mut end = ua.len().min(MAX_USER_AGENT);
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    ua.get(..end)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

impl Caller {
    /// What a session records of this caller.
    #[must_use]
    pub fn seen(&self) -> crate::store::Seen {
        crate::store::Seen {
            ip: self.ip.to_string(),
            user_agent: self.user_agent.clone(),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Caller {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let peer = req
            .remote()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        let ip = match req.rocket().state::<Config>() {
            Some(cfg) => client_ip(cfg, peer, req.headers().get(&cfg.forwarded_header)),
            None => peer,
        };
        let user_agent = bounded(req.headers().get_one("User-Agent").unwrap_or_default());
        Outcome::Success(Caller { ip, user_agent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarding_header_only_from_trusted_proxies() {
        let mut cfg = Config::default();
        let xff = ["203.0.113.9, 10.0.0.2"];
        // No trusted proxy: the peer, whatever the header says.
        assert_eq!(
            client_ip(&cfg, ip("10.0.0.1"), xff.into_iter()),
            ip("10.0.0.1")
        );
        cfg.trusted_proxies = vec!["10.0.0.0/8".into()];
        // From a trusted proxy: the right-most untrusted hop.
        assert_eq!(
            client_ip(&cfg, ip("10.0.0.1"), xff.into_iter()),
            ip("203.0.113.9")
        );
        // A client that is not a proxy cannot name its address.
        assert_eq!(
            client_ip(&cfg, ip("198.51.100.7"), xff.into_iter()),
            ip("198.51.100.7")
        );
        // A spoofed left-most entry does not win over the proxy's own append.
        let spoofed = ["1.2.3.4, 198.51.100.7"];
        assert_eq!(
            client_ip(&cfg, ip("10.0.0.1"), spoofed.into_iter()),
            ip("198.51.100.7")
        );
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(
            client_ip(&cfg, ip("10.0.0.1"), std::iter::empty()),
            ip("10.0.0.1")
        );
        assert!(parse_net("::1").is_some() && parse_net("fd00::/8").is_some());
        assert!(parse_net("10.0.0.0/33").is_none() && parse_net("proxy").is_none());
    }

    #[test]
    fn user_agents_are_bounded() {
        assert_eq!(bounded("curl/8"), "curl/8");
        let long = "é".repeat(200);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_USER_AGENT && cut.chars().all(|c| c == 'é'));
        assert_eq!(bounded("a\u{0}b\nc"), "abc");
    }
}
