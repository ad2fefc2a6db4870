//! Child processes of the fleet tests (this test binary started again in a role).

use std::process::{Child, Command, Output, Stdio};

use comic_vine_dynamodb_store::local::ENDPOINT_ENV;

use super::local;

/// This test binary, to be started again running only the ignored test `child_test`
/// against this run's DynamoDB Local, its output piped; the caller adds its role's
/// environment and spawns it ([`Reaped::spawn`]).
pub fn child_command(child_test: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            child_test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENDPOINT_ENV, local().endpoint())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A child process, killed if the test ends before it does.
pub struct Reaped(pub Option<Child>);

impl Reaped {
    /// Starts `command` as a child that is killed if the test ends first.
    pub fn spawn(command: &mut Command) -> Self {
        Self(Some(command.spawn().unwrap()))
    }

    /// Waits for the child and collects its output.
    pub fn output(mut self) -> Output {
        self.0.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `RESULT` lines a child printed (libtest may print on the same line), without
/// the marker.
pub fn results(stdout: &[u8]) -> Vec<String> {
    marked(stdout, "RESULT ")
}

/// What a child printed after `marker` on each line that has it (libtest may print
/// before it on the same line).
pub fn marked(stdout: &[u8], marker: &str) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| {
            line.find(marker)
                .map(|at| line[at + marker.len()..].trim().to_owned())
        })
        .collect()
}
