//! HS256 sign and verify: rotor-core side by side with `jsonwebtoken`, `jwt-simple` and
//! `jwt-compact`, and the floor, a bare HMAC-SHA256 of the same signing input from a
//! precomputed key state.
//!
//! Every library signs the same claims (`sub`, `iat`, `exp`, `jti`) with the same secret, and
//! verifies its own token with its default checks (signature, `alg`, `exp`), deserialising the
//! claims. Run with `cargo bench -p rotor-core --bench jwt`; results are in `benches/RESULTS.md`.
//!
//! On a shared machine, set `ROTOR_BENCH_CPU_TIME=1` to measure the benchmark thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`) instead of wall-clock time, so that time spent descheduled while
//! other processes run is not counted.

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BatchSize, Criterion};
use hmac::{Hmac, KeyInit, Mac};
use jwt_compact::AlgorithmExt as _;
use jwt_simple::algorithms::MACLike as _;
use rotor_core::{Claims, Key, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// 40 bytes: above the 32-byte minimum of RFC 7518 §3.2.
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-rotor!!";
const SUB: &str = "user-1234567890";
const JTI: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
/// Token lifetime in seconds.
const TTL: u64 = 900;

/// The claims for the libraries that take a caller's type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct AccessClaims {
    sub: String,
    iat: u64,
    exp: u64,
    jti: String,
}

/// `sub` and `jti`, for the libraries that model `iat` and `exp` themselves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Custom {
    sub: String,
    jti: String,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The CPU time of the calling thread, formatted like wall-clock time.
struct ThreadCpuTime(WallTime);

impl Measurement for ThreadCpuTime {
    type Intermediate = cpu_time::ThreadTime;
    type Value = std::time::Duration;

    fn start(&self) -> Self::Intermediate {
        cpu_time::ThreadTime::now()
    }
    fn end(&self, i: Self::Intermediate) -> Self::Value {
        i.elapsed()
    }
    fn add(&self, v1: &Self::Value, v2: &Self::Value) -> Self::Value {
        *v1 + *v2
    }
    fn zero(&self) -> Self::Value {
        std::time::Duration::ZERO
    }
    fn to_f64(&self, value: &Self::Value) -> f64 {
        value.as_secs_f64() * 1e9
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.0.formatter()
    }
}

fn benches<M: Measurement>(c: &mut Criterion<M>) {
    // The libraries other than rotor-core read the system clock, so the claims are current.
    let iat = now();
    let exp = iat + TTL;
    let access = AccessClaims {
        sub: SUB.into(),
        iat,
        exp,
        jti: JTI.into(),
    };
    let json = serde_json::to_string(&access).expect("claims serialise");

    // rotor-core
    let rotor_key = Key::new(SECRET).expect("strong key");
    let rotor_claims = Claims {
        sub: Some(SUB),
        iat: Some(iat),
        exp: Some(exp),
        jti: Some(JTI),
        ..Claims::default()
    };
    let validation = Validation::new();
    let mut sign_buf = [0u8; 512];
    let rotor_token = rotor_core::sign(&rotor_key, &rotor_claims, &mut sign_buf)
        .expect("rotor-core signs")
        .to_owned();
    let mut scratch = [0u8; 512];

    // jsonwebtoken
    let jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let jwt_enc = jsonwebtoken::EncodingKey::from_secret(SECRET);
    let jwt_dec = jsonwebtoken::DecodingKey::from_secret(SECRET);
    let jwt_validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    let jwt_token =
        jsonwebtoken::encode(&jwt_header, &access, &jwt_enc).expect("jsonwebtoken signs");

    // jwt-simple: its claims type holds `iat` and `exp`; built from the same JSON.
    let simple_key = jwt_simple::algorithms::HS256Key::from_bytes(SECRET);
    let simple_claims: jwt_simple::claims::JWTClaims<jwt_simple::claims::NoCustomClaims> =
        serde_json::from_str(&json).expect("jwt-simple claims");
    let simple_token = simple_key
        .authenticate(simple_claims.clone())
        .expect("jwt-simple signs");

    // jwt-compact: `iat` and `exp` are its own fields, `sub` and `jti` the custom part.
    let compact_key = jwt_compact::alg::Hs256Key::new(SECRET);
    let compact_header = jwt_compact::Header::empty().with_token_type("JWT");
    let compact_claims: jwt_compact::Claims<Custom> =
        serde_json::from_str(&json).expect("jwt-compact claims");
    let compact_time = jwt_compact::TimeOptions::default();
    let compact_token = jwt_compact::alg::Hs256
        .token(&compact_header, &compact_claims, &compact_key)
        .expect("jwt-compact signs");

    // The floor: HMAC-SHA256 of rotor-core's signing input from a keyed state.
    let floor_mac = Hmac::<Sha256>::new_from_slice(SECRET).expect("any key size");
    let signing_input = rotor_token
        .rsplit_once('.')
        .map(|(input, _)| input.to_owned())
        .expect("three segments");

    // Each token verifies with each library before anything is timed.
    let ok = rotor_core::verify(&rotor_token, &rotor_key, &validation, iat, &mut scratch)
        .expect("rotor-core verifies");
    assert_eq!(
        (ok.claims.sub, ok.claims.jti, ok.claims.iat, ok.claims.exp),
        (Some(SUB), Some(JTI), Some(iat), Some(exp))
    );
    let got = jsonwebtoken::decode::<AccessClaims>(&jwt_token, &jwt_dec, &jwt_validation)
        .expect("jsonwebtoken verifies");
    assert_eq!(got.claims, access);
    let got = simple_key
        .verify_token::<jwt_simple::claims::NoCustomClaims>(&simple_token, None)
        .expect("jwt-simple verifies");
    assert_eq!(got.subject.as_deref(), Some(SUB));
    let untrusted = jwt_compact::UntrustedToken::new(&compact_token).expect("jwt-compact parses");
    let got = jwt_compact::alg::Hs256
        .validator::<Custom>(&compact_key)
        .validate(&untrusted)
        .expect("jwt-compact verifies");
    got.claims()
        .validate_expiration(&compact_time)
        .expect("jwt-compact: not expired");
    assert_eq!(got.claims().custom.sub, SUB);
    for (name, token) in [
        ("rotor-core", &rotor_token),
        ("jsonwebtoken", &jwt_token),
        ("jwt-simple", &simple_token),
        ("jwt-compact", &compact_token),
    ] {
        eprintln!("{name:>12}: {} bytes: {token}", token.len());
    }

    let mut g = c.benchmark_group("sign");
    g.bench_function("rotor-core", |b| {
        b.iter(|| {
            rotor_core::sign(&rotor_key, black_box(&rotor_claims), &mut sign_buf)
                .map(str::len)
                .expect("signs")
        });
    });
    g.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken::encode(&jwt_header, black_box(&access), &jwt_enc).expect("signs"));
    });
    g.bench_function("jwt-simple", |b| {
        b.iter_batched(
            || simple_claims.clone(),
            |claims| simple_key.authenticate(claims).expect("signs"),
            BatchSize::SmallInput,
        );
    });
    g.bench_function("jwt-compact", |b| {
        b.iter(|| {
            jwt_compact::alg::Hs256
                .token(&compact_header, black_box(&compact_claims), &compact_key)
                .expect("signs")
        });
    });
    g.bench_function("hmac-floor", |b| {
        b.iter(|| {
            let mut m = floor_mac.clone();
            m.update(black_box(signing_input.as_bytes()));
            m.finalize().into_bytes()
        });
    });
    g.finish();

    let mut g = c.benchmark_group("verify");
    g.bench_function("rotor-core", |b| {
        b.iter(|| {
            rotor_core::verify(
                black_box(&rotor_token),
                &rotor_key,
                &validation,
                iat,
                &mut scratch,
            )
            .map(|v| v.claims.exp)
            .expect("verifies")
        });
    });
    g.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<AccessClaims>(black_box(&jwt_token), &jwt_dec, &jwt_validation)
                .expect("verifies")
        });
    });
    g.bench_function("jwt-simple", |b| {
        b.iter(|| {
            simple_key
                .verify_token::<jwt_simple::claims::NoCustomClaims>(black_box(&simple_token), None)
                .expect("verifies")
        });
    });
    g.bench_function("jwt-compact", |b| {
        b.iter(|| {
            let untrusted =
                jwt_compact::UntrustedToken::new(black_box(&compact_token)).expect("parses");
            let token = jwt_compact::alg::Hs256
                .validator::<Custom>(&compact_key)
                .validate(&untrusted)
                .expect("verifies");
            token
                .claims()
                .validate_expiration(&compact_time)
                .expect("not expired");
            token
        });
    });
    g.bench_function("hmac-floor", |b| {
        b.iter(|| {
            let mut m = floor_mac.clone();
            m.update(black_box(signing_input.as_bytes()));
            m.finalize().into_bytes()
        });
    });
    g.finish();
}

fn main() {
    if std::env::var_os("ROTOR_BENCH_CPU_TIME").is_some() {
        eprintln!("measuring thread CPU time (ROTOR_BENCH_CPU_TIME is set)");
        benches(
            &mut Criterion::default()
                .with_measurement(ThreadCpuTime(WallTime))
                .configure_from_args(),
        );
    } else {
        benches(&mut Criterion::default().configure_from_args());
    }
    Criterion::default().configure_from_args().final_summary();
}
