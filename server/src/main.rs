//! The standalone Rotor server and its command line: `cargo run -p rotor-server -- --help`.
//! With no sub-command it runs the server, as `rotor-server serve` does.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    cli::run(cli::Cli::parse())
}
