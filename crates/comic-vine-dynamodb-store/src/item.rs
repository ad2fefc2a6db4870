//! Reading and writing item attributes, with typed errors for items of the wrong shape.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use comic_vine_store::{StoreError, StoreResult};

use crate::table::{PK, SK};

/// One DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub(crate) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A binary attribute.
pub(crate) fn b(v: impl Into<Vec<u8>>) -> AttributeValue {
    AttributeValue::B(Blob::new(v))
}

/// The key attributes of an item.
pub(crate) fn key((pk, sk): (String, String)) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// The size DynamoDB bills `item` at, in bytes, by its published rules: each
/// attribute's name plus its value (strings and binaries their length, numbers about
/// one byte per two significant digits plus one, lists and maps 3 bytes plus one per
/// element plus the elements). An estimate, as DynamoDB's own is for numbers.
pub(crate) fn billed_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, v)| name.len() + value_size(v))
        .sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

fn number_size(n: &str) -> usize {
    let digits = n
        .trim_start_matches('-')
        .split(['e', 'E'])
        .next()
        .unwrap_or_default()
        .replace('.', "");
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2) + 1
}

/// Typed access to one item's attributes; errors name the item and attribute.
pub(crate) struct Fields<'a> {
    item: &'a Item,
    what: &'a str,
}

impl<'a> Fields<'a> {
    /// Reads `item`, which is `what` (e.g. `cache entry abc`) in error messages.
    pub(crate) fn new(item: &'a Item, what: &'a str) -> Self {
        Self { item, what }
    }

    fn corrupt(&self, reason: String) -> StoreError {
        StoreError::Corrupt {
            key: self.what.to_owned(),
            reason,
        }
    }

    /// A required string attribute.
    pub(crate) fn s(&self, name: &str) -> StoreResult<&'a str> {
        self.opt_s(name)?
            .ok_or_else(|| self.corrupt(format!("attribute {name} is missing")))
    }

    /// An optional string attribute.
    pub(crate) fn opt_s(&self, name: &str) -> StoreResult<Option<&'a str>> {
        match self.item.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.as_str())),
            Some(_) => Err(self.corrupt(format!("attribute {name} is not a string"))),
        }
    }

    /// A required non-negative integer attribute.
    pub(crate) fn n(&self, name: &str) -> StoreResult<u64> {
        self.opt_n(name)?
            .ok_or_else(|| self.corrupt(format!("attribute {name} is missing")))
    }

    /// An optional non-negative integer attribute.
    pub(crate) fn opt_n(&self, name: &str) -> StoreResult<Option<u64>> {
        match self.item.get(name) {
            None => Ok(None),
            Some(AttributeValue::N(v)) => v
                .parse()
                .map(Some)
                .map_err(|_| self.corrupt(format!("attribute {name} is not an integer: {v}"))),
            Some(_) => Err(self.corrupt(format!("attribute {name} is not a number"))),
        }
    }

    /// An optional binary attribute.
    pub(crate) fn opt_b(&self, name: &str) -> StoreResult<Option<&'a [u8]>> {
        match self.item.get(name) {
            None => Ok(None),
            Some(AttributeValue::B(v)) => Ok(Some(v.as_ref())),
            Some(_) => Err(self.corrupt(format!("attribute {name} is not binary"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_items_billed_size_counts_names_and_values() {
        let item = Item::from([
            ("PK".to_owned(), s("DEDUPE#abc")),
            ("n".to_owned(), n(1_234_500)),
            ("v".to_owned(), b(vec![0; 1000])),
        ]);
        // 2 + 10, 1 + (5 significant digits: 3 bytes, + 1), 1 + 1000.
        assert_eq!(billed_size(&item), 12 + 5 + 1001);
        assert_eq!(number_size("-0.00120"), 2);
        assert_eq!(number_size("7"), 2);
        let nested = AttributeValue::M(HashMap::from([("a".to_owned(), s("xy"))]));
        assert_eq!(value_size(&nested), 3 + 1 + 1 + 2);
    }

    #[test]
    fn typed_access_names_the_problem() {
        let item: Item = HashMap::from([
            ("A".to_owned(), s("x")),
            ("N".to_owned(), n(42)),
            ("BAD".to_owned(), AttributeValue::N("-1.5".into())),
            ("B".to_owned(), b(vec![1, 2])),
        ]);
        let f = Fields::new(&item, "cache entry k");
        assert_eq!(f.s("A").unwrap(), "x");
        assert_eq!(f.n("N").unwrap(), 42);
        assert_eq!(f.opt_b("B").unwrap(), Some(&[1u8, 2][..]));
        assert_eq!(f.opt_n("MISSING").unwrap(), None);
        let e = f.n("BAD").unwrap_err().to_string();
        assert!(e.contains("cache entry k") && e.contains("BAD"), "{e}");
        assert!(f.s("N").unwrap_err().to_string().contains("not a string"));
        assert!(f.s("MISSING").unwrap_err().to_string().contains("missing"));
    }
}
