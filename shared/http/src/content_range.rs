//! `Content-Range` of an uploaded chunk, in the forms clients send: Pulp's chunked uploads
//! (`bytes 0-99/200`, `bytes 100-199/*`) and registry clients (`0-99`, `bytes=0-99`). Numbers
//! are bounded so that a chunk's length is always computable.

/// The largest byte position taken (2^53: any real file, and exact in a JSON number).
pub const MAX_POSITION: u64 = 1 << 53;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRange {
    pub start: u64,
    /// The last byte, inclusive; never before `start`.
    pub end: u64,
    /// The whole file's size, when the sender said it.
    pub total: Option<u64>,
}

impl ChunkRange {
    /// How many bytes the chunk has (at least one).
    pub fn size(&self) -> u64 {
        self.end - self.start + 1
    }
}

/// Parses a `Content-Range` value; `None` when it is not one, or its numbers are out of order
/// or beyond [`MAX_POSITION`]. With `strict`, the unit `bytes ` and the total are required
/// (Pulp's form); without, both may be left out (the registry's).
pub fn parse(value: &str, strict: bool) -> Option<ChunkRange> {
    let rest = match value.strip_prefix("bytes ") {
        Some(rest) => rest,
        None if strict => return None,
        None => value.strip_prefix("bytes=").unwrap_or(value),
    };
    let (range, total) = match rest.split_once('/') {
        Some((range, total)) => (range, Some(total)),
        None if strict => return None,
        None => (rest, None),
    };
    let (start, end) = range.split_once('-')?;
    let start = number(start)?;
    let end = number(end)?;
    let total = match total {
        None | Some("*") => None,
        Some(t) => Some(number(t)?),
    };
    (start <= end).then_some(ChunkRange { start, end, total })
}

/// Decimal digits only (no sign, no spaces), at most [`MAX_POSITION`].
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| *n <= MAX_POSITION)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_forms_clients_send() {
        let r = |start, end, total| Some(ChunkRange { start, end, total });
        assert_eq!(parse("bytes 0-99/200", true), r(0, 99, Some(200)));
        assert_eq!(parse("bytes 100-199/*", true), r(100, 199, None));
        assert_eq!(parse("0-99", false), r(0, 99, None));
        assert_eq!(parse("bytes=5-9", false), r(5, 9, None));
        assert_eq!(parse("0-99", true), None);
        assert_eq!(parse("bytes -1-5/10", true), None);
        assert_eq!(parse("items 0-1/2", true), None);
        assert_eq!(parse("bytes 9-5/10", true), None);
        assert_eq!(parse("0-9223372036854775807", false), None);
        assert_eq!(parse("bytes +1-5/10", true), None);
    }

    proptest! {
        #[test]
        fn any_text_parses_or_not_without_panic(s in any::<String>(), strict in any::<bool>()) {
            if let Some(r) = parse(&s, strict) {
                prop_assert!(r.start <= r.end && r.end <= MAX_POSITION);
                prop_assert!(r.size() >= 1);
            }
        }

        #[test]
        fn what_is_written_is_read_back(start in 0..MAX_POSITION, extra in 0..1u64 << 40, total in proptest::option::of(0..MAX_POSITION)) {
            let end = (start + extra).min(MAX_POSITION);
            let text = match total {
                Some(t) => format!("bytes {start}-{end}/{t}"),
                None => format!("bytes {start}-{end}/*"),
            };
            prop_assert_eq!(parse(&text, true), Some(ChunkRange { start, end, total }));
        }
    }
}
