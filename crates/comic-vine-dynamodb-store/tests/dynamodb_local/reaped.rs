//! Child processes of the fleet tests (this test binary started again in a role).

use std::process::{Child, Output};

/// A child process, killed if the test ends before it does.
pub struct Reaped(pub Option<Child>);

impl Reaped {
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
