//! The request pipeline on the DynamoDB stores: what a miss and a hit cost, the
//! complete-and-cache path, and the outage fallback.

use comic_vine_dynamodb_store::StoreControls;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use comic_vine_dynamodb_store::{CircuitBreakerConfig, DynamoDbCacheStore, DynamoDbConfig};
use comic_vine_store::conformance::Setup;
use comic_vine_store::pipeline::{
    OutageFallback, PipelineConfig, PipelineError, Request, ServedBy,
};
use comic_vine_store::{
    CacheStore, DedupeStore, JobId, JobOutcome, RateLimit, RateLimitConfig, Registration,
    StoreError,
};
use serde_json::{Value, json};

use super::backend::DynamoBackend;
use super::fault_proxy::{Fault, FaultProxy};
use super::stores::Stores;
use super::value_of;

#[tokio::test]
async fn a_miss_costs_five_requests_and_four_units_and_a_hit_one() {
    let backend = DynamoBackend::fresh().await;
    let stores = Stores::on(
        &backend.handle(&Setup::new()).unwrap(),
        RateLimitConfig::default(),
    );
    let pipeline = stores.pipeline_builder().build();

    // Warm the limiter's knowledge of the window, as a running process has it.
    let warm = Request::new("issues/list", json!({"offset": 0}), "issues");
    pipeline
        .execute(&warm, || async { Ok(json!(0)) })
        .await
        .unwrap();

    let (requests, units) = stores.sent();
    let request = Request::new("issues/list", json!({"offset": 100}), "issues");
    let miss = pipeline
        .execute(&request, || async { Ok(json!({"results": [1]})) })
        .await
        .unwrap();
    assert_eq!(miss.served_by, ServedBy::Upstream);
    let (miss_requests, miss_units) = (stores.sent().0 - requests, stores.sent().1 - units);
    // cache get, register_or_join, try_acquire, the job's completion, the cache entry:
    // one unit each for this small value, written once.
    assert_eq!(miss_requests, 5);
    assert_eq!(miss_units, 4.0, "register, acquire, completion, entry");
    eprintln!("a miss: {miss_requests} requests, {miss_units} WCU as DynamoDB Local reports");

    let (requests, _) = stores.sent();
    let hit = pipeline
        .execute(&request, || async { Ok(json!("not called")) })
        .await
        .unwrap();
    assert_eq!(
        (hit.served_by, hit.value),
        (ServedBy::Cache, json!({"results": [1]}))
    );
    assert_eq!(stores.sent().0 - requests, 1, "a hit is one GetItem");
}

#[tokio::test]
async fn complete_and_cache_feeds_joiners_from_the_cache_entry_in_one_write() {
    let backend = DynamoBackend::fresh().await;
    let table = backend.handle(&Setup::new()).unwrap();
    let owner = Stores::on(&table, RateLimitConfig::default());
    let other = Stores::on(&table, RateLimitConfig::default());
    for (hash, value) in [
        ("small", value_of(2, false)),
        ("chunked", value_of(900, false)),
    ] {
        let Registration::Owner { job_id, .. } = owner.dedupe.register_or_join(hash).await.unwrap()
        else {
            panic!("first registration owns");
        };
        assert!(
            !other
                .dedupe
                .register_or_join(hash)
                .await
                .unwrap()
                .is_owner()
        );
        let waiter = {
            let dedupe = other.dedupe.clone();
            tokio::spawn(async move { dedupe.wait_for(hash).await })
        };
        let before = owner.dedupe.metrics().requests;
        owner
            .dedupe
            .complete_and_cache(hash, &job_id, &value, owner.cache.as_ref(), None)
            .await
            .unwrap();
        let sent = owner.dedupe.metrics().requests - before;
        if hash == "small" {
            assert_eq!(sent, 2, "the completion's UpdateItem, the entry's PutItem");
        } else {
            assert!(sent > 1, "chunks are written first");
        }
        assert_eq!(
            waiter.await.unwrap().unwrap(),
            JobOutcome::Completed(value.clone())
        );
        assert_eq!(other.cache.get(hash).await.unwrap(), Some(value));
    }
}

#[tokio::test]
async fn complete_and_cache_into_a_cache_it_was_not_built_with_sets_then_completes() {
    let backend = DynamoBackend::fresh().await;
    let table = backend.handle(&Setup::new()).unwrap();
    let stores = Stores::on(&table, RateLimitConfig::default());
    // Same table, same type, but another instance: the capability was given to
    // `stores.cache` only.
    let another: DynamoDbCacheStore<Value> = DynamoDbCacheStore::new(&table);
    let Registration::Owner { job_id, .. } = stores.dedupe.register_or_join("h").await.unwrap()
    else {
        panic!("first registration owns");
    };
    let value = json!({"n": 1});
    let before = (another.metrics().requests, stores.dedupe.metrics().requests);
    stores
        .dedupe
        .complete_and_cache("h", &job_id, &value, &another, None)
        .await
        .unwrap();
    assert_eq!(
        another.metrics().requests - before.0,
        1,
        "the cache's own set"
    );
    assert_eq!(
        stores.dedupe.metrics().requests - before.1,
        1,
        "then the completion"
    );
    assert_eq!(stores.cache.get("h").await.unwrap(), Some(value.clone()));
    assert_eq!(
        stores.dedupe.wait_for("h").await.unwrap(),
        JobOutcome::Completed(value)
    );
}

#[tokio::test]
async fn complete_and_cache_by_a_stranger_writes_nothing() {
    let backend = DynamoBackend::fresh().await;
    let stores = Stores::on(
        &backend.handle(&Setup::new()).unwrap(),
        RateLimitConfig::default(),
    );
    assert!(
        stores
            .dedupe
            .register_or_join("h")
            .await
            .unwrap()
            .is_owner()
    );
    for value in [json!({"small": true}), value_of(900, false)] {
        let refused = stores
            .dedupe
            .complete_and_cache("h", &JobId::random(), &value, stores.cache.as_ref(), None)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, StoreError::NotJobOwner { .. }),
            "{refused}"
        );
        assert_eq!(
            stores.cache.get("h").await.unwrap(),
            None,
            "no cache entry without the completion"
        );
    }
    assert!(stores.dedupe.is_in_progress("h").await.unwrap());
}

#[tokio::test]
async fn an_outage_falls_back_to_this_process_share_then_returns() {
    let backend = DynamoBackend::fresh().await;
    let proxy = FaultProxy::start(super::local().endpoint()).await;
    let fleet = RateLimitConfig::new(RateLimit::new(10, Duration::from_secs(60)).unwrap());
    let table = DynamoDbConfig::builder()
        .table_name(backend.table.name())
        .endpoint(proxy.endpoint())
        .max_retries(0)
        .circuit_breaker(CircuitBreakerConfig {
            enabled: true,
            failure_threshold: 1,
            recovery_timeout: Duration::from_millis(300),
        })
        .build()
        .unwrap()
        .connect()
        .await
        .unwrap();
    let stores = Stores::on(&table, fleet.clone());
    let pipeline = stores
        .pipeline_builder()
        // Five processes share 10 per minute: 2 each while degraded.
        .outage_fallback(OutageFallback::share_of(&fleet, 5).unwrap())
        .config(PipelineConfig {
            max_wait: Duration::ZERO,
            ..PipelineConfig::default()
        })
        .build();
    let calls = AtomicU32::new(0);
    let call = |page: u32| {
        let request = Request::new("issues/list", json!({ "page": page }), "issues");
        let calls = &calls;
        let pipeline = &pipeline;
        async move {
            pipeline
                .execute(&request, || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(json!({ "page": page }))
                })
                .await
        }
    };

    proxy.set_fault(Fault::Status(503));
    let mut served = 0;
    for page in 0..6 {
        match call(page).await {
            Ok(response) => {
                assert_eq!(response.served_by, ServedBy::Upstream);
                assert!(response.degraded);
                served += 1;
            }
            Err(e) => assert!(
                matches!(&e, PipelineError::WaitTooLong { resource, .. } if resource == "issues"),
                "{e}"
            ),
        }
    }
    assert_eq!(served, 2, "this process's share of the limit");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(pipeline.is_degraded());
    let reached_proxy = proxy.requests();
    assert!(
        reached_proxy <= 3,
        "one failure per breaker, then none: {reached_proxy}"
    );

    proxy.set_fault(Fault::Forward);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let back = call(100).await.unwrap();
    assert_eq!((back.served_by, back.degraded), (ServedBy::Upstream, false));
    assert!(!pipeline.is_degraded());
    let again = call(100).await.unwrap();
    assert_eq!(
        again.served_by,
        ServedBy::Cache,
        "the shared cache is used again"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_chunked_entry_whose_put_answer_was_lost_stays_readable() {
    let backend = DynamoBackend::fresh().await;
    let proxy = FaultProxy::start(super::local().endpoint()).await;
    let table = DynamoDbConfig::builder()
        .table_name(backend.table.name())
        .endpoint(proxy.endpoint())
        .max_retries(0)
        .build()
        .unwrap()
        .connect()
        .await
        .unwrap();
    let stores = Stores::on(&table, RateLimitConfig::default());
    let job = stores.dedupe.register("h").await.unwrap();
    let value = value_of(900, false);
    // The chunk-set PutItem, the chunks' BatchWriteItem and the completion go through;
    // the entry's PutItem lands, its answer is lost.
    let sent = proxy.requests();
    proxy.set_plan(move |n| {
        if n == sent + 4 {
            Fault::DropAfterForward
        } else {
            Fault::Forward
        }
    });
    let lost = stores
        .dedupe
        .complete_and_cache("h", &job, &value, stores.cache.as_ref(), None)
        .await
        .unwrap_err();
    assert!(matches!(lost, StoreError::Unavailable { .. }), "{lost}");
    assert_eq!(proxy.tally().get("drop_after_forward"), Some(&1));
    assert!(
        stores.cache.get("h").await.unwrap().as_ref() == Some(&value),
        "the entry landed: its chunks must not be removed"
    );
    assert!(stores.dedupe.wait_for("h").await.unwrap() == JobOutcome::Completed(value));
}
