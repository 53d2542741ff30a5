//! `token sign`, `token verify` and `token inspect`, all through `rotor-core`.

use clap::{Args, Subcommand};
use rotor_core::{inspect, scratch_len, sign, verify, Error, Key, Validation};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::input::{self, InputError};
use super::secret::{self, SECRET_FORMS};
use super::{CliError, Outcome};
use rotor_server::config::Seconds;

/// Longest input `token inspect` reads from standard input.
pub const MAX_INSPECT_LEN: usize = 16 * 1024 * 1024;

/// `token` sub-commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Sign claims as an HS256 token and print it.
    ///
    /// Claims come from --claims and the claim flags together (a claim may not be set by both).
    /// Unless the claims already have them, `iat` is the current time and `exp` is `iat` plus
    /// --ttl (15 minutes by default).
    Sign(SignArgs),
    /// Verify a token: signature (HS256 only), then exp/nbf/iat, issuer, audience and type.
    #[command(long_about = verify_long_about())]
    Verify(VerifyArgs),
    /// Decode a token's header and claims WITHOUT verifying anything.
    ///
    /// For debugging only: the output is not authenticated, and says so on standard error and
    /// with "verified":false. Refuses only input that is not a token (exit 1).
    Inspect(InspectArgs),
}

/// `token verify --help`: the error kinds come from rotor-core's own list, so none is missing.
fn verify_long_about() -> String {
    let kinds: Vec<&str> = Error::ALL.iter().map(|e| e.kind()).collect();
    format!(
        "Verify a token: signature (HS256 only), then exp/nbf/iat, issuer, audience and type.\n\n\
         Prints {{\"valid\":true,\"header\":…,\"claims\":…,\"secret_index\":N}} and exits 0, or \
         prints {{\"valid\":false,\"error\":KIND,\"message\":…}} and exits 1. KIND is the \
         rotor-core error in snake_case: {}.",
        kinds.join(", ")
    )
}

/// `token sign` flags.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// Signing secret: raw text, hex:…, base64:…, env:NAME, file:PATH (see --help).
    #[arg(long, value_name = "SECRET", long_help = format!("Signing secret. Forms: {SECRET_FORMS}."), allow_hyphen_values = true)]
    secret: String,
    /// Key id to put in the header (`kid`, RFC 7515 §4.1.4).
    #[arg(long, value_name = "KID", conflicts_with = "server_kid")]
    kid: Option<String>,
    /// Put the key id rotor-server derives from this secret in the header, so that a server
    /// configured with the same secret accepts the token.
    #[arg(long)]
    server_kid: bool,
    /// Claims as a JSON object, e.g. '{"sub":"42","role":"admin"}'. Member names must be unique.
    #[arg(long, value_name = "JSON")]
    claims: Option<String>,
    /// Subject (`sub`).
    #[arg(long, value_name = "SUB")]
    sub: Option<String>,
    /// Issuer (`iss`).
    #[arg(long, value_name = "ISS")]
    iss: Option<String>,
    /// Audience (`aud`); repeat for several.
    #[arg(long, value_name = "AUD")]
    aud: Vec<String>,
    /// Token id (`jti`).
    #[arg(long, value_name = "JTI")]
    jti: Option<String>,
    /// Lifetime: `exp` = `iat` + TTL. Seconds or with a unit: 90s, 15m, 1h, 10d, 2w.
    #[arg(long, value_name = "TTL", conflicts_with = "no_exp")]
    ttl: Option<String>,
    /// Sign without `exp`: such a token never expires, and verifiers (this one included) refuse
    /// it by default (RFC 8725 §3.10 asks for short-lived tokens).
    #[arg(long)]
    no_exp: bool,
    /// Sign without `iat`.
    #[arg(long)]
    no_iat: bool,
    /// Unix time to sign at, instead of the clock (reproducible tokens).
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
}

/// `token verify` flags.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Secret to verify with (raw text, hex:…, base64:…, env:NAME, file:PATH); repeatable.
    #[arg(
        long,
        value_name = "SECRET",
        required = true,
        allow_hyphen_values = true,
        long_help = format!("Secret to verify with; repeat to try several in order (during a \
            rotation, say). The token's kid does not pick among them: each is tried. Forms: {SECRET_FORMS}.")
    )]
    secret: Vec<String>,
    /// Unix time to check exp/nbf/iat against, instead of the clock (e.g. to check RFC examples).
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
    /// Seconds of clock skew tolerated for exp/nbf/iat.
    #[arg(long, value_name = "SECS", default_value_t = rotor_core::DEFAULT_LEEWAY)]
    leeway: u64,
    /// Require this issuer (`iss`).
    #[arg(long, value_name = "ISS")]
    iss: Option<String>,
    /// Require this audience in `aud`. Without it, a token that has `aud` is refused
    /// (RFC 7519 §4.1.3).
    #[arg(long, value_name = "AUD")]
    aud: Option<String>,
    /// Require this subject (`sub`).
    #[arg(long, value_name = "SUB")]
    sub: Option<String>,
    /// Accept this header `typ` as well as JWT (RFC 8725 §3.11); repeat for several.
    #[arg(long, value_name = "TYP")]
    typ: Vec<String>,
    /// Accept tokens without `exp`.
    #[arg(long)]
    allow_no_exp: bool,
    /// Longest token accepted, in bytes; longer ones are refused before any other work.
    #[arg(long, value_name = "BYTES", default_value_t = rotor_core::DEFAULT_MAX_TOKEN_LEN)]
    max_len: usize,
    /// The token, or `-` to read it from standard input (surrounding whitespace is ignored).
    #[arg(value_name = "TOKEN")]
    token: String,
}

/// `token inspect` flags.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The token, or `-` to read it from standard input.
    #[arg(value_name = "TOKEN")]
    token: String,
}

/// Runs a `token` sub-command.
///
/// # Errors
/// Exit 1 for an invalid or undecodable token, 2 for bad flags.
pub fn run(cmd: TokenCommand) -> Outcome {
    match cmd {
        TokenCommand::Sign(args) => {
            let token = sign_token(&args)?;
            println!("{token}");
            Ok(())
        }
        TokenCommand::Verify(args) => verify_token(&args),
        TokenCommand::Inspect(args) => inspect_token(&args),
    }
}

fn now_or(fixed: Option<u64>) -> u64 {
    fixed.unwrap_or_else(rotor_server::tokens::now)
}

/// Builds the claims object and signs it.
fn sign_token(args: &SignArgs) -> Result<String, CliError> {
    let secret = secret::parse(&args.secret, "--secret")?;
    let kid = if args.server_kid {
        Some(secret::server_kid(&secret))
    } else {
        args.kid.clone()
    };
    let key = secret::key(&secret, kid.as_deref())?;
    let claims = build_claims(args)?;
    sign_value(&key, &claims)
}

fn build_claims(args: &SignArgs) -> Result<Map<String, Value>, CliError> {
    let mut claims = match &args.claims {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Strict>(text) {
            Ok(Strict(Value::Object(map))) => map,
            Ok(_) => return Err(CliError::usage("--claims must be a JSON object: {…}")),
            Err(e) => return Err(CliError::usage(format!("--claims is not valid JSON: {e}"))),
        },
    };
    let mut set = |name: &str, flag: &str, value: Value| {
        if claims.contains_key(name) {
            return Err(CliError::usage(format!(
                "claim `{name}` is set twice: in --claims and by {flag}"
            )));
        }
        claims.insert(name.to_owned(), value);
        Ok(())
    };
    if let Some(sub) = &args.sub {
        set("sub", "--sub", sub.as_str().into())?;
    }
    if let Some(iss) = &args.iss {
        set("iss", "--iss", iss.as_str().into())?;
    }
    match args.aud.as_slice() {
        [] => {}
        [one] => set("aud", "--aud", one.as_str().into())?,
        many => set("aud", "--aud", many.iter().map(String::as_str).collect())?,
    }
    if let Some(jti) = &args.jti {
        set("jti", "--jti", jti.as_str().into())?;
    }
    let now = now_or(args.now);
    let iat = match claims.get("iat") {
        Some(v) => numeric_date(v, "iat")?,
        None if args.no_iat => now,
        None => {
            claims.insert("iat".into(), now.into());
            now
        }
    };
    if !args.no_exp {
        match (&args.ttl, claims.contains_key("exp")) {
            (Some(_), true) => {
                return Err(CliError::usage(
                    "claim `exp` is set twice: in --claims and by --ttl",
                ))
            }
            (ttl, false) => {
                let ttl = match ttl {
                    Some(t) => {
                        Seconds::parse(t).map_err(|e| CliError::usage(format!("--ttl: {e}")))?
                    }
                    None => Seconds(15 * 60),
                };
                if ttl.0 == 0 {
                    return Err(CliError::usage("--ttl must be positive"));
                }
                let exp = iat
                    .checked_add(ttl.0)
                    .ok_or_else(|| CliError::usage("--ttl is too large"))?;
                claims.insert("exp".into(), exp.into());
            }
            (None, true) => {}
        }
    }
    check_registered(&claims)?;
    Ok(claims)
}

/// RFC 7519 §4.1: refuse to sign registered claims of a type no verifier would accept.
fn check_registered(claims: &Map<String, Value>) -> Result<(), CliError> {
    for name in ["exp", "nbf", "iat"] {
        if let Some(v) = claims.get(name) {
            numeric_date(v, name)?;
        }
    }
    for name in ["iss", "sub", "jti"] {
        if claims.get(name).is_some_and(|v| !v.is_string()) {
            return Err(CliError::usage(format!(
                "claim `{name}` must be a string (RFC 7519 §4.1)"
            )));
        }
    }
    let aud_ok = match claims.get("aud") {
        None | Some(Value::String(_)) => true,
        Some(Value::Array(items)) => items.iter().all(Value::is_string),
        Some(_) => false,
    };
    if !aud_ok {
        return Err(CliError::usage(
            "claim `aud` must be a string or an array of strings (RFC 7519 §4.1.3)",
        ));
    }
    Ok(())
}

fn numeric_date(v: &Value, name: &str) -> Result<u64, CliError> {
    v.as_u64().ok_or_else(|| {
        CliError::usage(format!(
            "claim `{name}` must be a non-negative integer number of seconds since 1970 (RFC 7519 §2 NumericDate)"
        ))
    })
}

fn sign_value(key: &Key, claims: &Map<String, Value>) -> Result<String, CliError> {
    let json_len = serde_json::to_vec(claims)
        .map_err(|e| CliError::usage(format!("claims cannot be written as JSON: {e}")))?
        .len();
    // Header (at most 136 base64url characters with the longest kid), the payload in base64url
    // (4 characters per 3 bytes), two dots and the 43-character signature, plus room to spare.
    let mut cap = json_len.saturating_mul(4) / 3 + 256;
    for _ in 0..2 {
        let mut buf = vec![0u8; cap];
        match sign(key, claims, &mut buf) {
            Ok(token) => return Ok(token.to_owned()),
            Err(Error::BufferTooSmall) => cap = cap.saturating_mul(2),
            Err(e) => {
                return Err(CliError::usage(format!(
                    "cannot sign these claims: {e} ({})",
                    e.kind()
                )))
            }
        }
    }
    Err(CliError::failed(
        "cannot sign these claims: token buffer too small",
    ))
}

/// What a failed verification prints.
fn invalid(kind: &str, message: &str) -> CliError {
    println!(
        r#"{{"valid":false,"error":{},"message":{}}}"#,
        Value::from(kind),
        Value::from(message)
    );
    CliError::failed(format!("token is not valid: {message} ({kind})"))
}

fn input_invalid(e: InputError, limit: usize) -> CliError {
    match e {
        InputError::TooLarge(_) => invalid(
            Error::TooLarge.kind(),
            &format!("token on standard input is longer than {limit} bytes"),
        ),
        InputError::NotUtf8 => invalid(
            Error::Malformed.kind(),
            "input is not UTF-8 text, so not a token (a JWT is base64url text)",
        ),
        InputError::Empty => invalid(Error::Malformed.kind(), "no token given (empty input)"),
        InputError::Io(e) => CliError::failed(format!("cannot read standard input: {e}")),
    }
}

fn verify_token(args: &VerifyArgs) -> Outcome {
    let secrets = args
        .secret
        .iter()
        .enumerate()
        .map(|(i, s)| secret::parse(s, &format!("--secret #{}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let token =
        input::token(&args.token, args.max_len).map_err(|e| input_invalid(e, args.max_len))?;
    let types: Vec<&str> = args.typ.iter().map(String::as_str).collect();
    let mut validation = Validation::new()
        .leeway(args.leeway)
        .max_token_len(args.max_len)
        .require_exp(!args.allow_no_exp)
        .extra_types(&types);
    if let Some(iss) = &args.iss {
        validation = validation.issuer(iss);
    }
    if let Some(aud) = &args.aud {
        validation = validation.audience(aud);
    }
    if let Some(sub) = &args.sub {
        validation = validation.subject(sub);
    }
    let now = now_or(args.now);

    // Every secret is tried as the key the token names: with the token's `kid` when it has one
    // (the kid is only a hint for choosing a key, RFC 7515 §4.1.4; the MAC still decides).
    let kid = header_kid(&token);
    let mut scratch = vec![0u8; scratch_len(token.len().min(args.max_len))];
    let mut first_error = None;
    for (i, secret) in secrets.iter().enumerate() {
        let key = match kid.as_deref().map(|k| Key::with_kid(secret, k)) {
            Some(Ok(key)) => key,
            // No kid, or one no key can carry: the core reports the token's problem.
            _ => Key::new(secret)
                .map_err(|e| CliError::usage(format!("--secret #{}: {e}", i + 1)))?,
        };
        match verify(&token, &key, &validation, now, &mut scratch) {
            Ok(_) => return print_verified(&token, i),
            Err(e) => {
                // A key whose MAC matched tells why the token fails; a mismatch is reported only
                // when no secret gets further.
                let got_past_mac = !matches!(e, Error::BadSignature | Error::UnknownKeyId);
                if got_past_mac || first_error.is_none() {
                    first_error = Some(e);
                }
                if got_past_mac {
                    break;
                }
            }
        }
    }
    let e = first_error.unwrap_or(Error::BadSignature);
    Err(invalid(e.kind(), &e.to_string()))
}

/// The header's `kid`, read without trusting anything (it only picks the key to try).
fn header_kid(token: &str) -> Option<String> {
    let (header_b64, _) = token.split_once('.')?;
    if header_b64.len() > 4096 {
        return None;
    }
    let bytes = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        header_b64,
    )
    .ok()?;
    let header: Value = serde_json::from_slice(&bytes).ok()?;
    header.get("kid")?.as_str().map(str::to_owned)
}

fn print_verified(token: &str, secret_index: usize) -> Outcome {
    let mut scratch = vec![0u8; scratch_len(token.len())];
    let decoded = inspect(token, &mut scratch)
        .map_err(|e| CliError::failed(format!("verified token could not be decoded: {e}")))?;
    // The core's canonical JSON text is embedded as is: member order and numbers are kept.
    println!(
        r#"{{"valid":true,"header":{},"claims":{},"secret_index":{secret_index}}}"#,
        decoded.header, decoded.payload
    );
    Ok(())
}

fn inspect_token(args: &InspectArgs) -> Outcome {
    let refuse = |kind: &str, message: &str| {
        CliError::failed(format!("cannot decode token: {message} ({kind})"))
    };
    let token = input::token(&args.token, MAX_INSPECT_LEN).map_err(|e| match e {
        InputError::TooLarge(n) => refuse(
            Error::TooLarge.kind(),
            &format!("input on standard input is longer than {n} bytes"),
        ),
        InputError::NotUtf8 => refuse(
            Error::Malformed.kind(),
            "input is not UTF-8 text, so not a token (a JWT is base64url text)",
        ),
        InputError::Empty => refuse(Error::Malformed.kind(), "no token given (empty input)"),
        InputError::Io(e) => CliError::failed(format!("cannot read standard input: {e}")),
    })?;
    let mut scratch = vec![0u8; scratch_len(token.len())];
    let decoded = inspect(&token, &mut scratch).map_err(|e| refuse(e.kind(), &e.to_string()))?;
    eprintln!(
        "*** UNVERIFIED: signature and claims NOT checked; anyone can write such a token. \
         Use `rotor-server token verify` before trusting it. ***"
    );
    println!(
        r#"{{"verified":false,"header":{},"claims":{}}}"#,
        decoded.header, decoded.payload
    );
    Ok(())
}

/// A JSON value whose objects, at any depth, have unique member names (RFC 7519 §4: a JWT
/// with duplicate claim names must be rejected, so none is ever signed). `serde_json` alone
/// keeps the last duplicate silently.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(name.clone(), v).is_some() {
                return Err(de::Error::custom(format!(
                    "duplicate member name `{name}` (RFC 7519 §4)"
                )));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_members_are_refused_at_any_depth() {
        assert!(serde_json::from_str::<Strict>(r#"{"a":1,"a":2}"#).is_err());
        assert!(serde_json::from_str::<Strict>(r#"{"a":{"b":1,"b":1}}"#).is_err());
        assert!(serde_json::from_str::<Strict>(r#"[{"b":1},{"b":1}]"#).is_ok());
        let Strict(v) = serde_json::from_str(r#"{"a":[1,-2,1.5,null,true,"x"]}"#).unwrap();
        assert_eq!(v, serde_json::json!({"a":[1,-2,1.5,null,true,"x"]}));
    }
}
