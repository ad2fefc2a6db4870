//! Compact binary form of sorted timestamps: a count, the first time, then the gaps,
//! each as a LEB128 varint. 200 grants an hour apart-ish take about 600 bytes, so a
//! window of Comic Vine's limit fits in one 1 KB DynamoDB write unit with its key.
//! Every state encoding of [`super`] is built from these.

use crate::clock::Timestamp;
use crate::error::{StoreError, StoreResult};

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Encodes numbers as a count followed by LEB128 varints.
pub fn pack_numbers(numbers: impl ExactSizeIterator<Item = u64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(numbers.len() * 3 + 2);
    put_varint(&mut out, numbers.len() as u64);
    for v in numbers {
        put_varint(&mut out, v);
    }
    out
}

/// Decodes what [`pack_numbers`] wrote; `what` names the item for errors.
pub fn unpack_numbers(mut bytes: &[u8], what: &str) -> StoreResult<Vec<u64>> {
    let corrupt = || StoreError::Corrupt {
        key: what.to_owned(),
        reason: "malformed packed numbers".to_owned(),
    };
    let count = take_varint(&mut bytes).ok_or_else(corrupt)?;
    if count > 1_000_000 {
        return Err(corrupt());
    }
    let numbers = (0..count)
        .map(|_| take_varint(&mut bytes).ok_or_else(corrupt))
        .collect::<StoreResult<Vec<u64>>>()?;
    if !bytes.is_empty() {
        return Err(corrupt());
    }
    Ok(numbers)
}

/// Encodes sorted times as gaps, each with a one-bit tag (e.g. a priority) folded in.
pub fn pack(times: impl ExactSizeIterator<Item = (Timestamp, u8)>) -> Vec<u8> {
    let mut previous = 0u64;
    pack_numbers(times.map(move |(at, tag)| {
        let ms = at.as_millis();
        let gap = ms.saturating_sub(previous);
        previous = ms.max(previous);
        (gap << 1) | u64::from(tag & 1)
    }))
}

/// Decodes what [`pack`] wrote; `what` names the item for errors.
pub fn unpack(bytes: &[u8], what: &str) -> StoreResult<Vec<(Timestamp, u8)>> {
    let mut at = 0u64;
    unpack_numbers(bytes, what)?
        .into_iter()
        .map(|v| {
            at = at.checked_add(v >> 1).ok_or_else(|| StoreError::Corrupt {
                key: what.to_owned(),
                reason: "packed timestamps overflow".to_owned(),
            })?;
            Ok((Timestamp::from_millis(at), (v & 1) as u8))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_stays_small() {
        let base = 1_764_000_000_000u64;
        let times: Vec<(Timestamp, u8)> = (0..200)
            .map(|i| {
                (
                    Timestamp::from_millis(base + i * 18_000 + i % 7),
                    (i % 2) as u8,
                )
            })
            .collect();
        let packed = pack(times.iter().copied());
        assert!(packed.len() < 700, "{} bytes", packed.len());
        assert_eq!(unpack(&packed, "x").unwrap(), times);
        assert_eq!(unpack(&pack(std::iter::empty()), "x").unwrap(), vec![]);
        let numbers = vec![3, 0, u64::MAX, 128];
        assert_eq!(
            unpack_numbers(&pack_numbers(numbers.iter().copied()), "x").unwrap(),
            numbers
        );
    }

    #[test]
    fn malformed_input_is_a_typed_error() {
        assert!(unpack(&[], "x").is_err());
        assert!(unpack(&[2, 0x80], "x").is_err());
        let mut trailing = pack([(Timestamp::from_millis(5), 0)].into_iter());
        trailing.push(0);
        assert!(unpack(&trailing, "x").is_err());
    }
}
