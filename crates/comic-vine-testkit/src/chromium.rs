//! Headless Chromium for the browser tests (the dashboard's, `cvstore demo`'s): finding
//! the binary, an isolated headless command, and the screenshots of the views.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Names resolve to nothing: the browser reaches no host at all (a `file://` page).
pub const NO_HOSTS: &str = "--host-resolver-rules=MAP * ~NOTFOUND";

/// Only 127.0.0.1 is reachable: a local server, and no request leaves the machine.
pub const LOOPBACK_ONLY: &str = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1";

/// The Chromium binary: `CHROMIUM` if set, else the one `scripts/chromium.sh install`
/// finds or installs; `None` when there is none.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/chromium.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg("install")
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let path = text.lines().find_map(|l| l.strip_prefix("CHROMIUM="))?;
    (out.status.success() && !path.is_empty()).then(|| PathBuf::from(path.trim()))
}

/// The browser [`find`] finds; without one, says loudly that `what` is skipped and
/// returns `None`, or fails when `CI` is set (CI must run the browser checks).
pub fn or_skip(what: &str) -> Option<PathBuf> {
    let found = find();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but no chromium could be installed"
        );
        eprintln!(
            "\n\n!!! SKIPPED {what}: chromium is not installed and could not be (run scripts/chromium.sh install) !!!\n"
        );
    }
    found
}

/// `browser` headless and isolated: its profile in `profile`, no first-run, extension,
/// sync or background traffic, names resolved by `hosts` ([`NO_HOSTS`] or
/// [`LOOPBACK_ONLY`]); the caller adds the rest and the URL.
pub fn headless(browser: &Path, profile: &Path, hosts: &str) -> Command {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--metrics-recording-only",
        hosts,
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// The stdout of a browser run that must have succeeded (its stderr in the failure).
pub fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `target/dashboard-screenshots/` (created), where the views' screenshots go.
pub fn screenshot_dir() -> PathBuf {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard-screenshots");
    std::fs::create_dir_all(&out).unwrap();
    out
}

/// The arguments for a 1280×900 screenshot into `png`, removed first so that an older
/// file cannot pass [`assert_png`].
pub fn screenshot_args(png: &Path) -> [String; 3] {
    let _ = std::fs::remove_file(png);
    [
        format!("--screenshot={}", png.display()),
        "--window-size=1280,900".to_owned(),
        "--hide-scrollbars".to_owned(),
    ]
}

/// Asserts that `png` holds a PNG image (the screenshot of `view`).
pub fn assert_png(view: &str, png: &Path) {
    let bytes = std::fs::read(png).unwrap_or_default();
    assert!(
        bytes.starts_with(b"\x89PNG"),
        "{view}: no PNG at {}",
        png.display()
    );
}
