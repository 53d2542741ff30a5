//! The one error type of the core.

use core::fmt;

/// Why a token could not be signed, verified or inspected.
///
/// The enum is `Copy` and carries no payload, so it can never leak key or tag bytes.
/// Variants are grouped: structure, encoding, header, signature, claims, buffers and keys.
/// [`Error::kind`] gives a stable snake_case name for logs and machine-readable output.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    // --- structure ---
    /// The token is not three non-empty dot-separated segments.
    Malformed,
    /// The token is longer than [`Validation::max_token_len`](crate::Validation::max_token_len).
    TooLarge,

    // --- encoding ---
    /// A segment is not canonical unpadded base64url (RFC 7515 §2).
    InvalidBase64,
    /// A decoded segment is not a well-formed UTF-8 JSON object (RFC 8259), nests too deeply, or
    /// is a header of more than 32 members.
    InvalidJson,
    /// A JSON object repeats a member name (RFC 7515 §4, RFC 7519 §4).
    DuplicateMember,

    // --- header ---
    /// The `alg` header is missing or is not exactly `HS256` (RFC 8725 §3.1, §3.2).
    UnsupportedAlgorithm,
    /// The `typ` header is neither `JWT` nor a type the caller allowed (RFC 7515 §4.1.9, RFC 8725 §3.11).
    UnsupportedType,
    /// The header asks for an extension this implementation does not understand (`crit`, `b64`; RFC 7515 §4.1.11, RFC 7797).
    UnsupportedCritical,
    /// The header is a JWE header (RFC 7519 §7.2 step 5): it has `enc` (RFC 7516 §9: a header
    /// with `enc` is a JWE) or `zip` (RFC 7516 §4.1.3, a JWE-only parameter). Only signed tokens
    /// are verified here, and an encrypted one is never mistaken for a signed one.
    JweHeader,
    /// No configured key matches the header's `kid` (or the absence of one).
    UnknownKeyId,

    // --- signature ---
    /// The HMAC-SHA256 tag does not match (RFC 7518 §3.2).
    BadSignature,

    // --- claims ---
    /// `exp` has passed, leeway included (RFC 7519 §4.1.4).
    Expired,
    /// `nbf` has not been reached, leeway included (RFC 7519 §4.1.5).
    NotYetValid,
    /// `iat` lies in the future, leeway included (RFC 7519 §4.1.6).
    IssuedInFuture,
    /// A claim the validation policy requires is absent.
    MissingClaim,
    /// `iss` does not match the expected issuer (RFC 7519 §4.1.1).
    InvalidIssuer,
    /// `aud` does not name this audience, or is present when no audience is expected (RFC 7519 §4.1.3).
    InvalidAudience,
    /// `sub` does not match the expected subject (RFC 7519 §4.1.2).
    InvalidSubject,
    /// `exp`, `nbf` or `iat` is not an integer from 0 to `i64::MAX` (RFC 7519 §2 NumericDate).
    ///
    /// RFC 7519 §2 sets no upper bound; dates above `i64::MAX` are refused because a verifier
    /// that reads dates as signed 64-bit seconds (`time_t`, `i64` in many JWT libraries) would
    /// see them as negative or fail, so two verifiers could judge the same token differently.
    InvalidNumericDate,
    /// A claim has the wrong JSON type, or the caller's claims type rejected the payload.
    InvalidClaims,

    // --- buffers ---
    /// The caller's output or scratch buffer is too small; nothing was truncated.
    BufferTooSmall,

    // --- keys ---
    /// The secret is shorter than 32 bytes (RFC 7518 §3.2).
    WeakKey,
    /// The key id is empty, longer than [`MAX_KID_LEN`](crate::MAX_KID_LEN), or has characters other than printable ASCII without `"` and `\`.
    InvalidKeyId,
    /// The key ring already holds `N` keys.
    KeyRingFull,
    /// The key ring already holds a key with this id (or, for a key without one, a key without
    /// one): the token's `kid` could not tell them apart.
    DuplicateKeyId,
}

impl Error {
    /// Every variant, in declaration order: for tools that list the kinds (`kind()`), such as
    /// a command line's help text.
    pub const ALL: &'static [Error] = &[
        Self::Malformed,
        Self::TooLarge,
        Self::InvalidBase64,
        Self::InvalidJson,
        Self::DuplicateMember,
        Self::UnsupportedAlgorithm,
        Self::UnsupportedType,
        Self::UnsupportedCritical,
        Self::JweHeader,
        Self::UnknownKeyId,
        Self::BadSignature,
        Self::Expired,
        Self::NotYetValid,
        Self::IssuedInFuture,
        Self::MissingClaim,
        Self::InvalidIssuer,
        Self::InvalidAudience,
        Self::InvalidSubject,
        Self::InvalidNumericDate,
        Self::InvalidClaims,
        Self::BufferTooSmall,
        Self::WeakKey,
        Self::InvalidKeyId,
        Self::KeyRingFull,
        Self::DuplicateKeyId,
    ];

    /// A stable snake_case name for the variant, e.g. `"bad_signature"`.
    #[must_use]
    pub const fn kind(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::InvalidBase64 => "invalid_base64",
            Self::InvalidJson => "invalid_json",
            Self::DuplicateMember => "duplicate_member",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnsupportedType => "unsupported_type",
            Self::UnsupportedCritical => "unsupported_critical",
            Self::JweHeader => "jwe_header",
            Self::UnknownKeyId => "unknown_key_id",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::MissingClaim => "missing_claim",
            Self::InvalidIssuer => "invalid_issuer",
            Self::InvalidAudience => "invalid_audience",
            Self::InvalidSubject => "invalid_subject",
            Self::InvalidNumericDate => "invalid_numeric_date",
            Self::InvalidClaims => "invalid_claims",
            Self::BufferTooSmall => "buffer_too_small",
            Self::WeakKey => "weak_key",
            Self::InvalidKeyId => "invalid_key_id",
            Self::KeyRingFull => "key_ring_full",
            Self::DuplicateKeyId => "duplicate_key_id",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "token is not three non-empty dot-separated segments",
            Self::TooLarge => "token is longer than the configured maximum",
            Self::InvalidBase64 => "segment is not canonical unpadded base64url",
            Self::InvalidJson => "segment is not a well-formed JSON object",
            Self::DuplicateMember => "JSON object has a duplicate member name",
            Self::UnsupportedAlgorithm => "algorithm is not HS256",
            Self::UnsupportedType => "token type is not allowed",
            Self::UnsupportedCritical => "header has an unsupported critical extension",
            Self::JweHeader => "header is a JWE header (enc or zip), not a JWS header",
            Self::UnknownKeyId => "no key matches the token's key id",
            Self::BadSignature => "signature does not match",
            Self::Expired => "token has expired",
            Self::NotYetValid => "token is not valid yet",
            Self::IssuedInFuture => "token is issued in the future",
            Self::MissingClaim => "a required claim is missing",
            Self::InvalidIssuer => "issuer does not match",
            Self::InvalidAudience => "audience does not match",
            Self::InvalidSubject => "subject does not match",
            Self::InvalidNumericDate => "date claim is not an integer from 0 to 2^63 - 1",
            Self::InvalidClaims => "claims have the wrong shape",
            Self::BufferTooSmall => "buffer is too small",
            Self::WeakKey => "secret is shorter than 32 bytes",
            Self::InvalidKeyId => {
                "key id is empty, too long or has characters outside printable ASCII"
            }
            Self::KeyRingFull => "key ring is full",
            Self::DuplicateKeyId => "key ring already has a key with this key id",
        })
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::Error;

    /// An exhaustive match: a new variant does not compile until it has a position here, and
    /// the test below fails until [`Error::ALL`] lists it there.
    fn position(e: Error) -> usize {
        match e {
            Error::Malformed => 0,
            Error::TooLarge => 1,
            Error::InvalidBase64 => 2,
            Error::InvalidJson => 3,
            Error::DuplicateMember => 4,
            Error::UnsupportedAlgorithm => 5,
            Error::UnsupportedType => 6,
            Error::UnsupportedCritical => 7,
            Error::JweHeader => 8,
            Error::UnknownKeyId => 9,
            Error::BadSignature => 10,
            Error::Expired => 11,
            Error::NotYetValid => 12,
            Error::IssuedInFuture => 13,
            Error::MissingClaim => 14,
            Error::InvalidIssuer => 15,
            Error::InvalidAudience => 16,
            Error::InvalidSubject => 17,
            Error::InvalidNumericDate => 18,
            Error::InvalidClaims => 19,
            Error::BufferTooSmall => 20,
            Error::WeakKey => 21,
            Error::InvalidKeyId => 22,
            Error::KeyRingFull => 23,
            Error::DuplicateKeyId => 24,
        }
    }

    #[test]
    fn all_lists_every_variant_once_in_order() {
        for (i, e) in Error::ALL.iter().enumerate() {
            assert_eq!(position(*e), i, "{}", e.kind());
        }
        assert_eq!(Error::ALL.len(), 25);
    }
}
