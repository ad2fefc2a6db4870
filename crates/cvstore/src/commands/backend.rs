//! The one place a store command gets its stores from: the backend the global flags
//! choose (a DynamoDB table or a SQLite file), behind the core's traits, so that every
//! command is written once for both.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use comic_vine_dynamodb_store::StoreControls;
use comic_vine_dynamodb_store::{
    DynamoDbAdaptiveRateLimitStore, DynamoDbCacheStore, DynamoDbDedupeStore,
    DynamoDbRateLimitStore, MetricsSnapshot, Table,
};
use comic_vine_sqlite_store::{SqliteCacheStore, SqliteStateCell, SqliteStore};
use comic_vine_store::cell::{CellAdaptiveStore, CellDedupeStore, CellRateLimitStore};
use comic_vine_store::{
    AdaptiveConfig, AdaptiveRateLimitStore, CacheConfig, CacheStore, DedupeStore, RateLimit,
    RateLimitConfig, RateLimitStore,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::connect;
use crate::cli::{StoreArgs, StoreSpec};
use crate::failure::UsageError;

/// The backend a store command runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The DynamoDB table the flags name.
    DynamoDb,
    /// The SQLite database file.
    Sqlite(PathBuf),
}

/// The backend the global flags choose for a store command (`cache`, `health`,
/// `dedupe`, `ratelimit`).
///
/// # Errors
///
/// [`UsageError`] for `--store memory` (nothing would outlive the command) or a
/// `--store sqlite:…` given together with `--endpoint`.
pub fn choose(args: &StoreArgs) -> Result<Choice, UsageError> {
    match &args.store {
        None | Some(StoreSpec::DynamoDb) => Ok(Choice::DynamoDb),
        Some(StoreSpec::Memory) => Err(UsageError(
            "--store memory keeps nothing past the command; it is only for `cvstore demo` \
             (use --store sqlite:PATH for a store on this host)"
                .into(),
        )),
        Some(StoreSpec::Sqlite(path)) => {
            if args.endpoint.is_some() {
                return Err(UsageError(format!(
                    "--store sqlite:{} and --endpoint (or CVSTORE_ENDPOINT) name two \
                     backends; give one",
                    path.display()
                )));
            }
            Ok(Choice::Sqlite(path.clone()))
        }
    }
}

/// Refuses a DynamoDB-only command (`what`, e.g. `table create`) on another backend.
///
/// # Errors
///
/// [`UsageError`] when the flags choose SQLite (or memory).
pub fn dynamodb_only(args: &StoreArgs, what: &str) -> Result<(), UsageError> {
    match &args.store {
        None | Some(StoreSpec::DynamoDb) => Ok(()),
        Some(other) => Err(UsageError(format!(
            "`cvstore {what}` works on DynamoDB only, not on --store {other}{}",
            if matches!(other, StoreSpec::Sqlite(_)) {
                " (store commands create the SQLite file and its schema themselves)"
            } else {
                ""
            }
        ))),
    }
}

/// A response cache and the dedupe store that completes jobs into it.
pub type CacheAndDedupe<V> = (Metered<dyn CacheStore<V>>, Metered<dyn DedupeStore<V>>);

/// An open backend, from which the commands take their stores.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A DynamoDB table, and the limits its rate limiters use.
    DynamoDb {
        /// The table handle (connection, timeout, breaker).
        table: Table,
        /// The plain limits.
        limits: RateLimitConfig,
        /// The adaptive settings.
        adaptive: AdaptiveConfig,
    },
    /// A SQLite database file, and the limits its rate limiters use.
    Sqlite {
        /// The open file.
        db: SqliteStore,
        /// The state cell the rate-limit and dedupe stores share.
        cell: Arc<SqliteStateCell>,
        /// The plain limits.
        limits: RateLimitConfig,
        /// The adaptive settings.
        adaptive: AdaptiveConfig,
    },
}

/// A store behind its trait, with the DynamoDB traffic counters when it has them.
pub struct Metered<S: ?Sized> {
    store: Arc<S>,
    metrics: Option<Box<dyn Fn() -> MetricsSnapshot + Send + Sync>>,
}

impl<S: ?Sized> Deref for Metered<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.store
    }
}

impl<S: ?Sized> Metered<S> {
    /// A store without counters.
    fn plain(store: Arc<S>) -> Self {
        Self {
            store,
            metrics: None,
        }
    }

    /// A DynamoDB store behind its trait (`store`) with its counters, read from
    /// `counted`: the same `Arc`, as the concrete store.
    fn counted<T>(store: Arc<S>, counted: Arc<T>) -> Self
    where
        T: StoreControls + Send + Sync + 'static,
    {
        Self {
            store,
            metrics: Some(Box::new(move || counted.metrics())),
        }
    }

    /// The shared store.
    pub fn shared(&self) -> Arc<S> {
        Arc::clone(&self.store)
    }

    /// Its DynamoDB traffic so far (none on SQLite).
    pub fn metrics(&self) -> Option<MetricsSnapshot> {
        self.metrics.as_ref().map(|m| m())
    }
}

impl Backend {
    /// Opens the backend the flags choose, its rate limiters using `limits` (the
    /// defaults when `None`). A SQLite file that does not exist is created with its
    /// schema; `--timeout` is its busy timeout.
    ///
    /// # Errors
    ///
    /// As for [`choose`]; an invalid flag; a file that is not a comic-vine-store
    /// database (`StoreError::StorageFile`, naming the path; the file is left as it was).
    pub async fn open(
        args: &StoreArgs,
        limits: Option<(RateLimitConfig, AdaptiveConfig)>,
    ) -> anyhow::Result<Self> {
        let choice = choose(args)?;
        let (limits, adaptive) = limits.unwrap_or_else(|| {
            (
                RateLimitConfig::new(RateLimit::default()),
                AdaptiveConfig::default(),
            )
        });
        match choice {
            Choice::DynamoDb => Ok(Self::DynamoDb {
                table: connect::table(args).await?,
                limits,
                adaptive,
            }),
            Choice::Sqlite(path) => {
                let mut builder = SqliteStore::builder(&path);
                if let Some(timeout) = args.timeout {
                    builder = builder.busy_timeout(timeout);
                }
                let db = builder.open().await?;
                Ok(Self::Sqlite {
                    cell: Arc::new(SqliteStateCell::new(&db)),
                    db,
                    limits,
                    adaptive,
                })
            }
        }
    }

    /// The response cache.
    pub fn cache<V>(&self) -> Metered<dyn CacheStore<V>>
    where
        V: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        match self {
            Self::DynamoDb { table, .. } => {
                let store = Arc::new(DynamoDbCacheStore::<V>::new(table));
                Metered::counted(store.clone(), store)
            }
            Self::Sqlite { db, .. } => Metered::plain(Arc::new(SqliteCacheStore::<V>::new(db))),
        }
    }

    /// The response cache and a dedupe store that completes jobs into it: on DynamoDB
    /// the dedupe store is built with that cache, so `complete_and_cache` given it
    /// writes the value once.
    ///
    /// # Errors
    ///
    /// Invalid dedupe settings.
    pub fn cache_and_dedupe<V>(&self) -> anyhow::Result<CacheAndDedupe<V>>
    where
        V: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        match self {
            Self::DynamoDb { table, .. } => {
                let cache = Arc::new(DynamoDbCacheStore::<V>::new(table));
                let dedupe = Arc::new(
                    DynamoDbDedupeStore::<V>::builder(table)
                        .cache(Arc::clone(&cache))
                        .build()?,
                );
                Ok((
                    Metered::counted(cache.clone(), cache),
                    Metered::counted(dedupe.clone(), dedupe),
                ))
            }
            Self::Sqlite { .. } => Ok((self.cache(), self.dedupe())),
        }
    }

    /// The plain rate limiter.
    ///
    /// # Errors
    ///
    /// Limits that are not valid.
    pub fn rate_limit(&self) -> anyhow::Result<Metered<dyn RateLimitStore>> {
        Ok(match self {
            Self::DynamoDb { table, limits, .. } => {
                let store = Arc::new(
                    DynamoDbRateLimitStore::builder(table)
                        .limits(limits.clone())
                        .build()?,
                );
                Metered::counted(store.clone(), store)
            }
            Self::Sqlite {
                db, cell, limits, ..
            } => Metered::plain(Arc::new(CellRateLimitStore::new(
                Arc::clone(cell),
                limits.clone(),
                db.clock().clone(),
            ))),
        })
    }

    /// The adaptive (priority-aware) rate limiter.
    ///
    /// # Errors
    ///
    /// Adaptive settings that do not fit the limits.
    pub fn adaptive(&self) -> anyhow::Result<Metered<dyn AdaptiveRateLimitStore>> {
        Ok(match self {
            Self::DynamoDb {
                table,
                limits,
                adaptive,
            } => {
                let store = Arc::new(
                    DynamoDbAdaptiveRateLimitStore::builder(table)
                        .limits(limits.clone())
                        .adaptive(adaptive.clone())
                        .build()?,
                );
                Metered::counted(store.clone(), store)
            }
            Self::Sqlite {
                db,
                cell,
                limits,
                adaptive,
            } => Metered::plain(Arc::new(CellAdaptiveStore::new(
                Arc::clone(cell),
                limits.clone(),
                adaptive.clone(),
                db.clock().clone(),
            )?)),
        })
    }

    /// The dedupe store.
    pub fn dedupe<V>(&self) -> Metered<dyn DedupeStore<V>>
    where
        V: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        match self {
            Self::DynamoDb { table, .. } => {
                let store = Arc::new(DynamoDbDedupeStore::<V>::new(table));
                Metered::counted(store.clone(), store)
            }
            Self::Sqlite { db, cell, .. } => Metered::plain(Arc::new(
                CellDedupeStore::<_, V>::new(Arc::clone(cell), db.clock().clone()),
            )),
        }
    }

    /// How long a cache entry lives when no TTL is given.
    pub fn default_ttl(&self) -> Duration {
        match self {
            Self::DynamoDb { .. } => CacheConfig::default().default_ttl,
            Self::Sqlite { db, .. } => db.cache_config().default_ttl,
        }
    }

    /// The DynamoDB table's name, if on DynamoDB.
    pub fn table_name(&self) -> Option<&str> {
        match self {
            Self::DynamoDb { table, .. } => Some(table.name()),
            Self::Sqlite { .. } => None,
        }
    }

    /// The database file, if on SQLite.
    pub fn database(&self) -> Option<&Path> {
        match self {
            Self::DynamoDb { .. } => None,
            Self::Sqlite { db, .. } => Some(db.path()),
        }
    }

    /// Where the stores are, for text output: `table NAME` or `database PATH`.
    pub fn label(&self) -> String {
        match self {
            Self::DynamoDb { table, .. } => format!("table {}", table.name()),
            Self::Sqlite { db, .. } => format!("database {}", db.path().display()),
        }
    }

    /// `body` (a JSON object) with where the stores are (`table`, or `database`) and
    /// `metrics` when there are any.
    pub fn report(&self, mut body: Value, metrics: Option<MetricsSnapshot>) -> Value {
        if let Some(fields) = body.as_object_mut() {
            match self {
                Self::DynamoDb { table, .. } => {
                    fields.insert("table".into(), table.name().into());
                }
                Self::Sqlite { db, .. } => {
                    fields.insert("database".into(), db.path().display().to_string().into());
                }
            }
            if let Some(m) = metrics.and_then(|m| serde_json::to_value(m).ok()) {
                fields.insert("metrics".into(), m);
            }
        }
        body
    }
}
