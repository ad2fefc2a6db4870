//! How values are stored: JSON, zstd-compressed when that makes them smaller, and split
//! into chunks when they exceed what one item holds.

use std::cell::RefCell;
use std::io;
use std::thread::LocalKey;

use comic_vine_store::{MAX_VALUE_BYTES, StoreError, StoreResult};
use zstd::bulk::{Compressor, Decompressor};

/// Values at least this long (JSON bytes) are compressed, if that shrinks them.
pub(crate) const COMPRESS_FROM: usize = 256;
/// The largest payload kept inline in one item (DynamoDB's item limit is 400 KB,
/// attribute names and keys included).
pub(crate) const INLINE_MAX: usize = 350 * 1024;
/// Size of one chunk of a payload stored out of line.
pub(crate) const CHUNK_SIZE: usize = 350 * 1024;
const ZSTD_LEVEL: i32 = 3;

/// How a payload is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// The JSON bytes as they are.
    Json,
    /// zstd-compressed JSON.
    Zstd,
}

impl Encoding {
    /// The stored name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Zstd => "zstd",
        }
    }

    /// Parses a stored name; `what` names the item for errors.
    pub(crate) fn parse(s: &str, what: &str) -> StoreResult<Self> {
        match s {
            "json" => Ok(Self::Json),
            "zstd" => Ok(Self::Zstd),
            other => Err(StoreError::Corrupt {
                key: what.to_owned(),
                reason: format!("unknown encoding {other:?}"),
            }),
        }
    }
}

/// An encoded value: its encoding, payload, and the length of the JSON it decodes to.
#[derive(Debug)]
pub(crate) struct Encoded {
    pub(crate) encoding: Encoding,
    pub(crate) payload: Vec<u8>,
    pub(crate) raw_len: usize,
}

impl Encoded {
    /// Whether the payload fits inline in one item.
    pub(crate) fn is_inline(&self) -> bool {
        self.fits_inline(INLINE_MAX)
    }

    /// Whether the payload is at most `limit` bytes (and fits in one item).
    pub(crate) fn fits_inline(&self, limit: usize) -> bool {
        self.payload.len() <= limit.min(INLINE_MAX)
    }

    /// The payload's chunks (at least one).
    pub(crate) fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.payload.chunks(CHUNK_SIZE)
    }
}

/// Encodes JSON bytes; `key` names the value for errors. JSON longer than
/// [`MAX_VALUE_BYTES`] is refused with `ItemTooLarge`, whatever it would compress to, so
/// that everything written passes [`decode`]'s guard (the payload is then at most about
/// 100 chunks).
pub(crate) fn encode(json: Vec<u8>, key: &str) -> StoreResult<Encoded> {
    let raw_len = json.len();
    if raw_len > MAX_VALUE_BYTES {
        return Err(StoreError::ItemTooLarge {
            key: key.to_owned(),
            size: raw_len,
            limit: MAX_VALUE_BYTES,
        });
    }
    let encoded = if raw_len >= COMPRESS_FROM {
        match with_context(
            &COMPRESSOR,
            || Compressor::new(ZSTD_LEVEL),
            |c| c.compress(&json),
        ) {
            Ok(z) if z.len() < raw_len => Encoded {
                encoding: Encoding::Zstd,
                payload: z,
                raw_len,
            },
            _ => Encoded {
                encoding: Encoding::Json,
                payload: json,
                raw_len,
            },
        }
    } else {
        Encoded {
            encoding: Encoding::Json,
            payload: json,
            raw_len,
        }
    };
    Ok(encoded)
}

thread_local! {
    /// One zstd context per thread, reused: creating one per value is about a third of
    /// compressing a 1 KB value (profiled).
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's context in `slot`, made by `new` on first use.
fn with_context<C: 'static, T>(
    slot: &'static LocalKey<RefCell<Option<C>>>,
    new: impl FnOnce() -> io::Result<C>,
    f: impl FnOnce(&mut C) -> io::Result<T>,
) -> io::Result<T> {
    slot.with(|cell| {
        let mut slot = cell.borrow_mut();
        let context = match &mut *slot {
            Some(c) => c,
            empty => empty.insert(new()?),
        };
        f(context)
    })
}

/// Decodes a payload back to JSON bytes; `raw_len` is the stored decoded length, which
/// must be within [`MAX_VALUE_BYTES`] (the write-side limit) to be plausible.
pub(crate) fn decode(
    encoding: Encoding,
    payload: Vec<u8>,
    raw_len: usize,
    what: &str,
) -> StoreResult<Vec<u8>> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: what.to_owned(),
        reason,
    };
    match encoding {
        Encoding::Json => Ok(payload),
        Encoding::Zstd => {
            if raw_len > MAX_VALUE_BYTES {
                return Err(corrupt(format!("decoded length {raw_len} is implausible")));
            }
            let out = with_context(&DECOMPRESSOR, Decompressor::new, |d| {
                d.decompress(&payload, raw_len)
            })
            .map_err(|e| corrupt(format!("zstd: {e}")))?;
            if out.len() != raw_len {
                return Err(corrupt(format!(
                    "decoded {} bytes, expected {raw_len}",
                    out.len()
                )));
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_stay_plain_large_ones_compress() {
        let small = encode(b"{\"id\":1}".to_vec(), "k").unwrap();
        assert_eq!(small.encoding, Encoding::Json);
        let json =
            serde_json::to_vec(&vec![serde_json::json!({"name": "Batman", "id": 1}); 200]).unwrap();
        let big = encode(json.clone(), "k").unwrap();
        assert_eq!(big.encoding, Encoding::Zstd);
        assert!(big.payload.len() * 10 < json.len());
        assert_eq!(
            decode(big.encoding, big.payload, big.raw_len, "k").unwrap(),
            json
        );
    }

    #[test]
    fn incompressible_values_are_kept_as_they_are() {
        let mut rng = fastrand_like(7);
        let noise: Vec<u8> = (0..4_096).map(|_| rng()).collect();
        let e = encode(noise.clone(), "k").unwrap();
        assert_eq!((e.encoding, &e.payload), (Encoding::Json, &noise));
        assert_eq!(e.chunks().count(), 1);
    }

    #[test]
    fn corrupt_payloads_are_typed_errors() {
        let e = decode(Encoding::Zstd, vec![1, 2, 3], 10, "cache entry k").unwrap_err();
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
        assert!(Encoding::parse("gzip", "x").is_err());
        let tiny = encode(vec![b'x'; 10], "k").unwrap();
        assert!(tiny.is_inline());
    }

    #[test]
    fn everything_encode_accepts_decode_reads() {
        let at_limit = vec![b'x'; MAX_VALUE_BYTES];
        let e = encode(at_limit.clone(), "k").unwrap();
        assert_eq!(e.encoding, Encoding::Zstd);
        assert_eq!(
            decode(e.encoding, e.payload, e.raw_len, "k").unwrap(),
            at_limit
        );
        let mut over = at_limit;
        over.push(b'x');
        match encode(over, "k").unwrap_err() {
            StoreError::ItemTooLarge { key, size, limit } => {
                assert_eq!(
                    (key.as_str(), size, limit),
                    ("k", MAX_VALUE_BYTES + 1, MAX_VALUE_BYTES)
                );
            }
            other => panic!("{other}"),
        }
        let tiny = encode(vec![b'y'; 1_000], "k").unwrap();
        let e = decode(Encoding::Zstd, tiny.payload, MAX_VALUE_BYTES + 1, "k").unwrap_err();
        assert!(e.to_string().contains("implausible"), "{e}");
    }

    fn fastrand_like(mut seed: u64) -> impl FnMut() -> u8 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        }
    }
}
