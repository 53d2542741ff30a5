//! A faster front for `serde-json-core`'s serializer: same JSON, byte for byte.
//!
//! `serde-json-core` writes every string one `char` at a time through its escaping routine.
//! [`Fast`] writes a string that needs no escape (no `"`, `\` or control character) in one
//! copy, and leaves everything else (numbers, escaping, `EscapedStr`, errors) to the wrapped
//! serializer. Containers are written here with exactly the punctuation `serde-json-core` uses,
//! so that their members go through [`Fast`] too; tests compare the output with
//! `serde_json_core::to_slice` on every kind of value.

use serde::ser::{self, Serialize};
use serde_json_core::ser::{Error, Serializer};

type Result<T = ()> = core::result::Result<T, Error>;

/// `serde_json_core::str::EscapedStr` marks itself with this newtype name (not exported); such a
/// value is handed to the wrapped serializer, which writes it without escaping.
const ESCAPED_STR: &str = "__serde_json_core_escaped_string__";

/// Serialises `value` as JSON into `buf`; returns the length written.
///
/// # Errors
/// As `serde_json_core::to_slice`: [`Error::BufferFull`] when the JSON does not fit.
pub fn to_slice<T: Serialize + ?Sized>(value: &T, buf: &mut [u8]) -> Result<usize> {
    let mut ser = Serializer::new(buf);
    value.serialize(Fast(&mut ser))?;
    Ok(ser.end())
}

/// Wraps a `serde-json-core` serializer (see the module documentation).
pub struct Fast<'a, 'b>(&'a mut Serializer<'b>);

impl<'b> Fast<'_, 'b> {
    /// Appends `bytes` verbatim: `serde-json-core` writes `serialize_bytes` input as raw bytes.
    fn raw(&mut self, bytes: &[u8]) -> Result {
        ser::Serializer::serialize_bytes(&mut *self.0, bytes)
    }

    fn reborrow(&mut self) -> Fast<'_, 'b> {
        Fast(&mut *self.0)
    }
}

/// Whether `serde-json-core` would write `s` unchanged between quotes.
fn needs_no_escape(s: &str) -> bool {
    !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20)
}

/// Writes a field or map entry separator and tracks the first element.
struct Compound<'a, 'b> {
    ser: Fast<'a, 'b>,
    first: bool,
}

impl<'a, 'b> Compound<'a, 'b> {
    fn new(ser: Fast<'a, 'b>) -> Self {
        Self { ser, first: true }
    }

    fn comma(&mut self) -> Result {
        if !core::mem::take(&mut self.first) {
            self.ser.raw(b",")?;
        }
        Ok(())
    }

    /// `"key":value`, with the key written verbatim as `serde-json-core` does for field names.
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result {
        self.comma()?;
        self.ser.raw(b"\"")?;
        self.ser.raw(key.as_bytes())?;
        self.ser.raw(b"\":")?;
        value.serialize(self.ser.reborrow())
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.comma()?;
        value.serialize(self.ser.reborrow())
    }
}

/// A sequence, map or struct in progress, with its closing text.
pub struct Open<'a, 'b> {
    inner: Compound<'a, 'b>,
    close: &'static [u8],
}

impl Open<'_, '_> {
    fn end(mut self) -> Result {
        self.inner.ser.raw(self.close)
    }
}

impl<'a, 'b> Fast<'a, 'b> {
    fn open(mut self, text: &[u8], close: &'static [u8]) -> Result<Open<'a, 'b>> {
        self.raw(text)?;
        Ok(Open {
            inner: Compound::new(self),
            close,
        })
    }
}

impl<'a, 'b> ser::Serializer for Fast<'a, 'b> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Open<'a, 'b>;
    type SerializeTuple = Open<'a, 'b>;
    type SerializeTupleStruct = Open<'a, 'b>;
    type SerializeTupleVariant = <&'a mut Serializer<'b> as ser::Serializer>::SerializeTupleVariant;
    type SerializeMap = Open<'a, 'b>;
    type SerializeStruct = Open<'a, 'b>;
    type SerializeStructVariant = Open<'a, 'b>;

    fn serialize_bool(self, v: bool) -> Result {
        self.0.serialize_bool(v)
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.0.serialize_i8(v)
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.0.serialize_i16(v)
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.0.serialize_i32(v)
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.0.serialize_i64(v)
    }
    fn serialize_i128(self, v: i128) -> Result {
        self.0.serialize_i128(v)
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.0.serialize_u8(v)
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.0.serialize_u16(v)
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.0.serialize_u32(v)
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.0.serialize_u64(v)
    }
    fn serialize_u128(self, v: u128) -> Result {
        self.0.serialize_u128(v)
    }
    fn serialize_f32(self, v: f32) -> Result {
        self.0.serialize_f32(v)
    }
    fn serialize_f64(self, v: f64) -> Result {
        self.0.serialize_f64(v)
    }
    /// A one-character string, as `serde_json` writes it: `serde-json-core` 0.7 panics here
    /// (`unreachable!`), and signing must never panic.
    fn serialize_char(self, v: char) -> Result {
        let mut utf8 = [0u8; 4];
        self.serialize_str(v.encode_utf8(&mut utf8))
    }

    fn serialize_str(mut self, v: &str) -> Result {
        if !needs_no_escape(v) {
            return self.0.serialize_str(v);
        }
        self.raw(b"\"")?;
        self.raw(v.as_bytes())?;
        self.raw(b"\"")
    }

    fn serialize_bytes(self, v: &[u8]) -> Result {
        self.0.serialize_bytes(v)
    }
    fn serialize_none(self) -> Result {
        self.0.serialize_none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.0.serialize_unit()
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result {
        self.0.serialize_unit_struct(name)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result {
        if name == ESCAPED_STR {
            self.0.serialize_newtype_struct(name, value)
        } else {
            value.serialize(self)
        }
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        let mut s = self.open(b"{", b"}")?;
        s.inner.field(variant, value)?;
        s.end()
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Open<'a, 'b>> {
        self.open(b"[", b"]")
    }
    fn serialize_tuple(self, _len: usize) -> Result<Open<'a, 'b>> {
        self.open(b"[", b"]")
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Open<'a, 'b>> {
        self.open(b"[", b"]")
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        self.0.serialize_tuple_variant(name, index, variant, len)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Open<'a, 'b>> {
        self.open(b"{", b"}")
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Open<'a, 'b>> {
        self.open(b"{", b"}")
    }
    fn serialize_struct_variant(
        mut self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Open<'a, 'b>> {
        self.raw(b"{\"")?;
        self.raw(variant.as_bytes())?;
        self.open(b"\":{", b"}}")
    }

    fn collect_str<T: core::fmt::Display + ?Sized>(self, value: &T) -> Result {
        self.0.collect_str(value)
    }
}

impl ser::SerializeSeq for Open<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.inner.element(value)
    }
    fn end(self) -> Result {
        Open::end(self)
    }
}

impl ser::SerializeTuple for Open<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.inner.element(value)
    }
    fn end(self) -> Result {
        Open::end(self)
    }
}

impl ser::SerializeTupleStruct for Open<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.inner.element(value)
    }
    fn end(self) -> Result {
        Open::end(self)
    }
}

impl ser::SerializeMap for Open<'_, '_> {
    type Ok = ();
    type Error = Error;
    /// As `serde-json-core`: the key is serialised as a value, then `:`.
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.inner.element(key)?;
        self.inner.ser.raw(b":")
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(self.inner.ser.reborrow())
    }
    fn end(self) -> Result {
        Open::end(self)
    }
}

impl ser::SerializeStruct for Open<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.inner.field(key, value)
    }
    fn end(self) -> Result {
        Open::end(self)
    }
}

impl ser::SerializeStructVariant for Open<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.inner.field(key, value)
    }
    fn end(self) -> Result {
        Open::end(self)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;
    use std::collections::BTreeMap;
    use std::string::String;
    use std::vec::Vec;

    /// Our output and `serde_json_core::to_slice`'s, for buffers of every length up to `cap`.
    fn same<T: Serialize + ?Sized>(value: &T) {
        let mut theirs = [0u8; 1024];
        let n = serde_json_core::to_slice(value, &mut theirs).unwrap();
        let mut ours = [0u8; 1024];
        let m = to_slice(value, &mut ours).unwrap();
        assert_eq!(
            core::str::from_utf8(&ours[..m]).unwrap(),
            core::str::from_utf8(&theirs[..n]).unwrap()
        );
        // Too small a buffer fails the same way, at any length.
        for short in 0..n {
            let mut buf = [0u8; 1024];
            assert_eq!(
                to_slice(value, &mut buf[..short]),
                serde_json_core::to_slice(value, &mut theirs[..short]),
                "buffer of {short}"
            );
        }
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Newtype<'a>(&'a str);

    #[derive(Serialize)]
    struct Pair(u8, i64);

    #[derive(Serialize)]
    enum Kind<'a> {
        Plain,
        Wrapped(&'a str),
        Fields { a: u32, b: Option<&'a str> },
    }

    #[derive(Serialize)]
    struct Everything<'a> {
        s: &'a str,
        esc: &'a str,
        unicode: &'a str,
        n: u64,
        i: i32,
        f: f64,
        nan: f32,
        yes: bool,
        none: Option<u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        unit: (),
        unit_struct: Unit,
        newtype: Newtype<'a>,
        pair: Pair,
        tuple: (u8, &'a str),
        list: [&'a str; 3],
        empty: [u8; 0],
        kinds: [Kind<'a>; 3],
        map: BTreeMap<&'a str, Vec<u16>>,
        num_keys: BTreeMap<u8, bool>,
        bytes: &'a [u8],
        escaped: serde_json_core::str::EscapedStr<'a>,
    }

    #[test]
    fn matches_serde_json_core_on_every_kind_of_value() {
        let value = Everything {
            s: "user-1234567890",
            esc: "quote \" backslash \\ newline \n tab \t nul \0 unit sep \u{1f} del \u{7f}",
            unicode: "é 😀 \u{2028}",
            n: u64::MAX,
            i: i32::MIN,
            f: -1.5e300,
            nan: f32::NAN,
            yes: true,
            none: None,
            skipped: None,
            unit: (),
            unit_struct: Unit,
            newtype: Newtype("x\"y"),
            pair: Pair(255, -7),
            tuple: (0, ""),
            list: ["a", "b\\", "c"],
            empty: [],
            kinds: [
                Kind::Plain,
                Kind::Wrapped("w"),
                Kind::Fields { a: 1, b: Some("z") },
            ],
            map: [("k", std::vec![1, 2]), ("\"", std::vec![])]
                .into_iter()
                .collect(),
            num_keys: [(1, true), (2, false)].into_iter().collect(),
            bytes: b"raw",
            escaped: serde_json_core::str::EscapedStr("a\\u0041"),
        };
        same(&value);
        same(&crate::Claims {
            sub: Some("42"),
            exp: Some(1_900_000_000),
            jti: Some("j\u{1}"),
            ..crate::Claims::default()
        });
        same("top-level string");
        same(&[1u8, 2, 3][..]);
    }

    proptest! {
        #[test]
        fn strings_match_serde_json_core(s in any::<String>(), t in "[ -~\\x00-\\x1f]{0,40}") {
            same(&(s.as_str(), t.as_str()));
        }
    }
}
