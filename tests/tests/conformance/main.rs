//! Conformance tests for rotor-core, one binary with a module per source or property:
//! known answers (RFC 7515, Wycheproof), claim round-trips, malformed-input tables,
//! interoperability with `jsonwebtoken`, and property tests.

mod interop;
mod malformed;
mod props;
mod rfc7515;
mod roundtrip;
mod wycheproof;
