//! The start gate of the fleet tests: a directory the child processes mark themselves
//! ready in, and that the parent opens once they all are, so they start together.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant, SystemTime};

use super::reaped::Reaped;

/// How long a child or the parent waits for the others at the gate.
pub const GATE_TIMEOUT: Duration = Duration::from_secs(60);

/// A gate directory in the temporary directory, removed when dropped.
pub struct StartGate(PathBuf);

impl StartGate {
    /// A new gate named after `test`.
    pub fn new(test: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("{test}-gate-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// The gate's directory (for the children's environment).
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for StartGate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opens the gate `dir` once `n` children are ready (blocking).
pub fn open_when_ready(dir: &Path, n: usize) {
    let started = Instant::now();
    loop {
        let ready = count(dir, "ready-");
        if ready >= n {
            break;
        }
        assert!(
            started.elapsed() < GATE_TIMEOUT,
            "only {ready} of {n} children ready"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(dir.join("open"), b"").unwrap();
}

/// Opens the gate `dir` once every one of `children` is ready, and collects their
/// outputs (waiting on the blocking pool).
pub async fn run_at_gate(dir: &Path, children: Vec<Reaped>) -> Vec<Output> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        open_when_ready(&dir, children.len());
        children.into_iter().map(Reaped::output).collect()
    })
    .await
    .unwrap()
}

/// In a child: marks this process ready, then waits until the parent opens the gate.
pub async fn pass_gate(gate: &Path) {
    std::fs::write(gate.join(format!("ready-{}", std::process::id())), b"").unwrap();
    let started = Instant::now();
    while !gate.join("open").exists() {
        assert!(started.elapsed() < GATE_TIMEOUT, "the gate never opened");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// How many files in `dir` start with `prefix`.
pub fn count(dir: &Path, prefix: &str) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.file_name().to_string_lossy().starts_with(prefix))
                })
                .count()
        })
        .unwrap_or(0)
}
