//! The committed seed corpora are exactly what `make-seeds` writes (plus `found-*` files), so
//! the generator and the files cannot drift apart.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use rotor_fuzz_harness::seeds::{all, FOUND_PREFIX};

#[test]
fn committed_seeds_are_what_make_seeds_writes() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let seeds = all();
    let mut want = BTreeSet::new();
    for seed in &seeds {
        let path = corpus.join(seed.target).join(&seed.name);
        let got = fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run `cargo run -p rotor-fuzz-harness --bin make-seeds`)",
                path.display()
            )
        });
        assert!(
            got == seed.data,
            "{} differs from make-seeds",
            path.display()
        );
        assert!(
            want.insert((seed.target, seed.name.clone())),
            "{}/{} twice",
            seed.target,
            seed.name
        );
    }
    for (target, _) in rotor_fuzz_harness::TARGETS {
        for entry in fs::read_dir(corpus.join(target)).expect("corpus directory") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            assert!(
                name.starts_with(FOUND_PREFIX) || want.contains(&(*target, name.clone())),
                "fuzz/corpus/{target}/{name} is neither a found-* file nor a make-seeds seed"
            );
        }
    }
}
