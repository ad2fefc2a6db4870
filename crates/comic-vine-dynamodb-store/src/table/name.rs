//! Table name validation.

use comic_vine_store::{StoreError, StoreResult};

/// The shortest table name DynamoDB accepts.
const MIN_LEN: usize = 3;
/// The longest table name DynamoDB accepts.
const MAX_LEN: usize = 255;

/// Checks that `name` is a valid DynamoDB table name: 3 to 255 characters, each a letter,
/// a digit, `_`, `-` or `.`.
///
/// # Errors
///
/// [`StoreError::InvalidConfig`] for the field `table_name`, saying what is wrong.
pub fn validate_table_name(name: &str) -> StoreResult<()> {
    let len = name.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(StoreError::invalid_config(
            "table_name",
            format!("must be {MIN_LEN} to {MAX_LEN} characters long, got {len}"),
        ));
    }
    if let Some((position, bad)) = name
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(StoreError::invalid_config(
            "table_name",
            format!(
                "`{name}` has {bad:?} at position {position}; \
                 only ASCII letters, digits, `_`, `-` and `.` are allowed"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(name: &str) -> String {
        match validate_table_name(name) {
            Err(StoreError::InvalidConfig { field, reason }) => {
                assert_eq!(field, "table_name");
                reason
            }
            other => panic!("expected InvalidConfig for {name:?}, got {other:?}"),
        }
    }

    #[test]
    fn accepts_valid_names() {
        for name in ["abc", "comic-vine-store", "a.b_c-D9", &"x".repeat(255)] {
            assert!(validate_table_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_bad_lengths() {
        assert_eq!(reason(""), "must be 3 to 255 characters long, got 0");
        assert_eq!(reason("ab"), "must be 3 to 255 characters long, got 2");
        assert_eq!(
            reason(&"x".repeat(256)),
            "must be 3 to 255 characters long, got 256"
        );
    }

    #[test]
    fn rejects_bad_characters() {
        assert!(reason("my table").contains("' ' at position 2"));
        assert!(reason("tab/le").contains("'/' at position 3"));
        assert!(reason("tablé").contains("'é' at position 4"));
    }
}
