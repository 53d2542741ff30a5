//! HMAC-SHA256 keys with precomputed state, and a fixed-capacity key ring selected by `kid`.

use core::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{header, Error, Tag};

/// Shortest secret accepted: a key of the same size as the hash output (RFC 7518 §3.2).
pub const MIN_SECRET_LEN: usize = 32;
/// Longest key id accepted.
pub const MAX_KID_LEN: usize = 64;
/// Length of an HS256 signature segment: 32 bytes in unpadded base64url.
pub const SIGNATURE_B64_LEN: usize = 43;

/// An HS256 signing and verification key.
///
/// [`Key::new`] runs the HMAC key schedule once (the inner and outer SHA-256 states after the
/// padded key block, RFC 2104 §2), so signing or verifying a token costs no key set-up. The key
/// also holds the base64url header it signs with, which verification uses as a fast path.
///
/// # Security
/// `Debug` prints the key id only. With the `zeroize` feature the HMAC states are wiped on drop.
#[derive(Clone)]
pub struct Key {
    mac: Hmac<Sha256>,
    kid: heapless::String<MAX_KID_LEN>,
    header: heapless::String<{ header::B64_CAP }>,
}

impl Key {
    /// A key without a key id.
    ///
    /// # Errors
    /// [`Error::WeakKey`] if `secret` is shorter than [`MIN_SECRET_LEN`] bytes (RFC 7518 §3.2).
    ///
    /// # Examples
    /// ```
    /// let key = rotor_core::Key::new(b"a secret of at least thirty-two bytes!")?;
    /// assert_eq!(rotor_core::Key::new(b"short").unwrap_err(), rotor_core::Error::WeakKey);
    /// # Ok::<(), rotor_core::Error>(())
    /// ```
    pub fn new(secret: &[u8]) -> Result<Self, Error> {
        Self::build(secret, "")
    }

    /// A key that names itself `kid` in the header of every token it signs (RFC 7515 §4.1.4).
    ///
    /// # Errors
    /// [`Error::WeakKey`] as for [`Key::new`]; [`Error::InvalidKeyId`] if `kid` is empty, longer
    /// than [`MAX_KID_LEN`], or has characters outside printable ASCII or `"` or `\`.
    pub fn with_kid(secret: &[u8], kid: &str) -> Result<Self, Error> {
        if kid.is_empty() {
            return Err(Error::InvalidKeyId);
        }
        Self::build(secret, kid)
    }

    fn build(secret: &[u8], kid: &str) -> Result<Self, Error> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(Error::WeakKey);
        }
        if kid.len() > MAX_KID_LEN
            || !kid
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(Error::InvalidKeyId);
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| Error::WeakKey)?;
        let header = header::encoded(kid)?;
        let mut kid_s = heapless::String::new();
        kid_s.push_str(kid).map_err(|()| Error::InvalidKeyId)?;
        Ok(Self {
            mac,
            kid: kid_s,
            header,
        })
    }

    /// The key id, if the key has one.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        if self.kid.is_empty() {
            None
        } else {
            Some(&self.kid)
        }
    }

    /// The base64url JOSE header this key signs with.
    #[must_use]
    pub fn header_b64(&self) -> &str {
        &self.header
    }

    /// HMAC-SHA256 of `data` (RFC 2104), from the precomputed state.
    ///
    /// # Security
    /// The tag is a [`Tag`], whose `==` is constant time ([`subtle::ConstantTimeEq`]), so
    /// checking a tag received from elsewhere does not leak how many bytes matched. To check a
    /// token, use [`verify`](crate::verify), which also checks the header and claims.
    ///
    /// # Examples
    /// ```
    /// let key = rotor_core::Key::new(b"a secret of at least thirty-two bytes!")?;
    /// assert_eq!(key.mac(b"header.payload"), key.mac(b"header.payload"));
    /// assert_ne!(key.mac(b"header.payload"), key.mac(b"header.payloaD"));
    /// # Ok::<(), rotor_core::Error>(())
    /// ```
    #[must_use]
    pub fn mac(&self, data: &[u8]) -> Tag {
        let mut m = self.mac.clone();
        m.update(data);
        Tag::from_bytes(m.finalize().into_bytes().into())
    }

    /// The HS256 signature segment for `signing_input`: the tag in unpadded base64url.
    pub(crate) fn signature_b64(&self, signing_input: &[u8]) -> [u8; SIGNATURE_B64_LEN] {
        let tag = self.mac(signing_input);
        let mut out = [0u8; SIGNATURE_B64_LEN];
        // 32 bytes always encode to exactly 43 characters, so this cannot fail.
        let _ = Base64UrlUnpadded::encode(tag.as_bytes(), &mut out);
        out
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

impl AsRef<[Key]> for Key {
    fn as_ref(&self) -> &[Key] {
        core::slice::from_ref(self)
    }
}

/// Up to `N` keys, for rotating secrets without logging everyone out.
///
/// The first key pushed is the primary: it signs. Every key verifies; the token's `kid` header
/// selects which (RFC 7515 §4.1.4). Key ids are unique within a ring.
///
/// # Examples
/// ```
/// use rotor_core::{Key, KeyRing};
/// let mut ring = KeyRing::<2>::new();
/// ring.push(Key::with_kid(b"the new secret, at least 32 bytes long", "2026-11")?)?;
/// ring.push(Key::with_kid(b"the old secret, at least 32 bytes long", "2026-10")?)?;
/// assert_eq!(ring.primary().and_then(|k| k.kid()), Some("2026-11"));
/// # Ok::<(), rotor_core::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct KeyRing<const N: usize> {
    keys: heapless::Vec<Key, N>,
}

impl<const N: usize> KeyRing<N> {
    /// An empty ring.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            keys: heapless::Vec::new(),
        }
    }

    /// Adds a key; the first one added signs.
    ///
    /// # Errors
    /// [`Error::DuplicateKeyId`] if the ring already has a key with this id (or, for a key
    /// without an id, a key without one); [`Error::KeyRingFull`] if it holds `N` keys.
    pub fn push(&mut self, key: Key) -> Result<(), Error> {
        if self.keys.iter().any(|k| k.kid == key.kid) {
            return Err(Error::DuplicateKeyId);
        }
        self.keys.push(key).map_err(|_| Error::KeyRingFull)
    }

    /// The signing key: the first one pushed.
    #[must_use]
    pub fn primary(&self) -> Option<&Key> {
        self.keys.first()
    }

    /// The key with this id.
    #[must_use]
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid.as_str() == kid)
    }
}

impl<const N: usize> AsRef<[Key]> for KeyRing<N> {
    fn as_ref(&self) -> &[Key] {
        &self.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// RFC 4231 §4: (key, data, HMAC-SHA-256). Cases 1–4 and 6–7 use keys shorter or longer than
    /// a block; `Key::new` refuses the short ones, so those go through the same HMAC state type.
    fn rfc4231_mac(key: &[u8], data: &[u8]) -> [u8; 32] {
        match Key::new(key) {
            Ok(k) => *k.mac(data).as_bytes(),
            Err(_) => {
                let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
                m.update(data);
                m.finalize().into_bytes().into()
            }
        }
    }

    #[test]
    fn rfc4231_case_1() {
        assert_eq!(
            rfc4231_mac(&[0x0b; 20], b"Hi There"),
            hex!("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        );
    }

    #[test]
    fn rfc4231_case_2() {
        assert_eq!(
            rfc4231_mac(b"Jefe", b"what do ya want for nothing?"),
            hex!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    #[test]
    fn rfc4231_case_3() {
        assert_eq!(
            rfc4231_mac(&[0xaa; 20], &[0xdd; 50]),
            hex!("773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")
        );
    }

    #[test]
    fn rfc4231_case_4() {
        assert_eq!(
            rfc4231_mac(
                &hex!("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                &[0xcd; 50]
            ),
            hex!("82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")
        );
    }

    #[test]
    fn rfc4231_case_5_truncated() {
        let tag = rfc4231_mac(&[0x0c; 20], b"Test With Truncation");
        assert_eq!(tag[..16], hex!("a3b6167473100ee06e0c796c2955552b"));
    }

    #[test]
    fn rfc4231_case_6() {
        assert_eq!(
            *Key::new(&[0xaa; 131])
                .unwrap()
                .mac(b"Test Using Larger Than Block-Size Key - Hash Key First")
                .as_bytes(),
            hex!("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        );
    }

    #[test]
    fn rfc4231_case_7() {
        assert_eq!(
            *Key::new(&[0xaa; 131]).unwrap().mac(
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
            ).as_bytes(),
            hex!("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
        );
    }

    #[test]
    fn weak_keys_and_bad_kids_are_refused() {
        assert_eq!(Key::new(&[7; 31]).unwrap_err(), Error::WeakKey);
        assert!(Key::new(&[7; 32]).is_ok());
        for kid in [
            "",
            "a\"b",
            "a\\b",
            "tab\t",
            "é",
            &"k".repeat(MAX_KID_LEN + 1),
        ] {
            assert_eq!(
                Key::with_kid(&[7; 32], kid).unwrap_err(),
                Error::InvalidKeyId,
                "{kid:?}"
            );
        }
        assert!(Key::with_kid(&[7; 32], &"k".repeat(MAX_KID_LEN)).is_ok());
    }

    #[test]
    fn debug_shows_no_secret() {
        let key = Key::with_kid(&[0x41; 40], "k1").unwrap();
        let mut out = heapless::String::<128>::new();
        fmt::write(&mut out, format_args!("{key:?}")).unwrap();
        assert_eq!(out.as_str(), r#"Key { kid: Some("k1"), .. }"#);
    }

    #[test]
    fn ring_rejects_duplicates_and_overflow() {
        let mut ring = KeyRing::<2>::new();
        ring.push(Key::with_kid(&[1; 32], "a").unwrap()).unwrap();
        assert_eq!(
            ring.push(Key::with_kid(&[2; 32], "a").unwrap()),
            Err(Error::DuplicateKeyId)
        );
        ring.push(Key::with_kid(&[2; 32], "b").unwrap()).unwrap();
        assert_eq!(
            ring.push(Key::with_kid(&[3; 32], "c").unwrap()),
            Err(Error::KeyRingFull)
        );
        assert_eq!(ring.get("b").and_then(Key::kid), Some("b"));
        assert!(ring.get("c").is_none());
        let mut unnamed = KeyRing::<3>::new();
        unnamed.push(Key::new(&[1; 32]).unwrap()).unwrap();
        assert_eq!(
            unnamed.push(Key::new(&[2; 32]).unwrap()),
            Err(Error::DuplicateKeyId)
        );
        unnamed.push(Key::with_kid(&[2; 32], "a").unwrap()).unwrap();
    }
}
