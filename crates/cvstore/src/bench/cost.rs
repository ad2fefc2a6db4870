//! Dollars per million client requests, from the units a bench run measured: a mix of
//! hits (one cache get of the response) and misses (the whole miss path), priced at
//! on-demand list prices.

use anyhow::Context;
use serde::Serialize;

use super::Row;
use super::miss_path::{eventual_hit_row, hit_row, miss_row};

/// The day the default prices were taken (on-demand, us-east-1).
pub const PRICES_AS_OF: &str = "2024-11-01";

/// What to price.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Mix {
    /// Share of client requests the cache answers, 0 to 1.
    pub hit_ratio: f64,
    /// JSON size of a response.
    pub response_bytes: usize,
    /// Dollars per million write request units.
    pub price_wru: f64,
    /// Dollars per million read request units.
    pub price_rru: f64,
}

/// Billed units of one operation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Units {
    /// Read request units.
    pub rru: f64,
    /// Write request units.
    pub wru: f64,
}

impl Units {
    fn of(row: &Row) -> Self {
        Self {
            rru: row.billed_read_units_per_op,
            wru: row.billed_write_units_per_op,
        }
    }

    /// Dollars for a million of these at `mix`'s prices.
    fn dollars_per_million(self, mix: &Mix) -> f64 {
        self.rru * mix.price_rru + self.wru * mix.price_wru
    }
}

/// The cost line of a bench run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostReport {
    /// The mix and prices.
    #[serde(flatten)]
    pub mix: Mix,
    /// When the default prices were taken.
    pub prices_as_of: &'static str,
    /// The response's zstd-compressed size, as stored.
    pub compressed_bytes: usize,
    /// The concurrency whose rows are priced (the lowest measured: no group commit).
    pub concurrency: usize,
    /// The row priced as a hit, and its billed units.
    pub hit_row: String,
    /// Billed units of a hit.
    pub hit: Units,
    /// The row priced as a miss, and its billed units.
    pub miss_row: String,
    /// Billed units of a miss.
    pub miss: Units,
    /// `hit_ratio × (hit.rru × price_rru + hit.wru × price_wru) + (1 − hit_ratio) ×
    /// (miss.rru × price_rru + miss.wru × price_wru)`: dollars per million client requests.
    pub dollars_per_million_requests: f64,
    /// The same mix with hits read eventually consistently (the cache store's
    /// `eventually_consistent_reads(true)`), when the run measured that row.
    pub eventual_hits: Option<EventualHits>,
}

/// The cost line's second figure: hits read eventually consistently.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventualHits {
    /// The row priced as a hit.
    pub hit_row: String,
    /// Billed units of such a hit.
    pub hit: Units,
    /// Dollars per million client requests with such hits (misses as above).
    pub dollars_per_million_requests: f64,
}

/// Prices `mix` from `rows` (at their lowest concurrency).
pub fn report(rows: &[Row], mix: Mix, compressed_bytes: usize) -> anyhow::Result<CostReport> {
    let concurrency = rows
        .iter()
        .map(|r| r.concurrency)
        .min()
        .context("no rows to price")?;
    let find = |name: &str| {
        rows.iter()
            .find(|r| r.operation == name && r.concurrency == concurrency)
            .with_context(|| format!("no `{name}` row at concurrency {concurrency}"))
    };
    let (hit_name, miss_name) = (hit_row(mix.response_bytes), miss_row(mix.response_bytes));
    let hit = Units::of(find(&hit_name)?);
    let miss = Units::of(find(&miss_name)?);
    let price = |hit: Units| {
        mix.hit_ratio * hit.dollars_per_million(&mix)
            + (1.0 - mix.hit_ratio) * miss.dollars_per_million(&mix)
    };
    let dollars = price(hit);
    let eventual_name = eventual_hit_row(mix.response_bytes);
    let eventual_hits = find(&eventual_name).ok().map(|row| {
        let hit = Units::of(row);
        EventualHits {
            hit_row: eventual_name,
            hit,
            dollars_per_million_requests: price(hit),
        }
    });
    Ok(CostReport {
        mix,
        prices_as_of: PRICES_AS_OF,
        compressed_bytes,
        concurrency,
        hit_row: hit_name,
        hit,
        miss_row: miss_name,
        miss,
        dollars_per_million_requests: dollars,
        eventual_hits,
    })
}

/// The report as one text line.
pub fn render(c: &CostReport) -> String {
    let eventual = c.eventual_hits.as_ref().map_or(String::new(), |e| {
        format!(
            "; ${:.4} with eventually consistent hits ({:.2} RRU)",
            e.dollars_per_million_requests, e.hit.rru
        )
    });
    format!(
        "cost: ${:.4} per 1M client requests ({:.0}% hits, {} B responses = {} B zstd; \
         hit {:.2} RRU + {:.2} WRU, miss {:.2} RRU + {:.2} WRU billed at concurrency {}; \
         ${}/M WRU, ${}/M RRU){eventual}",
        c.dollars_per_million_requests,
        c.mix.hit_ratio * 100.0,
        c.mix.response_bytes,
        c.compressed_bytes,
        c.hit.rru,
        c.hit.wru,
        c.miss.rru,
        c.miss.wru,
        c.concurrency,
        c.mix.price_wru,
        c.mix.price_rru,
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn row(operation: String, concurrency: usize, rru: f64, wru: f64) -> Row {
        Row {
            operation,
            concurrency,
            ops_per_sec: 1.0,
            baseline: None,
            ratio_to_baseline: None,
            ratio_low: None,
            ratio_high: None,
            requests_per_op: 1.0,
            read_units_per_op: rru,
            write_units_per_op: wru / 2.0,
            billed_read_units_per_op: rru,
            billed_write_units_per_op: wru,
        }
    }

    proptest! {
        /// The figure is the mix's weighted price of the lowest concurrency's rows; the
        /// other concurrency's rows never enter it.
        #[test]
        fn prices_the_lowest_concurrency_by_the_formula(
            h in 0.0..=1.0f64, hr in 0.0..4.0f64, mr in 0.0..4.0f64, mw in 0.0..40.0f64,
            pw in 0.0..2.0f64, pr in 0.0..2.0f64, kb in 1usize..64,
        ) {
            let bytes = kb * 1024;
            let rows = vec![
                row(hit_row(bytes), 32, 99.0, 99.0),
                row(hit_row(bytes), 1, hr, 0.0),
                row(miss_row(bytes), 1, mr, mw),
                row(miss_row(bytes), 32, 99.0, 99.0),
            ];
            let mix = Mix { hit_ratio: h, response_bytes: bytes, price_wru: pw, price_rru: pr };
            let c = report(&rows, mix, 1).unwrap();
            let expected = h * hr * pr + (1.0 - h) * (mr * pr + mw * pw);
            prop_assert!((c.dollars_per_million_requests - expected).abs() < 1e-9);
            prop_assert_eq!(c.concurrency, 1);
        }
    }

    #[test]
    fn a_missing_row_is_named() {
        let rows = vec![row(hit_row(1024), 1, 1.0, 0.0)];
        let mix = Mix {
            hit_ratio: 0.8,
            response_bytes: 1024,
            price_wru: 0.625,
            price_rru: 0.125,
        };
        let e = report(&rows, mix, 1).unwrap_err().to_string();
        assert!(e.contains("miss path 1 KB"), "{e}");
    }
}
