//! Zero heap allocation: sign, verify, verify_with and inspect, measured under a counting global
//! allocator. Only allocations made between the start and end of each measured region count;
//! set-up (keys, buffers, expected values) and printing happen outside the regions.
//!
//! This binary has no test harness (`harness = false`): no other thread runs while a region is
//! measured, so the global counters see this thread's allocations only.

use std::alloc::System;
use std::hint::black_box;
use std::process::ExitCode;

use rotor_core::{
    inspect, sign, verify, verify_with, Claims, Error, Key, KeyRing, Validation, DEFAULT_LEEWAY,
};
use rotor_tests::{forge, OTHER_SECRET, SECRET};
use serde::{Deserialize, Serialize};
use stats_alloc::{Region, Stats, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const NOW: u64 = 1_700_000_000;
const EXP: u64 = NOW + 600;

/// Runs `f` and returns what it returned with the allocator activity during the call.
fn measure<R>(f: impl FnOnce() -> R) -> (R, Stats) {
    let region = Region::new(GLOBAL);
    let out = f();
    let change = region.change();
    (out, change)
}

/// A caller's own claims, signed from borrowed data.
#[derive(Serialize)]
struct Session<'a> {
    sub: &'a str,
    exp: u64,
    iat: u64,
    jti: &'a str,
    roles: [&'a str; 2],
    admin: bool,
}

/// The same claims read back borrowed from the scratch buffer.
#[derive(Debug, Deserialize, PartialEq)]
struct SessionIn<'a> {
    sub: &'a str,
    jti: &'a str,
    roles: [&'a str; 2],
    admin: bool,
}

/// Claims with escapes that decode to text needing an owned, fixed-capacity string.
#[derive(Debug, Deserialize, PartialEq)]
struct Escaped {
    note: heapless::String<64>,
}

struct Outcome {
    name: &'static str,
    stats: Stats,
    result: Result<(), String>,
}

fn main() -> ExitCode {
    let key = Key::new(SECRET).expect("key");
    let mut ring = KeyRing::<2>::new();
    ring.push(Key::with_kid(OTHER_SECRET, "new").expect("key"))
        .expect("room");
    ring.push(Key::with_kid(SECRET, "old").expect("key"))
        .expect("room");
    let validation = Validation::new();
    let session = Session {
        sub: "user-42",
        exp: EXP,
        iat: NOW,
        jti: "4f1c2a9e",
        roles: ["reader", "writer"],
        admin: false,
    };
    // Another signer's header (member order, whitespace, kid): the strict header path.
    let foreign = forge(
        &Key::new(SECRET).expect("key"),
        "{\"typ\":\"JWT\", \"kid\":\"old\", \"alg\":\"HS256\"}",
        format!(
            r#"{{"sub":"a\"b\u00e9\ud83d\ude00","iss":"x\\y","exp":{EXP},"x":{{"y":[1,2.5,null,"\n"]}}}}"#
        ),
    );
    let escaped = forge(
        &key,
        r#"{"alg":"HS256","typ":"JWT"}"#,
        format!(r#"{{"exp":{EXP},"note":"tab\there \"quoted\" \\ \u0001"}}"#),
    );
    let mut outcomes = Vec::new();
    let mut record = |name, stats, result| {
        outcomes.push(Outcome {
            name,
            stats,
            result,
        })
    };

    // Control: the counter sees an allocation in a measured region.
    let (boxed, stats) = measure(|| black_box(Box::new([7u8; 64])));
    let control = if stats.allocations >= 1 && stats.bytes_allocated >= 64 {
        Ok(())
    } else {
        Err(format!("a Box of 64 bytes was not counted: {stats:?}"))
    };
    drop(boxed);
    record("control: Box::new([u8; 64]) is counted", stats, control);
    let mut signed = [0u8; 512];
    let (token_len, stats) =
        measure(|| sign(black_box(&key), black_box(&session), &mut signed).map(str::len));
    record(
        "sign (custom Serialize claims)",
        stats,
        token_len.map(|_| ()).map_err(|e| e.to_string()),
    );
    let token_len = token_len.unwrap_or(0);
    let token = std::str::from_utf8(&signed[..token_len])
        .expect("ascii")
        .to_owned();

    let mut buf = [0u8; 512];
    let (r, stats) = measure(|| {
        let claims = Claims {
            iss: Some("auth.example"),
            sub: Some("user-42"),
            aud: Some("api"),
            exp: Some(EXP),
            nbf: Some(NOW),
            iat: Some(NOW),
            jti: Some("4f1c2a9e"),
        };
        sign(black_box(&key), black_box(&claims), &mut buf).map(|_| ())
    });
    record(
        "sign (registered Claims)",
        stats,
        r.map_err(|e| e.to_string()),
    );

    let mut scratch = [0u8; 1024];
    let (r, stats) = measure(|| {
        verify(
            black_box(token.as_str()),
            &key,
            &validation,
            NOW,
            &mut scratch,
        )
        .map(|ok| (ok.claims.sub == Some("user-42")).then_some(()))
    });
    record("verify (own header)", stats, check(r));

    let mut scratch = [0u8; 1024];
    let (r, stats) = measure(|| {
        verify_with::<SessionIn, _>(
            black_box(token.as_str()),
            &key,
            &validation,
            NOW,
            &mut scratch,
        )
        .map(|ok| {
            (ok.custom
                == SessionIn {
                    sub: "user-42",
                    jti: "4f1c2a9e",
                    roles: ["reader", "writer"],
                    admin: false,
                })
            .then_some(())
        })
    });
    record("verify_with (borrowed &str claims)", stats, check(r));

    let mut scratch = [0u8; 1024];
    let (r, stats) = measure(|| {
        verify(
            black_box(foreign.as_str()),
            &ring,
            &validation,
            NOW,
            &mut scratch,
        )
        .map(|ok| {
            (ok.key_index == 1
                && ok.claims.sub == Some("a\"b\u{e9}\u{1f600}")
                && ok.claims.iss == Some("x\\y"))
            .then_some(())
        })
    });
    record(
        "verify (key ring, foreign header, escaped claims)",
        stats,
        check(r),
    );

    let mut scratch = [0u8; 1024];
    let (r, stats) = measure(|| {
        verify_with::<Escaped, _>(
            black_box(escaped.as_str()),
            &key,
            &validation,
            NOW,
            &mut scratch,
        )
        .map(|ok| (ok.custom.note.as_str() == "tab\there \"quoted\" \\ \u{1}").then_some(()))
    });
    record("verify_with (heapless::String, escapes)", stats, check(r));

    let mut scratch = [0u8; 1024];
    let (r, stats) = measure(|| {
        let mut bad_sig = [0u8; 512];
        let n = token.len();
        bad_sig[..n].copy_from_slice(token.as_bytes());
        bad_sig[n - 1] = if bad_sig[n - 1] == b'A' { b'B' } else { b'A' };
        let bad = std::str::from_utf8(&bad_sig[..n]).unwrap_or("");
        [
            verify(bad, &key, &validation, NOW, &mut scratch).map(|_| ()),
            verify(
                token.as_str(),
                &key,
                &validation,
                EXP + DEFAULT_LEEWAY,
                &mut scratch,
            )
            .map(|_| ()),
            verify("a.b", &key, &validation, NOW, &mut scratch).map(|_| ()),
            verify(foreign.as_str(), &key, &validation, NOW, &mut scratch).map(|_| ()),
        ]
    });
    let want = [
        Err(Error::BadSignature),
        Err(Error::Expired),
        Err(Error::Malformed),
        Err(Error::UnknownKeyId),
    ];
    let errors = if r == want {
        Ok(())
    } else {
        Err(format!("got {r:?}, want {want:?}"))
    };
    record("verify (rejections)", stats, errors);

    let mut scratch = [0u8; 1024];
    let (r, stats) =
        measure(|| inspect(black_box(foreign.as_str()), &mut scratch).map(|u| u.payload.len()));
    record("inspect", stats, r.map(|_| ()).map_err(|e| e.to_string()));

    let mut failed = 0;
    for (i, o) in outcomes.iter().enumerate() {
        let is_control = i == 0;
        let allocation_free =
            o.stats.allocations == 0 && o.stats.reallocations == 0 && o.stats.bytes_allocated == 0;
        let ok = o.result.is_ok() && (is_control || allocation_free);
        failed += usize::from(!ok);
        println!(
            "{} {:<52} allocations {:>2}, bytes {:>4}{}",
            if ok { "ok  " } else { "FAIL" },
            o.name,
            o.stats.allocations + o.stats.reallocations,
            o.stats.bytes_allocated,
            match &o.result {
                Ok(()) => String::new(),
                Err(e) => format!(" ({e})"),
            }
        );
    }
    println!(
        "no_alloc: {} passed, {failed} failed",
        outcomes.len() - failed
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// An operation's result where `Ok(None)` means it returned the wrong values.
fn check(r: Result<Option<()>, Error>) -> Result<(), String> {
    match r {
        Ok(Some(())) => Ok(()),
        Ok(None) => Err("wrong claims".into()),
        Err(e) => Err(e.to_string()),
    }
}
