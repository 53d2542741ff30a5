//! A faster front for `serde-json-core`'s serializer: same JSON, byte for byte.
//!
//! `serde-json-core` writes every string one `char` at a time through its escaping routine.
//! [`Fast`] writes a string that needs no escape (no `"`, `\` or control character) and all
//! punctuation in one copy each, and leaves numbers, escaping and `EscapedStr` to a
//! `serde-json-core` serializer run on the rest of the buffer. Containers are written here with
//! exactly the punctuation `serde-json-core` uses, so that their members go through [`Fast`]
//! too; tests compare the output with `serde_json_core::to_slice` on every kind of value.
//!
//! Where `serde-json-core` would panic or write text that is not JSON (`char`, 128-bit integers,
//! tuple variants, raw bytes, non-string map keys, a `Serialize` impl's own error), [`Fast`]
//! writes what `serde_json` writes or returns [`Error::Unsupported`]: signing never panics.

use core::fmt;

use serde::ser::{self, Impossible, Serialize};
use serde_json_core::ser::Serializer;

type Result<T = ()> = core::result::Result<T, Error>;

/// Why claims could not be written as JSON.
///
/// `serde-json-core` 0.7 has only `BufferFull` and panics (`unreachable!`) where it has no
/// answer: `ser::Error::custom`, 128-bit integers, tuple variants, `char`. [`Fast`] answers
/// all of these itself, so signing reports an error instead of panicking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Error {
    /// The output buffer is full.
    BufferFull,
    /// The value has no JSON form here: its `Serialize` impl failed, a map key is neither a
    /// string nor an integer, or an integer does not fit in 64 bits.
    Unsupported,
}

impl From<serde_json_core::ser::Error> for Error {
    fn from(_: serde_json_core::ser::Error) -> Self {
        Self::BufferFull
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BufferFull => "buffer is full",
            Self::Unsupported => "value cannot be written as JSON",
        })
    }
}

impl core::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Self::Unsupported
    }
}

/// `serde_json_core::str::EscapedStr` marks itself with this newtype name (not exported); such a
/// value is handed to `serde-json-core`, which writes it without escaping.
const ESCAPED_STR: &str = "__serde_json_core_escaped_string__";

/// Serialises `value` as JSON into `buf`; returns the length written.
///
/// # Errors
/// As `serde_json_core::to_slice`: [`Error::BufferFull`] when the JSON does not fit.
pub(crate) fn to_slice<T: Serialize + ?Sized>(value: &T, buf: &mut [u8]) -> Result<usize> {
    let mut out = Out { buf, pos: 0 };
    value.serialize(Fast(&mut out))?;
    Ok(out.pos)
}

/// The output buffer and how much of it is written.
pub(crate) struct Out<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

/// Writes JSON into an [`Out`] (see the module documentation).
pub(crate) struct Fast<'a, 'b>(&'a mut Out<'b>);

impl<'b> Fast<'_, 'b> {
    /// Appends `bytes` verbatim, in one copy.
    // Inlined so that punctuation, whose length is a constant, is stored without a call to `memcpy`.
    #[inline(always)]
    fn raw(&mut self, bytes: &[u8]) -> Result {
        let out = &mut *self.0;
        let end = out.pos.checked_add(bytes.len()).ok_or(Error::BufferFull)?;
        out.buf
            .get_mut(out.pos..end)
            .ok_or(Error::BufferFull)?
            .copy_from_slice(bytes);
        out.pos = end;
        Ok(())
    }

    /// Runs one `serde-json-core` call on the unused rest of the buffer, so numbers, escapes
    /// and `EscapedStr` are written exactly as `serde-json-core` writes them.
    fn call(&mut self, f: impl FnOnce(&mut Serializer<'_>) -> Result) -> Result {
        let out = &mut *self.0;
        let mut inner = Serializer::new(out.buf.get_mut(out.pos..).ok_or(Error::BufferFull)?);
        f(&mut inner)?;
        out.pos = out.pos.checked_add(inner.end()).ok_or(Error::BufferFull)?;
        Ok(())
    }

    /// Writes an integer in decimal, `-` first when `negative`, as `serde-json-core` writes it.
    fn integer(&mut self, negative: bool, magnitude: u64) -> Result {
        let mut digits = [0u8; 21];
        let start = decimal(magnitude, &mut digits);
        let start = if negative {
            let minus = start.wrapping_sub(1);
            *digits.get_mut(minus).ok_or(Error::BufferFull)? = b'-';
            minus
        } else {
            start
        };
        self.raw(digits.get(start..).ok_or(Error::BufferFull)?)
    }

    fn reborrow(&mut self) -> Fast<'_, 'b> {
        Fast(&mut *self.0)
    }
}

/// Writes the decimal digits of `v` at the end of `out`, two at a time from a table of pairs;
/// returns where they start (at least 1: `u64::MAX` has 20 digits, leaving room for a `-`).
///
/// Only 32-bit division is used: numbers above `u32::MAX` first lose 4-digit groups by
/// [`div_rem_10k`], so a 32-bit device links no 64-bit division routine.
fn decimal(v: u64, out: &mut [u8; 21]) -> usize {
    const PAIRS: &[u8; 200] = b"\
        0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut at = out.len();
    let mut put = |at: &mut usize, d: &[u8]| {
        let start = at.wrapping_sub(d.len());
        if let Some(slot) = out.get_mut(start..*at) {
            slot.copy_from_slice(d);
        }
        *at = start;
    };
    let pair = |n: u32| {
        let i = usize::try_from(n.wrapping_mul(2)).unwrap_or(0);
        PAIRS.get(i..i.wrapping_add(2)).unwrap_or(b"00")
    };
    let mut high = v;
    let mut v = loop {
        match u32::try_from(high) {
            Ok(low) => break low,
            Err(_) => {
                let (q, r) = div_rem_10k(high);
                put(&mut at, pair(r.wrapping_rem(100)));
                put(&mut at, pair(r.wrapping_div(100)));
                high = q;
            }
        }
    };
    while v >= 100 {
        put(&mut at, pair(v.wrapping_rem(100)));
        v = v.wrapping_div(100);
    }
    if v >= 10 {
        put(&mut at, pair(v));
    } else {
        put(&mut at, pair(v).get(1..).unwrap_or(b"0"));
    }
    at
}

/// `(v / 10_000, v % 10_000)` by long division over 16-bit digits: every step divides a 32-bit
/// number (the remainder, below 10,000, times 2^16 plus the next digit).
fn div_rem_10k(v: u64) -> (u64, u32) {
    let (mut q, mut r) = (0u64, 0u32);
    for shift in [48u32, 32, 16, 0] {
        let digit = u32::try_from(v.wrapping_shr(shift) & 0xffff).unwrap_or(0);
        let cur = r.wrapping_shl(16) | digit;
        q = q.wrapping_shl(16) | u64::from(cur.wrapping_div(10_000));
        r = cur.wrapping_rem(10_000);
    }
    (q, r)
}

/// Whether `serde-json-core` would write `s` unchanged between quotes.
fn needs_no_escape(s: &str) -> bool {
    // Eight bytes at a time, with the JSON reader's scan.
    crate::json::plain_len(s.as_bytes()) == s.len()
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
pub(crate) struct Open<'a, 'b> {
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
    type SerializeTupleVariant = Open<'a, 'b>;
    type SerializeMap = Open<'a, 'b>;
    type SerializeStruct = Open<'a, 'b>;
    type SerializeStructVariant = Open<'a, 'b>;

    fn serialize_bool(mut self, v: bool) -> Result {
        self.call(|s| Ok(ser::Serializer::serialize_bool(s, v)?))
    }
    fn serialize_i8(mut self, v: i8) -> Result {
        self.integer(v < 0, i64::from(v).unsigned_abs())
    }
    fn serialize_i16(mut self, v: i16) -> Result {
        self.integer(v < 0, i64::from(v).unsigned_abs())
    }
    fn serialize_i32(mut self, v: i32) -> Result {
        self.integer(v < 0, i64::from(v).unsigned_abs())
    }
    fn serialize_i64(mut self, v: i64) -> Result {
        self.integer(v < 0, v.unsigned_abs())
    }
    /// Within `i64` range only: `serde-json-core` has no 128-bit integers.
    fn serialize_i128(self, v: i128) -> Result {
        i64::try_from(v).map_or(Err(Error::Unsupported), |v| self.serialize_i64(v))
    }
    fn serialize_u8(mut self, v: u8) -> Result {
        self.integer(false, u64::from(v))
    }
    fn serialize_u16(mut self, v: u16) -> Result {
        self.integer(false, u64::from(v))
    }
    fn serialize_u32(mut self, v: u32) -> Result {
        self.integer(false, u64::from(v))
    }
    fn serialize_u64(mut self, v: u64) -> Result {
        self.integer(false, v)
    }
    /// Within `u64` range only: `serde-json-core` has no 128-bit integers.
    fn serialize_u128(self, v: u128) -> Result {
        u64::try_from(v).map_or(Err(Error::Unsupported), |v| self.serialize_u64(v))
    }
    fn serialize_f32(mut self, v: f32) -> Result {
        self.call(|s| Ok(ser::Serializer::serialize_f32(s, v)?))
    }
    fn serialize_f64(mut self, v: f64) -> Result {
        self.call(|s| Ok(ser::Serializer::serialize_f64(s, v)?))
    }
    /// A one-character string, as `serde_json` writes it: `serde-json-core` 0.7 panics here
    /// (`unreachable!`), and signing must never panic.
    fn serialize_char(self, v: char) -> Result {
        let mut utf8 = [0u8; 4];
        self.serialize_str(v.encode_utf8(&mut utf8))
    }

    fn serialize_str(mut self, v: &str) -> Result {
        if !needs_no_escape(v) {
            return self.call(|s| Ok(ser::Serializer::serialize_str(s, v)?));
        }
        self.raw(b"\"")?;
        self.raw(v.as_bytes())?;
        self.raw(b"\"")
    }

    /// An array of numbers, as `serde_json` writes bytes (`serde-json-core` copies them raw,
    /// which is not JSON).
    fn serialize_bytes(self, v: &[u8]) -> Result {
        let mut seq = self.open(b"[", b"]")?;
        for b in v {
            seq.inner.element(b)?;
        }
        seq.end()
    }
    fn serialize_none(mut self) -> Result {
        self.call(|s| Ok(ser::Serializer::serialize_none(s)?))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(mut self) -> Result {
        self.call(|s| Ok(ser::Serializer::serialize_unit(s)?))
    }
    fn serialize_unit_struct(mut self, name: &'static str) -> Result {
        self.call(|s| Ok(ser::Serializer::serialize_unit_struct(s, name)?))
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
        mut self,
        name: &'static str,
        value: &T,
    ) -> Result {
        if name == ESCAPED_STR {
            self.call(|s| Ok(ser::Serializer::serialize_newtype_struct(s, name, value)?))
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
    /// `{"variant":[...]}`, as `serde_json` writes it (`serde-json-core` panics here).
    fn serialize_tuple_variant(
        mut self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Open<'a, 'b>> {
        self.raw(b"{\"")?;
        self.raw(variant.as_bytes())?;
        self.open(b"\":[", b"]}")
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

    fn collect_str<T: fmt::Display + ?Sized>(mut self, value: &T) -> Result {
        self.call(|s| Ok(ser::Serializer::collect_str(s, value)?))
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

impl ser::SerializeTupleVariant for Open<'_, '_> {
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
    /// The key as a JSON string, then `:`. Integer keys are quoted as `serde_json` does
    /// (`serde-json-core` writes them bare, which is not JSON); other keys are refused.
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.inner.comma()?;
        key.serialize(MapKey(self.inner.ser.reborrow()))?;
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

/// Writes a map key: strings as they are, integers quoted, nothing else (RFC 8259 §4).
struct MapKey<'a, 'b>(Fast<'a, 'b>);

impl MapKey<'_, '_> {
    fn quoted(mut self, write: impl FnOnce(&mut Serializer<'_>) -> Result) -> Result {
        self.0.raw(b"\"")?;
        self.0.call(write)?;
        self.0.raw(b"\"")
    }
}

macro_rules! integer_keys {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, v: $ty) -> Result {
            self.quoted(|s| Ok(ser::Serializer::$method(s, v)?))
        }
    )*};
}

impl ser::Serializer for MapKey<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    integer_keys!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64
    );

    fn serialize_str(self, v: &str) -> Result {
        ser::Serializer::serialize_str(self.0, v)
    }
    fn serialize_char(self, v: char) -> Result {
        ser::Serializer::serialize_char(self.0, v)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result {
        ser::Serializer::serialize_str(self.0, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result {
        value.serialize(self)
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result {
        ser::Serializer::collect_str(self.0, value)
    }

    fn serialize_bool(self, _: bool) -> Result {
        Err(Error::Unsupported)
    }
    fn serialize_i128(self, _: i128) -> Result {
        Err(Error::Unsupported)
    }
    fn serialize_u128(self, _: u128) -> Result {
        Err(Error::Unsupported)
    }
    fn serialize_f32(self, _: f32) -> Result {
        Err(Error::Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Result {
        Err(Error::Unsupported)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Error::Unsupported)
    }
    fn serialize_none(self) -> Result {
        Err(Error::Unsupported)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(Error::Unsupported)
    }
    fn serialize_unit(self) -> Result {
        Err(Error::Unsupported)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        Err(Error::Unsupported)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Error::Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Error::Unsupported)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(Error::Unsupported)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(Error::Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Error::Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Error::Unsupported)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(Error::Unsupported)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Error::Unsupported)
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
                serde_json_core::to_slice(value, &mut theirs[..short]).map_err(Error::from),
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

    /// Where `serde-json-core` panics or writes text that is not JSON, the output is what
    /// `serde_json` writes, or an error.
    #[test]
    fn matches_serde_json_where_serde_json_core_cannot() {
        #[derive(Serialize)]
        enum Shape {
            Tuple(u8, &'static str),
        }
        #[derive(Serialize)]
        #[serde(tag = "type")]
        enum Tagged {
            Number(u32),
        }
        struct Bytes;
        impl Serialize for Bytes {
            fn serialize<S: ser::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
                s.serialize_bytes(b"\x00\xff")
            }
        }
        fn json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
            let mut buf = [0u8; 256];
            let n = to_slice(value, &mut buf)?;
            Ok(String::from(core::str::from_utf8(&buf[..n]).unwrap()))
        }
        let num_keys: BTreeMap<u8, bool> = [(1, true), (2, false)].into_iter().collect();
        let char_keys: BTreeMap<char, u8> = [('"', 1)].into_iter().collect();
        let bool_keys: BTreeMap<bool, u8> = [(true, 1)].into_iter().collect();
        let ok: [(Result<String>, &str); 6] = [
            (json(&num_keys), r#"{"1":true,"2":false}"#),
            (json(&char_keys), r#"{"\"":1}"#),
            (json(&Shape::Tuple(1, "a")), r#"{"Tuple":[1,"a"]}"#),
            (json(&['x', '\n']), r#"["x","\n"]"#),
            (json(&Bytes), "[0,255]"),
            (
                json(&(u128::from(u64::MAX), -1i128)),
                "[18446744073709551615,-1]",
            ),
        ];
        for (got, want) in ok {
            assert_eq!(got.as_deref(), Ok(want));
        }
        assert_eq!(json(&bool_keys), Err(Error::Unsupported));
        assert_eq!(json(&Tagged::Number(1)), Err(Error::Unsupported));
        assert_eq!(json(&(u128::from(u64::MAX) + 1)), Err(Error::Unsupported));
        assert_eq!(json(&i128::MIN), Err(Error::Unsupported));
    }

    proptest! {
        #[test]
        fn strings_match_serde_json_core(s in any::<String>(), t in "[ -~\\x00-\\x1f]{0,40}") {
            same(&(s.as_str(), t.as_str()));
        }

        #[test]
        fn integers_match_serde_json_core(u in any::<u64>(), i in any::<i64>(), small in any::<i8>(), d in 0u32..20) {
            same(&(u, i, small, 10u64.pow(d), 10u64.pow(d) - 1, i64::MIN, u8::MAX));
            // Every magnitude, and both sides of the 32-bit boundary where formatting switches
            // from 4-digit long division to 32-bit arithmetic.
            same(&(u >> (d * 3), u64::from(u32::MAX), u64::from(u32::MAX) + 1, u64::MAX, 10_000u64 << 32));
        }
    }
}
