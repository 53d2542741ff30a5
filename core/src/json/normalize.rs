//! The normaliser: validates a decoded segment as one JSON object and rewrites it in place
//! into canonical form, recording its top-level members in an [`Index`].

use super::index::{Index, MAX_INDEXED};
use crate::Error;

/// Deepest nesting of arrays and objects accepted in a header or payload, the top-level object
/// counting as one level. Deeper input is [`Error::InvalidJson`] (RFC 8259 §9 lets a parser
/// limit nesting; `serde_json`'s limit is 128).
pub const MAX_DEPTH: u32 = 64;

/// Length of the longest prefix of `s` with no `"`, `\` or control character.
pub(crate) fn plain_len(s: &[u8]) -> usize {
    stop_len::<false>(s)
}

/// Length of the longest prefix of `s` with no `"`, `\`, control character, or byte outside
/// ASCII when `STOP_AT_NON_ASCII`.
///
/// Eight bytes at a time: `x - 0x01…01 & !x & 0x80…80` is non-zero exactly when some byte of `x`
/// is zero, and `x - 0x20…20 & !x & 0x80…80` exactly when some byte is below 0x20; a word that
/// may hold a stop byte is then scanned byte by byte.
pub(super) fn stop_len<const STOP_AT_NON_ASCII: bool>(s: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let stops = |b: u8| b == b'"' || b == b'\\' || b < 0x20 || (STOP_AT_NON_ASCII && b >= 0x80);
    let mut words = s.chunks_exact(8);
    let mut start = 0usize;
    for word in &mut words {
        let Ok(bytes) = <[u8; 8]>::try_from(word) else {
            break;
        };
        let w = u64::from_ne_bytes(bytes);
        let stop = has_zero(w ^ u64::from_ne_bytes([b'"'; 8]))
            | has_zero(w ^ u64::from_ne_bytes([b'\\'; 8]))
            | (w.wrapping_sub(u64::from_ne_bytes([0x20; 8])) & !w & HIGH)
            | if STOP_AT_NON_ASCII { w & HIGH } else { 0 };
        if stop != 0 {
            break;
        }
        start = start.wrapping_add(8);
    }
    let tail = s.get(start..).unwrap_or_default();
    let found = tail.iter().position(|&b| stops(b)).unwrap_or(tail.len());
    start.wrapping_add(found)
}

struct Normalizer<'b> {
    buf: &'b mut [u8],
    /// Next byte to read.
    r: usize,
    /// Next byte to write; never ahead of `r`.
    w: usize,
}

impl Normalizer<'_> {
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.r).copied()
    }

    fn next(&mut self) -> Result<u8, Error> {
        let b = self.peek().ok_or(Error::InvalidJson)?;
        self.r = self.r.wrapping_add(1);
        Ok(b)
    }

    fn put(&mut self, b: u8) -> Result<(), Error> {
        *self.buf.get_mut(self.w).ok_or(Error::InvalidJson)? = b;
        self.w = self.w.wrapping_add(1);
        Ok(())
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.r = self.r.wrapping_add(1);
        }
    }

    fn expect(&mut self, want: u8) -> Result<(), Error> {
        self.skip_ws();
        if self.next()? == want {
            self.put(want)
        } else {
            Err(Error::InvalidJson)
        }
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = char::from(self.next()?)
                .to_digit(16)
                .ok_or(Error::InvalidJson)?;
            v = (v << 4) | d;
        }
        Ok(v)
    }

    /// Reads a string whose opening quote is the next byte and writes its canonical form.
    fn string(&mut self) -> Result<(), Error> {
        self.skip_ws();
        if self.next()? != b'"' {
            return Err(Error::InvalidJson);
        }
        self.put(b'"')?;
        loop {
            let run = stop_len::<true>(self.buf.get(self.r..).unwrap_or_default());
            self.keep(run);
            match self.peek().ok_or(Error::InvalidJson)? {
                b'"' => {
                    self.r = self.r.wrapping_add(1);
                    return self.put(b'"');
                }
                b'\\' => {
                    self.r = self.r.wrapping_add(1);
                    self.escape()?;
                }
                0x00..=0x1f => return Err(Error::InvalidJson),
                _ => self.non_ascii_run()?,
            }
        }
    }

    /// Keeps the next `run` bytes as they are: moves them in one copy (none at all while nothing
    /// has been shortened yet, as the text is then already in place).
    fn keep(&mut self, run: usize) {
        if self.w < self.r {
            // Forward, through a small buffer: each chunk is read before any of it is written,
            // and is written below where the next one is read. (`copy_within` would link a
            // 1.5 KiB `memmove` on a device, for text that holds escapes.)
            let mut chunk = [0u8; 32];
            let mut left = run;
            while left > 0 {
                let n = left.min(chunk.len());
                let (r, w) = (self.r, self.w);
                let (Some(tmp), Some(src)) =
                    (chunk.get_mut(..n), self.buf.get(r..r.wrapping_add(n)))
                else {
                    // Never taken (`run` is within the text); should it be, reading stops at
                    // the end of the text, which the caller then refuses.
                    self.r = self.buf.len();
                    return;
                };
                tmp.copy_from_slice(src);
                if let Some(dst) = self.buf.get_mut(w..w.wrapping_add(n)) {
                    dst.copy_from_slice(tmp);
                }
                self.r = r.wrapping_add(n);
                self.w = w.wrapping_add(n);
                left = left.wrapping_sub(n);
            }
        } else {
            self.r = self.r.wrapping_add(run);
            self.w = self.w.wrapping_add(run);
        }
    }

    /// Keeps a run of bytes outside ASCII, which must be whole, valid UTF-8 sequences: only
    /// string contents may hold such bytes, so UTF-8 is checked here and nowhere else.
    fn non_ascii_run(&mut self) -> Result<(), Error> {
        let rest = self.buf.get(self.r..).unwrap_or_default();
        let run = rest.iter().position(u8::is_ascii).unwrap_or(rest.len());
        let bytes = rest.get(..run).ok_or(Error::InvalidJson)?;
        if core::str::from_utf8(bytes).is_err() {
            return Err(Error::InvalidJson);
        }
        self.keep(run);
        Ok(())
    }

    fn escape(&mut self) -> Result<(), Error> {
        let c = match self.next()? {
            b'"' => u32::from(b'"'),
            b'\\' => u32::from(b'\\'),
            b'/' => u32::from(b'/'),
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => 0x0a,
            b'r' => 0x0d,
            b't' => 0x09,
            b'u' => {
                let hi = self.hex4()?;
                match hi {
                    0xd800..=0xdbff => {
                        // A high surrogate must be followed by an escaped low surrogate (RFC 8259 §7).
                        if self.next()? != b'\\' || self.next()? != b'u' {
                            return Err(Error::InvalidJson);
                        }
                        let lo = self.hex4()?;
                        if !(0xdc00..=0xdfff).contains(&lo) {
                            return Err(Error::InvalidJson);
                        }
                        // RFC 2781 §2.2: U = 0x10000 + the 20 bits (an addition: the high half reaches bit 19).
                        0x10000u32.wrapping_add(((hi & 0x3ff) << 10) | (lo & 0x3ff))
                    }
                    0xdc00..=0xdfff => return Err(Error::InvalidJson),
                    v => v,
                }
            }
            _ => return Err(Error::InvalidJson),
        };
        self.put_char(c)
    }

    /// Writes one decoded character in canonical form.
    fn put_char(&mut self, c: u32) -> Result<(), Error> {
        let short = match c {
            0x22 => Some(b'"'),
            0x5c => Some(b'\\'),
            0x08 => Some(b'b'),
            0x0c => Some(b'f'),
            0x0a => Some(b'n'),
            0x0d => Some(b'r'),
            0x09 => Some(b't'),
            _ => None,
        };
        if let Some(s) = short {
            self.put(b'\\')?;
            return self.put(s);
        }
        if c < 0x20 {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            self.put(b'\\')?;
            for &b in b"u00" {
                self.put(b)?;
            }
            self.put(HEX.get((c >> 4) as usize).copied().unwrap_or(b'0'))?;
            return self.put(HEX.get((c & 0xf) as usize).copied().unwrap_or(b'0'));
        }
        let ch = char::from_u32(c).ok_or(Error::InvalidJson)?;
        let mut tmp = [0u8; 4];
        for &b in ch.encode_utf8(&mut tmp).as_bytes() {
            self.put(b)?;
        }
        Ok(())
    }

    /// Copies a run of digits in one move (none at all while nothing has been shortened yet);
    /// returns its length.
    fn digits(&mut self) -> usize {
        let rest = self.buf.get(self.r..).unwrap_or_default();
        let run = rest
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(rest.len());
        self.keep(run);
        run
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<(), Error> {
        if self.peek() == Some(b'-') {
            self.r = self.r.wrapping_add(1);
            self.put(b'-')?;
        }
        match self.peek() {
            Some(b'0') => {
                self.r = self.r.wrapping_add(1);
                self.put(b'0')?;
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(Error::InvalidJson),
        }
        if self.peek() == Some(b'.') {
            self.r = self.r.wrapping_add(1);
            self.put(b'.')?;
            if self.digits() == 0 {
                return Err(Error::InvalidJson);
            }
        }
        if let Some(e @ (b'e' | b'E')) = self.peek() {
            self.r = self.r.wrapping_add(1);
            self.put(e)?;
            if let Some(s @ (b'+' | b'-')) = self.peek() {
                self.r = self.r.wrapping_add(1);
                self.put(s)?;
            }
            if self.digits() == 0 {
                return Err(Error::InvalidJson);
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Error> {
        for &b in word {
            if self.next()? != b {
                return Err(Error::InvalidJson);
            }
            self.put(b)?;
        }
        Ok(())
    }
}

/// Validates `buf` as exactly one JSON object and rewrites it in place into canonical form.
///
/// Returns the length of the canonical text, which starts at `buf[0]`.
///
/// # Errors
/// [`Error::InvalidJson`] for anything that is not a single well-formed object of valid UTF-8,
/// or that nests deeper than [`MAX_DEPTH`].
pub(crate) fn normalize_object(buf: &mut [u8]) -> Result<usize, Error> {
    normalize_object_indexed(buf, &mut Index::new())
}

/// The fast path of [`normalize_object_indexed`], for text already in canonical form of the
/// simplest shape, which is what signers write: an object without whitespace whose member names
/// and string values are printable ASCII without escapes, and whose values are such strings,
/// integers, `true`, `false` or `null`, with at most [`MAX_INDEXED`] members.
///
/// Returns `true` and records the members in `index` when `text` has that shape: it is then
/// valid JSON and already canonical, so [`normalize_object_indexed`] would leave it unchanged
/// and record the same index. Returns `false` for anything else, valid or not, and the caller
/// falls back to [`normalize_object_indexed`]: this path only ever says yes to text the full
/// parser accepts unchanged (tested against it, and fuzzed by the `decode_parts` target).
pub(crate) fn index_plain_object(text: &[u8], index: &mut Index) -> bool {
    *index = Index::new();
    if text.len() > usize::from(u16::MAX) || text.first() != Some(&b'{') {
        return false;
    }
    if text == b"{}" {
        index.escapes = false;
        return true;
    }
    let mut at = 1usize;
    loop {
        // `"name":` with a plain name.
        let quote = at;
        let Some(name_end) = plain_string_end(text, quote) else {
            return false;
        };
        if text.get(name_end) != Some(&b':') || index.len == MAX_INDEXED {
            return false;
        }
        let value = name_end.wrapping_add(1);
        index.open(quote, value);
        let end = match text.get(value) {
            Some(b'"') => plain_string_end(text, value),
            Some(b'-' | b'0'..=b'9') => integer_end(text, value),
            Some(b't') => literal_end(text, value, b"true"),
            Some(b'f') => literal_end(text, value, b"false"),
            Some(b'n') => literal_end(text, value, b"null"),
            _ => None,
        };
        let Some(end) = end else {
            return false;
        };
        index.close(end);
        match text.get(end) {
            Some(b',') => at = end.wrapping_add(1),
            Some(b'}') if end.wrapping_add(1) == text.len() => {
                index.escapes = false;
                return !index.overflow;
            }
            _ => return false,
        }
    }
}

/// One past the closing quote of the string whose opening quote is at `at`, if it holds only
/// printable ASCII other than `"` and `\`.
fn plain_string_end(text: &[u8], at: usize) -> Option<usize> {
    if text.get(at) != Some(&b'"') {
        return None;
    }
    let start = at.wrapping_add(1);
    let close = start.wrapping_add(stop_len::<true>(text.get(start..)?));
    // DEL is printable for JSON (RFC 8259 §7 escapes only below 0x20), and kept as is.
    (text.get(close) == Some(&b'"')).then_some(close.wrapping_add(1))
}

/// One past the integer starting at `at`: `-? (0 | [1-9][0-9]*)`, not followed by a fraction or
/// exponent (those take the full parser).
fn integer_end(text: &[u8], at: usize) -> Option<usize> {
    let start = if text.get(at) == Some(&b'-') {
        at.wrapping_add(1)
    } else {
        at
    };
    let rest = text.get(start..)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let leading_zero = digits > 1 && rest.first() == Some(&b'0');
    let end = start.wrapping_add(digits);
    (digits > 0 && !leading_zero && !matches!(text.get(end), Some(b'.' | b'e' | b'E')))
        .then_some(end)
}

fn literal_end(text: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    let end = at.checked_add(word.len())?;
    (text.get(at..end)? == word).then_some(end)
}

/// [`normalize_object`], also recording the place of each top-level member in `index`.
///
/// # Errors
/// As [`normalize_object`].
pub(crate) fn normalize_object_indexed(buf: &mut [u8], index: &mut Index) -> Result<usize, Error> {
    *index = Index::new();
    let mut n = Normalizer { buf, r: 0, w: 0 };
    n.skip_ws();
    if n.peek() != Some(b'{') {
        return Err(Error::InvalidJson);
    }
    // One bit per open container, set for an object; iterative so the stack stays small.
    let mut kinds: u64 = 0;
    let mut depth: u32 = 0;
    'value: loop {
        n.skip_ws();
        match n.next()? {
            open @ (b'{' | b'[') => {
                depth = depth.wrapping_add(1);
                if depth > MAX_DEPTH {
                    return Err(Error::InvalidJson);
                }
                n.put(open)?;
                kinds = (kinds << 1) | u64::from(open == b'{');
                n.skip_ws();
                let close = if open == b'{' { b'}' } else { b']' };
                if n.peek() == Some(close) {
                    n.r = n.r.wrapping_add(1);
                    n.put(close)?;
                    kinds >>= 1;
                    depth = depth.wrapping_sub(1);
                } else {
                    if open == b'{' {
                        let quote = n.w;
                        n.string()?;
                        n.expect(b':')?;
                        if depth == 1 {
                            index.open(quote, n.w);
                        }
                    }
                    continue 'value;
                }
            }
            b'"' => {
                n.r = n.r.wrapping_sub(1);
                n.string()?;
            }
            first @ (b't' | b'f' | b'n') => {
                n.r = n.r.wrapping_sub(1);
                n.literal(match first {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                })?;
            }
            b'-' | b'0'..=b'9' => {
                n.r = n.r.wrapping_sub(1);
                n.number()?;
            }
            _ => return Err(Error::InvalidJson),
        }
        // After a complete value: close containers or move to the next element.
        loop {
            if depth == 0 {
                n.skip_ws();
                return if n.peek().is_none() {
                    Ok(n.w)
                } else {
                    Err(Error::InvalidJson)
                };
            }
            n.skip_ws();
            let in_object = kinds & 1 == 1;
            if depth == 1 {
                index.close(n.w);
            }
            match n.next()? {
                b',' => {
                    n.put(b',')?;
                    if in_object {
                        let quote = n.w;
                        n.string()?;
                        n.expect(b':')?;
                        if depth == 1 {
                            index.open(quote, n.w);
                        }
                    }
                    continue 'value;
                }
                b'}' if in_object => n.put(b'}')?,
                b']' if !in_object => n.put(b']')?,
                _ => return Err(Error::InvalidJson),
            }
            kinds >>= 1;
            depth = depth.wrapping_sub(1);
        }
    }
}
