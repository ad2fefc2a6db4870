//! The connection every store command shares: a [`DynamoDbConfig`] from the global flags.

use std::fmt;

use comic_vine_dynamodb_store::{DynamoDbConfig, DynamoDbConfigBuilder, Table};
use comic_vine_store::StoreError;

use crate::cli::StoreArgs;

/// A global flag whose value the DynamoDB configuration rejected.
#[derive(Debug)]
pub struct InvalidFlag {
    /// The flag, e.g. `--endpoint`.
    pub flag: String,
    /// What is wrong with its value.
    pub reason: String,
}

impl fmt::Display for InvalidFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.flag, self.reason)
    }
}

impl std::error::Error for InvalidFlag {}

impl From<StoreError> for InvalidFlag {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::InvalidConfig { field, reason } => Self {
                flag: flag_of(&field),
                reason,
            },
            other => Self {
                flag: "flags".to_owned(),
                reason: other.to_string(),
            },
        }
    }
}

/// The command-line flag behind configuration option `field`.
fn flag_of(field: &str) -> String {
    match field {
        "table_name" => "--table".to_owned(),
        "endpoint" => "--endpoint".to_owned(),
        "region" => "--region".to_owned(),
        "operation_timeout" => "--timeout".to_owned(),
        other => format!("configuration `{other}`"),
    }
}

/// The configuration the global flags describe.
///
/// # Errors
///
/// [`InvalidFlag`] naming the flag whose value is rejected (e.g. an endpoint that is not
/// an http(s) URL, an invalid table name, an empty region).
pub fn config(args: &StoreArgs) -> Result<DynamoDbConfig, InvalidFlag> {
    Ok(builder(args).build()?)
}

/// The configuration builder with what the global flags set (not validated yet).
pub fn builder(args: &StoreArgs) -> DynamoDbConfigBuilder {
    let mut builder = DynamoDbConfig::builder().table_name(&args.table);
    if let Some(endpoint) = &args.endpoint {
        builder = builder.endpoint(endpoint);
    }
    if let Some(region) = &args.region {
        builder = builder.region(region);
    }
    if let Some(timeout) = args.timeout {
        builder = builder.operation_timeout(timeout);
    }
    builder
}

/// A handle on the table the global flags name (no request is sent yet).
///
/// # Errors
///
/// As for [`config`], or the failure of connecting.
pub async fn table(args: &StoreArgs) -> anyhow::Result<Table> {
    Ok(config(args)?.connect().await?)
}

/// A handle on the table `builder` (from [`builder`], with more settings) describes.
///
/// # Errors
///
/// As for [`table`].
pub async fn table_from(builder: DynamoDbConfigBuilder) -> anyhow::Result<Table> {
    let config = builder.build().map_err(InvalidFlag::from)?;
    Ok(config.connect().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(endpoint: Option<&str>, table: &str) -> StoreArgs {
        StoreArgs {
            store: None,
            endpoint: endpoint.map(str::to_owned),
            table: table.to_owned(),
            region: None,
            timeout: None,
        }
    }

    #[test]
    fn flags_become_the_config() {
        let config = config(&args(Some("http://127.0.0.1:8000"), "my-table")).unwrap();
        assert_eq!(config.table_name(), "my-table");
        assert_eq!(config.endpoint(), Some("http://127.0.0.1:8000"));
    }

    #[test]
    fn invalid_values_name_their_flag() {
        let err = config(&args(Some("localhost:8000"), "t-1")).unwrap_err();
        assert_eq!(err.flag, "--endpoint");
        assert!(err.to_string().starts_with("invalid --endpoint: "), "{err}");
        assert_eq!(config(&args(None, "a")).unwrap_err().flag, "--table");
        let empty_region = StoreArgs {
            region: Some(String::new()),
            ..args(None, "t-1")
        };
        assert_eq!(config(&empty_region).unwrap_err().flag, "--region");
    }
}
