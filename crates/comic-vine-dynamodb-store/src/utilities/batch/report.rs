//! What a [`BatchWriter`](crate::BatchWriter)(super::BatchWriter) flush reports: writes done and given up on.

use comic_vine_store::StoreError;

use super::WriteOp;

/// Writes that were given up on, and why.
///
/// ```
/// use comic_vine_dynamodb_store::FlushReport;
///
/// fn log_failures(report: &FlushReport) {
///     for failed in &report.failed {
///         eprintln!("{} writes failed: {}", failed.ops.len(), failed.error);
///     }
/// }
/// # log_failures(&FlushReport::default());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct FailedBatch {
    /// The writes, in the order they were added.
    pub ops: Vec<WriteOp>,
    /// Why: the request's error (e.g. [`StoreError::TableNotFound`]), or
    /// [`StoreError::Throttled`] when DynamoDB still left them unprocessed after the
    /// last attempt.
    pub error: StoreError,
}

/// What a [`BatchWriter`](crate::BatchWriter) wrote and failed to write since its previous report: every
/// write added is counted in exactly one report, either as written or as failed.
///
/// ```
/// use comic_vine_dynamodb_store::FlushReport;
///
/// let report = FlushReport::default();
/// assert!(report.is_complete());
/// assert_eq!((report.written, report.failed_count()), (0, 0));
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
#[must_use = "a flush report holds the writes that failed"]
pub struct FlushReport {
    /// Writes DynamoDB carried out.
    pub written: usize,
    /// Writes given up on, by batch, with the reason.
    pub failed: Vec<FailedBatch>,
}

impl FlushReport {
    /// Whether nothing failed.
    ///
    /// ```
    /// assert!(comic_vine_dynamodb_store::FlushReport::default().is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }

    /// How many writes failed.
    ///
    /// ```
    /// assert_eq!(comic_vine_dynamodb_store::FlushReport::default().failed_count(), 0);
    /// ```
    pub fn failed_count(&self) -> usize {
        self.failed.iter().map(|f| f.ops.len()).sum()
    }

    /// The writes that failed, in order.
    ///
    /// ```
    /// let report = comic_vine_dynamodb_store::FlushReport::default();
    /// assert_eq!(report.failed_ops().count(), 0);
    /// ```
    pub fn failed_ops(&self) -> impl Iterator<Item = &WriteOp> {
        self.failed.iter().flat_map(|f| &f.ops)
    }

    /// The writes that failed, in order, e.g. to add them again later.
    ///
    /// ```
    /// let report = comic_vine_dynamodb_store::FlushReport::default();
    /// assert!(report.into_failed_ops().is_empty());
    /// ```
    pub fn into_failed_ops(self) -> Vec<WriteOp> {
        self.failed.into_iter().flat_map(|f| f.ops).collect()
    }

    pub(super) fn merge(&mut self, other: Self) {
        self.written += other.written;
        self.failed.extend(other.failed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::utilities::batch::tests::put;

    #[test]
    fn reports_merge_and_list_failed_ops_in_order() {
        let mut report = FlushReport {
            written: 3,
            failed: vec![FailedBatch {
                ops: vec![put("p", "1")],
                error: StoreError::Closed,
            }],
        };
        report.merge(FlushReport {
            written: 2,
            failed: vec![FailedBatch {
                ops: vec![put("p", "2"), put("p", "3")],
                error: StoreError::Closed,
            }],
        });
        assert_eq!(report.written, 5);
        assert_eq!(report.failed_count(), 3);
        assert!(!report.is_complete());
        assert_eq!(
            report.into_failed_ops(),
            [put("p", "1"), put("p", "2"), put("p", "3")]
        );
    }
}
