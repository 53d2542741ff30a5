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

/// [`ct_eq`] for two 32-byte HMAC tags, compared as four 64-bit words.
///
/// # Security
/// Same guarantee as [`ct_eq`] (data-independent, [`subtle::ConstantTimeEq`], RFC 7518 §3.2):
/// the words are built from the bytes without branches and compared by `subtle`, with one
/// optimisation barrier per word instead of one per byte.
#[must_use]
pub(crate) fn tag_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let words = |t: &[u8; 32]| {
        let mut w = [0u64; 4];
        for (w, c) in w.iter_mut().zip(t.chunks_exact(8)) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(c);
            *w = u64::from_le_bytes(bytes);
        }
        w
    };
    words(a).ct_eq(&words(b)).into()
}

/// An HMAC-SHA256 tag (RFC 2104), as [`Key::mac`](crate::Key::mac) computes it.
///
/// # Security
/// `==` is constant time ([`ConstantTimeEq`]): data-independent, as for [`ct_eq`]. The tag of a
/// token is secret until the token is published; `Debug` does not print it. The bytes are
/// available ([`Tag::as_bytes`], `AsRef<[u8]>`) for encoding; compare them only through this type.
#[derive(Clone, Copy)]
pub struct Tag([u8; 32]);

impl Tag {
    /// The tag with these bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 tag bytes, for encoding (the signature segment is their base64url).
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl AsRef<[u8]> for Tag {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl ConstantTimeEq for Tag {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for Tag {
    fn eq(&self, other: &Self) -> bool {
        tag_eq(&self.0, &other.0)
    }
}

impl Eq for Tag {}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tag(..)")
    }
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
    fn tag_eq_matches_ct_eq_for_every_single_byte_change() {
        let a: [u8; 32] = core::array::from_fn(|i| u8::try_from(i).unwrap().wrapping_mul(37));
        assert!(tag_eq(&a, &a));
        for i in 0..32 {
            for bit in 0..8 {
                let mut b = a;
                b[i] ^= 1 << bit;
                assert!(!tag_eq(&a, &b), "byte {i} bit {bit}");
                assert_eq!(tag_eq(&a, &b), ct_eq(&a, &b));
            }
        }
    }

    #[test]
    fn tag_compares_by_value_and_debug_hides_it() {
        let a = Tag::from_bytes([7; 32]);
        let mut bytes = [7; 32];
        bytes[31] = 8;
        assert_eq!(a, Tag::from_bytes([7; 32]));
        assert_ne!(a, Tag::from_bytes(bytes));
        assert!(bool::from(a.ct_eq(&Tag::from_bytes([7; 32]))));
        assert_eq!(a.as_ref(), &[7; 32]);
        let mut out = heapless::String::<16>::new();
        fmt::write(&mut out, format_args!("{a:?}")).unwrap();
        assert_eq!(out.as_str(), "Tag(..)");
    }

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
