//! Strict JSON (RFC 8259) for the header and claims segments, without allocation.
//!
//! [`normalize_object`] validates a decoded segment and rewrites it in place into a canonical form:
//! insignificant whitespace removed, every string escape that stands for a printable character
//! (`\/`, `\u00e9`, surrogate pairs) replaced by its UTF-8 bytes, and the escapes that must stay
//! (`\"`, `\\`, control characters) spelled one way only. Canonical text never grows, so the
//! rewrite fits in the same buffer, and two member names are equal exactly when their bytes are.
//! The rest of the crate then walks the canonical text with [`Members`], which trusts its shape.

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
fn stop_len<const STOP_AT_NON_ASCII: bool>(s: &[u8]) -> usize {
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

/// Most top-level members whose place [`normalize_object_indexed`] records.
pub(crate) const MAX_INDEXED: usize = 16;

/// Where one top-level member lies in canonical text: `"name":value` with the name from
/// `name` to `value - 2` (before the closing quote and the colon), the value to `end`.
#[derive(Clone, Copy, Default)]
struct Span {
    name: u16,
    value: u16,
    end: u16,
}

impl Span {
    fn name<'a>(&self, canonical: &'a [u8]) -> Option<&'a [u8]> {
        let end = usize::from(self.value).checked_sub(2)?;
        canonical.get(usize::from(self.name)..end)
    }
}

/// The places of the top-level members of a canonical object, recorded while normalising it,
/// so that reading the members needs no second scan of the text.
///
/// Holds up to [`MAX_INDEXED`] members of text shorter than 64 KiB; beyond that it records
/// nothing and [`Index::members`] returns `None` (use [`Members`] then).
pub(crate) struct Index {
    spans: [Span; MAX_INDEXED],
    len: usize,
    overflow: bool,
    /// Whether strings may hold escapes: false only after [`index_plain_object`].
    escapes: bool,
}

impl Index {
    /// An empty index.
    pub(crate) const fn new() -> Self {
        Self {
            spans: [Span {
                name: 0,
                value: 0,
                end: 0,
            }; MAX_INDEXED],
            len: 0,
            overflow: false,
            escapes: true,
        }
    }

    /// Records a member whose name's opening quote is at `quote` and whose value starts at `value`.
    fn open(&mut self, quote: usize, value: usize) {
        let span = match (u16::try_from(quote.wrapping_add(1)), u16::try_from(value)) {
            (Ok(name), Ok(value)) => Span {
                name,
                value,
                end: value,
            },
            _ => {
                self.overflow = true;
                return;
            }
        };
        match self.spans.get_mut(self.len) {
            Some(slot) if !self.overflow => {
                *slot = span;
                self.len = self.len.wrapping_add(1);
            }
            _ => self.overflow = true,
        }
    }

    /// Records the end of the last member's value.
    fn close(&mut self, end: usize) {
        let slot = self.len.checked_sub(1).and_then(|i| self.spans.get_mut(i));
        match (slot, u16::try_from(end)) {
            (Some(span), Ok(end)) => span.end = end,
            _ => self.overflow = true,
        }
    }

    /// The members of `canonical` (the text this index was recorded for) as (name, raw value),
    /// like [`Members`]; `None` if the object was too large to index.
    pub(crate) fn members<'a>(
        &self,
        canonical: &'a [u8],
    ) -> Option<impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone + 'a> {
        if self.overflow {
            return None;
        }
        // Every span was recorded by the normaliser, so `get` never fails on canonical text;
        // should it, the member is dropped and `check_unique` refuses the object.
        Some(self.spans.into_iter().take(self.len).filter_map(move |s| {
            let name = s.name(canonical)?;
            let value = canonical.get(usize::from(s.value)..usize::from(s.end))?;
            Some((name, value))
        }))
    }

    /// Whether a string in the indexed text may hold an escape (a `\\`); `false` only when
    /// [`index_plain_object`] recorded it, so readers can skip looking.
    pub(crate) fn may_have_escapes(&self) -> bool {
        self.escapes
    }

    /// Fails with [`Error::DuplicateMember`] if two indexed members share a name, and with
    /// [`Error::InvalidJson`] if the index does not describe `canonical`.
    pub(crate) fn check_unique(&self, canonical: &[u8]) -> Result<(), Error> {
        if self.overflow {
            return Err(Error::InvalidJson);
        }
        let spans = self.spans.get(..self.len).ok_or(Error::InvalidJson)?;
        // A cheap key per name (length, first and last byte) so that most pairs are told
        // apart without comparing the names.
        let mut keys = [0u32; MAX_INDEXED];
        for (key, span) in keys.iter_mut().zip(spans) {
            let name = span.name(canonical).ok_or(Error::InvalidJson)?;
            let (first, last) = (name.first().copied(), name.last().copied());
            *key = u32::from_le_bytes([
                first.unwrap_or(0),
                last.unwrap_or(0),
                u8::try_from(name.len()).unwrap_or(u8::MAX),
                0,
            ]);
        }
        let keys = keys.get(..spans.len()).ok_or(Error::InvalidJson)?;
        let mut rest = keys.iter().zip(spans);
        while let Some((key, span)) = rest.next() {
            for (other_key, other) in rest.clone() {
                if key == other_key && span.name(canonical) == other.name(canonical) {
                    return Err(Error::DuplicateMember);
                }
            }
        }
        Ok(())
    }
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

/// Index one past the end of the value starting at `at` in canonical text.
fn value_end(s: &[u8], at: usize) -> usize {
    let mut i = at;
    let mut depth = 0usize;
    let mut in_str = false;
    while let Some(&b) = s.get(i) {
        i = i.wrapping_add(1);
        if in_str {
            match b {
                b'\\' => i = i.wrapping_add(1),
                b'"' => {
                    in_str = false;
                    if depth == 0 {
                        return i;
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => depth = depth.wrapping_add(1),
            b'}' | b']' if depth > 0 => {
                depth = depth.wrapping_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            b',' | b'}' | b']' if depth == 0 => return i.wrapping_sub(1),
            _ => {}
        }
    }
    i
}

/// The members of a canonical top-level object, as (name, value) with the name's quotes removed
/// and the value as raw canonical JSON.
#[derive(Clone)]
pub(crate) struct Members<'a> {
    s: &'a [u8],
    /// Position of the next member name's opening quote, or past the end.
    at: usize,
}

impl<'a> Members<'a> {
    /// Members of the canonical object `s` (as returned by [`normalize_object`]).
    pub(crate) fn new(s: &'a [u8]) -> Self {
        // Skip `{`; an empty object is `{}` and yields nothing.
        let at = if s.get(1) == Some(&b'"') { 1 } else { s.len() };
        Self { s, at }
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let name_end = value_end(self.s, self.at);
        let name = self
            .s
            .get(self.at.wrapping_add(1)..name_end.wrapping_sub(1))?;
        let v_start = name_end.wrapping_add(1); // skip ':'
        let v_end = value_end(self.s, v_start);
        let value = self.s.get(v_start..v_end)?;
        // `v_end` is at ',' (more members) or '}' (done).
        self.at = if self.s.get(v_end) == Some(&b',') {
            v_end.wrapping_add(1)
        } else {
            self.s.len()
        };
        Some((name, value))
    }
}

/// Fails with [`Error::DuplicateMember`] if two members of the canonical object share a name.
pub(crate) fn check_unique(s: &[u8]) -> Result<(), Error> {
    let mut outer = Members::new(s);
    while let Some((name, _)) = outer.next() {
        if outer.clone().any(|(other, _)| other == name) {
            return Err(Error::DuplicateMember);
        }
    }
    Ok(())
}

/// The contents of a canonical JSON string value (quotes removed), or `None` for other values.
pub(crate) fn string_contents(value: &[u8]) -> Option<&[u8]> {
    value.strip_prefix(b"\"")?.strip_suffix(b"\"")
}

/// Decodes the canonical escapes left in string contents into `out`; returns the bytes written.
pub(crate) fn unescape_into(raw: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    let mut w = 0usize;
    let mut it = raw.iter().copied();
    while let Some(b) = it.next() {
        let d = if b == b'\\' {
            match it.next() {
                Some(b'"') => b'"',
                Some(b'\\') => b'\\',
                Some(b'b') => 0x08,
                Some(b'f') => 0x0c,
                Some(b'n') => 0x0a,
                Some(b'r') => 0x0d,
                Some(b't') => 0x09,
                // Canonical `\u00XX`: only control characters remain in this form.
                Some(b'u') => {
                    let mut v = 0u8;
                    for _ in 0..4 {
                        let h = it.next().ok_or(Error::InvalidJson)?;
                        let nib = char::from(h).to_digit(16).ok_or(Error::InvalidJson)?;
                        v = v.wrapping_shl(4)
                            | u8::try_from(nib).map_err(|_| Error::InvalidJson)?;
                    }
                    v
                }
                _ => return Err(Error::InvalidJson),
            }
        } else {
            b
        };
        *out.get_mut(w).ok_or(Error::BufferTooSmall)? = d;
        w = w.wrapping_add(1);
    }
    Ok(w)
}

/// Whether canonical string contents decode to exactly `want`.
pub(crate) fn str_eq(raw: &[u8], want: &str) -> bool {
    if !raw.contains(&b'\\') {
        return raw == want.as_bytes();
    }
    let mut tmp = [0u8; 1];
    let mut want_it = want.as_bytes().iter();
    let mut it = raw.iter();
    // Decode one byte at a time; `unescape_into` on single escapes keeps one code path.
    while let Some(&b) = it.next() {
        let got = if b == b'\\' {
            let e = match it.next() {
                Some(&e) => e,
                None => return false,
            };
            let len = if e == b'u' { 6 } else { 2 };
            let mut esc = [b'\\', e, 0, 0, 0, 0];
            for slot in esc.iter_mut().take(len).skip(2) {
                match it.next() {
                    Some(&h) => *slot = h,
                    None => return false,
                }
            }
            match esc.get(..len).map(|e| unescape_into(e, &mut tmp)) {
                Some(Ok(1)) => tmp[0],
                _ => return false,
            }
        } else {
            b
        };
        if want_it.next() != Some(&got) {
            return false;
        }
    }
    want_it.next().is_none()
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

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
