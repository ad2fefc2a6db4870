//! `cvstore table`: create, verify and print the DynamoDB table.

use anyhow::bail;
use comic_vine_dynamodb_store::{
    TableDifference, create_table, table_definition, validate_table_name, verify_table,
};
use comic_vine_store::StoreError;
use serde_json::json;

use super::connect::{self, InvalidFlag};
use super::output;
use crate::cli::{SchemaFormat, StoreArgs, TableCommand};

/// The logical id of the table in the CloudFormation template `table schema` prints.
const CLOUDFORMATION_LOGICAL_ID: &str = "ComicVineStoreTable";

/// Runs one `cvstore table` command.
pub async fn run(command: TableCommand, store: &StoreArgs, json: bool) -> anyhow::Result<()> {
    let name = match command {
        TableCommand::Create => "table create",
        TableCommand::Verify => "table verify",
        TableCommand::Schema { .. } => "table schema",
    };
    super::backend::dynamodb_only(store, name)?;
    match command {
        TableCommand::Create => create(store, json).await,
        TableCommand::Verify => verify(store, json).await,
        TableCommand::Schema { format } => schema(&store.table, format),
    }
}

/// Creates the table, or finds it (enabling time to live if it was off).
async fn create(store: &StoreArgs, json: bool) -> anyhow::Result<()> {
    let table = connect::table(store).await?;
    let before = verify_table(table.client(), table.name()).await?;
    let created = before
        .iter()
        .any(|d| matches!(d, TableDifference::TableMissing { .. }));
    create_table(table.client(), table.name()).await?;
    let enabled_ttl = !created
        && before
            .iter()
            .any(|d| matches!(d, TableDifference::TtlDisabled { .. }));
    if json {
        return output::json(&json!({
            "table": table.name(),
            "created": created,
            "enabled_ttl": enabled_ttl,
        }));
    }
    let name = table.name();
    match (created, enabled_ttl) {
        (true, _) => output::line(format_args!("created table `{name}`")),
        (false, true) => output::line(format_args!("found table `{name}`; enabled time to live")),
        (false, false) => output::line(format_args!("found table `{name}`")),
    }
}

/// Lists how the table differs from the schema; fails if it does.
async fn verify(store: &StoreArgs, json: bool) -> anyhow::Result<()> {
    let table = connect::table(store).await?;
    let name = table.name();
    let differences = verify_table(table.client(), name).await?;
    if json {
        let listed: Vec<String> = differences.iter().map(ToString::to_string).collect();
        output::json(&json!({ "table": name, "ok": listed.is_empty(), "differences": listed }))?;
    } else if differences.is_empty() {
        output::line(format_args!("table {name}: OK"))?;
    } else {
        for difference in &differences {
            output::line(difference)?;
        }
    }
    if differences
        .iter()
        .any(|d| matches!(d, TableDifference::TableMissing { .. }))
    {
        return Err(StoreError::TableNotFound {
            table: name.to_owned(),
        }
        .into());
    }
    if !differences.is_empty() {
        bail!(
            "table `{name}` does not match the schema: {} difference(s)",
            differences.len()
        );
    }
    Ok(())
}

/// Prints the table's definition in `format`.
fn schema(table_name: &str, format: SchemaFormat) -> anyhow::Result<()> {
    validate_table_name(table_name).map_err(InvalidFlag::from)?;
    let definition = table_definition(table_name);
    let rendered = match format {
        SchemaFormat::AwsCli => json!({
            "create_table": definition.to_create_table_json(),
            "update_time_to_live": definition.to_update_time_to_live_json(),
        }),
        SchemaFormat::CreateTable => definition.to_create_table_json(),
        SchemaFormat::UpdateTimeToLive => definition.to_update_time_to_live_json(),
        SchemaFormat::Cloudformation => json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": "The comic-vine-store DynamoDB table.",
            "Resources": { CLOUDFORMATION_LOGICAL_ID: definition.to_cloudformation_resource() },
        }),
    };
    output::pretty_json(&rendered)
}
