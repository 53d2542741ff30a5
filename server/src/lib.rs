//! Rocket service for refresh-token rotation, built on `rotor-core` (work in progress).
