//! Cache get (hit, miss) and set of a 1 KB value, against GetItem and PutItem of the
//! same item, the PutItem with the store's condition (a hit also with eventually
//! consistent reads); a near cache's hit (no request) and local miss (the shared hit
//! behind it), against the same GetItem.

use std::sync::Arc;
use std::time::Duration;

use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::primitives::Blob;
use comic_vine_dynamodb_store::aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use comic_vine_dynamodb_store::{DynamoDbCacheStore, PK, SK, Table, keys};
use comic_vine_store::CacheStore;
use comic_vine_store::cache::NearCache;
use serde_json::{Value, json};

use super::meter::{Cost, Meter};
use super::{Workload, cost_of, op, raw_value};

/// Distinct keys each operation cycles through.
const KEYS: u64 = 64;
const TTL: Option<Duration> = Some(Duration::from_secs(600));

/// A realistic Comic Vine result of about 1 KB of JSON.
fn one_kb_value(n: u64) -> Value {
    json!({"error": "OK", "status_code": 1, "results": {
        "id": n, "name": format!("Batman #{n}"),
        "deck": "The Dark Knight returns to Gotham City to face a new wave of crime, \
                 while an old enemy returns from the shadows with a plan of his own.",
        "api_detail_url": format!("https://comicvine.gamespot.com/api/issue/4000-{n}/"),
        "site_detail_url": format!("https://comicvine.gamespot.com/batman-{n}/4000-{n}/"),
        "image": {"original_url": format!("https://comicvine.gamespot.com/a/uploads/original/11/{n}.jpg"),
                  "thumb_url": format!("https://comicvine.gamespot.com/a/uploads/thumb/11/{n}.jpg")},
        "volume": {"id": 796, "name": "Batman", "api_detail_url": "https://comicvine.gamespot.com/api/volume/4050-796/"},
        "cover_date": "2011-09-01", "store_date": "2011-08-31", "issue_number": n.to_string(),
        "date_added": "2011-07-11 12:00:00", "date_last_updated": "2020-01-01 00:00:00",
        "aliases": null, "has_staff_review": false,
    }})
}

/// The item the cache writes for `value` (key + expiry + encoding + payload): what the
/// raw baseline reads and writes, so that the comparison isolates the store's overhead.
fn raw_item(hash: &str, value: &Value) -> std::collections::HashMap<String, AttributeValue> {
    let (enc, json_len, payload) = raw_value::encode(value);
    let (pk, sk) = keys::cache_entry(hash);
    let n = |v: u64| AttributeValue::N(v.to_string());
    [
        (PK, AttributeValue::S(pk)),
        (SK, AttributeValue::S(sk)),
        ("EXP", n(u64::MAX / 4)),
        ("TTL", n(4_102_444_800)),
        ("ENC", AttributeValue::S(enc.to_owned())),
        ("RAW", n(json_len as u64)),
        ("SZ", n(payload.len() as u64)),
        ("V", AttributeValue::B(Blob::new(payload))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The cache workloads, with their hit keys written.
pub(crate) async fn workloads(table: &Table) -> anyhow::Result<Vec<Workload>> {
    let store: Arc<DynamoDbCacheStore<Value>> = Arc::new(DynamoDbCacheStore::new(table));
    let meter = Arc::new(Meter::default());
    let value = Arc::new(one_kb_value(1));
    for i in 0..KEYS {
        store.set(&format!("bench-hit-{i}"), &value, TTL).await?;
        put_raw(table, &meter, &format!("bench-raw-hit-{i}"), &value).await?;
    }
    let raw_cost = {
        let meter = Arc::clone(&meter);
        cost_of(move || meter.total())
    };
    // The same entries read with eventually consistent GetItems (0.5 RCU).
    let eventual: Arc<DynamoDbCacheStore<Value>> = Arc::new(
        DynamoDbCacheStore::builder(table)
            .eventually_consistent_reads(true)
            .build()?,
    );
    let eventual_cost = {
        let eventual = Arc::clone(&eventual);
        cost_of(move || Cost::from(&eventual.metrics()))
    };
    let store_cost = {
        let store = Arc::clone(&store);
        cost_of(move || Cost::from(&store.metrics()))
    };

    // Near hits only: every key is read once here, and kept for the whole run (a max
    // local age of an hour instead of the default 5 s, which would add one shared read
    // per key every 5 s).
    let near = NearCache::builder((*store).clone()).max_local_age(Duration::from_secs(3600));
    let near = Arc::new(near.build()?);
    // Keeps nothing (every value is over its byte budget): each read is a local miss
    // and a shared hit, the near layer's cost on a miss.
    let near_miss = Arc::new(NearCache::builder((*store).clone()).max_bytes(1).build()?);
    for i in 0..KEYS {
        near.get(&format!("bench-hit-{i}")).await?;
    }
    let near_get = |near: &Arc<NearCache<DynamoDbCacheStore<Value>>>| {
        let near = Arc::clone(near);
        op(move |n: u64| {
            let near = Arc::clone(&near);
            async move {
                let hit = near
                    .get(&format!("bench-hit-{}", n % KEYS))
                    .await?
                    .is_some();
                anyhow::ensure!(hit, "near cache get: expected a hit");
                Ok(())
            }
        })
    };
    let raw_get = |prefix: &'static str| {
        let (table, meter) = (table.clone(), Arc::clone(&meter));
        op(move |n: u64| {
            let (table, meter) = (table.clone(), Arc::clone(&meter));
            async move { get_raw(&table, &meter, &format!("{prefix}{}", n % KEYS)).await }
        })
    };
    let store_get = |store: &Arc<DynamoDbCacheStore<Value>>, prefix: &'static str, expect_hit| {
        let store = Arc::clone(store);
        op(move |n: u64| {
            let store = Arc::clone(&store);
            async move {
                let hit = store.get(&format!("{prefix}{}", n % KEYS)).await?.is_some();
                anyhow::ensure!(hit == expect_hit, "cache get: expected hit={expect_hit}");
                Ok(())
            }
        })
    };
    let raw_put = {
        let (table, meter, value) = (table.clone(), Arc::clone(&meter), Arc::clone(&value));
        op(move |n: u64| {
            let (table, meter, value) = (table.clone(), Arc::clone(&meter), Arc::clone(&value));
            async move {
                put_raw(
                    &table,
                    &meter,
                    &format!("bench-raw-set-{}", n % KEYS),
                    &value,
                )
                .await
            }
        })
    };
    let store_set = {
        let (store, value) = (Arc::clone(&store), Arc::clone(&value));
        op(move |n: u64| {
            let (store, value) = (Arc::clone(&store), Arc::clone(&value));
            async move {
                store
                    .set(&format!("bench-set-{}", n % KEYS), &value, TTL)
                    .await?;
                Ok(())
            }
        })
    };

    Ok(vec![
        Workload::new(
            "raw GetItem (hit)",
            None,
            raw_get("bench-raw-hit-"),
            Arc::clone(&raw_cost),
        ),
        Workload::new(
            "cache get (hit)",
            Some("raw GetItem (hit)"),
            store_get(&store, "bench-hit-", true),
            Arc::clone(&store_cost),
        ),
        Workload::new(
            "cache get (hit, eventual)",
            Some("raw GetItem (hit)"),
            store_get(&eventual, "bench-hit-", true),
            eventual_cost,
        ),
        Workload::new(
            "near cache get (hit)",
            Some("raw GetItem (hit)"),
            near_get(&near),
            Arc::clone(&store_cost),
        ),
        Workload::new(
            "near get (local miss)",
            Some("raw GetItem (hit)"),
            near_get(&near_miss),
            Arc::clone(&store_cost),
        ),
        Workload::new(
            "raw GetItem (miss)",
            None,
            raw_get("bench-raw-miss-"),
            Arc::clone(&raw_cost),
        ),
        Workload::new(
            "cache get (miss)",
            Some("raw GetItem (miss)"),
            store_get(&store, "bench-miss-", false),
            Arc::clone(&store_cost),
        ),
        Workload::new("raw conditional PutItem 1 KB", None, raw_put, raw_cost),
        Workload::new(
            "cache set 1 KB",
            Some("raw conditional PutItem 1 KB"),
            store_set,
            store_cost,
        ),
    ])
}

async fn get_raw(table: &Table, meter: &Meter, hash: &str) -> anyhow::Result<()> {
    let (pk, sk) = keys::cache_entry(hash);
    let out = table
        .client()
        .get_item()
        .table_name(table.name())
        .key(PK, AttributeValue::S(pk))
        .key(SK, AttributeValue::S(sk))
        .consistent_read(true)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await?;
    meter.read(out.consumed_capacity());
    Ok(())
}

async fn put_raw(table: &Table, meter: &Meter, hash: &str, value: &Value) -> anyhow::Result<()> {
    let out = table
        .client()
        .put_item()
        .table_name(table.name())
        .set_item(Some(raw_item(hash, value)))
        // The store's own condition: the item it replaces names no chunks to delete.
        .condition_expression("attribute_not_exists(#VER)")
        .expression_attribute_names("#VER", "VER")
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await?;
    meter.write(out.consumed_capacity());
    Ok(())
}
