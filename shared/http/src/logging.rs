//! Log output for every host. Each line is cut at [`MAX_LINE`] bytes: a log line may quote
//! what a client sent (a path, a query), and no request may make the log grow by more than a
//! small fixed amount. A write that fails (a full disk) is dropped, never an error.

use std::io::Write;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The longest log line written, in bytes.
pub const MAX_LINE: usize = 4096;

/// Logs to stderr at `RUST_LOG` (default `info`); `plain` drops colours and timestamps (for
/// CloudWatch, which adds its own).
pub fn init(plain: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Truncating)
        .log_internal_errors(false);
    if plain {
        builder.with_ansi(false).without_time().init();
    } else {
        builder.init();
    }
}

/// Makes writers that cut each event at [`MAX_LINE`] bytes (the formatter writes an event in
/// one call).
#[derive(Clone, Copy)]
pub struct Truncating;

impl<'a> MakeWriter<'a> for Truncating {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter
    }
}

pub struct LineWriter;

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A log that cannot be written (its disk is full) must not fail what was logged:
        // tracing-subscriber reports a failed write with eprintln!, which panics then.
        let _ = std::io::stderr().lock().write_all(&truncate(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// `event` cut to [`MAX_LINE`] bytes with a note of how much was left out, ending in a newline.
pub fn truncate(event: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if event.len() <= MAX_LINE {
        return event.into();
    }
    let mut out = event[..MAX_LINE].to_vec();
    let note = format!("... ({} bytes left out)\n", event.len() - MAX_LINE);
    out.extend_from_slice(note.as_bytes());
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut() {
        let short = b"hello\n";
        assert_eq!(&*truncate(short), short);
        let long = vec![b'a'; 100_000];
        let cut = truncate(&long);
        assert!(cut.len() < MAX_LINE + 64);
        assert!(cut.ends_with(b"(95904 bytes left out)\n"));
    }
}
