//! The canonical-object reader: walks text the normaliser produced, trusting its shape.

use crate::Error;

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
