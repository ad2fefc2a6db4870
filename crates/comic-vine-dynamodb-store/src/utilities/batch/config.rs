//! [`BatchWriterConfig`]: how a [`BatchWriter`](crate::BatchWriter)(super::BatchWriter) batches and retries.

use std::time::Duration;

use comic_vine_store::{StoreError, StoreResult};

use super::Backoff;

/// How a [`BatchWriter`](crate::BatchWriter) batches and retries; every option has a default, and
/// [`BatchWriter::with_config`](crate::BatchWriter::with_config) validates them.
///
/// | option | default |
/// |---|---|
/// | [`batch_size`](Self::with_batch_size): writes per request, 1 to 25 | 25 |
/// | [`max_attempts`](Self::with_max_attempts): requests per batch, at least 1 | 8 |
/// | [`backoff`](Self::with_backoff): longest wait before the first retry, and before any | 50 ms, 2 s |
/// | [`flush_interval`](Self::with_flush_interval): flush in the background this often | none |
///
/// ```
/// use std::time::Duration;
/// use comic_vine_dynamodb_store::BatchWriterConfig;
///
/// let config = BatchWriterConfig::default()
///     .with_batch_size(10)
///     .with_max_attempts(5)
///     .with_backoff(Duration::from_millis(20), Duration::from_secs(1))
///     .with_flush_interval(Duration::from_secs(5));
/// assert!(config.validate().is_ok());
/// assert!(BatchWriterConfig::default().with_batch_size(26).validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchWriterConfig {
    pub(super) batch_size: usize,
    pub(super) backoff: Backoff,
    pub(super) flush_interval: Option<Duration>,
}

impl Default for BatchWriterConfig {
    fn default() -> Self {
        Self {
            batch_size: Self::MAX_BATCH_SIZE,
            backoff: Backoff::DEFAULT,
            flush_interval: None,
        }
    }
}

impl BatchWriterConfig {
    /// The most writes one `BatchWriteItem` request may carry.
    ///
    /// ```
    /// assert_eq!(comic_vine_dynamodb_store::BatchWriterConfig::MAX_BATCH_SIZE, 25);
    /// ```
    pub const MAX_BATCH_SIZE: usize = 25;

    /// Writes per request, and the buffer length that triggers a flush (1 to 25).
    ///
    /// ```
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().with_batch_size(5).batch_size(), 5);
    /// ```
    pub fn with_batch_size(mut self, size: usize) -> Self {
        self.batch_size = size;
        self
    }

    /// Requests per batch at most, the first one included (at least 1).
    ///
    /// ```
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().with_max_attempts(3).max_attempts(), 3);
    /// ```
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.backoff.max_attempts = attempts;
        self
    }

    /// The backoff between retries of unprocessed items: retry `n` waits a random time
    /// between half of and all of `base × 2^(n−1)`, capped at `max` (`base <= max`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    ///
    /// let ms = Duration::from_millis;
    /// let config = BatchWriterConfig::default().with_backoff(ms(10), ms(500));
    /// assert_eq!((config.base_delay(), config.max_delay()), (ms(10), ms(500)));
    /// ```
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff.base_delay = base;
        self.backoff.max_delay = max;
        self
    }

    /// Flushes the buffer every `interval` (above zero) from a background Tokio task,
    /// so that writes do not wait for the buffer to fill. The task flushes only a
    /// non-empty buffer, keeps what it could not write for the next
    /// [`flush`](crate::BatchWriter::flush) or [`close`](crate::BatchWriter::close) report, and ends
    /// with the writer.
    ///
    /// ```
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    ///
    /// let config = BatchWriterConfig::default().with_flush_interval(Duration::from_secs(1));
    /// assert_eq!(config.flush_interval(), Some(Duration::from_secs(1)));
    /// ```
    pub fn with_flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = Some(interval);
        self
    }

    /// Writes per request.
    ///
    /// ```
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().batch_size(), 25);
    /// ```
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Requests per batch at most.
    ///
    /// ```
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().max_attempts(), 8);
    /// ```
    pub fn max_attempts(&self) -> u32 {
        self.backoff.max_attempts
    }

    /// The longest wait before the first retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().base_delay(), Duration::from_millis(50));
    /// ```
    pub fn base_delay(&self) -> Duration {
        self.backoff.base_delay
    }

    /// The longest wait before any retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().max_delay(), Duration::from_secs(2));
    /// ```
    pub fn max_delay(&self) -> Duration {
        self.backoff.max_delay
    }

    /// How often the buffer is flushed in the background, if at all.
    ///
    /// ```
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// assert_eq!(BatchWriterConfig::default().flush_interval(), None);
    /// ```
    pub fn flush_interval(&self) -> Option<Duration> {
        self.flush_interval
    }

    /// Checks every option.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidConfig`] naming the first option out of range.
    ///
    /// ```
    /// use comic_vine_dynamodb_store::BatchWriterConfig;
    /// use comic_vine_store::StoreError;
    ///
    /// let err = BatchWriterConfig::default().with_batch_size(0).validate().unwrap_err();
    /// assert!(matches!(err, StoreError::InvalidConfig { .. }));
    /// ```
    pub fn validate(&self) -> StoreResult<()> {
        if !(1..=Self::MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(StoreError::invalid_config(
                "batch_writer.batch_size",
                format!(
                    "must be 1 to {} (got {})",
                    Self::MAX_BATCH_SIZE,
                    self.batch_size
                ),
            ));
        }
        if self.backoff.max_attempts == 0 {
            return Err(StoreError::invalid_config(
                "batch_writer.max_attempts",
                "must be at least 1",
            ));
        }
        if self.backoff.base_delay > self.backoff.max_delay {
            return Err(StoreError::invalid_config(
                "batch_writer.backoff",
                format!(
                    "base delay {:?} exceeds the maximum delay {:?}",
                    self.backoff.base_delay, self.backoff.max_delay
                ),
            ));
        }
        if self.flush_interval.is_some_and(|i| i.is_zero()) {
            return Err(StoreError::invalid_config(
                "batch_writer.flush_interval",
                "must be above zero",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_are_valid_and_bounds_are_checked() {
        let ok = BatchWriterConfig::default();
        assert!(ok.validate().is_ok());
        assert_eq!(ok.batch_size(), 25);
        assert_eq!(ok.max_attempts(), 8);
        assert!(ok.clone().with_batch_size(1).validate().is_ok());
        let ms = Duration::from_millis;
        for (bad, field) in [
            (ok.clone().with_batch_size(0), "batch_writer.batch_size"),
            (ok.clone().with_batch_size(26), "batch_writer.batch_size"),
            (ok.clone().with_max_attempts(0), "batch_writer.max_attempts"),
            (
                ok.clone().with_backoff(ms(10), ms(5)),
                "batch_writer.backoff",
            ),
            (
                ok.clone().with_flush_interval(Duration::ZERO),
                "batch_writer.flush_interval",
            ),
        ] {
            match bad.validate() {
                Err(StoreError::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected InvalidConfig, got {other:?}"),
            }
        }
    }
}
