//! The demo's answers counted by who answered: fresh from the cache, revalidated, stale
//! (by reason), joined, from upstream, failed.

use serde::Serialize;

use super::fleet::{Outcome, ServedBy, StaleReason};

/// Answers to some of a run's requests, by who answered; the kinds add up to
/// `requests`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Answers {
    /// Requests counted.
    pub requests: u64,
    /// Answered by a fresh cache entry.
    pub fresh: u64,
    /// Answered by a cache entry upstream confirmed (304).
    pub revalidated: u64,
    /// Answered by a stale cache entry, for any reason (the three below).
    pub stale: u64,
    /// Stale, while a background refresh runs.
    pub stale_while_revalidate: u64,
    /// Stale, because upstream (or the job joined) failed.
    pub stale_if_error: u64,
    /// Stale, because the rate limit budget was spent or a cooldown ran.
    pub stale_if_rate_limited: u64,
    /// Answered by another caller's in-flight request.
    pub joined: u64,
    /// Answered by an upstream call.
    pub upstream: u64,
    /// Not answered.
    pub failed: u64,
}

impl Answers {
    /// The counts of `outcomes`.
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Self {
        let mut answers = Self::default();
        for o in outcomes {
            answers.add(o);
        }
        answers
    }

    fn add(&mut self, o: &Outcome) {
        self.requests += 1;
        let kind = match o.served {
            Ok(ServedBy::Cache) => &mut self.fresh,
            Ok(ServedBy::Revalidated) => &mut self.revalidated,
            Ok(ServedBy::DedupeJoin) => &mut self.joined,
            Ok(ServedBy::Upstream) => &mut self.upstream,
            Ok(ServedBy::Stale) => {
                self.stale += 1;
                match o.stale {
                    Some(StaleReason::WhileRevalidate) => &mut self.stale_while_revalidate,
                    Some(StaleReason::Error) => &mut self.stale_if_error,
                    Some(StaleReason::RateLimited) | None => &mut self.stale_if_rate_limited,
                }
            }
            Err(_) => &mut self.failed,
        };
        *kind += 1;
    }

    /// The kinds as `(name, count)`, in the report's order.
    pub fn rows(&self) -> [(&'static str, u64); 10] {
        [
            ("requests", self.requests),
            ("fresh", self.fresh),
            ("revalidated", self.revalidated),
            ("stale", self.stale),
            ("stale_while_revalidate", self.stale_while_revalidate),
            ("stale_if_error", self.stale_if_error),
            ("stale_if_rate_limited", self.stale_if_rate_limited),
            ("joined", self.joined),
            ("upstream", self.upstream),
            ("failed", self.failed),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_is_counted_once_stale_ones_by_reason() {
        let o = |served: Result<ServedBy, String>, stale| Outcome {
            served,
            ms: 1.0,
            resource: "issues".into(),
            seen: true,
            stale,
        };
        let outcomes = [
            o(Ok(ServedBy::Cache), None),
            o(Ok(ServedBy::Stale), Some(StaleReason::RateLimited)),
            o(Ok(ServedBy::Stale), Some(StaleReason::Error)),
            o(Ok(ServedBy::Upstream), None),
            o(Err("wait too long".into()), None),
        ];
        let a = Answers::of(&outcomes);
        let kinds: u64 = a.rows()[1..].iter().map(|(_, n)| n).sum::<u64>() - a.stale;
        assert_eq!((a.requests, kinds), (5, 5));
        assert_eq!(
            (a.stale, a.stale_if_rate_limited, a.stale_if_error),
            (2, 1, 1)
        );
        assert_eq!((a.fresh, a.upstream, a.failed, a.joined), (1, 1, 1, 0));
    }
}
