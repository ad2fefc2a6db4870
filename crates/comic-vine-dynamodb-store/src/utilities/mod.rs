//! The original package's performance utilities: [`BatchWriter`] (buffered batch
//! writes through a [`BatchWrite`]), [`execute_in_parallel`] (bounded concurrency) and
//! [`AdaptiveDelayCalculator`]. Also re-exported at the crate root.

pub(crate) mod batch;
mod delay;
mod parallel;

pub use batch::{
    BatchWrite, BatchWriter, BatchWriterConfig, DynamoDbBatchWrite, FailedBatch, FlushReport,
    WriteOp,
};
pub use delay::AdaptiveDelayCalculator;
pub use parallel::execute_in_parallel;
