//! The `rotor-server` command line: `serve` (the default), `migrate`, `secret generate`,
//! `token sign|verify|inspect`, `user add` and `session revoke`.
//!
//! Exit codes: 0 success; 1 an invalid token, a failed check, or an operation that could not be
//! done (database unreachable, user taken…); 2 a usage error (bad flag, bad secret). Errors are
//! one line on standard error that says what to do.

mod db;
mod input;
mod secret;
mod token;

use std::fmt;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Rotor: login sessions with refresh-token rotation. With no command, runs the server.
#[derive(Debug, Parser)]
#[command(
    name = "rotor-server",
    version,
    after_help = "Exit codes: 0 success; 1 invalid token, failed check or failed operation; 2 usage error.\n\
                  Configuration (database URL, secrets, password cost) comes from Rocket.toml and \
                  ROCKET_* variables, as for the server."
)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default): configuration from Rocket.toml and ROCKET_* variables.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate(db::MigrateArgs),
    /// Secrets for signing tokens.
    #[command(subcommand)]
    Secret(secret::SecretCommand),
    /// Sign, verify or inspect HS256 tokens (JWT).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Manage users.
    #[command(subcommand)]
    User(db::UserCommand),
    /// Manage login sessions.
    #[command(subcommand)]
    Session(db::SessionCommand),
}

/// Where the database commands find the database.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// Database URL (`sqlite://path` or `postgres://user:pass@host/db`); overrides
    /// `databases.rotor.url` from Rocket.toml / ROCKET_DATABASES.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// Exit status of a command that did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Exit code 1: invalid token, failed check, or an operation that could not be done.
    Failed,
    /// Exit code 2: the command line is wrong (a flag's value, a secret).
    Usage,
}

/// A one-line error for a person, and the exit code that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// Which exit code.
    pub failure: Failure,
    /// What went wrong and, where possible, what to do about it.
    pub message: String,
}

impl CliError {
    /// An error with exit code 1.
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            failure: Failure::Failed,
            message: message.into(),
        }
    }

    /// An error with exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            failure: Failure::Usage,
            message: message.into(),
        }
    }

    /// The process exit code.
    #[must_use]
    pub fn exit_code(&self) -> ExitCode {
        match self.failure {
            Failure::Failed => ExitCode::from(1),
            Failure::Usage => ExitCode::from(2),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the underlying error put in it.
        let one_line: String = self
            .message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        f.write_str(&one_line)
    }
}

/// What a command ended with: exit code 0, or a [`CliError`] already reported.
pub type Outcome = Result<(), CliError>;

/// Runs the parsed command line and returns the process exit code.
#[must_use]
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        None | Some(Command::Serve) => {
            serve();
            Ok(())
        }
        Some(Command::Migrate(args)) => db::migrate(&args),
        Some(Command::Secret(cmd)) => secret::run(&cmd),
        Some(Command::Token(cmd)) => token::run(cmd),
        Some(Command::User(cmd)) => db::user(cmd),
        Some(Command::Session(cmd)) => db::session(&cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Runs the server exactly as `#[rocket::launch]` does: a launch error is reported by Rocket
/// (and aborts the process, as before).
fn serve() {
    let _ = rocket::execute(rotor_server::rocket().launch());
}
