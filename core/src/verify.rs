//! Strict verification: size → structure → header → MAC → claims.

use serde::Deserialize;

use crate::json;
use crate::{b64, claims, header, Error, Key, RegisteredClaims, Validation, SIGNATURE_B64_LEN};

/// A token whose signature and claims have been checked.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified<'s, T = ()> {
    /// The registered claims, borrowed from the scratch buffer.
    pub claims: RegisteredClaims<'s>,
    /// The caller's own claims type (see [`verify_with`]).
    pub custom: T,
    /// Index, in the key slice or ring, of the key that verified the token.
    pub key_index: usize,
}

/// Scratch bytes that [`verify`], [`verify_with`] and [`inspect`] need for a token of
/// `token_len` bytes.
///
/// A payload of `P` bytes (at most 3/4 of the token) needs `P` for itself, up to `P` more for
/// the unescaped `iss`, `sub` and `jti`, and, in [`verify_with`], up to `P` again for the longest
/// string the caller's type unescapes (which may be one of those three, read a second time).
#[must_use]
pub const fn scratch_len(token_len: usize) -> usize {
    (token_len / 4).saturating_add(1).saturating_mul(9)
}

/// Verifies an HS256 token and checks its registered claims.
///
/// `keys` is one [`Key`], a [`KeyRing`](crate::KeyRing) or a slice of keys. `now` is the current
/// Unix time in seconds (the core has no clock). `scratch` receives the decoded payload;
/// [`scratch_len`] of the token's length is always enough.
///
/// Checks, in this order, with nothing from the payload trusted before the MAC matches
/// (RFC 8725 §3.1, §3.3; RFC 7519 §7.2): length; three non-empty segments; the header (a byte-for-byte match
/// with a header one of `keys` emits, or else the strict parser, see below); the HMAC tag: the
/// signature segment must be canonical unpadded base64url of 32 bytes, which are compared in
/// constant time with the expected tag; then the claims (RFC 7519 §7.2).
///
/// Header rules: `alg` exactly `HS256`; no `crit`, no `b64` other than `true`; no `enc` or
/// `zip` (a JWE, RFC 7516 §9); `typ` absent,
/// `JWT`, `application/jwt` (any case) or one of [`Validation::extra_types`]; unique members;
/// `kid` selects the key, and a header without `kid` uses the first key without one.
///
/// # Errors
/// The first failed check, as an [`Error`].
///
/// # Examples
/// ```
/// use rotor_core::{sign, verify, Claims, Key, Validation};
/// let key = Key::new(b"a secret of at least thirty-two bytes!")?;
/// let mut buf = [0u8; 256];
/// let token = sign(&key, &Claims { sub: Some("42"), exp: Some(2_000), ..Claims::default() }, &mut buf)?;
/// let mut scratch = [0u8; 256];
/// let ok = verify(token, &key, &Validation::new(), 1_000, &mut scratch)?;
/// assert_eq!(ok.claims.sub, Some("42"));
/// assert_eq!(verify(token, &key, &Validation::new(), 3_000, &mut scratch).unwrap_err(), rotor_core::Error::Expired);
/// # Ok::<(), rotor_core::Error>(())
/// ```
pub fn verify<'s, K: AsRef<[Key]> + ?Sized>(
    token: &str,
    keys: &K,
    validation: &Validation<'_>,
    now: u64,
    scratch: &'s mut [u8],
) -> Result<Verified<'s>, Error> {
    let (claims, key_index, _, _) = verify_parts(token, keys.as_ref(), validation, now, scratch)?;
    Ok(Verified {
        claims,
        custom: (),
        key_index,
    })
}

/// Like [`verify`], and also deserialises the payload into the caller's type `T`.
///
/// `T` borrows from `scratch`. Unknown claims of any shape are skipped; string escapes are
/// decoded, so `&str` fields see the text `serde_json` would give. A string that still holds
/// `"`, `\` or a control character after decoding cannot be borrowed: give such fields an owned
/// type such as `heapless::String<N>`.
///
/// # Errors
/// As [`verify`]; [`Error::InvalidClaims`] when `T` does not accept the payload.
///
/// # Panics
/// Never for types made of structs, strings, numbers, booleans, options, sequences and
/// string-keyed maps. `serde-json-core` 0.7 panics on a map whose keys are not strings (say
/// `heapless::LinearMap<u32, _>`), once the MAC has matched: do not give `T` such a map
/// (upstream: rust-embedded-community/serde-json-core#48, open).
pub fn verify_with<'s, T: Deserialize<'s>, K: AsRef<[Key]> + ?Sized>(
    token: &str,
    keys: &K,
    validation: &Validation<'_>,
    now: u64,
    scratch: &'s mut [u8],
) -> Result<Verified<'s, T>, Error> {
    let (claims, key_index, payload, rest) =
        verify_parts(token, keys.as_ref(), validation, now, scratch)?;
    let (custom, _) = serde_json_core::from_slice_escaped(payload, rest).map_err(|e| match e {
        serde_json_core::de::Error::EscapedStringIsTooLong => Error::BufferTooSmall,
        _ => Error::InvalidClaims,
    })?;
    Ok(Verified {
        claims,
        custom,
        key_index,
    })
}

/// A token's header and payload, decoded but NOT verified.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unverified<'s> {
    /// The header as canonical JSON (whitespace removed, escapes in one spelling).
    pub header: &'s str,
    /// The payload as canonical JSON.
    pub payload: &'s str,
}

/// Decodes a token's header and payload without checking anything but their form.
///
/// # Security
/// Nothing returned here is authenticated. Use it for debugging and display only.
///
/// # Errors
/// [`Error::Malformed`], [`Error::InvalidBase64`], [`Error::InvalidJson`], [`Error::BufferTooSmall`].
pub fn inspect<'s>(token: &str, scratch: &'s mut [u8]) -> Result<Unverified<'s>, Error> {
    let (h_seg, p_seg, _) = split(token)?;
    inspect_segments(h_seg, p_seg, scratch).map_err(|e| malformed_or(p_seg, e))
}

fn inspect_segments<'s>(
    h_seg: &[u8],
    p_seg: &[u8],
    scratch: &'s mut [u8],
) -> Result<Unverified<'s>, Error> {
    let (header, rest) = decode_object(h_seg, scratch, None)?;
    let (payload, _) = decode_object(p_seg, rest, None)?;
    let text = |b| core::str::from_utf8(b).map_err(|_| Error::InvalidJson);
    Ok(Unverified {
        header: text(header)?,
        payload: text(payload)?,
    })
}

type Segments<'t> = (&'t [u8], &'t [u8], &'t [u8]);

/// Splits a compact JWS at its first and last dots into header, payload and signature segments.
///
/// A token with more than three segments leaves a dot in the payload. That is not looked for
/// here, which would scan the whole payload of every token: a dot is not base64url, so such a
/// token always fails a later step (decoding the payload at the latest), and [`malformed_or`]
/// then reports it as [`Error::Malformed`], the same error as for two segments.
fn split(token: &str) -> Result<Segments<'_>, Error> {
    // `str::split_once` and `rsplit_once` with a `char` find the dots with a word-at-a-time search.
    let (h, rest) = token.split_once('.').ok_or(Error::Malformed)?;
    let (p, s) = rest.rsplit_once('.').ok_or(Error::Malformed)?;
    let (h, p, s) = (h.as_bytes(), p.as_bytes(), s.as_bytes());
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err(Error::Malformed);
    }
    Ok((h, p, s))
}

/// `err`, or [`Error::Malformed`] when the payload segment holds a dot: the token then has more
/// than three segments (RFC 7515 §7.1), which is the first thing wrong with it.
fn malformed_or(p_seg: &[u8], err: Error) -> Error {
    if p_seg.contains(&b'.') {
        Error::Malformed
    } else {
        err
    }
}

/// Decodes a base64url segment into the front of `buf` and canonicalises it as a JSON object.
/// Returns the canonical text and the unused rest of `buf`; records the members in `index`
/// when given.
fn decode_object<'s>(
    segment: &[u8],
    buf: &'s mut [u8],
    index: Option<&mut json::Index>,
) -> Result<(&'s [u8], &'s mut [u8]), Error> {
    // Header and payload are not secret (plain base64url in the compact form, RFC 7515 §7.1), so the fast table decoder is used; it
    // is as strict as `base64ct`. A 4k+1 length (never canonical) fails in `decode`.
    // Unpadded base64: 4 characters per 3 bytes, and a 2- or 3-character tail for 1 or 2 bytes.
    let needed = (segment.len() / 4)
        .saturating_mul(3)
        .saturating_add((segment.len() % 4).saturating_sub(1));
    if buf.len() < needed {
        return Err(Error::BufferTooSmall);
    }
    let n = b64::decode(segment, &mut *buf)?;
    let (text, rest) = buf.split_at_mut(n);
    let len = match index {
        // Tokens from ordinary signers are already canonical: validated and indexed in one pass.
        Some(index) => {
            if json::index_plain_object(text, index) {
                text.len()
            } else {
                json::normalize_object_indexed(text, index)?
            }
        }
        None => json::normalize_object(text)?,
    };
    let text: &'s [u8] = text;
    Ok((text.get(..len).ok_or(Error::InvalidJson)?, rest))
}

type Parts<'s> = (RegisteredClaims<'s>, usize, &'s [u8], &'s mut [u8]);

fn verify_parts<'s>(
    token: &str,
    keys: &[Key],
    validation: &Validation<'_>,
    now: u64,
    scratch: &'s mut [u8],
) -> Result<Parts<'s>, Error> {
    if token.len() > validation.max_token_len {
        return Err(Error::TooLarge);
    }
    let (h_seg, p_seg, s_seg) = split(token)?;
    verify_segments(token, (h_seg, p_seg, s_seg), keys, validation, now, scratch)
        .map_err(|e| malformed_or(p_seg, e))
}

fn verify_segments<'s>(
    token: &str,
    (h_seg, p_seg, s_seg): Segments<'_>,
    keys: &[Key],
    validation: &Validation<'_>,
    now: u64,
    scratch: &'s mut [u8],
) -> Result<Parts<'s>, Error> {
    let signing_input = token
        .as_bytes()
        .get(..h_seg.len().wrapping_add(1).wrapping_add(p_seg.len()))
        .ok_or(Error::Malformed)?;

    let key_index = match keys.iter().position(|k| k.header_b64().as_bytes() == h_seg) {
        Some(i) => i,
        None => select_key(h_seg, keys, validation, scratch)?,
    };
    let key = keys.get(key_index).ok_or(Error::UnknownKeyId)?;
    // RFC 7515 §5.2 step 7: decode the signature segment. It is the sender's input, not a
    // secret, so the strict table decoder serves (a non-canonical segment never decodes); the
    // expected tag is never encoded or looked up in a table, and the two tags are compared in
    // constant time (RFC 7518 §3.2). Both steps always run, so a malformed segment costs the
    // same as a wrong one.
    let mut tag = [0u8; 32];
    let well_formed = s_seg.len() == SIGNATURE_B64_LEN && b64::decode(s_seg, &mut tag) == Ok(32);
    let matches = crate::ct::tag_eq(key.mac(signing_input).as_bytes(), &tag);
    if !(well_formed && matches) {
        return Err(Error::BadSignature);
    }

    let mut index = json::Index::new();
    let (payload, arena) = decode_object(p_seg, scratch, Some(&mut index))?;
    let (claims, arena) = claims::registered_claims(payload, &index, arena)?;
    claims::check_claims(&claims, validation, now)?;
    Ok((claims, key_index, payload, arena))
}

/// The strict path for headers this key set did not write itself.
fn select_key(
    h_seg: &[u8],
    keys: &[Key],
    validation: &Validation<'_>,
    scratch: &mut [u8],
) -> Result<usize, Error> {
    let (text, _) = decode_object(h_seg, scratch, None)?;
    let header = header::parse(text, validation)?;
    keys.iter()
        .position(|k| k.kid().map(str::as_bytes) == header.kid)
        .ok_or(Error::UnknownKeyId)
}
