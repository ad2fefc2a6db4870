//! Writing results to standard output: never a panic, and a closed pipe (`| head`)
//! ends the output quietly instead of failing.

use std::fmt::Display;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use serde::Serialize;

/// Whether anything was (or was tried to be) written to standard output.
static WRITTEN: AtomicBool = AtomicBool::new(false);

/// Whether this process has printed anything to standard output.
pub fn written() -> bool {
    WRITTEN.load(Ordering::Relaxed)
}

/// Prints `text` and a newline.
pub fn line(text: impl Display) -> anyhow::Result<()> {
    write_with(|out| writeln!(out, "{text}"))
}

/// Prints `bytes` exactly as they are.
pub fn bytes(bytes: &[u8]) -> anyhow::Result<()> {
    write_with(|out| out.write_all(bytes))
}

/// Prints `value` as one line of compact JSON.
pub fn json(value: &impl Serialize) -> anyhow::Result<()> {
    write_with(|out| {
        serde_json::to_writer(&mut *out, value)?;
        writeln!(out)
    })
}

/// Prints `value` as indented JSON.
pub fn pretty_json(value: &impl Serialize) -> anyhow::Result<()> {
    write_with(|out| {
        serde_json::to_writer_pretty(&mut *out, value)?;
        writeln!(out)
    })
}

fn write_with(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> anyhow::Result<()> {
    WRITTEN.store(true, Ordering::Relaxed);
    let mut out = BufWriter::new(io::stdout().lock());
    let result = write(&mut out).and_then(|()| out.flush());
    match result {
        // The reader is gone (e.g. `| head -c1`): what it wanted was written.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            // Drop the unwritten rest rather than retry it when `out` is dropped.
            let _ = out.into_parts();
            Ok(())
        }
        other => other.context("cannot write to standard output"),
    }
}
