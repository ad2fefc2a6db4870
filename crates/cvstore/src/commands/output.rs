//! Writing results to standard output without panicking on a closed pipe.

use std::fmt::Display;
use std::io::{self, BufWriter, Write};

use anyhow::Context;
use serde::Serialize;

/// Prints `text` and a newline.
pub fn line(text: impl Display) -> anyhow::Result<()> {
    write_with(|out| writeln!(out, "{text}"))
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
    let mut out = BufWriter::new(io::stdout().lock());
    write(&mut out)
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}
