//! Strict JSON (RFC 8259) for the header and claims segments, without allocation.
//!
//! [`normalize_object`] validates a decoded segment and rewrites it in place into a canonical form:
//! insignificant whitespace removed, every string escape that stands for a printable character
//! (`\/`, `\u00e9`, surrogate pairs) replaced by its UTF-8 bytes, and the escapes that must stay
//! (`\"`, `\\`, control characters) spelled one way only. Canonical text never grows, so the
//! rewrite fits in the same buffer, and two member names are equal exactly when their bytes are.
//! The rest of the crate then walks the canonical text with [`Members`], which trusts its shape.

mod index;
mod normalize;
mod read;

pub(crate) use index::Index;
pub use normalize::MAX_DEPTH;
pub(crate) use normalize::{
    index_plain_object, normalize_object, normalize_object_indexed, plain_len,
};
pub(crate) use read::{check_unique, str_eq, string_contents, unescape_into, Members};

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::index::MAX_INDEXED;
    use super::normalize::stop_len;
    use super::*;
    use crate::Error;

    fn norm(input: &str) -> Result<heapless::String<256>, Error> {
        let mut buf = [0u8; 256];
        buf[..input.len()].copy_from_slice(input.as_bytes());
        let n = normalize_object(&mut buf[..input.len()])?;
        let mut out = heapless::String::new();
        out.push_str(core::str::from_utf8(&buf[..n]).unwrap())
            .unwrap();
        Ok(out)
    }

    #[test]
    fn canonical_forms() {
        let table: &[(&str, &str)] = &[
            (r#"{}"#, r#"{}"#),
            (
                r#" { "a" : 1 , "b" : [ true , false , null ] } "#,
                r#"{"a":1,"b":[true,false,null]}"#,
            ),
            (r#"{"a":"\/\u00e9\ud83d\ude00"}"#, "{\"a\":\"/é😀\"}"),
            // Found by fuzzing (decode_parts): planes above 1 need an addition, not an OR.
            (
                r#"{"a":"\ud86d\ude00\udbff\udfff"}"#,
                "{\"a\":\"\u{2b600}\u{10ffff}\"}",
            ),
            (
                r#"{"a":"\u0022\u005c\u000a\u0001"}"#,
                r#"{"a":"\"\\\n\u0001"}"#,
            ),
            (r#"{"\u0065xp":-0.5e+10}"#, r#"{"exp":-0.5e+10}"#),
            (r#"{"a":{"b":{"c":[]}}}"#, r#"{"a":{"b":{"c":[]}}}"#),
        ];
        for (input, want) in table {
            assert_eq!(norm(input).as_deref(), Ok(*want), "input {input}");
        }
    }

    #[test]
    fn rejects_malformed() {
        let table: &[&str] = &[
            "",
            "[]",
            "\"a\"",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{,}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":1e}",
            "{\"a\":+1}",
            "{\"a\":tru}",
            "{\"a\":nul}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"\\udc00\"}",
            "{\"a\":\"\\ud800\\u0041\"}",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":[1,]}",
            "{\"a\":[1}",
            "{\"a\":{]}",
            "{} {}",
            "{\"a\":1}x",
            "{\"a\" 1}",
            "{1:2}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"unterminated}",
        ];
        for input in table {
            assert_eq!(norm(input), Err(Error::InvalidJson), "input {input:?}");
        }
    }

    #[test]
    fn rejects_invalid_utf8_and_deep_nesting() {
        for bad in [
            &b"{\"a\":\"\xff\"}"[..],
            b"{\"a\":\"\xc3\"}",             // truncated sequence
            b"{\"a\":\"\xe2\x82x\"}",        // truncated before ASCII
            b"{\"a\":\"\xc0\x80\"}",         // overlong NUL
            b"{\"a\":\"\xed\xa0\x80\"}",     // UTF-16 surrogate in UTF-8
            b"{\"a\":\"\xf4\x90\x80\x80\"}", // above U+10FFFF
            b"{\"a\":1\xc3\xa9}",            // valid UTF-8 outside a string
            b"{\xc3\xa9:1}",
            b"\xef\xbb\xbf{}", // byte order mark
        ] {
            let mut buf = bad.to_vec();
            assert_eq!(
                normalize_object(&mut buf),
                Err(Error::InvalidJson),
                "{bad:?}"
            );
        }
        let mut good = *b"{\"\xc3\xa9\":\"\xf0\x9f\x92\x96 \\u00e9\xe2\x82\xac\"}";
        let n = normalize_object(&mut good).unwrap();
        assert_eq!(&good[..n], "{\"é\":\"💖 é€\"}".as_bytes());
        let mut deep = [0u8; 200];
        let mut n = 0;
        for b in b"{\"a\":" {
            deep[n] = *b;
            n += 1;
        }
        for _ in 0..MAX_DEPTH {
            deep[n] = b'[';
            n += 1;
        }
        assert_eq!(normalize_object(&mut deep[..n]), Err(Error::InvalidJson));
    }

    #[test]
    fn members_and_duplicates() {
        let s = br#"{"a":"x,}","b":{"c":[1,{"d":2}]},"e":3}"#;
        let got: heapless::Vec<(&[u8], &[u8]), 4> = Members::new(s).collect();
        assert_eq!(
            got.as_slice(),
            &[
                (&b"a"[..], &br#""x,}""#[..]),
                (&b"b"[..], &br#"{"c":[1,{"d":2}]}"#[..]),
                (&b"e"[..], &b"3"[..]),
            ]
        );
        assert_eq!(check_unique(s), Ok(()));
        assert_eq!(
            check_unique(br#"{"a":1,"b":2,"a":3}"#),
            Err(Error::DuplicateMember)
        );
        assert_eq!(Members::new(b"{}").count(), 0);
    }

    #[test]
    fn string_equality_through_escapes() {
        assert!(str_eq(br#"a\"b"#, "a\"b"));
        assert!(str_eq(br#"\\\n\u0001"#, "\\\n\u{1}"));
        assert!(!str_eq(br#"a\"b"#, "a\"bc"));
        assert!(!str_eq(b"ab", "a"));
        let mut out = [0u8; 3];
        assert_eq!(unescape_into(br#"a\"b"#, &mut out), Ok(3));
        assert_eq!(&out, b"a\"b");
        assert_eq!(
            unescape_into(br#"a\"bc"#, &mut out),
            Err(Error::BufferTooSmall)
        );
    }

    /// Normalises `input` with an index and checks the index reads the same members, and finds
    /// the same duplicates, as a fresh walk of the canonical text.
    fn index_agrees(input: &str) -> Result<(), Error> {
        let mut buf = [0u8; 512];
        buf[..input.len()].copy_from_slice(input.as_bytes());
        let mut index = Index::new();
        let n = normalize_object_indexed(&mut buf[..input.len()], &mut index)?;
        let text = &buf[..n];
        let walked: heapless::Vec<(&[u8], &[u8]), 32> = Members::new(text).collect();
        let indexed: Option<heapless::Vec<(&[u8], &[u8]), 32>> =
            index.members(text).map(Iterator::collect);
        let result = match indexed {
            Some(indexed) => {
                assert_eq!(indexed, walked, "{input}");
                assert_eq!(index.check_unique(text), check_unique(text), "{input}");
                index.check_unique(text)
            }
            None => {
                assert!(walked.len() > MAX_INDEXED, "{input}");
                check_unique(text)
            }
        };
        result
    }

    #[test]
    fn index_matches_members() {
        let mut many = heapless::String::<256>::new();
        for i in 0..=MAX_INDEXED {
            many.push_str(if i == 0 { "{" } else { "," }).unwrap();
            core::fmt::write(&mut many, format_args!(r#""k{i}":{i}"#)).unwrap();
        }
        many.push('}').unwrap();
        let table: &[&str] = &[
            r#"{}"#,
            r#"{"a":1}"#,
            r#" { "a" : 1 , "b" : [ true , {"x":"y"} , [] ] , "cA" : "d\"e\/" } "#,
            r#"{"":"","e":{},"f":{"g":{"h":[1,{"i":null}]}},"j":-1.5e3}"#,
            r#"{"sub":"user-1","iat":1,"exp":2,"jti":"\u00e9\ud83d\ude00"}"#,
            &many,
        ];
        for input in table {
            assert_eq!(index_agrees(input), Ok(()), "{input}");
        }
    }

    #[test]
    fn index_finds_duplicates() {
        assert_eq!(index_agrees(r#"{"a":{"a":1},"b":[{"a":2}]}"#), Ok(()));
        for input in [
            r#"{"a":1,"b":{"a":2},"a":3}"#,
            r#"{"a":1, "\u0061":2}"#,
            r#"{"x":1,"y":2,"x":{}}"#,
        ] {
            assert_eq!(index_agrees(input), Err(Error::DuplicateMember), "{input}");
        }
    }

    /// Whether the fast path agrees with the full parser on `text`: when it says yes, the full
    /// parser must accept the text unchanged and record the same members.
    fn plain_path_agrees(text: &[u8]) -> bool {
        let mut fast = Index::new();
        let taken = index_plain_object(text, &mut fast);
        if taken {
            let mut buf = text.to_vec();
            let mut full = Index::new();
            let n = normalize_object_indexed(&mut buf, &mut full);
            assert_eq!(
                n,
                Ok(text.len()),
                "{:?}",
                std::string::String::from_utf8_lossy(text)
            );
            assert_eq!(buf, text, "canonical text must be unchanged");
            let a: Option<Vec<_>> = fast.members(text).map(Iterator::collect);
            let b: Option<Vec<_>> = full.members(text).map(Iterator::collect);
            assert_eq!(a, b, "{:?}", std::string::String::from_utf8_lossy(text));
            assert!(!fast.may_have_escapes() && !text.contains(&b'\\'));
        }
        taken
    }

    #[test]
    fn plain_path_takes_signer_output_and_leaves_the_rest() {
        for taken in [
            &br#"{}"#[..],
            br#"{"sub":"user-1","iat":1764000000,"exp":1764000900,"jti":"0f8f"}"#,
            br#"{"a":-1,"b":0,"c":true,"d":false,"e":null,"f":"","g":"~"}"#,
        ] {
            assert!(plain_path_agrees(taken), "{taken:?}");
        }
        for left in [
            &br#"{ }"#[..],
            br#"{"a":1 }"#,
            br#"{"a":"\""}"#,
            br#"{"a":"\u0041"}"#,
            "{\"a\":\"é\"}".as_bytes(),
            br#"{"a":1.5}"#,
            br#"{"a":1e3}"#,
            br#"{"a":01}"#,
            br#"{"a":-}"#,
            br#"{"a":[1]}"#,
            br#"{"a":{}}"#,
            br#"{"a":tru}"#,
            br#"{"a":1,}"#,
            br#"{"a":1}x"#,
            br#"{"a":1"#,
            br#"{"a"}"#,
            br#"{a:1}"#,
            b"{\"a\":\"\t\"}",
            br#"[]"#,
            b"",
        ] {
            assert!(!plain_path_agrees(left), "{left:?}");
        }
        // More members than the index holds take the full parser, which walks them instead.
        let many: std::string::String = (0..=MAX_INDEXED)
            .map(|i| std::format!(",\"m{i}\":{i}"))
            .collect();
        assert!(!plain_path_agrees(
            std::format!("{{{}}}", &many[1..]).as_bytes()
        ));
    }

    proptest::proptest! {
        /// The word-at-a-time scan stops where a byte-by-byte scan does, for stop bytes at any
        /// offset, in any word, among multi-byte UTF-8 and bytes just above or below 0x20.
        #[test]
        fn plain_len_matches_a_byte_scan(
            s in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::Just(b'"'),
                    proptest::prelude::Just(b'\\'),
                    0x00u8..0x20,
                    0x1fu8..0x23,
                    0x20u8..=0xff,
                    0x20u8..=0xff,
                    0x20u8..=0xff,
                    0x20u8..=0xff,
                ],
                0..40,
            )
        ) {
            let naive = s.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(s.len());
            proptest::prop_assert_eq!(plain_len(&s), naive);
            let naive = s.iter().position(|&b| b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b)).unwrap_or(s.len());
            proptest::prop_assert_eq!(stop_len::<true>(&s), naive);
        }

        /// The fast path never says yes where the full parser would refuse or rewrite the text,
        /// for objects built from plain and not-quite-plain pieces, and for any byte changed.
        #[test]
        fn plain_path_never_disagrees(
            members in proptest::collection::vec(
                (
                    proptest::prop_oneof!["[a-z]{0,3}", "[ -~]{0,3}", proptest::prelude::Just("é".into())],
                    proptest::prop_oneof![
                        "\"[ -~]{0,6}\"",
                        "-?[0-9]{1,4}",
                        "(true|false|null|tru|nul)",
                        "-?[0-9]\\.[0-9]|[0-9][eE][0-9]|\\{\\}|\\[\\]| 1|1 ",
                    ],
                ),
                0..5,
            ),
            flip in proptest::option::of((0usize..64, proptest::prelude::any::<u8>())),
        ) {
            let body: Vec<std::string::String> =
                members.iter().map(|(n, v)| std::format!("\"{n}\":{v}")).collect();
            let mut text = std::format!("{{{}}}", body.join(",")).into_bytes();
            if let Some((at, byte)) = flip {
                let at = at % text.len();
                text[at] = byte;
            }
            plain_path_agrees(&text);
        }

        /// UTF-8 is checked only inside strings: a string of arbitrary bytes (no quote,
        /// backslash or control character) is accepted exactly when it is valid UTF-8, as a
        /// member name or as a value, and kept byte for byte.
        #[test]
        fn strings_accept_exactly_valid_utf8(
            s in proptest::collection::vec(
                proptest::prop_oneof![0x20u8..0x7f, 0x80u8..=0xff, 0x80u8..=0xff],
                0..24,
            )
        ) {
            let s: Vec<u8> = s.into_iter().map(|b| if b == b'"' || b == b'\\' { b'x' } else { b }).collect();
            let valid = core::str::from_utf8(&s).is_ok();
            for doc in [[&b"{\"a\":\""[..], &s, b"\"}"].concat(), [&b"{\""[..], &s, b"\":0}"].concat()] {
                let mut buf = doc.clone();
                let got = normalize_object(&mut buf).map(|n| buf[..n].to_vec());
                proptest::prop_assert_eq!(got, if valid { Ok(doc) } else { Err(Error::InvalidJson) });
            }
        }
    }
}
