//! Table-driven, strictly canonical unpadded base64url (RFC 4648 §5) for NON-secret data.
//!
//! The header and payload segments of a JWS are public: anyone holding the token can read them,
//! since the compact serialization carries them as plain base64url (RFC 7515 §7.1; a JWS gives
//! integrity, not confidentiality), so decoding and encoding them need not be constant time, and a
//! lookup table is several times faster than `base64ct`. So is the signature segment of a token
//! being verified: it is the sender's input. The HMAC tag a key computes is different: it is
//! secret until published, so signing encodes it with constant-time `base64ct`
//! (`Key::signature_b64`), and verifying never encodes it but compares it, in constant time,
//! with the decoded signature segment.
//!
//! Decoding is exactly as strict as `base64ct`: only the 64 base64url characters, no padding, no
//! length of the form `4k + 1`, and the unused low bits of the last character must be zero, so each
//! byte string has one encoding only (RFC 4648 §3.5; RFC 7515 §2: no padding, no line breaks).

use crate::Error;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Marks a byte outside the alphabet; any value with a bit above the low six works.
const INVALID: u8 = 0xff;

/// Character → 6-bit value, or [`INVALID`].
// Evaluated at compile time, where an out-of-range index or overflow is a build error.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const DECODE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0u8;
    while i < 64 {
        t[ALPHABET[i as usize] as usize] = i;
        i += 1;
    }
    t
};

fn sextet(c: u8) -> u32 {
    u32::from(DECODE.get(usize::from(c)).copied().unwrap_or(INVALID))
}

fn char_of(v: u32) -> u8 {
    ALPHABET.get((v & 0x3f) as usize).copied().unwrap_or(b'A')
}

/// Bytes that `encoded_len` base64url characters decode to; `None` if no canonical encoding has
/// that length.
pub(crate) const fn decoded_len(encoded_len: usize) -> Option<usize> {
    match encoded_len % 4 {
        1 => None,
        r => Some(
            (encoded_len / 4)
                .saturating_mul(3)
                .saturating_add(r.saturating_sub(1)),
        ),
    }
}

/// Characters needed to encode `len` bytes, or `None` on overflow.
pub(crate) const fn encoded_len(len: usize) -> Option<usize> {
    match (len / 3).checked_mul(4) {
        Some(full) => full.checked_add(match len % 3 {
            0 => 0,
            r => r.saturating_add(1),
        }),
        None => None,
    }
}

/// Decodes canonical unpadded base64url `src` into the front of `dst`; returns the bytes written.
///
/// # Errors
/// [`Error::InvalidBase64`] for any non-canonical input, [`Error::BufferTooSmall`] if `dst` is
/// shorter than [`decoded_len`].
pub(crate) fn decode(src: &[u8], dst: &mut [u8]) -> Result<usize, Error> {
    let len = decoded_len(src.len()).ok_or(Error::InvalidBase64)?;
    let dst = dst.get_mut(..len).ok_or(Error::BufferTooSmall)?;
    // Eight characters (six bytes) at a time, then the last 4-character groups and the tail.
    let octets = src.chunks_exact(8);
    let src = octets.remainder();
    let mut sextuples = dst.chunks_exact_mut(6);
    // OR of every sextet: a single INVALID anywhere sets bits above the low six.
    let mut bad = 0u32;
    for (o, out) in octets.zip(&mut sextuples) {
        let mut v = 0u64;
        for &c in o {
            let s = sextet(c);
            bad |= s;
            v = (v << 6) | u64::from(s);
        }
        out.copy_from_slice(&v.to_be_bytes()[2..]);
    }
    let dst = sextuples.into_remainder();
    let quads = src.chunks_exact(4);
    let tail = quads.remainder();
    let mut triples = dst.chunks_exact_mut(3);
    for (q, out) in quads.zip(&mut triples) {
        let (a, b, c, d) = match *q {
            [a, b, c, d] => (sextet(a), sextet(b), sextet(c), sextet(d)),
            _ => return Err(Error::InvalidBase64),
        };
        bad |= a | b | c | d;
        let v = (a << 18) | (b << 12) | (c << 6) | d;
        out.copy_from_slice(&v.to_be_bytes()[1..]);
    }
    let rest = triples.into_remainder();
    match (tail, rest) {
        ([], []) => {}
        (&[a, b], [x]) => {
            let (a, b) = (sextet(a), sextet(b));
            // Non-canonical if the 4 unused low bits of the last character are set.
            bad |= a | b | ((b & 0x0f) << 6);
            *x = ((a << 2) | (b >> 4)).to_be_bytes()[3];
        }
        (&[a, b, c], [x, y]) => {
            let (a, b, c) = (sextet(a), sextet(b), sextet(c));
            // Non-canonical if the 2 unused low bits of the last character are set.
            bad |= a | b | c | ((c & 0x03) << 6);
            let v = (a << 10) | (b << 4) | (c >> 2);
            [_, _, *x, *y] = v.to_be_bytes();
        }
        _ => return Err(Error::InvalidBase64),
    }
    if bad & !0x3f == 0 {
        Ok(len)
    } else {
        Err(Error::InvalidBase64)
    }
}

/// Encodes the first `len` bytes of `buf` as unpadded base64url, in place; returns the
/// characters written (from the front of `buf`).
///
/// Works from the last 3-byte group to the first: group `k`'s characters go to `4k..4k + 4`,
/// which is at or after its own bytes at `3k..3k + 3` and overlaps only bytes of later groups,
/// already read. So signing serialises the claims where their encoding goes, with no copy.
///
/// # Errors
/// [`Error::BufferTooSmall`] if `buf` is shorter than [`encoded_len`] of `len`.
pub(crate) fn encode_in_place(buf: &mut [u8], len: usize) -> Result<usize, Error> {
    let out_len = encoded_len(len).ok_or(Error::BufferTooSmall)?;
    let buf = buf.get_mut(..out_len).ok_or(Error::BufferTooSmall)?;
    let mut groups = len / 3;
    // The 1- or 2-byte tail, last in the input and last in the output.
    let (r, w) = (groups.wrapping_mul(3), groups.wrapping_mul(4));
    match len % 3 {
        1 => {
            let a = u32::from(*buf.get(r).ok_or(Error::BufferTooSmall)?);
            let out = buf
                .get_mut(w..w.wrapping_add(2))
                .ok_or(Error::BufferTooSmall)?;
            out.copy_from_slice(&[char_of(a >> 2), char_of(a << 4)]);
        }
        2 => {
            let v = match *buf.get(r..r.wrapping_add(2)).ok_or(Error::BufferTooSmall)? {
                [a, b] => u32::from_be_bytes([0, 0, a, b]),
                _ => return Err(Error::BufferTooSmall),
            };
            let out = buf
                .get_mut(w..w.wrapping_add(3))
                .ok_or(Error::BufferTooSmall)?;
            out.copy_from_slice(&[char_of(v >> 10), char_of(v >> 4), char_of(v << 2)]);
        }
        _ => {}
    }
    while groups > 0 {
        groups = groups.wrapping_sub(1);
        let (r, w) = (groups.wrapping_mul(3), groups.wrapping_mul(4));
        let v = match *buf.get(r..r.wrapping_add(3)).ok_or(Error::BufferTooSmall)? {
            [a, b, c] => u32::from_be_bytes([0, a, b, c]),
            _ => return Err(Error::BufferTooSmall),
        };
        let out = buf
            .get_mut(w..w.wrapping_add(4))
            .ok_or(Error::BufferTooSmall)?;
        out.copy_from_slice(&[
            char_of(v >> 18),
            char_of(v >> 12),
            char_of(v >> 6),
            char_of(v),
        ]);
    }
    Ok(out_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64UrlUnpadded, Encoding};
    use proptest::prelude::*;

    #[test]
    fn rfc4648_section10_vectors() {
        // RFC 4648 §10, without padding (identical in base64url for these inputs).
        let table: &[(&[u8], &str)] = &[
            (b"", ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (raw, text) in table {
            let mut enc = [0u8; 8];
            enc[..raw.len()].copy_from_slice(raw);
            let n = encode_in_place(&mut enc, raw.len()).unwrap();
            assert_eq!(&enc[..n], text.as_bytes());
            let mut dec = [0u8; 6];
            let n = decode(text.as_bytes(), &mut dec).unwrap();
            assert_eq!(&dec[..n], *raw);
        }
    }

    #[test]
    fn url_alphabet_and_rejections() {
        let mut out = [0u8; 8];
        assert_eq!(decode(b"-_-_", &mut out), Ok(3));
        assert_eq!(out[..3], [0xfb, 0xff, 0xbf]);
        let table: &[&[u8]] = &[
            b"Zg==",  // padding
            b"Zm9v=", // padding, 4k+1 length
            b"Z",     // 4k+1 length
            b"Zh",    // unused bits set
            b"Zm9",   // unused bits set
            b"Zm+v",  // standard alphabet
            b"Zm/v",  // standard alphabet
            b"Zm 9v", // whitespace
            b"Zm9v\n", b"Zm9\xc3",
        ];
        for input in table {
            assert_eq!(
                decode(input, &mut out),
                Err(Error::InvalidBase64),
                "{input:?}"
            );
        }
        assert_eq!(decode(b"Zm9vYg", &mut out[..3]), Err(Error::BufferTooSmall));
        out[..4].copy_from_slice(b"foob");
        assert_eq!(
            encode_in_place(&mut out[..5], 4),
            Err(Error::BufferTooSmall)
        );
    }

    proptest! {
        #[test]
        fn encode_matches_base64ct(raw in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut ours = [0u8; 300];
            ours[..raw.len()].copy_from_slice(&raw);
            let n = encode_in_place(&mut ours, raw.len()).unwrap();
            let mut theirs = [0u8; 300];
            let want = Base64UrlUnpadded::encode(&raw, &mut theirs).unwrap();
            prop_assert_eq!(&ours[..n], want.as_bytes());
        }

        /// Accepts exactly what `base64ct` accepts, with the same bytes: arbitrary strings over
        /// the alphabet plus a few foreign characters, so non-canonical tails come up often.
        #[test]
        fn decode_matches_base64ct(text in "[A-Za-z0-9_=+/. -]{0,90}") {
            let mut ours = [0u8; 90];
            let mut theirs = [0u8; 90];
            let got = decode(text.as_bytes(), &mut ours).map(|n| ours[..n].to_vec());
            let want = Base64UrlUnpadded::decode(text.as_bytes(), &mut theirs)
                .map(<[u8]>::to_vec)
                .map_err(|_| Error::InvalidBase64);
            prop_assert_eq!(got, want);
        }
    }
}
