//! The table `bench` and `demo` write into: by default one they create for the run
//! (`cvstore-bench-…`/`cvstore-demo-…`) and delete afterwards, so that pointing them at
//! an endpoint never writes into the table the global `--table` names (by default the
//! production one); an existing table only when named with `--into-table`.

use anyhow::{Context, bail};
use comic_vine_dynamodb_store::aws_sdk_dynamodb::error::DisplayErrorContext;
use comic_vine_dynamodb_store::local::DynamoDbLocal;
use comic_vine_dynamodb_store::{Table, TableDifference, create_table, verify_table};

use crate::cli::{StoreArgs, TargetTableArgs};
use crate::commands::connect;

/// The table of one `bench`/`demo` run.
pub struct RunTable {
    /// The handle on it.
    pub table: Table,
    /// The flags naming it (the global `--table` replaced by its name), for workers.
    pub store: StoreArgs,
    /// Whether this run created it (and deletes it unless `--keep`).
    created: bool,
    keep: bool,
}

impl RunTable {
    /// The table of a `purpose` (`bench` or `demo`) run: `--into-table`'s existing table
    /// (checked against the schema, never created), or a new `cvstore-PURPOSE-<random>`.
    ///
    /// # Errors
    ///
    /// `--into-table` naming a missing table or one with another schema, or a failure to
    /// create the new table.
    pub async fn open(
        purpose: &str,
        target: &TargetTableArgs,
        store: &StoreArgs,
    ) -> anyhow::Result<Self> {
        let mut store = store.clone();
        let created = target.into_table.is_none();
        store.table = match &target.into_table {
            Some(name) => name.clone(),
            None => format!("cvstore-{purpose}-{:012x}", fastrand::u64(..) >> 16),
        };
        let table = connect::table(&store).await?;
        if created {
            let missing = verify_table(table.client(), table.name()).await?;
            if !missing
                .iter()
                .any(|d| matches!(d, TableDifference::TableMissing { .. }))
            {
                bail!(
                    "table `{}` already exists; not writing into it",
                    table.name()
                );
            }
            create_table(table.client(), table.name())
                .await
                .with_context(|| format!("creating table `{}` for the {purpose}", table.name()))?;
            eprintln!("created table `{}` for the {purpose}", table.name());
        } else {
            check_existing(&table).await?;
            eprintln!("writing into the existing table `{}`", table.name());
        }
        Ok(Self {
            table,
            store,
            created,
            keep: target.keep,
        })
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        self.table.name()
    }

    /// Whether the table stays after the run.
    pub fn kept(&self) -> bool {
        !self.created || self.keep
    }

    /// Ends the run whose outcome is `result`: deletes the table if this run created it
    /// and `--keep` was not given (also after a failed run), and says so; returns
    /// `result`, or else the failure to delete.
    pub async fn finish<T>(self, result: anyhow::Result<T>) -> anyhow::Result<T> {
        let deleted = self.delete().await;
        let value = result?;
        deleted?;
        Ok(value)
    }

    async fn delete(self) -> anyhow::Result<()> {
        if self.kept() {
            if self.created {
                eprintln!("kept table `{}` (--keep)", self.name());
            }
            return Ok(());
        }
        self.table
            .client()
            .delete_table()
            .table_name(self.name())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", DisplayErrorContext(e)))
            .with_context(|| format!("deleting table `{}`", self.name()))?;
        eprintln!("deleted table `{}`", self.name());
        Ok(())
    }
}

/// Starts a DynamoDB Local on 127.0.0.1 and points `store` at it, unless `store` names
/// an endpoint; the server runs until the returned value is dropped.
///
/// # Errors
///
/// DynamoDB Local failing to start.
pub async fn local_unless_endpoint(store: &mut StoreArgs) -> anyhow::Result<Option<DynamoDbLocal>> {
    if store.endpoint.is_some() {
        return Ok(None);
    }
    eprintln!("starting DynamoDB Local on 127.0.0.1 …");
    let local = tokio::task::spawn_blocking(DynamoDbLocal::start)
        .await
        .context("starting DynamoDB Local")??;
    store.endpoint = Some(local.endpoint().to_owned());
    Ok(Some(local))
}

/// Fails unless `table` exists with the project's schema.
async fn check_existing(table: &Table) -> anyhow::Result<()> {
    let differences = verify_table(table.client(), table.name()).await?;
    if differences
        .iter()
        .any(|d| matches!(d, TableDifference::TableMissing { .. }))
    {
        bail!(
            "table `{}` does not exist; --into-table writes only into an existing table \
             (create it with `cvstore table create`, or leave out --into-table for a \
             table of the run's own)",
            table.name()
        );
    }
    if !differences.is_empty() {
        let list: Vec<String> = differences.iter().map(ToString::to_string).collect();
        bail!(
            "table `{}` differs from the schema: {}",
            table.name(),
            list.join("; ")
        );
    }
    Ok(())
}
