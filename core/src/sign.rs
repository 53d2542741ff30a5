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
/// [`Error::InvalidClaims`] if `claims` cannot be serialised as JSON.
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
    const CHUNK: usize = 48; // a multiple of 3 encodes to whole base64 quanta
    let header = key.header_b64().as_bytes();
    let body_start = header.len().checked_add(1).ok_or(Error::BufferTooSmall)?;

    // Serialise right after the header, then move the JSON to the end of the buffer and encode it
    // forward in chunks. The encoded text grows by 4/3, but the token's own length leaves room
    // for the write position never to reach bytes not yet read.
    let json_len = crate::ser::to_slice(
        claims,
        buf.get_mut(body_start..).ok_or(Error::BufferTooSmall)?,
    )
    .map_err(|e| match e {
        crate::ser::Error::BufferFull => Error::BufferTooSmall,
        crate::ser::Error::Unsupported => Error::InvalidClaims,
    })?;
    let encoded_len = b64::encoded_len(json_len).ok_or(Error::BufferTooSmall)?;
    let sig_start = body_start
        .checked_add(encoded_len)
        .and_then(|n| n.checked_add(1))
        .ok_or(Error::BufferTooSmall)?;
    let total = sig_start
        .checked_add(SIGNATURE_B64_LEN)
        .ok_or(Error::BufferTooSmall)?;
    if buf.len() < total {
        return Err(Error::BufferTooSmall);
    }
    let tail = buf.len().wrapping_sub(json_len);
    buf.copy_within(body_start..body_start.wrapping_add(json_len), tail);

    buf.get_mut(..header.len())
        .ok_or(Error::BufferTooSmall)?
        .copy_from_slice(header);
    *buf.get_mut(header.len()).ok_or(Error::BufferTooSmall)? = b'.';

    let mut r = tail;
    let mut w = body_start;
    while r < buf.len() {
        let take = CHUNK.min(buf.len().wrapping_sub(r));
        let mut chunk = [0u8; CHUNK];
        let chunk = chunk.get_mut(..take).ok_or(Error::BufferTooSmall)?;
        chunk.copy_from_slice(
            buf.get(r..r.wrapping_add(take))
                .ok_or(Error::BufferTooSmall)?,
        );
        let out = buf.get_mut(w..).ok_or(Error::BufferTooSmall)?;
        // The claims are not secret (RFC 7515 §5.1): the fast table encoder is used.
        w = w.wrapping_add(b64::encode(chunk, out)?);
        r = r.wrapping_add(take);
    }

    *buf.get_mut(w).ok_or(Error::BufferTooSmall)? = b'.';
    let signature = key.signature_b64(buf.get(..w).ok_or(Error::BufferTooSmall)?);
    buf.get_mut(sig_start..total)
        .ok_or(Error::BufferTooSmall)?
        .copy_from_slice(&signature);
    core::str::from_utf8(buf.get(..total).ok_or(Error::BufferTooSmall)?)
        .map_err(|_| Error::InvalidClaims)
}
