//! Constant-time comparison and token fingerprints, built on `subtle`.

use core::fmt;

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// Compares two byte strings in time that does not depend on their contents.
///
/// # Security
/// Data-independent, not length-independent: strings of different lengths compare unequal at
/// once, since lengths of tokens and digests are public. For secrets, compare [`Fingerprint`]s,
/// whose length is fixed. Built on [`subtle::ConstantTimeEq`] (OWASP ASVS V6.2: no early exit
/// when comparing secrets).
///
/// # Examples
/// ```
/// assert!(rotor_core::ct_eq(b"token", b"token"));
/// assert!(!rotor_core::ct_eq(b"token", b"tokem"));
/// ```
#[must_use]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A SHA-256 fingerprint of a token, for keeping hashes at rest instead of bearer tokens.
///
/// A refresh token has at least 256 bits of entropy from its HMAC tag, so an unsalted SHA-256
/// is preimage-resistant for it (OWASP Session Management Cheat Sheet: store only hashes of
/// session identifiers). Equality is constant time.
///
/// # Examples
/// ```
/// use rotor_core::Fingerprint;
/// let stored = Fingerprint::of(b"header.payload.signature");
/// assert_eq!(Fingerprint::from_bytes(*stored.as_bytes()), stored);
/// assert_ne!(Fingerprint::of(b"header.payload.signaturf"), stored);
/// ```
#[derive(Clone, Copy)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `token`.
    #[must_use]
    pub fn of(token: &[u8]) -> Self {
        Self(Sha256::digest(token).into())
    }

    /// A fingerprint read back from storage.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 digest bytes, for storage.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl ConstantTimeEq for Fingerprint {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for Fingerprint {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Fingerprint {}

impl fmt::Debug for Fingerprint {
    /// Prints the first four bytes only: enough to correlate log lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fingerprint(")?;
        for b in self.0.iter().take(4) {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn fips180_sha256_abc() {
        assert_eq!(
            Fingerprint::of(b"abc").as_bytes(),
            &hex!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn ct_eq_table() {
        let table: &[(&[u8], &[u8], bool)] = &[
            (b"", b"", true),
            (b"a", b"a", true),
            (b"a", b"b", false),
            (b"ab", b"a", false),
            (b"a", b"", false),
            (&[0xff; 43], &[0xff; 43], true),
        ];
        for (a, b, want) in table {
            assert_eq!(ct_eq(a, b), *want, "{a:?} vs {b:?}");
        }
    }
}
