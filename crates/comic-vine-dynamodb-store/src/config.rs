//! Options of the DynamoDB stores, with the original package's defaults.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use comic_vine_store::clock::{SharedClock, SystemClock};
use comic_vine_store::{StoreError, StoreResult};

use crate::table::{DEFAULT_TABLE_NAME, validate_table_name};

/// Circuit-breaker settings (see the `resilience` module).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CircuitBreakerConfig {
    /// Whether the breaker is used at all (default true).
    pub enabled: bool,
    /// Consecutive severe failures that open the breaker (default 5).
    pub failure_threshold: u32,
    /// How long the breaker stays open before one trial call (default 60 s).
    pub recovery_timeout: Duration,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            failure_threshold: 5,
            recovery_timeout: Duration::from_secs(60),
        }
    }
}

/// The connection of the DynamoDB stores to their table: table name, region, endpoint,
/// client, retries, timeout, circuit breaker and clock. Each store's own settings
/// (limits, adaptive, dedupe and cache settings) are given to that store's builder.
///
/// Build it with [`DynamoDbConfig::builder`]; [`DynamoDbConfig::connect`] then gives the
/// [`Table`](crate::Table) handle every store is made from.
#[derive(Clone, Debug)]
pub struct DynamoDbConfig {
    pub(crate) table_name: String,
    pub(crate) region: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) client: Option<Client>,
    pub(crate) max_retries: u32,
    pub(crate) retry_delay: Duration,
    pub(crate) operation_timeout: Duration,
    pub(crate) circuit_breaker: CircuitBreakerConfig,
    pub(crate) clock: SharedClock,
}

impl DynamoDbConfig {
    /// A builder with every default: table `comic-vine-store`, 3 retries from 100 ms,
    /// 30 s per operation, breaker on (5 failures, 60 s), the system clock.
    pub fn builder() -> DynamoDbConfigBuilder {
        DynamoDbConfigBuilder {
            config: DynamoDbConfig {
                table_name: DEFAULT_TABLE_NAME.to_owned(),
                region: None,
                endpoint: None,
                client: None,
                max_retries: 3,
                retry_delay: Duration::from_millis(100),
                operation_timeout: Duration::from_secs(30),
                circuit_breaker: CircuitBreakerConfig::default(),
                clock: Arc::new(SystemClock),
            },
        }
    }

    /// The table's name.
    pub fn table_name(&self) -> &str {
        &self.table_name
    }

    /// The endpoint override, if any.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The per-operation timeout.
    pub fn operation_timeout(&self) -> Duration {
        self.operation_timeout
    }

    /// The circuit-breaker settings.
    pub fn circuit_breaker(&self) -> &CircuitBreakerConfig {
        &self.circuit_breaker
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The client given to the builder, or a new one from these options.
    ///
    /// A new client loads credentials the standard AWS way, except for a loopback
    /// endpoint (DynamoDB Local) without `AWS_ACCESS_KEY_ID` in the environment, which
    /// gets static dummy credentials (and region `us-east-1` if none is set), so that
    /// nothing beyond the endpoint is ever contacted. Retries use the SDK's standard
    /// strategy (exponential backoff with jitter) with `max_retries` retries from a base
    /// of `retry_delay`, in a retry partition of this client's own whose quota never
    /// refuses a retry (the process-wide default runs dry under contention plus faults;
    /// the circuit breaker and `max_retries` bound the retries instead).
    pub async fn client(&self) -> Client {
        if let Some(client) = &self.client {
            return client.clone();
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(self.max_retries + 1)
                    .with_initial_backoff(self.retry_delay),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3).min(self.operation_timeout))
                    .operation_timeout(self.operation_timeout)
                    .build(),
            );
        let local = self.endpoint.as_deref().is_some_and(is_loopback);
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        } else if local {
            loader = loader.region(Region::from_static("us-east-1"));
        }
        if let Some(endpoint) = &self.endpoint {
            loader = loader.endpoint_url(endpoint.clone());
        }
        if local && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            loader = loader.credentials_provider(Credentials::new(
                "DynamoDbLocal",
                "DynamoDbLocal",
                None,
                None,
                "comic-vine-dynamodb-store-local",
            ));
        }
        let sdk = loader.load().await;
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .retry_partition(crate::resilience::retry_partition(&self.table_name))
            .build();
        Client::from_conf(config)
    }

    /// Connects: the [`Table`](crate::Table) handle the stores are built from.
    pub async fn connect(&self) -> StoreResult<crate::Table> {
        let client = self.client().await;
        Ok(crate::Table::new(client, self.clone()))
    }
}

/// Whether `endpoint` is an http(s) URL on a loopback host.
fn is_loopback(endpoint: &str) -> bool {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .unwrap_or(endpoint);
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Builds a [`DynamoDbConfig`]; [`build`](Self::build) validates every option.
///
/// ```
/// use std::time::Duration;
/// use comic_vine_dynamodb_store::DynamoDbConfig;
///
/// let config = DynamoDbConfig::builder()
///     .table_name("my-cache")
///     .endpoint("http://127.0.0.1:8000")
///     .operation_timeout(Duration::from_secs(5))
///     .build()?;
/// assert_eq!(config.table_name(), "my-cache");
/// # Ok::<(), comic_vine_store::StoreError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct DynamoDbConfigBuilder {
    config: DynamoDbConfig,
}

impl DynamoDbConfigBuilder {
    /// The table (default `comic-vine-store`).
    pub fn table_name(mut self, name: impl Into<String>) -> Self {
        self.config.table_name = name.into();
        self
    }

    /// The AWS region (default: from the environment).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.config.region = Some(region.into());
        self
    }

    /// A custom endpoint, e.g. DynamoDB Local's `http://127.0.0.1:8000`.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.config.endpoint = Some(endpoint.into());
        self
    }

    /// An existing client to use (its own retry and timeout settings then apply).
    pub fn client(mut self, client: Client) -> Self {
        self.config.client = Some(client);
        self
    }

    /// Retries after the first attempt (default 3).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.config.max_retries = retries;
        self
    }

    /// Base delay of the exponential backoff between retries (default 100 ms).
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.config.retry_delay = delay;
        self
    }

    /// Time limit of one store operation, retries included (default 30 s).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.config.operation_timeout = timeout;
        self
    }

    /// Circuit-breaker settings.
    pub fn circuit_breaker(mut self, breaker: CircuitBreakerConfig) -> Self {
        self.config.circuit_breaker = breaker;
        self
    }

    /// The clock (default: the system clock; tests inject a manual one).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.config.clock = clock;
        self
    }

    /// Validates and returns the configuration.
    pub fn build(self) -> StoreResult<DynamoDbConfig> {
        let c = self.config;
        validate_table_name(&c.table_name)?;
        if let Some(endpoint) = &c.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(StoreError::invalid_config(
                "endpoint",
                format!("{endpoint:?} is not an http:// or https:// URL"),
            ));
        }
        if c.region.as_deref().is_some_and(str::is_empty) {
            return Err(StoreError::invalid_config("region", "must not be empty"));
        }
        if c.max_retries > 10 {
            return Err(StoreError::invalid_config(
                "max_retries",
                format!("{} is more than 10", c.max_retries),
            ));
        }
        if c.operation_timeout < Duration::from_millis(1) {
            return Err(StoreError::invalid_config(
                "operation_timeout",
                "must be at least 1 ms",
            ));
        }
        let breaker = &c.circuit_breaker;
        if breaker.enabled && breaker.failure_threshold == 0 {
            return Err(StoreError::invalid_config(
                "circuit_breaker.failure_threshold",
                "must be at least 1",
            ));
        }
        if breaker.enabled && breaker.recovery_timeout.is_zero() {
            return Err(StoreError::invalid_config(
                "circuit_breaker.recovery_timeout",
                "must be positive",
            ));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_original() {
        let c = DynamoDbConfig::builder().build().unwrap();
        assert_eq!(c.table_name(), "comic-vine-store");
        assert_eq!(
            (c.max_retries, c.retry_delay),
            (3, Duration::from_millis(100))
        );
        assert_eq!(c.operation_timeout(), Duration::from_secs(30));
        assert_eq!(c.circuit_breaker(), &CircuitBreakerConfig::default());
    }

    #[test]
    fn invalid_options_are_named() {
        let field = |b: DynamoDbConfigBuilder| match b.build().unwrap_err() {
            StoreError::InvalidConfig { field, .. } => field,
            other => panic!("{other}"),
        };
        assert_eq!(
            field(DynamoDbConfig::builder().table_name("a")),
            "table_name"
        );
        assert_eq!(
            field(DynamoDbConfig::builder().endpoint("localhost:8000")),
            "endpoint"
        );
        assert_eq!(field(DynamoDbConfig::builder().region("")), "region");
        assert_eq!(
            field(DynamoDbConfig::builder().operation_timeout(Duration::ZERO)),
            "operation_timeout"
        );
        assert_eq!(
            field(
                DynamoDbConfig::builder().circuit_breaker(CircuitBreakerConfig {
                    failure_threshold: 0,
                    ..Default::default()
                })
            ),
            "circuit_breaker.failure_threshold"
        );
    }

    #[test]
    fn loopback_detection() {
        for yes in [
            "http://127.0.0.1:8000",
            "http://localhost:1",
            "http://[::1]:9/x",
            "https://127.1.2.3",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://10.0.0.1:8000",
            "http://localhost.evil:1",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}
