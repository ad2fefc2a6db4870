//! Compare-and-swap of one item's state, with group commit.
//!
//! A [`CasCell`] keeps, per key, the last state it saw and its version. An update runs
//! the store's pure decision on that state and writes the result with one PutItem
//! conditional on the version; when another process wrote first, the condition fails,
//! DynamoDB returns the current item (`ReturnValuesOnConditionCheckFailure`), and the
//! decision is made again on it. A decision that changes nothing writes nothing.
//!
//! Concurrent updates of one key within a process are decided together: each caller
//! queues its operation; whoever holds the key's lock takes the whole queue, decides
//! every operation in order, and writes once. So 32 callers in one process cost one
//! request per batch, not 32 racing writes.
//!
//! Versions are random tokens rather than counters, so a state that was reset or
//! expired (TTL) and written again can never be mistaken for an older one. The item also
//! keeps its last [`RECENT_TOKENS`] tokens: when a write lands but its answer is lost, the
//! SDK's retry is refused, and the refusal shows whether our token is among them — then
//! our grants are already in the stored state (even if other processes wrote on top),
//! and deciding again would count them twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use comic_vine_store::clock::SharedClock;
use comic_vine_store::{StoreError, StoreResult, Timestamp};
use tokio::sync::oneshot;

use crate::handle::Table;
use crate::item::{self, Fields, Item};
use crate::metrics::{Access, Metrics};
use crate::packing;
use crate::request::Condition;
use crate::table::{PK, TTL};

/// Writes tried for one batch before giving up with [`StoreError::Contention`].
const MAX_ATTEMPTS: u32 = 32;
/// Version tokens an item remembers (about 150 bytes).
pub(crate) const RECENT_TOKENS: usize = 16;
use crate::attributes::state::{RECENT_VERSIONS as RECENT, VERSION};
/// What to do about a state item of an older layout.
const OLDER_STATE_REMEDY: &str = "reset it (`cvstore ratelimit reset <resource>`, with \
     `--adaptive` for an ADAPTIVE item) or wait until it expires; and make sure every \
     process sharing the table runs this version (older ones read this layout as empty)";

/// A state kept in one item.
pub(crate) trait CasState: Clone + Default + Send + Sync + 'static {
    /// Adds the state's attributes to `item` (keys, version and TTL are added by the cell).
    fn encode(&self, item: &mut Item);
    /// Reads the state from a stored item; `what` names it for errors.
    fn decode(item: &Item, what: &str) -> StoreResult<Self>;
    /// When the item may expire (DynamoDB TTL), given the time of the write.
    fn expires_at(&self, now: Timestamp) -> Timestamp;
}

/// The decision a cell applies to each queued operation: output, and the new state if
/// the operation changes it.
pub(crate) type Decide<S, Op, Out> =
    Arc<dyn Fn(&str, &S, &Op, Timestamp) -> (Out, Option<S>) + Send + Sync>;

struct Versioned<S> {
    /// The stored version token (none when there is no item).
    version: Option<u64>,
    /// The item's recent version tokens, newest first (its own included).
    recent: Vec<u64>,
    state: S,
}

/// How a conditional write ended.
enum Written<S> {
    /// It was applied: what is stored now.
    Applied(Versioned<S>),
    /// Another writer came first: what is stored now, to decide again on.
    Refused(Versioned<S>),
}

struct Pending<Op, Out> {
    op: Op,
    now: Timestamp,
    reply: oneshot::Sender<StoreResult<Out>>,
}

/// The process-local slots of a cell, one per key.
type Slots<S, Op, Out> = Mutex<HashMap<String, Arc<Slot<S, Op, Out>>>>;

struct Slot<S, Op, Out> {
    queue: Mutex<Vec<Pending<Op, Out>>>,
    known: tokio::sync::Mutex<Option<Versioned<S>>>,
}

/// The answer to a queued request, or an error if its batch was dropped unanswered
/// (cancelled mid-write).
fn flatten<Out>(
    id: &str,
    answer: Result<StoreResult<Out>, oneshot::error::RecvError>,
) -> StoreResult<Out> {
    answer.unwrap_or_else(|_| {
        Err(StoreError::Backend {
            message: format!("update of `{id}` was abandoned (its batch was cancelled)"),
            source: None,
        })
    })
}

/// Compare-and-swap updates of the items of one kind (e.g. rate-limit windows).
pub(crate) struct CasCell<S, Op, Out> {
    table: Table,
    metrics: Arc<Metrics>,
    clock: SharedClock,
    key: fn(&str) -> (String, String),
    decide: Decide<S, Op, Out>,
    slots: Slots<S, Op, Out>,
}

impl<S: CasState, Op: Send + 'static, Out: Send + 'static> CasCell<S, Op, Out> {
    pub(crate) fn new(
        table: Table,
        metrics: Arc<Metrics>,
        clock: SharedClock,
        key: fn(&str) -> (String, String),
        decide: Decide<S, Op, Out>,
    ) -> Self {
        Self {
            table,
            metrics,
            clock,
            key,
            decide,
            slots: Mutex::default(),
        }
    }

    fn slot(&self, id: &str) -> Arc<Slot<S, Op, Out>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(slots.entry(id.to_owned()).or_insert_with(|| {
            Arc::new(Slot {
                queue: Mutex::default(),
                known: tokio::sync::Mutex::new(None),
            })
        }))
    }

    /// Applies `op` to the state of `id` atomically; returns the decision's output.
    pub(crate) async fn update(&self, id: &str, op: Op) -> StoreResult<Out> {
        let slot = self.slot(id);
        let (reply, mut answer) = oneshot::channel();
        let now = self.clock.now();
        slot.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Pending { op, now, reply });
        // Either another caller's batch decides this request (then leave at once, without
        // queueing for the lock behind its write), or this caller gets the lock and
        // decides everything queued, its own request included.
        tokio::select! {
            biased;
            decided = &mut answer => return flatten(id, decided),
            mut known = slot.known.lock() => {
                let batch =
                    std::mem::take(&mut *slot.queue.lock().unwrap_or_else(|p| p.into_inner()));
                if !batch.is_empty() {
                    self.commit(id, &mut known, batch).await;
                }
            }
        }
        flatten(id, answer.await)
    }

    /// The stored state of `id`, read now (strongly consistent), and remembered.
    pub(crate) async fn read(&self, id: &str) -> StoreResult<S> {
        let slot = self.slot(id);
        let mut known = slot.known.lock().await;
        let fresh = self.fetch(id).await?;
        let state = fresh.state.clone();
        *known = Some(fresh);
        Ok(state)
    }

    /// Deletes the stored state of `id` (a reset) and forgets what this process knew.
    pub(crate) async fn remove(&self, id: &str) -> StoreResult<()> {
        let slot = self.slot(id);
        let mut known = slot.known.lock().await;
        let delete = self.table.delete_item((self.key)(id));
        self.table
            .send(&self.metrics, Access::Write, delete)
            .await?;
        *known = None;
        Ok(())
    }

    /// Decides a batch and writes it; answers every request in it.
    async fn commit(
        &self,
        id: &str,
        known: &mut Option<Versioned<S>>,
        batch: Vec<Pending<Op, Out>>,
    ) {
        match self.decide_and_write(id, known, &batch).await {
            Ok(outputs) => {
                for (p, out) in batch.into_iter().zip(outputs) {
                    let _ = p.reply.send(Ok(out));
                }
            }
            Err(e) => {
                *known = None;
                for p in batch {
                    let _ = p.reply.send(Err(e.clone()));
                }
            }
        }
    }

    async fn decide_and_write(
        &self,
        id: &str,
        known: &mut Option<Versioned<S>>,
        batch: &[Pending<Op, Out>],
    ) -> StoreResult<Vec<Out>> {
        let mut current = match known.take() {
            Some(v) => v,
            None => self.fetch(id).await?,
        };
        for _ in 0..MAX_ATTEMPTS {
            let mut state = current.state.clone();
            let mut changed = false;
            let mut outputs = Vec::with_capacity(batch.len());
            for p in batch {
                let (out, next) = (self.decide)(id, &state, &p.op, p.now);
                if let Some(next) = next {
                    state = next;
                    changed = true;
                }
                outputs.push(out);
            }
            if !changed {
                *known = Some(current);
                return Ok(outputs);
            }
            match self.write(id, state, &current).await? {
                Written::Applied(stored) => {
                    *known = Some(stored);
                    return Ok(outputs);
                }
                Written::Refused(stored) => current = stored,
            }
        }
        Err(StoreError::Contention {
            key: id.to_owned(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Reads the stored state (strongly consistent).
    async fn fetch(&self, id: &str) -> StoreResult<Versioned<S>> {
        let get = self.table.get_item((self.key)(id)).consistent_read(true);
        let out = self.table.send(&self.metrics, Access::Read, get).await?;
        self.versioned(id, out.item)
    }

    fn versioned(&self, id: &str, item: Option<Item>) -> StoreResult<Versioned<S>> {
        let Some(item) = item else {
            return Ok(Versioned {
                version: None,
                recent: Vec::new(),
                state: S::default(),
            });
        };
        if !item.contains_key(VERSION) {
            return self.older(id, &item);
        }
        let fields = Fields::new(&item, id);
        let version = match fields.opt_s(VERSION)? {
            Some(hex) => Some(
                u64::from_str_radix(hex, 16).map_err(|_| StoreError::Corrupt {
                    key: id.to_owned(),
                    reason: format!("version token {hex:?} is not hexadecimal"),
                })?,
            ),
            None => None,
        };
        let recent = match fields.opt_b(RECENT)? {
            Some(bytes) => packing::unpack_numbers(bytes, id)?,
            None => Vec::new(),
        };
        Ok(Versioned {
            version,
            recent,
            state: S::decode(&item, id)?,
        })
    }

    /// An item without a version token: written by an older layout. Past its TTL it
    /// no longer matters and counts as no state (the next write replaces it); before,
    /// it is refused with [`StoreError::OlderLayout`] rather than read as empty.
    fn older(&self, id: &str, item: &Item) -> StoreResult<Versioned<S>> {
        let (pk, sk) = (self.key)(id);
        let what = format!("{pk} / {sk}");
        let ttl = Fields::new(item, &what).opt_n(TTL)?;
        if ttl.is_some_and(|t| t.saturating_mul(1000) <= self.clock.now().as_millis()) {
            return Ok(Versioned {
                version: None,
                recent: Vec::new(),
                state: S::default(),
            });
        }
        Err(crate::attributes::older_layout(
            item,
            &what,
            OLDER_STATE_REMEDY,
        ))
    }

    /// Writes `state` if the stored version is still the one of `current`.
    async fn write(&self, id: &str, state: S, current: &Versioned<S>) -> StoreResult<Written<S>> {
        let token = uuid::Uuid::new_v4().as_u64_pair().0;
        let recent: Vec<u64> = std::iter::once(token)
            .chain(current.recent.iter().copied().filter(|&t| t != token))
            .take(RECENT_TOKENS)
            .collect();
        let mut entry = item::key((self.key)(id));
        state.encode(&mut entry);
        entry.insert(VERSION.to_owned(), item::s(format!("{token:x}")));
        entry.insert(
            RECENT.to_owned(),
            item::b(packing::pack_numbers(recent.iter().copied())),
        );
        let expires = state.expires_at(self.clock.now());
        entry.insert(TTL.to_owned(), item::n(expires.as_secs_ceil()));
        let mut put = self
            .table
            .put_item(entry)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        put = match current.version {
            // No item, or an expired one of an older layout (no version token).
            None => put
                .condition_expression("attribute_not_exists(#pk) OR attribute_not_exists(#ver)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#ver", VERSION),
            Some(v) => put
                .condition_expression("#ver = :ver")
                .expression_attribute_names("#ver", VERSION)
                .expression_attribute_values(":ver", item::s(format!("{v:x}"))),
        };
        match self.table.send_if(&self.metrics, put).await? {
            Condition::Met(_) => Ok(Written::Applied(Versioned {
                version: Some(token),
                recent,
                state,
            })),
            Condition::Failed(held) => {
                let stored = self.versioned(id, held)?;
                if stored.recent.contains(&token) {
                    // Our write landed (its answer was lost and the SDK retried it);
                    // the stored state holds our grants and maybe later ones.
                    return Ok(Written::Applied(stored));
                }
                Ok(Written::Refused(stored))
            }
        }
    }
}
