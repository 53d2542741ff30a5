//! Signing into a caller-provided buffer.

use serde::Serialize;

use crate::b64;
use crate::key::SIGNATURE_B64_LEN;
use crate::{Error, Key};

/// Signs `claims` as a compact HS256 JWS (RFC 7515 §7.1, RFC 7519 §7.1) into `buf`.
///
/// The header is `{"alg":"HS256","typ":"JWT"}`, plus `kid` when the key has one. Signing is
/// deterministic: the same key and claims always give the same token.
///
/// # Errors
/// [`Error::BufferTooSmall`] if the token does not fit (nothing is truncated);
/// [`Error::InvalidClaims`] if `claims` cannot be serialised as JSON (for [`Claims`](crate::Claims),
/// also when a date is above `i64::MAX`, which verification refuses).
///
/// # Examples
/// ```
/// use rotor_core::{sign, Claims, Key};
/// let key = Key::new(b"a secret of at least thirty-two bytes!")?;
/// let mut buf = [0u8; 256];
/// let token = sign(&key, &Claims { sub: Some("42"), exp: Some(1_900_000_000), ..Claims::default() }, &mut buf)?;
/// assert!(token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
/// # Ok::<(), rotor_core::Error>(())
/// ```
pub fn sign<'b, T: Serialize + ?Sized>(
    key: &Key,
    claims: &T,
    buf: &'b mut [u8],
) -> Result<&'b str, Error> {
    let header = key.header_b64().as_bytes();
    let body_start = header.len().checked_add(1).ok_or(Error::BufferTooSmall)?;

    // Serialise right after the header, then encode in place: base64 runs from the last group
    // to the first, so the growth by 4/3 only overwrites bytes already read (`encode_in_place`).
    let body = buf.get_mut(body_start..).ok_or(Error::BufferTooSmall)?;
    let json_len = crate::ser::to_slice(claims, body).map_err(|e| match e {
        crate::ser::Error::BufferFull => Error::BufferTooSmall,
        crate::ser::Error::Unsupported => Error::InvalidClaims,
    })?;
    // The claims are not secret (plain base64url in the token, RFC 7515 §7.1): the fast table
    // encoder is used.
    let encoded_len = b64::encode_in_place(body, json_len)?;
    let w = body_start
        .checked_add(encoded_len)
        .ok_or(Error::BufferTooSmall)?;
    let sig_start = w.checked_add(1).ok_or(Error::BufferTooSmall)?;
    let total = sig_start
        .checked_add(SIGNATURE_B64_LEN)
        .ok_or(Error::BufferTooSmall)?;
    if buf.len() < total {
        return Err(Error::BufferTooSmall);
    }
    buf.get_mut(..header.len())
        .ok_or(Error::BufferTooSmall)?
        .copy_from_slice(header);
    *buf.get_mut(header.len()).ok_or(Error::BufferTooSmall)? = b'.';

    *buf.get_mut(w).ok_or(Error::BufferTooSmall)? = b'.';
    let signature = key.signature_b64(buf.get(..w).ok_or(Error::BufferTooSmall)?);
    buf.get_mut(sig_start..total)
        .ok_or(Error::BufferTooSmall)?
        .copy_from_slice(&signature);
    core::str::from_utf8(buf.get(..total).ok_or(Error::BufferTooSmall)?)
        .map_err(|_| Error::InvalidClaims)
}
