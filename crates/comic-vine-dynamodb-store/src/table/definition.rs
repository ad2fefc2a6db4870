//! The table's schema as plain data, renderable as AWS CLI and CloudFormation JSON.

use std::fmt;

use serde_json::{Value, json};

use super::{GSI1, GSI1PK, GSI1SK, PK, SK, TTL};

/// The DynamoDB scalar type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeType {
    /// `S`: a string.
    String,
    /// `N`: a number.
    Number,
    /// `B`: binary data.
    Binary,
}

impl AttributeType {
    /// The type's name in the DynamoDB API: `S`, `N` or `B`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::String => "S",
            Self::Number => "N",
            Self::Binary => "B",
        }
    }
}

impl fmt::Display for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key attribute: its name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttribute {
    /// The attribute's name, e.g. `PK`.
    pub name: String,
    /// The attribute's type.
    pub attribute_type: AttributeType,
}

impl KeyAttribute {
    /// A string key attribute named `name`.
    pub fn string(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            attribute_type: AttributeType::String,
        }
    }
}

/// A composite primary key: partition (`HASH`) key and sort (`RANGE`) key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySchema {
    /// The partition (`HASH`) key.
    pub partition_key: KeyAttribute,
    /// The sort (`RANGE`) key.
    pub sort_key: KeyAttribute,
}

impl KeySchema {
    /// The key schema as DynamoDB API JSON (`[{"AttributeName", "KeyType"}, ...]`).
    fn to_json(&self) -> Value {
        json!([
            { "AttributeName": self.partition_key.name, "KeyType": "HASH" },
            { "AttributeName": self.sort_key.name, "KeyType": "RANGE" },
        ])
    }
}

/// Which attributes an index copies from the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    /// `ALL`: every attribute.
    All,
    /// `KEYS_ONLY`: only the table's and the index's keys.
    KeysOnly,
}

impl Projection {
    /// The projection type's name in the DynamoDB API: `ALL` or `KEYS_ONLY`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::All => "ALL",
            Self::KeysOnly => "KEYS_ONLY",
        }
    }
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A global secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalSecondaryIndex {
    /// The index's name, e.g. `GSI1`.
    pub name: String,
    /// The index's key.
    pub key_schema: KeySchema,
    /// Which attributes the index holds.
    pub projection: Projection,
}

/// How the table is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BillingMode {
    /// On demand: `PAY_PER_REQUEST`, no capacity to provision.
    PayPerRequest,
}

impl BillingMode {
    /// The billing mode's name in the DynamoDB API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PayPerRequest => "PAY_PER_REQUEST",
        }
    }
}

/// Everything needed to create the table: the single-table schema as plain data.
///
/// Build it with [`table_definition`]; render it with
/// [`to_create_table_json`](Self::to_create_table_json) (for
/// `aws dynamodb create-table --cli-input-json`) or
/// [`to_cloudformation_resource`](Self::to_cloudformation_resource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    /// The table's name.
    pub table_name: String,
    /// The table's primary key.
    pub key_schema: KeySchema,
    /// The global secondary indexes.
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    /// The attribute time to live is enabled on (a number, epoch seconds).
    pub ttl_attribute: String,
    /// How the table is billed.
    pub billing_mode: BillingMode,
}

/// The project's table schema for a table named `table_name` (see [the module
/// docs](super)). The name is not validated here; see
/// [`validate_table_name`](super::validate_table_name).
pub fn table_definition(table_name: impl Into<String>) -> TableDefinition {
    TableDefinition {
        table_name: table_name.into(),
        key_schema: KeySchema {
            partition_key: KeyAttribute::string(PK),
            sort_key: KeyAttribute::string(SK),
        },
        global_secondary_indexes: vec![GlobalSecondaryIndex {
            name: GSI1.to_owned(),
            key_schema: KeySchema {
                partition_key: KeyAttribute::string(GSI1PK),
                sort_key: KeyAttribute::string(GSI1SK),
            },
            projection: Projection::All,
        }],
        ttl_attribute: TTL.to_owned(),
        billing_mode: BillingMode::PayPerRequest,
    }
}

impl TableDefinition {
    /// Every key attribute of the table and its indexes, each once, in schema order.
    pub fn attribute_definitions(&self) -> Vec<&KeyAttribute> {
        let keys = std::iter::once(&self.key_schema)
            .chain(self.global_secondary_indexes.iter().map(|i| &i.key_schema))
            .flat_map(|k| [&k.partition_key, &k.sort_key]);
        let mut attributes: Vec<&KeyAttribute> = Vec::new();
        for key in keys {
            if !attributes.iter().any(|a| a.name == key.name) {
                attributes.push(key);
            }
        }
        attributes
    }

    /// The index named `name`, if the definition has one.
    pub fn global_secondary_index(&self, name: &str) -> Option<&GlobalSecondaryIndex> {
        self.global_secondary_indexes
            .iter()
            .find(|i| i.name == name)
    }

    fn attribute_definitions_json(&self) -> Value {
        self.attribute_definitions()
            .into_iter()
            .map(|a| json!({ "AttributeName": a.name, "AttributeType": a.attribute_type.as_str() }))
            .collect()
    }

    fn global_secondary_indexes_json(&self) -> Value {
        self.global_secondary_indexes
            .iter()
            .map(|i| {
                json!({
                    "IndexName": i.name,
                    "KeySchema": i.key_schema.to_json(),
                    "Projection": { "ProjectionType": i.projection.as_str() },
                })
            })
            .collect()
    }

    /// The input of `aws dynamodb create-table --cli-input-json`.
    ///
    /// `create-table` cannot enable time to live; follow it with
    /// [`to_update_time_to_live_json`](Self::to_update_time_to_live_json).
    pub fn to_create_table_json(&self) -> Value {
        json!({
            "TableName": self.table_name,
            "AttributeDefinitions": self.attribute_definitions_json(),
            "KeySchema": self.key_schema.to_json(),
            "GlobalSecondaryIndexes": self.global_secondary_indexes_json(),
            "BillingMode": self.billing_mode.as_str(),
        })
    }

    /// The input of `aws dynamodb update-time-to-live --cli-input-json`, enabling time to
    /// live on [`ttl_attribute`](Self::ttl_attribute).
    pub fn to_update_time_to_live_json(&self) -> Value {
        json!({
            "TableName": self.table_name,
            "TimeToLiveSpecification": { "AttributeName": self.ttl_attribute, "Enabled": true },
        })
    }

    /// An `AWS::DynamoDB::Table` CloudFormation resource, time to live included; put it
    /// under a logical id in a template's `Resources`.
    pub fn to_cloudformation_resource(&self) -> Value {
        json!({
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": self.table_name,
                "BillingMode": self.billing_mode.as_str(),
                "AttributeDefinitions": self.attribute_definitions_json(),
                "KeySchema": self.key_schema.to_json(),
                "GlobalSecondaryIndexes": self.global_secondary_indexes_json(),
                "TimeToLiveSpecification": { "AttributeName": self.ttl_attribute, "Enabled": true },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_schema(pk: &str, sk: &str) -> Value {
        json!([
            { "AttributeName": pk, "KeyType": "HASH" },
            { "AttributeName": sk, "KeyType": "RANGE" },
        ])
    }

    #[test]
    fn attribute_definitions_are_the_four_string_keys() {
        let definition = table_definition("t-1");
        let names: Vec<_> = definition
            .attribute_definitions()
            .into_iter()
            .map(|a| (a.name.as_str(), a.attribute_type))
            .collect();
        let s = AttributeType::String;
        assert_eq!(names, [(PK, s), (SK, s), (GSI1PK, s), (GSI1SK, s)]);
    }

    #[test]
    fn renders_aws_cli_create_table_input() {
        let expected = json!({
            "TableName": "comic-vine-store",
            "AttributeDefinitions": [
                { "AttributeName": "PK", "AttributeType": "S" },
                { "AttributeName": "SK", "AttributeType": "S" },
                { "AttributeName": "GSI1PK", "AttributeType": "S" },
                { "AttributeName": "GSI1SK", "AttributeType": "S" },
            ],
            "KeySchema": key_schema("PK", "SK"),
            "GlobalSecondaryIndexes": [{
                "IndexName": "GSI1",
                "KeySchema": key_schema("GSI1PK", "GSI1SK"),
                "Projection": { "ProjectionType": "ALL" },
            }],
            "BillingMode": "PAY_PER_REQUEST",
        });
        assert_eq!(
            table_definition(super::super::DEFAULT_TABLE_NAME).to_create_table_json(),
            expected
        );
    }

    #[test]
    fn renders_update_time_to_live_input() {
        assert_eq!(
            table_definition("t-1").to_update_time_to_live_json(),
            json!({
                "TableName": "t-1",
                "TimeToLiveSpecification": { "AttributeName": "TTL", "Enabled": true },
            })
        );
    }

    #[test]
    fn renders_cloudformation_resource() {
        let definition = table_definition("t-1");
        let resource = definition.to_cloudformation_resource();
        assert_eq!(resource["Type"], "AWS::DynamoDB::Table");
        let properties = &resource["Properties"];
        let create = definition.to_create_table_json();
        for key in [
            "TableName",
            "BillingMode",
            "AttributeDefinitions",
            "KeySchema",
            "GlobalSecondaryIndexes",
        ] {
            assert_eq!(properties[key], create[key], "{key}");
        }
        assert_eq!(
            properties["TimeToLiveSpecification"],
            json!({ "AttributeName": "TTL", "Enabled": true })
        );
        assert_eq!(properties.as_object().map(|o| o.len()), Some(6));
    }
}
