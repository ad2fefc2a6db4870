//! The scenarios written once for every [`Driver`]: concurrent GETs sharing one upstream
//! call, and a 420 cooling a resource down for other clients on the same limiter.

use std::time::{Duration, Instant};

use comic_vine_store::pipeline::{PipelineError, ServedBy};
use comic_vine_stub::StubApi;

use crate::{Answer, Driver};

/// GETs `url` once through each client, all at once; every answer must be a 200.
pub async fn get_concurrently<D: Driver>(clients: &[D::Client], url: &str) -> Vec<Answer> {
    let tasks: Vec<_> = clients
        .iter()
        .map(|client| {
            let (client, url) = (client.clone(), url.to_owned());
            tokio::spawn(async move { D::get(&client, &url).await.unwrap() })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
        answers.push(answer);
    }
    answers
}

/// Asserts that concurrent answers were one upstream call shared by the others.
pub fn assert_one_upstream_call_shared(api: &StubApi, answers: &[Answer]) {
    assert_eq!(api.calls_to("issues"), 1, "{:?}", api.calls_per_resource());
    let count = |s: ServedBy| answers.iter().filter(|a| a.served_by == Some(s)).count();
    let (upstream, joined, cached) = (
        count(ServedBy::Upstream),
        count(ServedBy::DedupeJoin),
        count(ServedBy::Cache),
    );
    assert_eq!(
        (upstream, joined + cached),
        (1, answers.len() - 1),
        "upstream {upstream}, dedupe joins {joined}, cache {cached}"
    );
    assert!(answers.iter().all(|a| a.status == 200));
    assert!(
        answers[0].body.contains("\"results\""),
        "{}",
        answers[0].body
    );
    assert!(answers.iter().all(|a| a.body == answers[0].body));
}

/// `first` gets a 420 from `api` (so the shared limiter puts `issues` into a 1 s
/// cooldown); `impatient` (max_wait 0) and `patient` (max_wait 5 s), two other
/// clients on the same limiter, then do not call `issues` until the cooldown ends.
/// The clients come from `client_with_max_wait`, one pipeline each.
pub async fn assert_420_cools_down_the_resource_for_other_clients<D: Driver>(
    api: &StubApi,
    retry_after: bool,
    client_with_max_wait: impl Fn(Duration) -> D::Client,
) {
    let (first, impatient, patient) = (
        client_with_max_wait(Duration::from_secs(5)),
        client_with_max_wait(Duration::ZERO),
        client_with_max_wait(Duration::from_secs(5)),
    );
    let url = |offset: u32| format!("{}/issues/?api_key=k&offset={offset}", api.url());
    let ok = D::get(&first, &url(0)).await.unwrap();
    assert_eq!(ok.served_by, Some(ServedBy::Upstream));
    // Before the request that sets the cooldown: the wait below is at least the cooldown.
    let limited_at = Instant::now();
    let limited = D::get(&first, &url(1)).await.unwrap();
    // The caller that made the call gets upstream's answer as it was.
    assert_eq!(limited.status.as_u16(), 420);
    assert_eq!(limited.served_by, None);
    assert_eq!(
        limited.headers.get("retry-after").is_some(),
        retry_after,
        "{:?}",
        limited.headers
    );
    assert!(
        limited.body.contains("Slow down cowboy"),
        "{}",
        limited.body
    );
    assert_eq!(api.calls_to("issues"), 2);

    // Another process: refused at once by the shared cooldown, upstream not called.
    let err = D::get(&impatient, &url(2)).await.unwrap_err();
    let message = D::message(&err);
    match D::pipeline_error(&err) {
        Some(PipelineError::WaitTooLong { resource, wait, .. }) => {
            assert_eq!(resource, "issues");
            // At most the 1 s cooldown (not the 30 s default when `Retry-After` says 1).
            assert!(*wait <= Duration::from_secs(1), "{wait:?}");
        }
        other => panic!("expected WaitTooLong, got {other:?} ({message})"),
    }
    assert!(message.contains("/api/issues/"), "{message}");
    assert!(
        !message.contains("api_key"),
        "no credentials in errors: {message}"
    );
    assert_eq!(api.calls_to("issues"), 2);
    // The cooldown is per resource.
    let volumes = D::get(&impatient, &format!("{}/volumes/", api.url()))
        .await
        .unwrap();
    assert_eq!(volumes.status, 200);

    // A patient caller waits the cooldown out, then calls upstream once.
    let asked_after = limited_at.elapsed();
    let answer = D::get(&patient, &url(2)).await.unwrap();
    let waited = limited_at.elapsed();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.served_by, Some(ServedBy::Upstream));
    let served = answer.served.unwrap();
    // On a loaded machine the calls above can outlast the 1 s cooldown; a caller that
    // asks inside it must wait.
    if asked_after < Duration::from_millis(900) {
        assert!(
            served.rate_limit_waits >= 1,
            "{served:?} asked after {asked_after:?}"
        );
    }
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert_eq!(api.calls_to("issues"), 3);
    assert_eq!(api.violations(), 1, "only the call that got the 420");
}
