//! Shared helpers for Rotor's cross-crate tests.
