//! Random scalars: number texts of every kind, and string literals with escapes.

use serde_json::{Number, Value};

use super::{Doc, Rng};

/// A random JSON number text of every kind the [module docs](super) list.
pub fn number(rng: &mut Rng) -> Doc {
    match rng.below(8) {
        0 | 1 => {
            let f = random_f64(rng);
            float_doc(format!("{f:.16e}"))
        }
        2 => {
            let f = random_f64(rng);
            float_doc(ryu_js::Buffer::new().format(f).to_owned())
        }
        3 => integer_doc(near_power_of_two(rng)),
        4 => integer_doc(big_integer_text(rng)),
        5 => float_doc(decimal_text(rng)),
        6 => float_doc(
            rng.pick(&[
                "5e-324",
                "-5e-324",
                "2.4703282292062327e-324",
                "2.4703282292062328e-324",
                "2.2250738585072014e-308",
                "2.225073858507201e-308",
                "1.7976931348623157e308",
                "1.7976931348623158e+308",
                "1e21",
                "1E+21",
                "9.999999999999999e20",
                "1e-7",
                "0.000001",
                "-0.0",
                "0.0",
                "1.0",
                "9007199254740993.0",
                "0.1",
                "0.30000000000000004",
                "0.41817215137075947",
                "123456789012345678901234567890e-10",
                "1e400",
                "-1e400",
                "1e-400",
            ])
            .to_string(),
        ),
        _ => integer_doc(rng.pick(&["0", "-0", "1", "-1", "100"]).to_string()),
    }
}

fn random_f64(rng: &mut Rng) -> f64 {
    loop {
        let bits = if rng.one_in(8) {
            // A subnormal (or zero): exponent bits all zero.
            rng.next_u64() & 0x800F_FFFF_FFFF_FFFF
        } else {
            rng.next_u64()
        };
        let f = f64::from_bits(bits);
        if f.is_finite() {
            return f;
        }
    }
}

fn near_power_of_two(rng: &mut Rng) -> String {
    let power = *rng.pick(&[53_u32, 63, 64, 65]);
    let delta = rng.below(5) as i128 - 2;
    let magnitude = (1_i128 << power) + delta;
    let sign = if rng.one_in(2) { "-" } else { "" };
    format!("{sign}{magnitude}")
}

/// Mostly within 64 bits (up to 19 digits), one in four up to 40 digits.
fn big_integer_text(rng: &mut Rng) -> String {
    let most = if rng.one_in(4) { 40 } else { 19 };
    let digits = 1 + rng.below(most) as usize;
    digits_text(rng, digits)
}

fn digits_text(rng: &mut Rng, digits: usize) -> String {
    let mut s = String::new();
    if rng.one_in(2) {
        s.push('-');
    }
    s.push(char::from(b'1' + rng.below(9) as u8));
    for _ in 1..digits {
        s.push(char::from(b'0' + rng.below(10) as u8));
    }
    s
}

fn decimal_text(rng: &mut Rng) -> String {
    let digits = 1 + rng.below(20) as usize;
    let mut s = digits_text(rng, digits);
    if rng.one_in(2) {
        s.push('.');
        for _ in 0..1 + rng.below(20) {
            s.push(char::from(b'0' + rng.below(10) as u8));
        }
    }
    s.push_str(rng.pick::<&str>(&["e", "E"]));
    let sign = *rng.pick::<&str>(&["", "+", "-"]);
    s.push_str(sign);
    // Rarely beyond the f64 range (above 1e308), often subnormal or underflowing.
    let max = if sign == "-" { 345 } else { 300 };
    s.push_str(&rng.below(max).to_string());
    s
}

/// A number text with a fraction or exponent: the value is what the standard
/// library's correctly rounded parser reads, unless it is beyond the `f64` range.
/// (Integer texts, which shortest forms can be, go to [`integer_doc`].)
fn float_doc(text: String) -> Doc {
    if !text.contains(['.', 'e', 'E']) {
        return integer_doc(text);
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => {
            let value = Number::from_f64(f).map(Value::Number);
            Doc::scalar(text, value)
        }
        _ => Doc::scalar(text, None),
    }
}

/// An integer text: exact when it fits `i64` or `u64` (serde_json reads `-0` as -0.0).
fn integer_doc(text: String) -> Doc {
    let value = if text == "-0" {
        Some(Value::from(-0.0))
    } else if let Ok(u) = text.parse::<u64>() {
        Some(Value::from(u))
    } else {
        text.parse::<i64>().ok().map(Value::from)
    };
    Doc::scalar(text, value)
}

/// A random JSON string literal and, unless it has a lone surrogate, its decoded text.
pub fn string(rng: &mut Rng, allow_lone_surrogates: bool) -> (String, Option<String>) {
    let mut text = String::from("\"");
    let mut decoded = Some(String::new());
    for _ in 0..rng.below(8) {
        let (piece, plain): (String, Option<String>) = match rng.below(12) {
            0..=3 => {
                let c = char::from(b' ' + rng.below(95) as u8);
                match c {
                    '"' | '\\' => (format!("\\{c}"), Some(c.to_string())),
                    _ => (c.to_string(), Some(c.to_string())),
                }
            }
            4 => {
                let c = *rng.pick(&[
                    'é', '日', '本', '\u{ff5e}', '\u{2028}', '\u{7f}', '\u{fffd}',
                ]);
                (c.to_string(), Some(c.to_string()))
            }
            5 => {
                let c = *rng.pick(&['😀', '\u{10000}', '\u{10ffff}', '🦀']);
                (c.to_string(), Some(c.to_string()))
            }
            6 => {
                let c = char::from_u32(0x1_0000 + rng.below(0x10_0000) as u32).unwrap_or('x');
                let mut units = [0_u16; 2];
                let units = c.encode_utf16(&mut units);
                let hex = if rng.one_in(2) {
                    format!("\\u{:04x}\\u{:04x}", units[0], units[1])
                } else {
                    format!("\\u{:04X}\\u{:04X}", units[0], units[1])
                };
                (hex, Some(c.to_string()))
            }
            7 => {
                let c = char::from_u32(rng.below(0xD800) as u32).unwrap_or('x');
                (format!("\\u{:04x}", c as u32), Some(c.to_string()))
            }
            8 => {
                let (esc, c) = *rng.pick(&[
                    ("\\n", '\n'),
                    ("\\t", '\t'),
                    ("\\r", '\r'),
                    ("\\b", '\u{8}'),
                    ("\\f", '\u{c}'),
                    ("\\/", '/'),
                    ("\\u0000", '\0'),
                    ("\\u001f", '\u{1f}'),
                ]);
                (esc.to_owned(), Some(c.to_string()))
            }
            9 if allow_lone_surrogates && rng.one_in(4) => {
                let unit = 0xD800 + rng.below(0x800);
                (format!("\\u{unit:04x}"), None)
            }
            _ => {
                let s = *rng.pick(&["Batman", "id", "01", "10", "4294967295", "__proto__"]);
                (s.to_owned(), Some(s.to_owned()))
            }
        };
        text.push_str(&piece);
        decoded = decoded.zip(plain).map(|(mut d, p)| {
            d.push_str(&p);
            d
        });
    }
    text.push('"');
    (text, decoded)
}
