//! Suppression rules made at run time, one item per rule keyed by its id. The table is small
//! (rules a team wrote), so reading it whole is one or two `Scan` pages.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};

use super::store_error;
use crate::ports::{StoreError, SuppressionStore};
use crate::suppress::SuppressionRule;

#[derive(Debug, Clone)]
pub struct DynamoDbSuppressionStore {
    client: Client,
    table: String,
}

impl DynamoDbSuppressionStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct RuleItem {
    pk: String,
    #[serde(flatten)]
    rule: SuppressionRule,
}

impl SuppressionStore for DynamoDbSuppressionStore {
    async fn rules(&self) -> Result<Vec<SuppressionRule>, StoreError> {
        let mut rules = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| store_error(&error))?;
            for item in page.items.unwrap_or_default() {
                let pk = item
                    .get("pk")
                    .and_then(|value| value.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                let item: RuleItem = serde_dynamo::from_item(item)
                    .map_err(|error| StoreError::Corrupt(format!("suppression {pk}: {error}")))?;
                rules.push(item.rule);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(rules)
    }

    async fn put(&self, rule: &SuppressionRule) -> Result<(), StoreError> {
        let item = serde_dynamo::to_item(RuleItem {
            pk: rule.id.clone(),
            rule: rule.clone(),
        })
        .map_err(|error| StoreError::Rejected(format!("cannot encode the rule: {error}")))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|error| store_error(&error))?;
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(id.to_string()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|error| store_error(&error))?;
        Ok(output.attributes.is_some_and(|old| !old.is_empty()))
    }
}
