//! [`decide`]: a typed update over the untyped [`StateCell::update`].

use std::sync::{Arc, Mutex};

use super::{Change, StateCell, StateKind};
use crate::error::{StoreError, StoreResult};

/// Runs `f` on the state of (`kind`, `key`) through `cell` and returns the output of
/// its run whose change was stored (or, for [`Change::Keep`], of its last run).
///
/// `f` is pure: it may run several times (retries on conflict).
pub async fn decide<C, T, F>(cell: &C, kind: StateKind, key: &str, f: F) -> StoreResult<T>
where
    C: StateCell + ?Sized,
    T: Send + 'static,
    F: Fn(Option<&[u8]>) -> StoreResult<(T, Change)> + Send + Sync + 'static,
{
    let slot: Arc<Mutex<Option<T>>> = Arc::default();
    let out = Arc::clone(&slot);
    cell.update(
        kind,
        key,
        Box::new(move |state| {
            let (value, change) = f(state)?;
            *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
            Ok(change)
        }),
    )
    .await?;
    let value = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    value.ok_or_else(|| StoreError::Backend {
        message: format!(
            "the state cell answered for {} `{key}` without running its transition",
            kind.as_str()
        ),
        source: None,
    })
}
