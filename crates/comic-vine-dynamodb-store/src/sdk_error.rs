//! Mapping AWS SDK errors to [`StoreError`].

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use comic_vine_store::StoreError;

/// Error codes DynamoDB uses when it throttles a request.
const THROTTLING_CODES: [&str; 3] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
];

/// Error codes of failures on DynamoDB's side.
const UNAVAILABLE_CODES: [&str; 2] = ["InternalServerError", "ServiceUnavailable"];

/// Whether the service answered with an HTTP 5xx status.
fn is_server_error<E>(err: &SdkError<E, HttpResponse>) -> bool {
    err.raw_response()
        .is_some_and(|r| r.status().is_server_error())
}

/// The service error code of `err`, if the service answered with an error.
pub(crate) fn error_code<E>(err: &SdkError<E, HttpResponse>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    err.code()
}

/// Maps an SDK error from `operation` (e.g. `DescribeTable`) on `table` to a [`StoreError`].
///
/// A missing table becomes [`StoreError::TableNotFound`], an item over 400 KB
/// [`StoreError::ItemTooLarge`], throttling [`StoreError::Throttled`], a 5xx answer or a
/// failure to get any answer (connection, timeout) [`StoreError::Unavailable`], anything
/// else [`StoreError::Backend`]; the SDK error is kept as the source.
pub(crate) fn map_sdk_error<E>(
    operation: &str,
    table: &str,
    err: SdkError<E, HttpResponse>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match error_code(&err) {
        Some("ResourceNotFoundException") => StoreError::TableNotFound {
            table: table.to_owned(),
        },
        Some("ValidationException")
            if err.message().is_some_and(|m| {
                m.contains("Item size has exceeded")
                    || m.contains("Item size to update has exceeded")
            }) =>
        {
            StoreError::ItemTooLarge {
                key: format!("{operation} on table `{table}`"),
                size: 0,
                limit: 400 * 1024,
            }
        }
        Some(code) if THROTTLING_CODES.contains(&code) => StoreError::Throttled {
            message: format!("DynamoDB {operation} on table `{table}`: {code}"),
            source: Some(std::sync::Arc::new(err)),
        },
        Some(code) if UNAVAILABLE_CODES.contains(&code) || is_server_error(&err) => {
            StoreError::Unavailable {
                message: format!("DynamoDB {operation} on table `{table}`: {code}"),
                source: Some(std::sync::Arc::new(err)),
            }
        }
        None if is_server_error(&err) || !matches!(err, SdkError::ServiceError(_)) => {
            let detail = match err.raw_response() {
                Some(r) if r.status().is_server_error() => format!("HTTP {}", r.status().as_u16()),
                _ => error_chain(&err),
            };
            StoreError::Unavailable {
                message: format!("DynamoDB {operation} on table `{table}`: {detail}"),
                source: Some(std::sync::Arc::new(err)),
            }
        }
        code => {
            let detail = match code {
                Some(code) => format!("{code}: {}", err.message().unwrap_or("no message")),
                None => error_chain(&err),
            };
            StoreError::backend(
                format!("DynamoDB {operation} on table `{table}` failed: {detail}"),
                err,
            )
        }
    }
}

/// `err` and its sources, joined by `: ` (a source whose text is already there is skipped).
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
