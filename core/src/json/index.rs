//! The index of a canonical object's top-level members, recorded while it is normalised.

use crate::Error;

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
    pub(super) len: usize,
    pub(super) overflow: bool,
    /// Whether strings may hold escapes: false only after [`index_plain_object`].
    pub(super) escapes: bool,
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
    pub(super) fn open(&mut self, quote: usize, value: usize) {
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
    pub(super) fn close(&mut self, end: usize) {
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
