//! The token key rings: one for access tokens, one for refresh tokens, built from the configured
//! secrets; the key id derived from a secret; and the one random source of the crate.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use rotor_core::{Fingerprint, Key, KeyRing};

use crate::config::{Config, Secret};

/// Most keys a ring holds: the signing key plus up to three older ones that still verify.
pub const MAX_KEYS: usize = 4;

/// The two key rings: access tokens and refresh tokens never share a secret.
#[derive(Debug)]
pub struct Keys {
    /// Signs and verifies access tokens.
    pub access: KeyRing<MAX_KEYS>,
    /// Signs and verifies refresh tokens.
    pub refresh: KeyRing<MAX_KEYS>,
    /// Whether the secrets were generated for this process only.
    pub ephemeral: bool,
}

/// A key id derived from the secret, so a secret moved to the "previous" list keeps its id:
/// the first 8 bytes of SHA-256(`"rotor kid\0"` ‖ secret) in hex. Not secret.
#[must_use]
pub fn derived_kid(secret: &[u8]) -> String {
    let mut input = b"rotor kid\0".to_vec();
    input.extend_from_slice(secret);
    let fp = Fingerprint::of(&input);
    fp.as_bytes()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn ring(name: &str, current: &Secret, previous: &[Secret]) -> Result<KeyRing<MAX_KEYS>, String> {
    let mut ring = KeyRing::new();
    for (i, s) in std::iter::once(current).chain(previous).enumerate() {
        let which = if i == 0 {
            name.to_string()
        } else {
            format!("{name} (previous #{i})")
        };
        let key = Key::with_kid(s.expose(), &derived_kid(s.expose())).map_err(|e| match e {
            rotor_core::Error::WeakKey => format!(
                "{which} is shorter than {} bytes (RFC 7518 §3.2); use e.g. `openssl rand -base64 48`",
                rotor_core::MIN_SECRET_LEN
            ),
            other => format!("{which}: {other}"),
        })?;
        ring.push(key).map_err(|_| {
            format!("{which}: more than {MAX_KEYS} keys, or the same secret listed twice")
        })?;
    }
    Ok(ring)
}

/// Fills `buf` from the operating system's random source: the one source of randomness of this
/// crate (ids, generated secrets, password salts).
pub fn fill_random(buf: &mut [u8]) {
    OsRng.fill_bytes(buf);
}

/// The process's random source as a `rand_core` generator, for APIs that take one (Argon2 salts).
#[must_use]
pub fn rng() -> OsRng {
    OsRng
}

fn random_secret() -> Secret {
    let mut bytes = [0u8; 48];
    fill_random(&mut bytes);
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

impl Keys {
    /// Builds both rings; with `allow_ephemeral`, missing secrets are generated.
    ///
    /// # Errors
    /// A message a operator can act on: which secret is missing, short or repeated.
    pub fn from_config(cfg: &Config, allow_ephemeral: bool) -> Result<Self, String> {
        let (access, refresh, ephemeral) =
            match (&cfg.access_token_secret, &cfg.refresh_token_secret) {
                (Some(a), Some(r)) => (a.clone(), r.clone(), false),
                (None, None) if allow_ephemeral => (random_secret(), random_secret(), true),
                (a, _) => {
                    let missing = if a.is_none() {
                        "ACCESS_TOKEN_SECRET"
                    } else {
                        "REFRESH_TOKEN_SECRET"
                    };
                    return Err(format!(
                    "{missing} is not set: set both ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET \
                         (or access_token_secret / refresh_token_secret in Rocket.toml); \
                         the release profile never generates secrets"
                ));
                }
            };
        if access.expose() == refresh.expose() {
            return Err("ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET must differ".into());
        }
        // The rings are disjoint: a secret that signs one kind of token never verifies the
        // other (RFC 8725 §3.12, mutually exclusive validation rules for different kinds).
        let access_all: Vec<&Secret> = std::iter::once(&access)
            .chain(&cfg.access_token_previous_secrets)
            .collect();
        let shared = std::iter::once(&refresh)
            .chain(&cfg.refresh_token_previous_secrets)
            .any(|r| access_all.iter().any(|a| a.expose() == r.expose()));
        if shared {
            return Err(
                "a secret is in both the access and the refresh key ring (current or previous): \
                 the two rings must share no secret"
                    .into(),
            );
        }
        Ok(Self {
            access: ring(
                "ACCESS_TOKEN_SECRET",
                &access,
                &cfg.access_token_previous_secrets,
            )?,
            refresh: ring(
                "REFRESH_TOKEN_SECRET",
                &refresh,
                &cfg.refresh_token_previous_secrets,
            )?,
            ephemeral,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_checked() {
        let mut cfg = Config::default();
        assert!(Keys::from_config(&cfg, false)
            .unwrap_err()
            .contains("ACCESS_TOKEN_SECRET is not set"));
        let keys = Keys::from_config(&cfg, true).unwrap();
        assert!(keys.ephemeral);
        cfg.access_token_secret = Some(Secret::new("a".repeat(32)));
        cfg.refresh_token_secret = Some(Secret::new("short"));
        assert!(Keys::from_config(&cfg, true)
            .unwrap_err()
            .contains("REFRESH_TOKEN_SECRET is shorter than 32 bytes"));
        cfg.refresh_token_secret = Some(Secret::new("a".repeat(32)));
        assert!(Keys::from_config(&cfg, true)
            .unwrap_err()
            .contains("must differ"));
        cfg.refresh_token_secret = Some(Secret::new("b".repeat(32)));
        cfg.refresh_token_previous_secrets = vec![Secret::new("a".repeat(32))];
        assert!(Keys::from_config(&cfg, true)
            .unwrap_err()
            .contains("both the access and the refresh key ring"));
        cfg.refresh_token_previous_secrets = vec![Secret::new("c".repeat(40))];
        cfg.access_token_previous_secrets = vec![Secret::new("b".repeat(32))];
        assert!(Keys::from_config(&cfg, true)
            .unwrap_err()
            .contains("both the access and the refresh key ring"));
        cfg.access_token_previous_secrets = Vec::new();
        let keys = Keys::from_config(&cfg, false).unwrap();
        assert!(!keys.ephemeral);
        assert_eq!(keys.refresh.as_ref().len(), 2);
        assert_eq!(
            keys.access.primary().and_then(Key::kid),
            Some(derived_kid(&[b'a'; 32]).as_str())
        );
        assert!(!format!("{cfg:?}").contains("aaaa"));
    }
}
