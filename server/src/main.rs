//! The standalone Rotor server and its command line: `cargo run -p rotor-server -- --help`.
//! With no sub-command it runs the server, as `rotor-server serve` does.

use clap::Parser;

fn main() -> std::process::ExitCode {
    rotor_server::cli::run(rotor_server::cli::Cli::parse())
}
