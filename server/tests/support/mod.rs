//! Support shared by the server's test binaries (`it`, `cli`), included with `#[path]`.

pub mod db;
