//! `secret generate`, and the forms a `--secret` value may take.

use std::io::Read;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use clap::Subcommand;
use rotor_core::{Key, MIN_SECRET_LEN};

use super::{CliError, Outcome};

/// Most random bytes `secret generate` makes: far beyond any use, small enough to print.
pub const MAX_GENERATE_BYTES: usize = 1024;

/// Largest secret file read by `--secret file:PATH`.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// `secret` sub-commands.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Print a fresh random secret for ACCESS_TOKEN_SECRET / REFRESH_TOKEN_SECRET, and its key id.
    ///
    /// The secret is N bytes from the operating system's random generator, written as unpadded
    /// base64url text: the server uses that text's bytes as the HMAC key, as it does with any
    /// configured secret. Standard output gets the secret alone (for `$(...)`); standard error
    /// gets the `kid` the server derives from it and puts in the header of the tokens it signs.
    Generate {
        /// Random bytes in the secret (at least 32: RFC 7518 §3.2 wants an HS256 key of at
        /// least the hash size).
        #[arg(long, value_name = "N", default_value_t = 32)]
        bytes: usize,
        /// Print `{"secret":…,"kid":…,"bytes":N}` on standard output instead.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `secret` sub-command.
///
/// # Errors
/// A usage error when `--bytes` is out of range.
pub fn run(cmd: &SecretCommand) -> Outcome {
    match *cmd {
        SecretCommand::Generate { bytes, json } => {
            let secret = generate(bytes)?;
            let kid = server_kid(secret.as_bytes());
            if json {
                println!(
                    "{}",
                    serde_json::json!({"secret": secret, "kid": kid, "bytes": bytes})
                );
            } else {
                println!("{secret}");
                eprintln!(
                    "kid: {kid} ({bytes} random bytes; rotor-server puts this key id in the header of the tokens it signs with this secret)"
                );
            }
            Ok(())
        }
    }
}

/// `bytes` random bytes from the OS as unpadded base64url text.
///
/// # Errors
/// A usage error for fewer than [`MIN_SECRET_LEN`] or more than [`MAX_GENERATE_BYTES`] bytes.
pub fn generate(bytes: usize) -> Result<String, CliError> {
    if bytes < MIN_SECRET_LEN {
        return Err(CliError::usage(format!(
            "--bytes {bytes} is too few: an HS256 secret needs at least {MIN_SECRET_LEN} random bytes (RFC 7518 §3.2)"
        )));
    }
    if bytes > MAX_GENERATE_BYTES {
        return Err(CliError::usage(format!(
            "--bytes {bytes} is too many: at most {MAX_GENERATE_BYTES}"
        )));
    }
    let mut raw = vec![0u8; bytes];
    rotor_server::keys::fill_random(&mut raw);
    Ok(URL_SAFE_NO_PAD.encode(&raw))
}

/// The key id rotor-server derives from a configured secret ([`rotor_server::keys::derived_kid`]).
#[must_use]
pub fn server_kid(secret: &[u8]) -> String {
    rotor_server::keys::derived_kid(secret)
}

/// Help text shared by every `--secret` flag.
pub const SECRET_FORMS: &str = "raw text (its bytes, as in ACCESS_TOKEN_SECRET), hex:…, \
    base64:… (standard or URL-safe, padding optional), env:NAME (the variable's value), \
    file:PATH (the file, one trailing newline dropped) or raw:TEXT. At least 32 bytes. \
    env: and file: keep the secret out of the process list and shell history";

/// Decodes a `--secret` value into key bytes.
///
/// # Errors
/// A usage error naming the flag and what is wrong; never the secret itself.
pub fn parse(spec: &str, flag: &str) -> Result<Vec<u8>, CliError> {
    let bad = |what: String| CliError::usage(format!("{flag}: {what}"));
    let bytes = if let Some(h) = spec.strip_prefix("hex:") {
        hex::decode(h.trim()).map_err(|e| bad(format!("hex: value is not hex ({e})")))?
    } else if let Some(b) = spec.strip_prefix("base64:") {
        decode_base64(b.trim()).ok_or_else(|| {
            bad("base64: value is not base64 (standard or URL-safe alphabet)".into())
        })?
    } else if let Some(name) = spec.strip_prefix("env:") {
        std::env::var_os(name)
            .map(std::os::unix::ffi::OsStringExt::into_vec)
            .ok_or_else(|| bad(format!("environment variable `{name}` is not set")))?
    } else if let Some(path) = spec.strip_prefix("file:") {
        read_secret_file(path).map_err(bad)?
    } else if let Some(raw) = spec.strip_prefix("raw:") {
        raw.as_bytes().to_vec()
    } else {
        spec.as_bytes().to_vec()
    };
    if bytes.len() < MIN_SECRET_LEN {
        return Err(bad(format!(
            "secret is {} bytes; HS256 needs at least {MIN_SECRET_LEN} (RFC 7518 §3.2). \
             `rotor-server secret generate` makes one",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// A key for `secret`, with `kid` when given.
///
/// # Errors
/// A usage error for an invalid key id.
pub fn key(secret: &[u8], kid: Option<&str>) -> Result<Key, CliError> {
    match kid {
        None => Key::new(secret),
        Some(kid) => Key::with_kid(secret, kid),
    }
    .map_err(|e| match e {
        rotor_core::Error::InvalidKeyId => CliError::usage(format!(
            "--kid: {e} (1 to {} printable ASCII characters, no `\"` or `\\`)",
            rotor_core::MAX_KID_LEN
        )),
        other => CliError::usage(format!("--secret: {other}")),
    })
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let unpadded = text.trim_end_matches('=');
    if unpadded.contains(['-', '_']) {
        URL_SAFE_NO_PAD.decode(unpadded).ok()
    } else {
        STANDARD_NO_PAD.decode(unpadded).ok()
    }
}

fn read_secret_file(path: &str) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read `{path}`: {e}"))?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(format!(
            "`{path}` is larger than {MAX_SECRET_FILE} bytes: not a secret"
        ));
    }
    if bytes.ends_with(b"\r\n") {
        bytes.truncate(bytes.len() - 2);
    } else if bytes.ends_with(b"\n") {
        bytes.truncate(bytes.len() - 1);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_forms() {
        let raw = "a".repeat(32);
        assert_eq!(parse(&raw, "--secret").unwrap(), raw.as_bytes());
        assert_eq!(
            parse(&format!("raw:{raw}"), "--secret").unwrap(),
            raw.as_bytes()
        );
        assert_eq!(
            parse(&format!("hex:{}", "ab".repeat(32)), "--secret").unwrap(),
            vec![0xab; 32]
        );
        // RFC 7515 A.1's JWK `k`: URL-safe alphabet, unpadded.
        let k = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
        assert_eq!(parse(&format!("base64:{k}"), "--secret").unwrap().len(), 64);
        let std_padded = base64::engine::general_purpose::STANDARD.encode([0xfb; 33]);
        assert!(std_padded.contains('+') || std_padded.contains('/'));
        assert_eq!(
            parse(&format!("base64:{std_padded}"), "--secret").unwrap(),
            vec![0xfb; 33]
        );
        for bad in [
            "short",
            "hex:zz",
            "hex:abc",
            "base64:@@@@",
            "hex:abab",
            "env:",
        ] {
            let e = parse(bad, "--secret").unwrap_err();
            assert_eq!(e.failure, super::super::Failure::Usage, "{bad}");
            assert!(e.message.starts_with("--secret: "), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn generated_secrets_are_long_random_and_bounded() {
        let a = generate(32).unwrap();
        let b = generate(32).unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(generate(31).is_err());
        assert!(generate(MAX_GENERATE_BYTES + 1).is_err());
        assert_eq!(generate(64).unwrap().len(), 86);
    }
}
