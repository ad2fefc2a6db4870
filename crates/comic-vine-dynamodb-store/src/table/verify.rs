//! Comparing an existing table with the project's schema.

use std::fmt;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    KeySchemaElement, KeyType, TableDescription, TimeToLiveDescription, TimeToLiveStatus,
};
use comic_vine_store::{StoreError, StoreResult};

use super::definition::{AttributeType, KeySchema, TableDefinition, table_definition};
use super::name::validate_table_name;
use crate::sdk_error::map_sdk_error;

/// Which key of a key schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// The partition (`HASH`) key.
    Partition,
    /// The sort (`RANGE`) key.
    Sort,
}

impl KeyRole {
    fn key_type(self) -> KeyType {
        match self {
            Self::Partition => KeyType::Hash,
            Self::Sort => KeyType::Range,
        }
    }
}

impl fmt::Display for KeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Partition => "partition key (HASH)",
            Self::Sort => "sort key (RANGE)",
        })
    }
}

/// One way an existing table differs from the project's schema (see [`verify_table`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableDifference {
    /// The table does not exist.
    TableMissing {
        /// The table's name.
        table: String,
    },
    /// A key of the table's primary key is missing or is another attribute.
    TableKey {
        /// Which key.
        role: KeyRole,
        /// The attribute the schema wants.
        expected: String,
        /// The attribute the table has, if any.
        actual: Option<String>,
    },
    /// A key attribute is declared with another type.
    AttributeType {
        /// The attribute.
        attribute: String,
        /// The type the schema wants.
        expected: AttributeType,
        /// The type the table declares (`S`, `N` or `B`).
        actual: String,
    },
    /// A global secondary index is missing.
    IndexMissing {
        /// The index's name.
        index: String,
    },
    /// A key of a global secondary index is missing or is another attribute.
    IndexKey {
        /// The index's name.
        index: String,
        /// Which key.
        role: KeyRole,
        /// The attribute the schema wants.
        expected: String,
        /// The attribute the index has, if any.
        actual: Option<String>,
    },
    /// A global secondary index projects other attributes.
    IndexProjection {
        /// The index's name.
        index: String,
        /// The projection the schema wants.
        expected: String,
        /// The index's projection type, if it reports one.
        actual: Option<String>,
    },
    /// Time to live is not enabled.
    TtlDisabled {
        /// The attribute time to live should be enabled on.
        attribute: String,
        /// The table's time-to-live status, e.g. `DISABLED`.
        status: String,
    },
    /// Time to live is enabled on another attribute.
    TtlAttribute {
        /// The attribute the schema wants.
        expected: String,
        /// The attribute the table uses, if it reports one.
        actual: Option<String>,
    },
}

fn or_missing(actual: Option<&String>) -> String {
    actual.map_or_else(|| "missing".to_owned(), |a| format!("`{a}`"))
}

impl fmt::Display for TableDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TableMissing { table } => write!(f, "table `{table}` does not exist"),
            Self::TableKey {
                role,
                expected,
                actual,
            } => write!(
                f,
                "table {role} is {}, expected `{expected}`",
                or_missing(actual.as_ref())
            ),
            Self::AttributeType {
                attribute,
                expected,
                actual,
            } => write!(
                f,
                "attribute `{attribute}` has type `{actual}`, expected `{expected}`"
            ),
            Self::IndexMissing { index } => {
                write!(f, "global secondary index `{index}` is missing")
            }
            Self::IndexKey {
                index,
                role,
                expected,
                actual,
            } => write!(
                f,
                "global secondary index `{index}`: {role} is {}, expected `{expected}`",
                or_missing(actual.as_ref())
            ),
            Self::IndexProjection {
                index,
                expected,
                actual,
            } => write!(
                f,
                "global secondary index `{index}` projects {}, expected `{expected}`",
                actual
                    .as_ref()
                    .map_or_else(|| "nothing known".to_owned(), |a| format!("`{a}`"))
            ),
            Self::TtlDisabled { attribute, status } => write!(
                f,
                "time to live is not enabled (status {status}), expected it enabled on `{attribute}`"
            ),
            Self::TtlAttribute { expected, actual } => write!(
                f,
                "time to live is enabled on {}, expected `{expected}`",
                actual
                    .as_ref()
                    .map_or_else(|| "an unknown attribute".to_owned(), |a| format!("`{a}`"))
            ),
        }
    }
}

/// Lists how table `table_name` differs from the project's schema (see
/// [`table_definition`]); empty if it matches.
///
/// Checks the key schema, the key attributes' types, index [`GSI1`](super::GSI1) (keys and
/// projection) and time to live. A missing table is reported as
/// [`TableDifference::TableMissing`], not as an error. Billing mode, capacity, streams
/// and extra indexes are not checked.
///
/// # Errors
///
/// [`StoreError::InvalidConfig`] for an invalid table name; otherwise the failure of the
/// `DescribeTable` or `DescribeTimeToLive` call.
pub async fn verify_table(client: &Client, table_name: &str) -> StoreResult<Vec<TableDifference>> {
    validate_table_name(table_name)?;
    let definition = table_definition(table_name);
    let missing = || {
        Ok(vec![TableDifference::TableMissing {
            table: table_name.to_owned(),
        }])
    };

    let description = match describe_table(client, table_name).await {
        Err(StoreError::TableNotFound { .. }) => return missing(),
        other => other?,
    };
    let mut differences = schema_differences(&definition, &description);

    let ttl = match client
        .describe_time_to_live()
        .table_name(table_name)
        .send()
        .await
    {
        Ok(output) => output.time_to_live_description,
        Err(err) => match map_sdk_error("DescribeTimeToLive", table_name, err) {
            StoreError::TableNotFound { .. } => return missing(),
            other => return Err(other),
        },
    };
    differences.extend(ttl_difference(&definition, ttl.as_ref()));
    Ok(differences)
}

/// `DescribeTable`, with a missing table as [`StoreError::TableNotFound`].
pub(super) async fn describe_table(
    client: &Client,
    table_name: &str,
) -> StoreResult<TableDescription> {
    let output = client
        .describe_table()
        .table_name(table_name)
        .send()
        .await
        .map_err(|err| map_sdk_error("DescribeTable", table_name, err))?;
    output.table.ok_or_else(|| {
        StoreError::backend(
            format!("DescribeTable on table `{table_name}` returned no table"),
            "empty DescribeTable response",
        )
    })
}

/// How the key schema, attribute types and indexes of `actual` differ from `definition`.
pub(super) fn schema_differences(
    definition: &TableDefinition,
    actual: &TableDescription,
) -> Vec<TableDifference> {
    let mut differences = Vec::new();
    for (role, expected, found) in key_mismatches(&definition.key_schema, actual.key_schema()) {
        differences.push(TableDifference::TableKey {
            role,
            expected,
            actual: found,
        });
    }
    for index in &definition.global_secondary_indexes {
        let Some(found) = actual
            .global_secondary_indexes()
            .iter()
            .find(|i| i.index_name() == Some(index.name.as_str()))
        else {
            differences.push(TableDifference::IndexMissing {
                index: index.name.clone(),
            });
            continue;
        };
        for (role, expected, key) in key_mismatches(&index.key_schema, found.key_schema()) {
            differences.push(TableDifference::IndexKey {
                index: index.name.clone(),
                role,
                expected,
                actual: key,
            });
        }
        let projection = found
            .projection()
            .and_then(|p| p.projection_type())
            .map(|p| p.as_str().to_owned());
        if projection.as_deref() != Some(index.projection.as_str()) {
            differences.push(TableDifference::IndexProjection {
                index: index.name.clone(),
                expected: index.projection.as_str().to_owned(),
                actual: projection,
            });
        }
    }
    for expected in definition.attribute_definitions() {
        let declared = actual
            .attribute_definitions()
            .iter()
            .find(|a| a.attribute_name() == expected.name);
        if let Some(declared) = declared {
            let actual_type = declared.attribute_type().as_str();
            if actual_type != expected.attribute_type.as_str() {
                differences.push(TableDifference::AttributeType {
                    attribute: expected.name.clone(),
                    expected: expected.attribute_type,
                    actual: actual_type.to_owned(),
                });
            }
        }
    }
    differences
}

/// The keys of `expected` that `actual` lacks or has on another attribute, as
/// `(role, expected attribute, actual attribute)`.
fn key_mismatches(
    expected: &KeySchema,
    actual: &[KeySchemaElement],
) -> Vec<(KeyRole, String, Option<String>)> {
    [
        (KeyRole::Partition, &expected.partition_key.name),
        (KeyRole::Sort, &expected.sort_key.name),
    ]
    .into_iter()
    .filter_map(|(role, want)| {
        let found = actual
            .iter()
            .find(|k| *k.key_type() == role.key_type())
            .map(|k| k.attribute_name().to_owned());
        (found.as_deref() != Some(want.as_str())).then(|| (role, want.clone(), found))
    })
    .collect()
}

/// How the time-to-live setting `actual` differs from `definition`, if it does.
pub(super) fn ttl_difference(
    definition: &TableDefinition,
    actual: Option<&TimeToLiveDescription>,
) -> Option<TableDifference> {
    let status = actual.and_then(|d| d.time_to_live_status());
    match status {
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling) => {
            let attribute = actual.and_then(|d| d.attribute_name());
            (attribute != Some(definition.ttl_attribute.as_str())).then(|| {
                TableDifference::TtlAttribute {
                    expected: definition.ttl_attribute.clone(),
                    actual: attribute.map(str::to_owned),
                }
            })
        }
        _ => Some(TableDifference::TtlDisabled {
            attribute: definition.ttl_attribute.clone(),
            status: status.map_or("DISABLED", |s| s.as_str()).to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, GlobalSecondaryIndexDescription, Projection, ProjectionType,
        ScalarAttributeType,
    };

    use super::*;
    use crate::table::{GSI1, GSI1PK, GSI1SK, PK, SK, TTL};

    /// What each difference says.
    fn messages(found: &[TableDifference]) -> Vec<String> {
        found.iter().map(ToString::to_string).collect()
    }

    fn key(name: &str, key_type: KeyType) -> KeySchemaElement {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .expect("valid key")
    }

    fn attribute(name: &str, t: ScalarAttributeType) -> AttributeDefinition {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(t)
            .build()
            .expect("valid attribute")
    }

    fn gsi(
        name: &str,
        pk: &str,
        sk: &str,
        projection: ProjectionType,
    ) -> GlobalSecondaryIndexDescription {
        GlobalSecondaryIndexDescription::builder()
            .index_name(name)
            .key_schema(key(pk, KeyType::Hash))
            .key_schema(key(sk, KeyType::Range))
            .projection(Projection::builder().projection_type(projection).build())
            .build()
    }

    fn matching() -> aws_sdk_dynamodb::types::builders::TableDescriptionBuilder {
        with_sort_key_type(ScalarAttributeType::S)
    }

    /// The table's key and attributes but no index, its sort key of type `sk`.
    fn with_sort_key_type(
        sk: ScalarAttributeType,
    ) -> aws_sdk_dynamodb::types::builders::TableDescriptionBuilder {
        TableDescription::builder()
            .table_name("t-1")
            .key_schema(key(PK, KeyType::Hash))
            .key_schema(key(SK, KeyType::Range))
            .attribute_definitions(attribute(PK, ScalarAttributeType::S))
            .attribute_definitions(attribute(SK, sk))
            .attribute_definitions(attribute(GSI1PK, ScalarAttributeType::S))
            .attribute_definitions(attribute(GSI1SK, ScalarAttributeType::S))
    }

    fn differences(table: TableDescription) -> Vec<TableDifference> {
        schema_differences(&table_definition("t-1"), &table)
    }

    #[test]
    fn matching_schema_has_no_differences() {
        let table = matching()
            .global_secondary_indexes(gsi(GSI1, GSI1PK, GSI1SK, ProjectionType::All))
            .build();
        assert_eq!(differences(table), []);
    }

    #[test]
    fn reports_wrong_and_missing_table_keys() {
        let table = TableDescription::builder()
            .key_schema(key("id", KeyType::Hash))
            .attribute_definitions(attribute("id", ScalarAttributeType::S))
            .global_secondary_indexes(gsi(GSI1, GSI1PK, GSI1SK, ProjectionType::All))
            .build();
        let found = differences(table);
        assert_eq!(
            found,
            [
                TableDifference::TableKey {
                    role: KeyRole::Partition,
                    expected: PK.into(),
                    actual: Some("id".into()),
                },
                TableDifference::TableKey {
                    role: KeyRole::Sort,
                    expected: SK.into(),
                    actual: None,
                },
            ]
        );
        assert_eq!(
            messages(&found),
            [
                "table partition key (HASH) is `id`, expected `PK`",
                "table sort key (RANGE) is missing, expected `SK`"
            ]
        );
    }

    #[test]
    fn reports_missing_index() {
        let found = differences(matching().build());
        assert_eq!(
            found,
            [TableDifference::IndexMissing { index: GSI1.into() }]
        );
        assert_eq!(
            messages(&found),
            ["global secondary index `GSI1` is missing"]
        );
    }

    #[test]
    fn reports_index_keys_and_projection() {
        let table = matching()
            .global_secondary_indexes(gsi(GSI1, GSI1PK, "other", ProjectionType::KeysOnly))
            .build();
        let found = differences(table);
        assert_eq!(
            found,
            [
                TableDifference::IndexKey {
                    index: GSI1.into(),
                    role: KeyRole::Sort,
                    expected: GSI1SK.into(),
                    actual: Some("other".into()),
                },
                TableDifference::IndexProjection {
                    index: GSI1.into(),
                    expected: "ALL".into(),
                    actual: Some("KEYS_ONLY".into()),
                },
            ]
        );
        assert_eq!(
            messages(&found),
            [
                "global secondary index `GSI1`: sort key (RANGE) is `other`, expected `GSI1SK`",
                "global secondary index `GSI1` projects `KEYS_ONLY`, expected `ALL`"
            ]
        );
    }

    #[test]
    fn reports_wrong_attribute_type() {
        let table = with_sort_key_type(ScalarAttributeType::N)
            .global_secondary_indexes(gsi(GSI1, GSI1PK, GSI1SK, ProjectionType::All))
            .build();
        let found = differences(table);
        assert_eq!(
            found,
            [TableDifference::AttributeType {
                attribute: SK.into(),
                expected: AttributeType::String,
                actual: "N".into(),
            }]
        );
        assert_eq!(
            messages(&found),
            ["attribute `SK` has type `N`, expected `S`"]
        );
    }

    fn ttl(status: Option<TimeToLiveStatus>, attribute: Option<&str>) -> Option<TableDifference> {
        let description = TimeToLiveDescription::builder()
            .set_time_to_live_status(status)
            .set_attribute_name(attribute.map(str::to_owned))
            .build();
        ttl_difference(&table_definition("t-1"), Some(&description))
    }

    #[test]
    fn ttl_enabled_on_ttl_matches() {
        assert_eq!(ttl(Some(TimeToLiveStatus::Enabled), Some(TTL)), None);
        assert_eq!(ttl(Some(TimeToLiveStatus::Enabling), Some(TTL)), None);
    }

    #[test]
    fn reports_disabled_ttl() {
        let expected = TableDifference::TtlDisabled {
            attribute: TTL.into(),
            status: "DISABLED".into(),
        };
        assert_eq!(
            ttl(Some(TimeToLiveStatus::Disabled), None),
            Some(expected.clone())
        );
        assert_eq!(ttl(None, None), Some(expected.clone()));
        assert_eq!(
            ttl_difference(&table_definition("t-1"), None),
            Some(expected.clone())
        );
        assert_eq!(
            expected.to_string(),
            "time to live is not enabled (status DISABLED), expected it enabled on `TTL`"
        );
    }

    #[test]
    fn reports_ttl_on_other_attribute() {
        let found = ttl(Some(TimeToLiveStatus::Enabled), Some("expiresAt"));
        assert_eq!(
            found,
            Some(TableDifference::TtlAttribute {
                expected: TTL.into(),
                actual: Some("expiresAt".into()),
            })
        );
        assert_eq!(
            found.map(|d| d.to_string()).as_deref(),
            Some("time to live is enabled on `expiresAt`, expected `TTL`")
        );
    }

    #[test]
    fn displays_table_missing() {
        let missing = TableDifference::TableMissing {
            table: "t-1".into(),
        };
        assert_eq!(missing.to_string(), "table `t-1` does not exist");
    }
}
