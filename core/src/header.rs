//! The JOSE header: the one this crate writes, and strict parsing of headers it did not write
//! itself.

use base64ct::{Base64UrlUnpadded, Encoding};

use crate::json::{self, Members};
use crate::{Error, Validation, MAX_KID_LEN};

/// `{"alg":"HS256","typ":"JWT","kid":""}` plus the longest kid, in base64url.
pub(crate) const B64_CAP: usize = (36 + MAX_KID_LEN).div_ceil(3) * 4;

/// The base64url header a key with this `kid` (empty: none) signs with.
pub(crate) fn encoded(kid: &str) -> Result<heapless::String<B64_CAP>, Error> {
    let mut json = [0u8; 36 + MAX_KID_LEN];
    let json = header_json(kid, &mut json)?;
    let mut b64 = [0u8; B64_CAP];
    let encoded = Base64UrlUnpadded::encode(json, &mut b64).map_err(|_| Error::InvalidKeyId)?;
    let mut header = heapless::String::new();
    header.push_str(encoded).map_err(|()| Error::InvalidKeyId)?;
    Ok(header)
}

/// Writes `{"alg":"HS256","typ":"JWT"}`, with `"kid"` last when `kid` is not empty, into `buf`.
fn header_json<'b>(kid: &str, buf: &'b mut [u8]) -> Result<&'b [u8], Error> {
    let mut w = 0usize;
    let parts: [&[u8]; 3] = if kid.is_empty() {
        [br#"{"alg":"HS256","typ":"JWT"}"#, b"", b""]
    } else {
        [
            br#"{"alg":"HS256","typ":"JWT","kid":""#,
            kid.as_bytes(),
            br#""}"#,
        ]
    };
    for part in parts {
        let end = w.checked_add(part.len()).ok_or(Error::InvalidKeyId)?;
        buf.get_mut(w..end)
            .ok_or(Error::InvalidKeyId)?
            .copy_from_slice(part);
        w = end;
    }
    buf.get(..w).ok_or(Error::InvalidKeyId)
}

/// Most members a header may have. RFC 7515 §4.1 registers 11 header parameters and a real
/// header has a handful. The header is parsed before the MAC is checked, and the duplicate check
/// compares every pair of names, so an unbounded count would let an unauthenticated 8 KiB header
/// cost milliseconds of CPU (OWASP: limit the work done on untrusted input). A header with more
/// members is [`Error::InvalidJson`].
pub const MAX_HEADER_MEMBERS: usize = 32;

/// What verification needs from a parsed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    /// Canonical contents of `kid`, when present.
    pub kid: Option<&'a [u8]>,
}

/// Checks a canonical header object (see [`json::normalize_object`]).
///
/// - `alg` must be exactly `HS256`: `none`, case variants and every other algorithm are refused,
///   so no algorithm confusion is possible (RFC 8725 §2.1, §3.1).
/// - `crit` is refused: this implementation understands no extension (RFC 7515 §4.1.11);
///   so is `b64` unless `true`, since an unencoded payload changes the signing input (RFC 7797 §3).
/// - `typ`, when present, is `JWT` or `application/jwt` in any ASCII case (RFC 7515 §4.1.9,
///   RFC 7519 §5.1), or one of the caller's extra types, with or without `application/`
///   (RFC 8725 §3.11, RFC 9068 §4).
/// - `enc` and `zip` are refused: they mark a JWE (RFC 7516 §9, §4.1.3), which this
///   implementation never verifies as if it were a JWS.
/// - Member names are unique (RFC 7515 §4).
/// - At most [`MAX_HEADER_MEMBERS`] members.
pub(crate) fn parse<'a>(
    canonical: &'a [u8],
    validation: &Validation<'_>,
) -> Result<Header<'a>, Error> {
    check_names(canonical)?;
    let mut alg_ok = false;
    let mut kid = None;
    for (name, value) in Members::new(canonical) {
        match name {
            b"alg" => alg_ok = value == br#""HS256""#,
            b"crit" => return Err(Error::UnsupportedCritical),
            b"b64" if value != b"true" => return Err(Error::UnsupportedCritical),
            // RFC 7516 §9: a header with `enc` is a JWE; `zip` exists only in JWE (§4.1.3).
            b"enc" | b"zip" => return Err(Error::JweHeader),
            b"typ" => {
                let typ = json::string_contents(value).ok_or(Error::UnsupportedType)?;
                if !type_allowed(typ, validation.extra_types) {
                    return Err(Error::UnsupportedType);
                }
            }
            b"kid" => kid = Some(json::string_contents(value).ok_or(Error::UnknownKeyId)?),
            _ => {}
        }
    }
    if !alg_ok {
        return Err(Error::UnsupportedAlgorithm);
    }
    Ok(Header { kid })
}

/// Fails with [`Error::InvalidJson`] past [`MAX_HEADER_MEMBERS`] members and with
/// [`Error::DuplicateMember`] if a name repeats; one pass over the text, names kept on the stack.
fn check_names(canonical: &[u8]) -> Result<(), Error> {
    let mut names: [&[u8]; MAX_HEADER_MEMBERS] = [&[]; MAX_HEADER_MEMBERS];
    let mut count = 0usize;
    for (name, _) in Members::new(canonical) {
        if names.get(..count).is_some_and(|seen| seen.contains(&name)) {
            return Err(Error::DuplicateMember);
        }
        *names.get_mut(count).ok_or(Error::InvalidJson)? = name;
        count = count.wrapping_add(1);
    }
    Ok(())
}

fn type_allowed(typ: &[u8], extra: &[&str]) -> bool {
    let media = without_application(typ);
    media.eq_ignore_ascii_case(b"JWT")
        || extra
            .iter()
            .any(|e| media.eq_ignore_ascii_case(without_application(e.as_bytes())))
}

/// A `typ` without `/` means the same with `application/` prepended (RFC 7515 §4.1.9), so
/// `application/at+jwt` and `at+jwt` are one type (RFC 9068 §4); compare them without it.
fn without_application(typ: &[u8]) -> &[u8] {
    typ.get(..12)
        .filter(|p| p.eq_ignore_ascii_case(b"application/"))
        .and_then(|_| typ.get(12..))
        .unwrap_or(typ)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(header: &str) -> Result<Option<&[u8]>, Error> {
        parse(
            header.as_bytes(),
            &Validation::new().extra_types(&["at+jwt"]),
        )
        .map(|h| h.kid)
    }

    #[test]
    fn accepts_conforming_headers() {
        assert_eq!(check(r#"{"alg":"HS256"}"#), Ok(None));
        assert_eq!(
            check(r#"{"typ":"jwt","alg":"HS256","kid":"k1"}"#),
            Ok(Some(&b"k1"[..]))
        );
        assert_eq!(
            check(r#"{"alg":"HS256","typ":"application/JWT"}"#),
            Ok(None)
        );
        assert_eq!(
            check(r#"{"alg":"HS256","typ":"AT+JWT","x5t":{"a":[1]}}"#),
            Ok(None)
        );
        assert_eq!(check(r#"{"alg":"HS256","b64":true}"#), Ok(None));
        assert_eq!(
            check(r#"{"alg":"HS256","typ":"application/AT+jwt"}"#),
            Ok(None)
        );
    }

    #[test]
    fn member_count_is_bounded() {
        use core::fmt::Write;
        for (count, want) in [
            (MAX_HEADER_MEMBERS, Ok(None)),
            (MAX_HEADER_MEMBERS + 1, Err(Error::InvalidJson)),
        ] {
            let mut header = heapless::String::<1024>::new();
            header.push_str(r#"{"alg":"HS256""#).unwrap();
            for i in 1..count {
                write!(header, r#","x{i}":0"#).unwrap();
            }
            header.push('}').unwrap();
            assert_eq!(check(&header), want, "{count} members");
        }
    }

    #[test]
    fn refuses_dangerous_headers() {
        let table: &[(&str, Error)] = &[
            (r#"{"alg":"none"}"#, Error::UnsupportedAlgorithm),
            (r#"{"alg":"hs256"}"#, Error::UnsupportedAlgorithm),
            (r#"{"alg":"HS512"}"#, Error::UnsupportedAlgorithm),
            (r#"{"alg":"RS256"}"#, Error::UnsupportedAlgorithm),
            (r#"{"alg":["HS256"]}"#, Error::UnsupportedAlgorithm),
            (r#"{"typ":"JWT"}"#, Error::UnsupportedAlgorithm),
            (r#"{"alg":"HS256","alg":"HS256"}"#, Error::DuplicateMember),
            (
                r#"{"alg":"HS256","crit":["exp"]}"#,
                Error::UnsupportedCritical,
            ),
            (r#"{"alg":"HS256","b64":false}"#, Error::UnsupportedCritical),
            (r#"{"alg":"HS256","enc":"A128GCM"}"#, Error::JweHeader),
            (r#"{"alg":"HS256","zip":"DEF"}"#, Error::JweHeader),
            (r#"{"alg":"HS256","enc":null}"#, Error::JweHeader),
            (r#"{"alg":"HS256","typ":"JWS"}"#, Error::UnsupportedType),
            (
                r#"{"alg":"HS256","typ":"application/"}"#,
                Error::UnsupportedType,
            ),
            (r#"{"alg":"HS256","typ":1}"#, Error::UnsupportedType),
            (r#"{"alg":"HS256","kid":1}"#, Error::UnknownKeyId),
        ];
        for (header, want) in table {
            assert_eq!(check(header), Err(*want), "header {header}");
        }
    }
}
