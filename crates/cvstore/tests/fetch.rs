//! `cvstore fetch URL` run as a user runs the binary, against the stub Comic Vine API on
//! 127.0.0.1 (served by a tokio runtime of the test while the binary runs), over http
//! and, through a local TLS server with a certificate made here, https.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use comic_vine_stub::StubCaching;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

mod support;

use support::stub::Stub;
use support::*;

/// The stub's own answers, beside what the binary answers.
trait Direct {
    fn direct(&self, url: &str) -> (u16, Vec<u8>);
}

impl Direct for Stub {
    /// The stub's own answer to a plain GET of `url`: (status, body).
    fn direct(&self, url: &str) -> (u16, Vec<u8>) {
        self.runtime.block_on(async {
            let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
            let response = client
                .get(url.parse().unwrap())
                .await
                .expect("GET the stub");
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, body.to_vec())
        })
    }
}

fn memory(args: &[&str]) -> Output {
    run_with_input(&["--store", "memory"], args, b"")
}

/// A 127.0.0.1 URL where nobody listens.
fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/api/issues/?api_key=SECRET&limit=1")
}

#[test]
fn prints_the_body_exactly() {
    let stub = Stub::start();
    let url = stub.url("/issues/?api_key=SECRET&format=json&limit=3");
    let (status, expected) = stub.direct(&url);
    assert_eq!(status, 200);
    let out = memory(&["fetch", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, expected);
    assert_eq!(stderr(&out), "");
    assert_eq!(stub.api.calls_to("issues"), 2);
}

#[test]
fn a_second_fetch_on_sqlite_is_served_from_the_cache() {
    let stub = Stub::start();
    let db = Db::new();
    let url = stub.url("/issue/4000-7/?api_key=A&format=json");
    let first = json_out(&db.run(&["--json", "fetch", &url]));
    assert_eq!(first["status"], 200);
    assert_eq!(first["served_by"], "upstream");
    assert_eq!(first["age_seconds"], 0);
    assert_eq!(first["body_encoding"], "utf-8");
    assert_eq!(first["headers"]["x-served-by"], "upstream");
    assert_eq!(stub.api.calls_to("issue"), 1);
    // Another API key: the same request, the same entry.
    let other_key = url.replace("api_key=A", "api_key=B");
    let second = json_out(&db.run(&["--json", "fetch", &other_key]));
    assert_eq!(second["served_by"], "cache");
    assert_eq!(second["status"], 200);
    assert_eq!(second["body"], first["body"]);
    assert_eq!(second["headers"]["x-served-by"], "cache");
    assert_eq!(stub.api.calls_to("issue"), 1, "no second upstream call");
}

#[test]
fn include_prints_the_status_line_and_headers() {
    let stub = Stub::start();
    let url = stub.url("/issue/4000-2/?format=json");
    let (_, body) = stub.direct(&url);
    let out = memory(&["fetch", "-i", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let (head, rest) = text
        .split_once("\n\n")
        .expect("headers, a blank line, the body");
    let mut lines = head.lines();
    assert_eq!(lines.next(), Some("HTTP/1.1 200 OK"));
    let headers: Vec<&str> = lines.collect();
    assert!(headers.contains(&"x-served-by: upstream"), "{head}");
    assert!(headers.contains(&"age: 0"), "{head}");
    assert_eq!(rest.as_bytes(), body);
}

#[test]
fn not_found_exits_3_with_one_error_line() {
    let stub = Stub::start();
    let url = stub.url("/issue/4000-0/?api_key=SECRET&format=json");
    let out = memory(&["fetch", &url]);
    let line = failed(&out, NOT_FOUND);
    let origin = stub.api.url().trim_end_matches("/api");
    assert_eq!(
        line,
        format!("error: not found: GET {origin}/api/issue/4000-0/ answered 404 Not Found")
    );
    assert_eq!(stdout(&out), "");
    let out = memory(&["--json", "fetch", &url]);
    assert_eq!(failed(&out, NOT_FOUND), line);
    let json = json_out(&out);
    assert_eq!(json["error"]["kind"], "not_found");
    assert_eq!(json["error"]["message"], line.trim_start_matches("error: "));
    assert_eq!(stub.api.calls_to("issue"), 2);
}

#[test]
fn invalid_urls_exit_2_before_any_request() {
    let line = failed(&memory(&["fetch", "not a url"]), USAGE);
    assert_eq!(
        line,
        "error: invalid URL: \"not a url\" is not a URL (relative URL without a base)"
    );
    let line = failed(&memory(&["fetch", "ftp://127.0.0.1/api/issues/"]), USAGE);
    assert_eq!(
        line,
        "error: invalid URL: \"ftp://127.0.0.1/api/issues/\": the scheme ftp:// is not http:// or https://"
    );
    let line = failed(
        &memory(&["fetch", "ftp://h/x?limit=1&api_key=SECRET"]),
        USAGE,
    );
    assert_eq!(
        line,
        "error: invalid URL: \"ftp://h/x?limit=1&api_key=***\": the scheme ftp:// is not http:// or https://"
    );
    let json = json_out(&memory(&["--json", "fetch", "ftp://127.0.0.1/x"]));
    assert_eq!(json["error"]["kind"], "invalid_usage");
    let line = failed(
        &memory(&["fetch", "http://127.0.0.1:1/api/x/", "--priority", "urgent"]),
        USAGE,
    );
    assert!(line.contains("urgent"), "{line}");
}

#[test]
fn upstream_down_exits_1_with_one_error_line() {
    let url = dead_url();
    let origin = url.split("/api").next().unwrap().to_owned();
    let out = memory(&["fetch", &url]);
    let line = failed(&out, 1);
    assert_eq!(
        line,
        format!(
            "error: GET {origin}/api/issues/ failed after 3 attempts: client error (Connect): tcp connect \
             error: Connection refused (os error 111)"
        )
    );
    assert!(!line.contains("SECRET"));
    let out = memory(&["--json", "fetch", &url]);
    failed(&out, 1);
    let json = json_out(&out);
    assert_eq!(json["error"]["kind"], "upstream");
    assert_eq!(json["error"]["message"], line.trim_start_matches("error: "));
}

#[test]
fn a_spent_budget_fails_past_max_wait() {
    let stub = Stub::start();
    let db = Db::new();
    let limits = ["--limit", "1", "--window", "1h", "--max-wait", "1s"];
    let first = stub.url("/issue/4000-1/?format=json");
    let out = db.run(&[&["fetch", first.as_str()][..], &limits].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let second = stub.url("/issue/4000-2/?format=json");
    let out = db.run(&[&["--json", "fetch", second.as_str()][..], &limits].concat());
    let line = failed(&out, 1);
    let origin = stub.api.url().trim_end_matches("/api");
    let prefix = format!(
        "error: GET {origin}/api/issue/4000-2/ through the stores: rate limit of `issue`: next slot in "
    );
    assert!(line.starts_with(&prefix), "{line}");
    assert!(line.ends_with(", longer than the 1s allowed"), "{line}");
    assert_eq!(json_out(&out)["error"]["kind"], "rate_limited");
    assert_eq!(stub.api.calls_to("issue"), 1);
    // The key already cached is still answered, from the cache.
    let out = db.run(&[&["--json", "fetch", first.as_str()][..], &limits].concat());
    assert_eq!(json_out(&out)["served_by"], "cache");
}

/// Runs `openssl ARGS` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
}

/// Makes, in `dir`, a CA (`ca.pem`) and a certificate it signs for 127.0.0.1
/// (`leaf.der`, key `leaf.key.der`), and another CA that signed nothing (`other.pem`).
fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    for (name, cn) in [("ca", "cvstore test CA"), ("other", "another CA")] {
        let (key, pem, subj) = (
            format!("{name}.key"),
            format!("{name}.pem"),
            format!("/CN={cn}"),
        );
        let args = [
            &["req", "-x509"][..],
            &ec,
            &["-keyout", &key, "-out", &pem, "-days", "1", "-subj", &subj],
        ];
        openssl(dir, &args.concat());
    }
    let args = [
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ];
    openssl(dir, &args.concat());
    let ext =
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    std::fs::write(dir.join("leaf.ext"), ext).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
            "-outform",
            "DER",
            "-out",
            "leaf.der",
        ],
    );
    openssl(
        dir,
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            "leaf.key",
            "-outform",
            "DER",
            "-out",
            "leaf.key.der",
        ],
    );
}

/// A TLS server on 127.0.0.1 (the certificates of [`certificates`] in `dir`) passing
/// each connection on to the stub; its port.
fn tls_server(stub: &Stub, dir: &Path) -> u16 {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    let cert = CertificateDer::from(std::fs::read(dir.join("leaf.der")).unwrap());
    let key = PrivatePkcs8KeyDer::from(std::fs::read(dir.join("leaf.key.der")).unwrap());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], PrivateKeyDer::Pkcs8(key))
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let upstream = stub
        .api
        .url()
        .trim_start_matches("http://")
        .trim_end_matches("/api")
        .to_owned();
    let listener = stub
        .runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    stub.runtime.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Ok(mut plain) = tokio::net::TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    port
}

/// `cvstore --store memory ARGS` trusting only the CA in `ca` (`SSL_CERT_FILE`).
fn trusting(ca: &PathBuf, args: &[&str]) -> Output {
    bare_command()
        .env("SSL_CERT_FILE", ca)
        .env_remove("SSL_CERT_DIR")
        .args(["--store", "memory"])
        .args(args)
        .output()
        .expect("run cvstore")
}

#[test]
fn https_urls_are_fetched_over_tls_trusting_the_roots_of_ssl_cert_file() {
    let stub = Stub::start();
    let dir = tempfile::TempDir::new().unwrap();
    certificates(dir.path());
    let port = tls_server(&stub, dir.path());
    let path = "/api/issue/4000-7/?api_key=SECRET&format=json";
    let (_, expected) = stub.direct(&stub.url("/issue/4000-7/?format=json"));
    let url = format!("https://127.0.0.1:{port}{path}");
    let out = trusting(&dir.path().join("ca.pem"), &["fetch", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, expected);
    assert_eq!(stub.api.calls_to("issue"), 2);

    // A server whose certificate no trusted root signed: refused, nothing sent upstream.
    let out = trusting(&dir.path().join("other.pem"), &["fetch", &url]);
    let line = failed(&out, 1);
    assert!(line.contains("certificate"), "{line}");
    assert!(!line.contains("SECRET"), "{line}");
    assert_eq!(stub.api.calls_to("issue"), 2);
}

#[test]
fn stale_flags_answer_a_stale_entry_within_their_window_and_fail_past_it() {
    // Fresh for 1 s: the entries are stale after the sleep below (the binary reads the
    // system clock; it cannot be handed a manual one), which also outlasts the dedupe
    // store's 10 s grace for the first fetches' completed jobs (a later fetch within it
    // joins the job and gets its value).
    let stub = Stub::start_with(StubCaching {
        max_age: Some(Duration::from_secs(1)),
        ..StubCaching::sparse()
    });
    let (errors, limited) = (Db::new(), Db::new());
    let issue = stub.url("/issue/4000-1/?format=json");
    let volume = stub.url("/volume/4050-1/?format=json");
    let if_error =
        |window: &str| errors.run(&["--json", "fetch", &issue, "--stale-if-error", window]);
    let budget = ["--limit", "1", "--window", "1h", "--max-wait", "1s"];
    let if_limited = |window: &str| {
        let args = [
            &[
                "--json",
                "fetch",
                volume.as_str(),
                "--stale-if-rate-limited",
                window,
            ][..],
            &budget,
        ];
        limited.run(&args.concat())
    };
    let first = json_out(&if_error("1h"));
    assert_eq!(first["served_by"], "upstream");
    assert_eq!(json_out(&if_limited("1h"))["served_by"], "upstream");
    std::thread::sleep(Duration::from_millis(10_500));

    stub.api.answer_next(503, usize::MAX);
    let out = if_error("1h");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stale = json_out(&out);
    assert_eq!(
        (stale["status"].as_u64(), stale["served_by"].as_str()),
        (Some(200), Some("stale"))
    );
    assert_eq!(stale["body"], first["body"]);
    assert!(stale["age_seconds"].as_u64() >= Some(10), "{stale}");
    let out = if_error("5s"); // over 9 s stale: past the window
    failed(&out, 1);
    assert_eq!(json_out(&out)["error"]["kind"], "upstream_status");

    stub.api.answer_next(503, 0);
    let out = if_limited("1h");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_out(&out)["served_by"], "stale");
    let out = if_limited("5s");
    failed(&out, 1);
    assert_eq!(json_out(&out)["error"]["kind"], "rate_limited");
    assert_eq!(
        stub.api.calls_to("volume"),
        1,
        "the budget was spent by the first fetch"
    );
}
