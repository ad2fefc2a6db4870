//! The stored form of every cell state, defined once for all backends.
//!
//! Each state is a format byte followed by fields: LEB128 varints and length-prefixed
//! byte strings (grant times packed by [`super::packing`]). Malformed bytes are a
//! [`StoreError::Corrupt`] naming the state, never a panic.

use crate::adaptive::{AdaptiveStatus, Priority};
use crate::algorithm::activity::ActivityLog;
use crate::algorithm::bucketed_window::{BUCKETS, BucketState};
use crate::algorithm::prioritized::{AdaptiveState, Grant};
use crate::algorithm::window::WindowState;
use crate::algorithm::window_form::WindowForm;
use crate::clock::Timestamp;
use crate::dedupe::JobInfo;
use crate::error::{StoreError, StoreResult};

use super::packing;

/// The format byte of every state written here but a bucketed window.
const FORMAT: u64 = 1;
/// The format byte of a bucketed window (the tag telling the two window forms apart).
const BUCKETS_FORMAT: u64 = 2;

/// A dedupe job as stored: its info and, once completed, the JSON of its result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredJob {
    /// The job.
    pub info: JobInfo,
    /// The JSON of a completed job's value.
    pub result: Option<Vec<u8>>,
}

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn new() -> Self {
        Self::with_format(FORMAT)
    }
    fn with_format(format: u64) -> Self {
        let mut w = Self::default();
        w.num(format);
        w
    }
    fn num(&mut self, v: u64) {
        packing::put_varint(&mut self.0, v);
    }
    fn time(&mut self, t: Option<Timestamp>) {
        self.num(t.map_or(0, |t| t.as_millis().saturating_add(1)));
    }
    fn bytes(&mut self, b: &[u8]) {
        self.num(b.len() as u64);
        self.0.extend_from_slice(b);
    }
}

struct Reader<'a> {
    rest: &'a [u8],
    what: &'a str,
}

impl<'a> Reader<'a> {
    fn new(rest: &'a [u8], what: &'a str) -> StoreResult<Self> {
        let (r, format) = Self::with_format(rest, what)?;
        match format {
            FORMAT => Ok(r),
            other => Err(r.corrupt(&format!("unknown state format {other}"))),
        }
    }
    /// A reader past the format byte, and that byte.
    fn with_format(rest: &'a [u8], what: &'a str) -> StoreResult<(Self, u64)> {
        let mut r = Self { rest, what };
        let format = r.num()?;
        Ok((r, format))
    }
    fn corrupt(&self, reason: &str) -> StoreError {
        StoreError::Corrupt {
            key: self.what.to_owned(),
            reason: reason.to_owned(),
        }
    }
    fn num(&mut self) -> StoreResult<u64> {
        packing::take_varint(&mut self.rest).ok_or_else(|| self.corrupt("truncated state"))
    }
    fn time(&mut self) -> StoreResult<Option<Timestamp>> {
        Ok(self.num()?.checked_sub(1).map(Timestamp::from_millis))
    }
    fn bytes(&mut self) -> StoreResult<&'a [u8]> {
        let len = usize::try_from(self.num()?).unwrap_or(usize::MAX);
        if len > self.rest.len() {
            return Err(self.corrupt("truncated state"));
        }
        let (field, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(field)
    }
    fn json<T: serde::de::DeserializeOwned>(&mut self, name: &str) -> StoreResult<T> {
        let field = self.bytes()?;
        serde_json::from_slice(field).map_err(|e| self.corrupt(&format!("{name}: {e}")))
    }
    fn finish<T>(self, value: T) -> StoreResult<T> {
        if self.rest.is_empty() {
            Ok(value)
        } else {
            Err(self.corrupt("trailing bytes after the state"))
        }
    }
}

/// Encodes a sliding window.
pub fn encode_window(state: &WindowState) -> Vec<u8> {
    let mut w = Writer::new();
    w.bytes(&packing::pack(state.grants().iter().map(|&g| (g, 0))));
    w.time(state.cooldown_until());
    w.0
}

/// Decodes what [`encode_window`] wrote; `what` names the state for errors.
pub fn decode_window(bytes: &[u8], what: &str) -> StoreResult<WindowState> {
    let mut r = Reader::new(bytes, what)?;
    let grants = packing::unpack(r.bytes()?, what)?;
    let cooldown = r.time()?;
    let grants = grants.into_iter().map(|(t, _)| t).collect();
    r.finish(WindowState::from_parts(grants, cooldown))
}

/// Encodes a window in either form; the format byte tells which.
pub fn encode_window_form(state: &WindowForm) -> Vec<u8> {
    match state {
        WindowForm::Log(log) => encode_window(log),
        WindowForm::Buckets(b) => {
            let mut w = Writer::with_format(BUCKETS_FORMAT);
            w.num(b.width());
            w.num(b.first());
            w.bytes(&packing::pack_numbers(
                b.counts().iter().map(|&c| u64::from(c)),
            ));
            w.time(b.newest());
            w.time(b.cooldown_until());
            w.0
        }
    }
}

/// Decodes what [`encode_window_form`] (or [`encode_window`]) wrote; `what` names the
/// state for errors.
pub fn decode_window_form(bytes: &[u8], what: &str) -> StoreResult<WindowForm> {
    let (mut r, format) = Reader::with_format(bytes, what)?;
    if format != BUCKETS_FORMAT {
        return decode_window(bytes, what).map(WindowForm::Log);
    }
    let width = r.num()?;
    let first = r.num()?;
    let counts = packing::unpack_numbers(r.bytes()?, what)?
        .into_iter()
        .map(|c| u32::try_from(c).map_err(|_| r.corrupt("bucket count")))
        .collect::<StoreResult<Vec<u32>>>()?;
    if width == 0 || counts.len() as u64 > BUCKETS + 1 {
        return Err(r.corrupt("malformed window buckets"));
    }
    let newest = r.time()?;
    let cooldown = r.time()?;
    r.finish(WindowForm::Buckets(BucketState::from_parts(
        width, first, counts, newest, cooldown,
    )))
}

/// Encodes an adaptive state.
pub fn encode_adaptive(s: &AdaptiveState) -> Vec<u8> {
    let mut w = Writer::new();
    let grants = s
        .grants
        .iter()
        .map(|g| (g.at, u8::from(g.priority == Priority::User)));
    w.bytes(&packing::pack(grants));
    let buckets = s.activity.buckets();
    w.bytes(&packing::pack_numbers(
        buckets
            .iter()
            .flat_map(|&(index, count)| [index, u64::from(count)])
            .collect::<Vec<_>>()
            .into_iter(),
    ));
    w.time(s.last_user_at);
    w.time(s.last_background_at);
    w.time(s.cooldown_until);
    match &s.split {
        Some(split) => {
            w.num(1);
            // An AdaptiveStatus is plain data: serializing it cannot fail.
            w.bytes(&serde_json::to_vec(split).unwrap_or_default());
        }
        None => w.num(0),
    }
    w.0
}

/// Decodes what [`encode_adaptive`] wrote; `what` names the state for errors.
pub fn decode_adaptive(bytes: &[u8], what: &str) -> StoreResult<AdaptiveState> {
    let mut r = Reader::new(bytes, what)?;
    let grants = packing::unpack(r.bytes()?, what)?
        .into_iter()
        .map(|(at, user)| Grant {
            at,
            priority: if user == 1 {
                Priority::User
            } else {
                Priority::Background
            },
        })
        .collect();
    let numbers = packing::unpack_numbers(r.bytes()?, what)?;
    if numbers.len() % 2 != 0 {
        return Err(r.corrupt("malformed activity buckets"));
    }
    let buckets = numbers
        .chunks_exact(2)
        .map(|p| {
            Ok((
                p[0],
                u32::try_from(p[1]).map_err(|_| r.corrupt("bucket count"))?,
            ))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let last_user_at = r.time()?;
    let last_background_at = r.time()?;
    let cooldown_until = r.time()?;
    let split = match r.num()? {
        0 => None,
        _ => Some(r.json::<AdaptiveStatus>("split")?),
    };
    r.finish(AdaptiveState {
        grants,
        activity: ActivityLog::from_buckets(buckets),
        last_user_at,
        last_background_at,
        split,
        cooldown_until,
    })
}

/// Encodes a dedupe job.
pub fn encode_job(job: &StoredJob) -> Vec<u8> {
    let mut w = Writer::new();
    // A JobInfo is plain data: serializing it cannot fail.
    w.bytes(&serde_json::to_vec(&job.info).unwrap_or_default());
    match &job.result {
        Some(json) => {
            w.num(1);
            w.bytes(json);
        }
        None => w.num(0),
    }
    w.0
}

/// Decodes what [`encode_job`] wrote; `what` names the state for errors.
pub fn decode_job(bytes: &[u8], what: &str) -> StoreResult<StoredJob> {
    let mut r = Reader::new(bytes, what)?;
    let info = r.json::<JobInfo>("job")?;
    let result = match r.num()? {
        0 => None,
        _ => Some(r.bytes()?.to_vec()),
    };
    r.finish(StoredJob { info, result })
}

#[cfg(test)]
mod tests;
