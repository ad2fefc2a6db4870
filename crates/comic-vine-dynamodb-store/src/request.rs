//! Building and sending one request. The request builders on [`Table`] (`get_item`,
//! `put_item`, `update_item`, `delete_item`, `query`, `batch_write_item`) name the
//! table and the item and ask for the consumed capacity; [`Table::send`] sends a
//! request, counts it in the store's counters with the capacity it reports and maps an
//! SDK error to a [`StoreError`] naming the request and the table; [`Table::query_all`]
//! reads every page of a Query; [`Table::send_if`] sends a conditional write, whose
//! refusal is an answer ([`Condition::Failed`], with the item that refused it), not an
//! error.
//!
//! [`StoreError`]: comic_vine_store::StoreError

use std::future::Future;
use std::pin::Pin;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::batch_write_item::builders::BatchWriteItemFluentBuilder;
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemError, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemError, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder;
use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::query::{QueryError, QueryOutput};
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity, WriteRequest};
use comic_vine_store::StoreResult;

use crate::handle::Table;
use crate::item::{self, Item};
use crate::metrics::{Access, Metrics};

/// The error code of a refused condition.
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

/// What a conditional write answered.
#[derive(Debug)]
pub(crate) enum Condition<O> {
    /// The condition held: the write's output.
    Met(O),
    /// The condition failed: the item that failed it, where the request asked for it
    /// (`return_values_on_condition_check_failure`) and there is one.
    Failed(Option<Item>),
}

/// A request's output, which reports the capacity the request consumed.
pub(crate) trait Consumed {
    /// The capacity reported (none unless the request asked for it).
    fn consumed(&self) -> &[ConsumedCapacity];
}

impl Consumed for BatchWriteItemOutput {
    fn consumed(&self) -> &[ConsumedCapacity] {
        self.consumed_capacity()
    }
}

/// [`Consumed`] for outputs that report one `ConsumedCapacity`.
macro_rules! consumed_once {
    ($($output:ty),*) => {$(
        impl Consumed for $output {
            fn consumed(&self) -> &[ConsumedCapacity] {
                self.consumed_capacity().map(std::slice::from_ref).unwrap_or_default()
            }
        }
    )*};
}

consumed_once!(
    GetItemOutput,
    PutItemOutput,
    UpdateItemOutput,
    DeleteItemOutput,
    QueryOutput
);

/// An SDK request on its way, boxed.
type Sending<O, E> = Pin<Box<dyn Future<Output = Result<O, SdkError<E, HttpResponse>>> + Send>>;

/// A request builder of the SDK, sent by [`Table::send`] and [`Table::send_if`].
///
/// Its request future is boxed as it is made: the SDK's are about 6 KB, and unboxed
/// every layer above them (store operation, gate, span, timeout, `async_trait`) copied
/// the whole future as it was moved, 6 copies on a cache read (measured with the
/// `client_overhead` bench: a 1 KB hit's time over its raw GetItem fell from about
/// +22 µs to +20 µs once boxed).
pub(crate) trait Request {
    /// The request's output.
    type Output: Consumed;
    /// The request's error.
    type Error: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static;
    /// The request's name (e.g. `GetItem`), in errors.
    const NAME: &'static str;
    /// Sends the request.
    fn sent(self) -> Sending<Self::Output, Self::Error>;
}

/// [`Request`] for the SDK's request builders.
macro_rules! request {
    ($($name:literal: $builder:ty => $output:ty, $error:ty;)*) => {$(
        impl Request for $builder {
            type Output = $output;
            type Error = $error;
            const NAME: &'static str = $name;
            fn sent(self) -> Sending<$output, $error> {
                Box::pin(self.send())
            }
        }
    )*};
}

request! {
    "GetItem": GetItemFluentBuilder => GetItemOutput, GetItemError;
    "PutItem": PutItemFluentBuilder => PutItemOutput, PutItemError;
    "UpdateItem": UpdateItemFluentBuilder => UpdateItemOutput, UpdateItemError;
    "DeleteItem": DeleteItemFluentBuilder => DeleteItemOutput, DeleteItemError;
    "Query": QueryFluentBuilder => QueryOutput, QueryError;
    "BatchWriteItem": BatchWriteItemFluentBuilder => BatchWriteItemOutput, BatchWriteItemError;
}

/// The error of a conditional write, which may be a refused condition.
pub(crate) trait Refusal {
    /// The item a refused condition hands back, if the error is one and holds it.
    fn held(self) -> Option<Item>;
}

/// [`Refusal`] for the errors of the writes that take a condition.
macro_rules! refusal {
    ($($error:ty),*) => {$(
        impl Refusal for $error {
            fn held(self) -> Option<Item> {
                match self {
                    Self::ConditionalCheckFailedException(refused) => refused.item,
                    _ => None,
                }
            }
        }
    )*};
}

refusal!(PutItemError, UpdateItemError, DeleteItemError);

/// The request builders: each names this table (and the item) and asks for the
/// capacity the request consumes, which `send` counts.
impl Table {
    /// A GetItem of the item at `key`.
    pub(crate) fn get_item(&self, key: (String, String)) -> GetItemFluentBuilder {
        self.client()
            .get_item()
            .table_name(self.name())
            .set_key(Some(item::key(key)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }

    /// A PutItem of `item`.
    pub(crate) fn put_item(&self, item: Item) -> PutItemFluentBuilder {
        self.client()
            .put_item()
            .table_name(self.name())
            .set_item(Some(item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }

    /// An UpdateItem of the item at `key`.
    pub(crate) fn update_item(&self, key: (String, String)) -> UpdateItemFluentBuilder {
        self.client()
            .update_item()
            .table_name(self.name())
            .set_key(Some(item::key(key)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }

    /// A DeleteItem of the item at `key`.
    pub(crate) fn delete_item(&self, key: (String, String)) -> DeleteItemFluentBuilder {
        self.client()
            .delete_item()
            .table_name(self.name())
            .set_key(Some(item::key(key)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }

    /// A Query.
    pub(crate) fn query(&self) -> QueryFluentBuilder {
        self.client()
            .query()
            .table_name(self.name())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }

    /// A BatchWriteItem of `requests`.
    pub(crate) fn batch_write_item(
        &self,
        requests: Vec<WriteRequest>,
    ) -> BatchWriteItemFluentBuilder {
        self.client()
            .batch_write_item()
            .request_items(self.name(), requests)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }
}

impl Table {
    /// Sends `request` on this table and counts it in `metrics` as an `access` with the
    /// capacity it reports; an SDK error is mapped (see [`Table::error`]) and not
    /// counted.
    pub(crate) async fn send<R: Request>(
        &self,
        metrics: &Metrics,
        access: Access,
        request: R,
    ) -> StoreResult<R::Output> {
        let out = request.sent().await.map_err(|e| self.error(R::NAME, e))?;
        metrics.request(access, out.consumed());
        Ok(out)
    }

    /// Every item `query` finds, page after page: one Query a page, each sent and
    /// counted as by [`send`](Self::send).
    pub(crate) async fn query_all(
        &self,
        metrics: &Metrics,
        query: QueryFluentBuilder,
    ) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = query.clone().set_exclusive_start_key(start);
            let out = self.send(metrics, Access::Read, page).await?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// [`send`](Self::send) of a conditional write: a refused condition is
    /// [`Condition::Failed`], still counted as a request and billed at the size of the
    /// item that refused it, at least 1 WRU (DynamoDB bills it, but reports no units).
    pub(crate) async fn send_if<R>(
        &self,
        metrics: &Metrics,
        request: R,
    ) -> StoreResult<Condition<R::Output>>
    where
        R: Request,
        R::Error: Refusal,
    {
        match request.sent().await {
            Ok(out) => {
                metrics.request(Access::Write, out.consumed());
                Ok(Condition::Met(out))
            }
            Err(e) if e.code() == Some(CONDITION_FAILED) => {
                let held = match e {
                    SdkError::ServiceError(refused) => refused.into_err().held(),
                    _ => None,
                };
                metrics.refused_write(held.as_ref());
                Ok(Condition::Failed(held))
            }
            Err(e) => Err(self.error(R::NAME, e)),
        }
    }
}
