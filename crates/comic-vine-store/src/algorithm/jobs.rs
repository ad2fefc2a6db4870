//! Who may own a dedupe job: the rule every backend applies.
//!
//! A caller becomes the owner when there is no job, when the pending job's lease has
//! expired (the owner is presumed dead), or when the job finished and its result grace
//! is over (a finished result is not a cache). A failed job never blocks the hash: the
//! next caller owns a new job at once. Otherwise the caller joins the existing job.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::dedupe::{JobId, JobInfo, JobState, Seen};

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

/// How long after a job finished its cache entry may still be unreadable (published
/// after the completion, or an eventually consistent read): a caller that found no entry
/// later than this joins no finished job (see [`Seen::Nothing`]).
pub const MISSED_ENTRY_MARGIN: Duration = Duration::from_secs(1);

/// Applies the ownership rule to the stored `job` at `now`.
pub fn claim(job: Option<&JobInfo>, now: Timestamp, result_grace: Duration) -> Claim {
    claim_after(job, now, result_grace, None)
}

/// The ownership rule for a caller that looked in the cache first and `seen` what it
/// found. A completed job is not joined, even within its grace, when its result is no
/// newer than the stale entry the caller holds ([`Seen::Stale`]: registered at or before
/// the entry was stored), or when its entry should have been readable when the caller
/// found none ([`Seen::Nothing`]: it finished more than [`MISSED_ENTRY_MARGIN`] before);
/// the caller owns a new job instead. Otherwise as [`claim`].
pub fn claim_after(
    job: Option<&JobInfo>,
    now: Timestamp,
    result_grace: Duration,
    seen: Option<Seen>,
) -> Claim {
    let Some(job) = job else {
        return Claim::Own { took_over: false };
    };
    let worth_joining = match seen {
        None => true,
        Some(Seen::Stale(stored_at)) => job.created_at > stored_at,
        Some(Seen::Nothing(looked_at)) => job
            .finished_at
            .is_none_or(|f| f.saturating_add(MISSED_ENTRY_MARGIN) > looked_at),
    };
    match job.state {
        JobState::Pending if job.lease_until > now => Claim::Join,
        JobState::Pending => Claim::Own { took_over: true },
        JobState::Completed if in_grace(job, now, result_grace) && worth_joining => Claim::Join,
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

    proptest::proptest! {
        /// What the caller saw changes one case only: a completed job within its grace
        /// whose result it holds (registered at or before its stale entry) or whose
        /// entry should have been readable (finished a margin before it looked) is owned
        /// anew instead of joined.
        #[test]
        fn what_was_seen_only_stops_joins_of_finished_jobs_not_worth_joining(
            state in 0u8..3, created in 0u64..20_000, lease in 0u64..20_000,
            finished in proptest::option::of(0u64..20_000),
            seen in proptest::option::of((proptest::bool::ANY, 0u64..20_000)),
        ) {
            let state = [JobState::Pending, JobState::Completed, JobState::Failed][usize::from(state)];
            let stored = JobInfo {
                created_at: Timestamp::from_millis(created),
                ..job(state, lease, finished)
            };
            let (now, grace) = (Timestamp::from_millis(10_000), Duration::from_secs(5));
            let seen = seen.map(|(stale, at)| {
                let at = Timestamp::from_millis(at);
                if stale { Seen::Stale(at) } else { Seen::Nothing(at) }
            });
            let plain = claim(Some(&stored), now, grace);
            let after = claim_after(Some(&stored), now, grace, seen);
            let not_worth = match seen {
                None => false,
                Some(Seen::Stale(at)) => stored.created_at <= at,
                Some(Seen::Nothing(at)) => stored
                    .finished_at
                    .is_some_and(|f| f.saturating_add(MISSED_ENTRY_MARGIN) <= at),
            };
            if state == JobState::Completed && plain == Claim::Join && not_worth {
                proptest::prop_assert_eq!(after, Claim::Own { took_over: false });
            } else {
                proptest::prop_assert_eq!(after, plain);
            }
            proptest::prop_assert_eq!(claim_after(None, now, grace, seen), claim(None, now, grace));
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
