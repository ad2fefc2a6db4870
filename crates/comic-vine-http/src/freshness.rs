//! RFC 9111 freshness of a response, as a shared cache sees it: a pure function of the
//! request and response headers and the time the response arrived.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use http::header::{AGE, AUTHORIZATION, DATE, EXPIRES, VARY};

use crate::cache_control::{self, Directives, MAX_DELTA_SECONDS, delta_seconds};

/// Overrides of the response's own caching headers (all off by default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FreshnessRules {
    /// The shortest lifetime kept when the response names one (not for `no-cache`).
    pub min_ttl: Option<Duration>,
    /// The longest lifetime kept when the response names one.
    pub max_ttl: Option<Duration>,
    /// Store responses marked `no-store` (with the lifetime they name, else the
    /// configured TTL).
    pub ignore_no_store: bool,
    /// Store responses marked `private` (only right when one user's calls share the
    /// cache).
    pub store_private: bool,
}

impl FreshnessRules {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`min_ttl`](Self::min_ttl).
    pub fn min_ttl(mut self, ttl: Duration) -> Self {
        self.min_ttl = Some(ttl);
        self
    }

    /// Sets [`max_ttl`](Self::max_ttl).
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = Some(ttl);
        self
    }

    /// Sets [`ignore_no_store`](Self::ignore_no_store).
    pub fn ignore_no_store(mut self, yes: bool) -> Self {
        self.ignore_no_store = yes;
        self
    }

    /// Sets [`store_private`](Self::store_private).
    pub fn store_private(mut self, yes: bool) -> Self {
        self.store_private = yes;
        self
    }
}

/// How long a stored response may be used, counted from when it arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Freshness {
    /// How long it is fresh; `None` when the response names no lifetime (use the
    /// configured TTL, as without these rules).
    pub fresh_for: Option<Duration>,
    /// After that, how long it may be served stale while being refreshed in the
    /// background (`stale-while-revalidate`; zero under `must-revalidate`).
    pub stale_while_revalidate: Duration,
    /// After that, how long it may be served stale when refreshing fails
    /// (`stale-if-error`; zero under `must-revalidate`).
    pub stale_if_error: Duration,
    /// No stale serving at all (`must-revalidate`, `proxy-revalidate`, `s-maxage`,
    /// `no-cache`).
    pub must_revalidate: bool,
    /// Revalidate on every use (`no-cache`): `fresh_for` is zero.
    pub no_cache: bool,
}

/// The three instants of a stored entry (what the core cache's freshness keeps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryTimes {
    /// When the response arrived.
    pub stored_at: SystemTime,
    /// Until when it is fresh.
    pub fresh_until: SystemTime,
    /// Until when it may be served stale (the longer stale window), then dropped.
    pub stale_until: SystemTime,
}

impl Freshness {
    /// The entry's instants for a response that arrived at `stored_at`, with
    /// `configured_ttl` when the response named no lifetime. Saturates far in the
    /// future instead of overflowing.
    pub fn times(&self, stored_at: SystemTime, configured_ttl: Duration) -> EntryTimes {
        let add = |t: SystemTime, d: Duration| {
            t.checked_add(d)
                .unwrap_or_else(|| t + Duration::from_secs(MAX_DELTA_SECONDS))
        };
        let fresh_until = add(stored_at, self.fresh_for.unwrap_or(configured_ttl));
        let stale = self.stale_while_revalidate.max(self.stale_if_error);
        EntryTimes {
            stored_at,
            fresh_until,
            stale_until: add(fresh_until, stale),
        }
    }
}

/// Why a response is not stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotStored {
    /// `Cache-Control: no-store` on the request or the response.
    #[error("marked no-store")]
    NoStore,
    /// `Cache-Control: private` (the cache is shared).
    #[error("marked private")]
    Private,
    /// `Vary: *`: no later request can be known to match.
    #[error("Vary: *")]
    VaryAll,
    /// The request carried `Authorization` and the response does not allow sharing it.
    #[error("an authorized request's answer without public, s-maxage or must-revalidate")]
    Authorized,
    /// Its freshness cannot be known from its headers.
    #[error("freshness unknown: {0}")]
    Unknown(String),
}

/// Whether and how long to keep a response to a GET request with `request` headers that
/// arrived at `response_time` with `response` headers (the status is the caller's
/// concern: only 2xx answers reach the cache).
///
/// Lifetime: `s-maxage`, else `max-age`, else `Expires` − `Date` (an invalid `Expires`
/// is already expired), minus the response's age (the larger of `Age` and
/// `response_time` − `Date`); `None` when none is given. Hostile values never panic:
/// delta-seconds over 2^31 count as 2^31, an invalid `Age` or `Date` is ignored, and an
/// unreadable or self-contradicting `Cache-Control`, `Expires` or `Age` makes the
/// freshness unknown ([`NotStored::Unknown`]).
pub fn freshness(
    rules: &FreshnessRules,
    request: &HeaderMap,
    response: &HeaderMap,
    response_time: SystemTime,
) -> Result<Freshness, NotStored> {
    let unknown = |e: String| NotStored::Unknown(e);
    let req_cc = cache_control::parse(request).unwrap_or_default();
    let cc = cache_control::parse(response).map_err(|e| unknown(e.to_string()))?;
    if (cc.no_store || req_cc.no_store) && !rules.ignore_no_store {
        return Err(NotStored::NoStore);
    }
    if cc.private && !rules.store_private {
        return Err(NotStored::Private);
    }
    if vary_all(response) {
        return Err(NotStored::VaryAll);
    }
    if request.contains_key(AUTHORIZATION)
        && !(cc.public || cc.s_maxage.is_some() || cc.must_revalidate)
    {
        return Err(NotStored::Authorized);
    }
    let must_revalidate =
        cc.must_revalidate || cc.proxy_revalidate || cc.s_maxage.is_some() || cc.no_cache;
    let fresh_for = if cc.no_cache {
        Some(Duration::ZERO)
    } else {
        lifetime(&cc, response, response_time)?
            .map(|life| {
                let age = age(response, response_time)?;
                let left = life.saturating_sub(age);
                Ok::<_, NotStored>(clamp(left, rules))
            })
            .transpose()?
    };
    let stale = |d: Option<Duration>| {
        if must_revalidate {
            Duration::ZERO
        } else {
            d.unwrap_or_default()
        }
    };
    Ok(Freshness {
        fresh_for,
        stale_while_revalidate: stale(cc.stale_while_revalidate),
        stale_if_error: stale(cc.stale_if_error),
        must_revalidate,
        no_cache: cc.no_cache,
    })
}

fn clamp(d: Duration, rules: &FreshnessRules) -> Duration {
    let d = rules.min_ttl.map_or(d, |min| d.max(min));
    rules.max_ttl.map_or(d, |max| d.min(max))
}

/// The freshness lifetime the response names, counted from its `Date`.
fn lifetime(
    cc: &Directives,
    response: &HeaderMap,
    response_time: SystemTime,
) -> Result<Option<Duration>, NotStored> {
    if let Some(life) = cc.s_maxage.or(cc.max_age) {
        return Ok(Some(life));
    }
    let Some(expires) = single(response, EXPIRES)? else {
        return Ok(None);
    };
    let Some(expires) = expires.and_then(|e| httpdate::parse_http_date(e).ok()) else {
        return Ok(Some(Duration::ZERO));
    };
    // Without a readable `Date`, `Expires` counts from arrival.
    let date = date(response)?.unwrap_or(response_time);
    Ok(Some(expires.duration_since(date).unwrap_or_default()))
}

/// The response's age on arrival: the larger of `Age` and arrival − `Date`.
fn age(response: &HeaderMap, response_time: SystemTime) -> Result<Duration, NotStored> {
    let header = match single(response, AGE)? {
        Some(Some(v)) => delta_seconds(v.trim()).unwrap_or_else(|| {
            tracing::debug!(age = v, "ignoring an invalid Age");
            Duration::ZERO
        }),
        _ => Duration::ZERO,
    };
    let apparent = date(response)?
        .and_then(|d| response_time.duration_since(d).ok())
        .unwrap_or_default();
    Ok(header.max(apparent))
}

fn date(response: &HeaderMap) -> Result<Option<SystemTime>, NotStored> {
    Ok(single(response, DATE)?
        .flatten()
        .and_then(|d| httpdate::parse_http_date(d).ok()))
}

/// The one value of `name`: `Some(None)` if it is not text; several different lines
/// make the freshness unknown.
fn single(headers: &HeaderMap, name: http::HeaderName) -> Result<Option<Option<&str>>, NotStored> {
    let mut values = headers.get_all(&name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.any(|v| v != first) {
        return Err(NotStored::Unknown(format!("conflicting {name} lines")));
    }
    Ok(Some(first.to_str().ok()))
}

/// Whether `Vary` lists `*`.
fn vary_all(response: &HeaderMap) -> bool {
    response.get_all(VARY).iter().any(|v| {
        v.to_str()
            .map_or(true, |v| v.split(',').any(|f| f.trim() == "*"))
    })
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use proptest::prelude::*;

    use super::*;
    use crate::test_support::headers;

    /// 1994-11-06T08:49:37Z.
    const T0: u64 = 784_111_777;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn fresh(pairs: &[(&str, &str)]) -> Result<Freshness, NotStored> {
        freshness(
            &FreshnessRules::new(),
            &HeaderMap::new(),
            &headers(pairs),
            at(T0),
        )
    }

    fn secs(f: Result<Freshness, NotStored>) -> Option<u64> {
        f.unwrap().fresh_for.map(|d| d.as_secs())
    }

    #[test]
    fn s_maxage_wins_over_max_age_over_expires_and_silence_is_the_configured_ttl() {
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        let expires = "Sun, 06 Nov 1994 08:59:37 GMT";
        assert_eq!(
            secs(fresh(&[("cache-control", "max-age=60, s-maxage=30")])),
            Some(30)
        );
        assert_eq!(
            secs(fresh(&[
                ("cache-control", "max-age=60"),
                ("expires", expires)
            ])),
            Some(60)
        );
        assert_eq!(
            secs(fresh(&[("date", date), ("expires", expires)])),
            Some(600)
        );
        assert_eq!(
            secs(fresh(&[("expires", "0")])),
            Some(0),
            "invalid Expires is expired"
        );
        assert_eq!(secs(fresh(&[("content-type", "application/json")])), None);
        let f = fresh(&[]).unwrap();
        let times = f.times(at(T0), Duration::from_secs(3600));
        assert_eq!(
            (times.fresh_until, times.stale_until),
            (at(T0 + 3600), at(T0 + 3600))
        );
    }

    #[test]
    fn age_and_date_count_against_the_lifetime() {
        assert_eq!(
            secs(fresh(&[("cache-control", "max-age=60"), ("age", "20")])),
            Some(40)
        );
        assert_eq!(
            secs(fresh(&[("cache-control", "max-age=60"), ("age", "600")])),
            Some(0)
        );
        // Sent 50 s before it arrived.
        let sent = "Sun, 06 Nov 1994 08:48:47 GMT";
        assert_eq!(
            secs(fresh(&[
                ("cache-control", "max-age=60"),
                ("date", sent),
                ("age", "5")
            ])),
            Some(10)
        );
        // A Date in the future is no negative age.
        let later = "Sun, 06 Nov 1994 09:49:37 GMT";
        assert_eq!(
            secs(fresh(&[("cache-control", "max-age=60"), ("date", later)])),
            Some(60)
        );
    }

    #[test]
    fn no_store_private_vary_star_and_authorization_are_not_stored() {
        assert_eq!(
            fresh(&[("cache-control", "no-store, max-age=60")]),
            Err(NotStored::NoStore)
        );
        assert_eq!(
            fresh(&[("cache-control", "private")]),
            Err(NotStored::Private)
        );
        assert_eq!(fresh(&[("vary", "accept, *")]), Err(NotStored::VaryAll));
        let req = headers(&[("cache-control", "no-store")]);
        let rules = FreshnessRules::new();
        assert_eq!(
            freshness(&rules, &req, &HeaderMap::new(), at(T0)),
            Err(NotStored::NoStore)
        );
        let auth = headers(&[("authorization", "Bearer x")]);
        assert_eq!(
            freshness(
                &rules,
                &auth,
                &headers(&[("cache-control", "max-age=5")]),
                at(T0)
            ),
            Err(NotStored::Authorized)
        );
        assert!(
            freshness(
                &rules,
                &auth,
                &headers(&[("cache-control", "public, max-age=5")]),
                at(T0)
            )
            .is_ok()
        );
        let lax = FreshnessRules::new()
            .ignore_no_store(true)
            .store_private(true);
        let f = freshness(
            &lax,
            &HeaderMap::new(),
            &headers(&[("cache-control", "no-store, private, max-age=9")]),
            at(T0),
        );
        assert_eq!(secs(f), Some(9));
    }

    #[test]
    fn no_cache_is_stored_and_revalidated_and_must_revalidate_forbids_stale() {
        let f = fresh(&[("cache-control", "no-cache, max-age=60, stale-if-error=60")]).unwrap();
        assert_eq!(f.fresh_for, Some(Duration::ZERO));
        assert!(f.no_cache && f.must_revalidate);
        assert_eq!(f.stale_if_error, Duration::ZERO);
        let f = fresh(&[(
            "cache-control",
            "max-age=60, stale-while-revalidate=30, stale-if-error=300",
        )])
        .unwrap();
        assert_eq!(
            (
                f.stale_while_revalidate,
                f.stale_if_error,
                f.must_revalidate
            ),
            (Duration::from_secs(30), Duration::from_secs(300), false)
        );
        assert_eq!(f.times(at(T0), Duration::ZERO).stale_until, at(T0 + 360));
        for strict in ["must-revalidate", "proxy-revalidate", "s-maxage=60"] {
            let cc = format!("max-age=60, {strict}, stale-if-error=300");
            let f = fresh(&[("cache-control", &cc)]).unwrap();
            assert!(f.must_revalidate, "{strict}");
            assert_eq!(f.stale_if_error, Duration::ZERO, "{strict}");
        }
    }

    #[test]
    fn min_and_max_ttl_clamp_named_lifetimes_only() {
        let rules = FreshnessRules::new()
            .min_ttl(Duration::from_secs(30))
            .max_ttl(Duration::from_secs(300));
        let f = |cc: &str| {
            freshness(
                &rules,
                &HeaderMap::new(),
                &headers(&[("cache-control", cc)]),
                at(T0),
            )
            .unwrap()
            .fresh_for
        };
        assert_eq!(f("max-age=5"), Some(Duration::from_secs(30)));
        assert_eq!(f("max-age=86400"), Some(Duration::from_secs(300)));
        assert_eq!(f("no-cache"), Some(Duration::ZERO));
        assert_eq!(f("public"), None);
    }

    #[test]
    fn hostile_values_are_clamped_ignored_or_unknown() {
        assert_eq!(
            secs(fresh(&[("cache-control", "max-age=999999999999")])),
            Some(MAX_DELTA_SECONDS)
        );
        let f = fresh(&[(
            "cache-control",
            "max-age=999999999999, stale-if-error=999999999999",
        )]);
        let far = f.unwrap().times(at(T0), Duration::ZERO);
        assert!(far.stale_until > far.fresh_until);
        assert_eq!(
            secs(fresh(&[("cache-control", "max-age=60"), ("age", "-5")])),
            Some(60)
        );
        let huge_age = "9".repeat(30);
        assert_eq!(
            secs(fresh(&[
                ("cache-control", "max-age=60"),
                ("age", &huge_age)
            ])),
            Some(0)
        );
        for bad in [
            vec![("cache-control", "max-age=soon")],
            vec![
                ("cache-control", "max-age=1"),
                ("cache-control", "max-age=2"),
            ],
            vec![
                ("expires", "Sun, 06 Nov 1994 08:59:37 GMT"),
                ("expires", "0"),
            ],
            vec![("cache-control", "max-age=1"), ("age", "1"), ("age", "2")],
        ] {
            assert!(matches!(fresh(&bad), Err(NotStored::Unknown(_))), "{bad:?}");
        }
    }

    fn header_value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            "(max-age|s-maxage|stale-if-error|stale-while-revalidate|age)=-?[0-9]{0,30}"
                .prop_map(String::into_bytes),
            "[a-z-]{0,12}(=\"[^\"]{0,8}\"?)?(, ?[a-z-]{0,12}(=[0-9a-z]{0,25})?){0,4}"
                .prop_map(String::into_bytes),
            "[0-9]{0,25}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        #[test]
        fn hostile_headers_never_panic(
            lines in proptest::collection::vec(
                (prop::sample::select(vec!["cache-control", "age", "date", "expires", "vary", "authorization"]), header_value()),
                0..8,
            ),
            now in any::<u64>(),
            ttl in any::<u64>(),
        ) {
            let mut h = HeaderMap::new();
            for (name, value) in &lines {
                if let Ok(v) = http::HeaderValue::from_bytes(value) {
                    h.append(*name, v);
                }
            }
            let arrival = UNIX_EPOCH.checked_add(Duration::from_secs(now >> 20)).unwrap_or(UNIX_EPOCH);
            let rules = FreshnessRules::new().min_ttl(Duration::from_secs(1));
            if let Ok(f) = freshness(&rules, &h, &h, arrival) {
                let t = f.times(arrival, Duration::from_secs(ttl));
                prop_assert!(t.stored_at <= t.fresh_until && t.fresh_until <= t.stale_until);
            }
        }
    }
}
