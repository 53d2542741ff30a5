//! Replays every committed fuzz input (`fuzz/corpus/<target>/` and `fuzz/artifacts/<target>/`)
//! through the same checks the fuzz targets run, on the stable toolchain, in every
//! `cargo test --workspace`. Each crash found by fuzzing also has a named test below.

use std::fs;
use std::path::{Path, PathBuf};

use rotor_fuzz_harness::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every regular file in `dir`, sorted; none if the directory does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay_dir(kind: &str, name: &str, check: fn(&[u8])) -> usize {
    let dir = fuzz_dir().join(kind).join(name);
    let files = files_in(&dir);
    for file in &files {
        let data = fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "{name}: {} fails its check (see the panic above)",
            file.display()
        );
    }
    files.len()
}

fn replay(name: &str) {
    let (_, check) = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no target {name}"));
    let seeds = replay_dir("corpus", name, *check);
    let crashes = replay_dir("artifacts", name, *check);
    assert!(
        seeds > 0,
        "fuzz/corpus/{name}/ is empty or missing: the seed corpus must be committed"
    );
    eprintln!("{name}: replayed {seeds} corpus and {crashes} artifact files");
}

/// Every minimized crash under `fuzz/artifacts/`, as (target, file name); each has a named test
/// below that says what it found and where it was fixed.
const REGRESSIONS: &[(&str, &str)] = &[("decode_parts", "surrogate-pair-above-plane-1")];

/// Runs one committed crash input through its target's check.
fn regression(target: &str, file: &str) {
    let (_, check) = TARGETS
        .iter()
        .find(|(n, _)| *n == target)
        .unwrap_or_else(|| panic!("no target {target}"));
    let path = fuzz_dir().join("artifacts").join(target).join(file);
    let data = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    check(&data);
}

#[test]
fn every_artifact_is_a_named_regression() {
    for (target, _) in TARGETS {
        for file in files_in(&fuzz_dir().join("artifacts").join(target)) {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            assert!(
                REGRESSIONS.contains(&(target, name)),
                "fuzz/artifacts/{target}/{name} has no named regression test in replay.rs"
            );
        }
    }
}

/// `decode_parts`: `\ud86d\ude00` was canonicalised to U+1B600 instead of U+2B600, so the claim
/// read differently from what `serde_json` reads (fixed in `core/src/json.rs`: RFC 2781 §2.2
/// adds 0x10000 to the 20 bits; an OR only works below plane 2).
#[test]
fn regression_surrogate_pair_above_plane_1() {
    regression("decode_parts", "surrogate-pair-above-plane-1");
}

#[test]
fn every_target_has_a_replay_test() {
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "verify",
            "decode_parts",
            "roundtrip",
            "differential",
            "buffers"
        ]
    );
    for name in names {
        assert!(
            fuzz_dir()
                .join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "fuzz/fuzz_targets/{name}.rs missing"
        );
    }
}

#[test]
fn replay_verify() {
    replay("verify");
}

#[test]
fn replay_decode_parts() {
    replay("decode_parts");
}

#[test]
fn replay_roundtrip() {
    replay("roundtrip");
}

#[test]
fn replay_differential() {
    replay("differential");
}

#[test]
fn replay_buffers() {
    replay("buffers");
}
