//! The stub's Comic Vine-shaped answer bodies.

use serde_json::{Value, json};

/// `n` of an object id `<type>-<n>` with `n > 0`.
pub(crate) fn object_number(id: &str) -> Option<u64> {
    let (kind, n) = id.split_once('-')?;
    kind.parse::<u32>().ok()?;
    n.parse::<u64>().ok().filter(|&n| n > 0)
}

/// A Comic Vine-shaped single-object response.
pub(crate) fn object_body(resource: &str, id: &str, n: u64) -> Value {
    json!({"error": "OK", "limit": 1, "offset": 0, "number_of_page_results": 1,
    "number_of_total_results": 1, "status_code": 1,
    "results": {
        "id": n, "name": format!("{resource} {id}"),
        "deck": format!("The {resource} {id}, as the stub API tells it."),
        "api_detail_url": format!("https://comicvine.gamespot.com/api/{resource}/{id}/"),
        "date_added": "2008-06-06 11:10:16",
    }})
}

/// A Comic Vine-shaped list response whose size depends on the request: one request
/// in eight is a big list (about 600 KB), the others a few KB.
pub(crate) fn list_body(resource: &str, path: &str) -> Value {
    let seed = path.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let results = if seed % 8 == 0 {
        1_500
    } else {
        4 + (seed % 12) as usize
    };
    let items: Vec<_> = (0..results)
        .map(|i| {
            json!({
                "id": i, "name": format!("{resource} #{i}"),
                "deck": format!("Result {i} of {path}, as the stub API tells it, with a deck of some length."),
                "api_detail_url": format!("https://comicvine.gamespot.com/api/{resource}/4000-{i}/"),
                "image": {"original_url": format!("https://comicvine.gamespot.com/a/uploads/original/{seed:x}/{i}.jpg")},
                "date_added": "2008-06-06 11:10:16",
            })
        })
        .collect();
    json!({"error": "OK", "limit": 100, "offset": 0, "number_of_page_results": results,
           "number_of_total_results": results, "status_code": 1, "results": items})
}
