//! Done-when for the reqwest 0.13 move: a crate outside this workspace, depending on
//! reqwest 0.13 and reqwest-middleware 0.5 as a user would (`tests/outside_crate/`), adds
//! `StoreMiddleware` to its client and gets a cache hit on the second request. Built
//! with `cargo run --offline` into this workspace's target directory, so the
//! dependencies built already are reused (and nothing is downloaded).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use comic_vine_stub::{StubApi, StubConfig};

/// This workspace's target directory: the test binary is `<target>/<profile>/deps/…`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outside_crate_on_reqwest_0_13_gets_a_cache_hit_on_the_second_request() {
    let api = StubApi::start(StubConfig {
        latency: Duration::ZERO,
        limit: 1000,
        ..StubConfig::default()
    })
    .await
    .unwrap();
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let project = manifest_dir.join("tests/outside_crate");
    // The workspace's versions: `--offline` then needs nothing it has not got.
    std::fs::copy(
        manifest_dir.join("../../Cargo.lock"),
        project.join("Cargo.lock"),
    )
    .unwrap();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["run", "--offline", "--quiet", "--manifest-path"])
        .arg(project.join("Cargo.toml"))
        .arg("--")
        .arg(api.url())
        .env("CARGO_TARGET_DIR", target_dir());
    let output = tokio::task::spawn_blocking(move || cargo.output())
        .await
        .unwrap()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        output.status.success(),
        "{}\n{stdout}\n{stderr}",
        output.status
    );
    assert_eq!(stdout.trim(), "served by: [Some(Upstream), Some(Cache)]");
    assert_eq!(api.calls_to("issues"), 1, "one upstream call");
}
