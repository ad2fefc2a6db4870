//! Who may own a dedupe job: the rule every backend applies.
//!
//! A caller becomes the owner when there is no job, when the pending job's lease has
//! expired (the owner is presumed dead), or when the job finished and its result grace
//! is over (a finished result is not a cache). A failed job never blocks the hash: the
//! next caller owns a new job at once. Otherwise the caller joins the existing job.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::dedupe::{JobId, JobInfo, JobState};

/// What `register_or_join` does given the stored job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Become the owner of a new job.
    Own {
        /// Whether a pending job with an expired lease is taken over.
        took_over: bool,
    },
    /// Join the stored job.
    Join,
}

/// Applies the ownership rule to the stored `job` at `now`.
pub fn claim(job: Option<&JobInfo>, now: Timestamp, result_grace: Duration) -> Claim {
    let Some(job) = job else {
        return Claim::Own { took_over: false };
    };
    match job.state {
        JobState::Pending if job.lease_until > now => Claim::Join,
        JobState::Pending => Claim::Own { took_over: true },
        JobState::Completed if in_grace(job, now, result_grace) => Claim::Join,
        JobState::Completed | JobState::Failed => Claim::Own { took_over: false },
    }
}

/// Whether a finished job's result is still handed to waiters at `now`.
pub fn in_grace(job: &JobInfo, now: Timestamp, result_grace: Duration) -> bool {
    job.finished_at
        .is_some_and(|f| f.saturating_add(result_grace) > now)
}

/// What a waiter sees of the stored job at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visible {
    /// Pending with a live lease: keep waiting.
    Pending,
    /// Pending with an expired lease: the owner is presumed dead.
    Abandoned,
    /// No job, or a finished one whose result grace is over.
    NotFound,
    /// Completed within its grace: its result is handed out.
    Completed,
    /// Failed within its grace: its message is handed out.
    Failed,
}

/// The outcome rule every backend's `wait_for` applies to the stored `job` at `now`.
pub fn visible(job: Option<&JobInfo>, now: Timestamp, result_grace: Duration) -> Visible {
    let Some(job) = job else {
        return Visible::NotFound;
    };
    match job.state {
        JobState::Pending if job.lease_until > now => Visible::Pending,
        JobState::Pending => Visible::Abandoned,
        _ if !in_grace(job, now, result_grace) => Visible::NotFound,
        JobState::Completed => Visible::Completed,
        JobState::Failed => Visible::Failed,
    }
}

/// Whether `job_id` owns the stored `job`: it is that job and still pending (an owner
/// whose lease expired still owns it until someone takes it over).
pub fn owns(job: Option<&JobInfo>, job_id: &JobId) -> bool {
    job.is_some_and(|j| j.job_id == *job_id && j.state == JobState::Pending)
}

/// Whether the stored `job` is pending with a live lease at `now`.
pub fn in_progress(job: Option<&JobInfo>, now: Timestamp) -> bool {
    job.is_some_and(|j| j.state == JobState::Pending && j.lease_until > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: JobState, lease_until: u64, finished_at: Option<u64>) -> JobInfo {
        JobInfo {
            job_id: JobId::from_string("j"),
            state,
            created_at: Timestamp::from_millis(0),
            lease_until: Timestamp::from_millis(lease_until),
            finished_at: finished_at.map(Timestamp::from_millis),
            error: None,
        }
    }

    #[test]
    fn ownership_rule() {
        let now = Timestamp::from_millis(10_000);
        let grace = Duration::from_secs(5);
        let own = Claim::Own { took_over: false };
        assert_eq!(claim(None, now, grace), own);
        assert_eq!(
            claim(Some(&job(JobState::Pending, 10_001, None)), now, grace),
            Claim::Join
        );
        assert_eq!(
            claim(Some(&job(JobState::Pending, 10_000, None)), now, grace),
            Claim::Own { took_over: true }
        );
        assert_eq!(
            claim(Some(&job(JobState::Completed, 0, Some(6_000))), now, grace),
            Claim::Join
        );
        assert_eq!(
            claim(Some(&job(JobState::Completed, 0, Some(5_000))), now, grace),
            own
        );
        assert_eq!(
            claim(Some(&job(JobState::Failed, 0, Some(9_999))), now, grace),
            own
        );
    }
}
