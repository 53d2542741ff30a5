//! Writes the hand-made seed corpora under `fuzz/corpus/<target>/`, keeping `found-*` files.
//!
//! `cargo run -p rotor-fuzz-harness --bin make-seeds`; run it again after changing the secrets,
//! the input layouts or the seed list in `src/seeds.rs`.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    match rotor_fuzz_harness::seeds::write(&corpus) {
        Ok(()) => {
            println!(
                "wrote {} seeds under {}",
                rotor_fuzz_harness::seeds::all().len(),
                corpus.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make-seeds: cannot write {}: {e}", corpus.display());
            ExitCode::FAILURE
        }
    }
}
