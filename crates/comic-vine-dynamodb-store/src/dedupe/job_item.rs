//! A job item's state, read with typed errors.

use comic_vine_store::{JobId, JobInfo, JobState, StoreError, StoreResult, Timestamp};

use crate::attributes::job::{
    COMPLETED, CREATED_AT, ERROR, FAILED, FINISHED_AT, JOB_ID, LEASE_UNTIL, PENDING, STATUS,
};
use crate::attributes::require_current;
use crate::item::{Fields, Item};

/// The attributes of a job's state, without its result.
pub(super) const INFO_ATTRIBUTES: [&str; 6] =
    [JOB_ID, STATUS, CREATED_AT, LEASE_UNTIL, FINISHED_AT, ERROR];
/// What to do about a job item of an older layout.
pub(super) const OLDER_JOB_REMEDY: &str = "wait until it expires (its lease plus the job timeout; \
     it is then replaced), or delete the item; and make sure every process sharing the \
     table runs this version";

/// The stored name of a job state.
pub(super) fn state_str(state: JobState) -> &'static str {
    match state {
        JobState::Pending => PENDING,
        JobState::Completed => COMPLETED,
        JobState::Failed => FAILED,
    }
}

/// Reads a job item's state.
pub(super) fn job_info(job: &Item, what: &str) -> StoreResult<JobInfo> {
    require_current(job, JOB_ID, what, OLDER_JOB_REMEDY)?;
    let fields = Fields::new(job, what);
    let state = match fields.s(STATUS)? {
        PENDING => JobState::Pending,
        COMPLETED => JobState::Completed,
        FAILED => JobState::Failed,
        other => {
            return Err(StoreError::Corrupt {
                key: what.to_owned(),
                reason: format!("unknown job state {other:?}"),
            });
        }
    };
    Ok(JobInfo {
        job_id: JobId::from_string(fields.s(JOB_ID)?),
        state,
        created_at: Timestamp::from_millis(fields.n(CREATED_AT)?),
        lease_until: Timestamp::from_millis(fields.n(LEASE_UNTIL)?),
        finished_at: fields.opt_n(FINISHED_AT)?.map(Timestamp::from_millis),
        error: fields.opt_s(ERROR)?.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item;
    use crate::keys;

    fn job(state: &str) -> Item {
        let mut job = item::key(keys::dedupe_job("h"));
        job.insert(JOB_ID.to_owned(), item::s("j1"));
        job.insert(STATUS.to_owned(), item::s(state));
        job.insert(CREATED_AT.to_owned(), item::n(1_000));
        job.insert(LEASE_UNTIL.to_owned(), item::n(31_000));
        job
    }

    #[test]
    fn job_items_are_read_with_typed_errors() {
        let info = job_info(&job(PENDING), "dedupe job h").unwrap();
        assert_eq!(info.job_id.as_str(), "j1");
        assert_eq!(info.state, JobState::Pending);
        assert_eq!(info.lease_until, Timestamp::from_millis(31_000));
        assert_eq!((info.finished_at, info.error), (None, None));

        let e = job_info(&job("paused"), "dedupe job h").unwrap_err();
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
        let mut no_lease = job(PENDING);
        no_lease.remove(LEASE_UNTIL);
        let e = job_info(&no_lease, "dedupe job h").unwrap_err();
        assert!(e.to_string().contains("lease_until"), "{e}");
    }
}
