//! Reading tokens and passwords from arguments or standard input, with a bound on size.

use std::io::Read;

/// Why input could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// More than the limit arrived (only the limit plus one byte was read).
    TooLarge(usize),
    /// The bytes are not UTF-8.
    NotUtf8,
    /// Nothing but whitespace.
    Empty,
    /// Reading failed.
    Io(String),
}

/// At most `limit` bytes of standard input (reading stops at `limit + 1`, so an endless pipe
/// cannot hold the command up or fill memory).
///
/// # Errors
/// [`InputError::TooLarge`] past the limit; [`InputError::Io`] if reading fails.
pub fn read_stdin(limit: usize) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    std::io::stdin()
        .lock()
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| InputError::Io(e.to_string()))?;
    if bytes.len() > limit {
        return Err(InputError::TooLarge(limit));
    }
    Ok(bytes)
}

/// The token given as `arg`, or read from standard input when `arg` is `-`, without the
/// surrounding whitespace (a trailing newline from `echo`, say).
///
/// # Errors
/// As [`read_stdin`], plus [`InputError::NotUtf8`] and [`InputError::Empty`].
pub fn token(arg: &str, limit: usize) -> Result<String, InputError> {
    let text = if arg == "-" {
        // Room for surrounding whitespace on top of the longest acceptable token.
        let bytes = read_stdin(limit.saturating_add(1024))?;
        String::from_utf8(bytes).map_err(|_| InputError::NotUtf8)?
    } else {
        arg.to_owned()
    };
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if trimmed.is_empty() {
        return Err(InputError::Empty);
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_trimmed() {
        assert_eq!(token(" a.b.c\n", 100), Ok("a.b.c".into()));
        assert_eq!(token(" \n", 100), Err(InputError::Empty));
    }
}
