//! The client of `cvstore fetch`: hyper-util's, over `http://` or `https://` (rustls
//! on the aws-lc-rs provider, the TLS stack the AWS SDK already builds), trusting the
//! system's roots (rustls-native-certs: also the file named by `SSL_CERT_FILE`).

use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The client `cvstore fetch` sends with.
pub(super) type FetchClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Why no https client could be built.
#[derive(Debug, thiserror::Error)]
pub(super) enum TlsError {
    /// No trusted root certificate was found.
    #[error("no trusted root certificates for https ({0}); set SSL_CERT_FILE to a PEM file")]
    NoRoots(String),
    /// rustls refused the configuration.
    #[error("cannot set up TLS: {0}")]
    Config(#[from] rustls::Error),
}

/// A client for `http://` and `https://` URLs; the system's roots are read only when
/// `https` (a plain http fetch reads no certificate).
pub(super) fn client(https: bool) -> Result<FetchClient, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    if https {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::debug!(error = %e, "a system certificate could not be read");
        }
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        tracing::debug!(added, ignored, "trusted root certificates");
        if added == 0 {
            let why = found
                .errors
                .first()
                .map_or_else(|| "none found".to_owned(), ToString::to_string);
            return Err(TlsError::NoRoots(why));
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}
