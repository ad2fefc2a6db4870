//! Random JSON texts for exactness tests, each with the [`Value`] it must read as when
//! a `Value` holds it exactly (computed without serde_json's parser: floats by the
//! standard library's correctly rounded parser, strings decoded here).
//!
//! Covers 17-significant-digit and shortest-form floats from random bits (subnormals
//! included), integers at and beyond ±2^53, ±2^63 and ±2^64, exponent forms, strings
//! with astral characters, escapes (surrogate pairs, lone surrogates) and controls, any
//! key order and duplicate keys, random whitespace, and nesting up to
//! [`VALUE_MAX_DEPTH`] (deeper for documents only raw text can hold).

use serde_json::{Map, Number, Value};

/// The deepest nesting of arrays and objects a [`Value`] parses (serde_json's
/// recursion limit of 128 refuses the 128th level).
pub const VALUE_MAX_DEPTH: usize = 127;

/// A small deterministic random number generator (SplitMix64), so a seed names a run.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The generator for item `index` of the run named by `seed`.
    pub fn for_item(seed: u64, index: u64) -> Self {
        let mut base = Self(seed ^ index.wrapping_mul(0xA076_1D64_78BD_642F));
        Self(base.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// One generated JSON text.
#[derive(Clone, Debug)]
pub struct Doc {
    /// The JSON text.
    pub text: String,
    /// What a [`Value`] reads it as, when a `Value` holds it exactly (no integer beyond
    /// 64 bits, no number beyond `f64`, no lone surrogate, nesting within
    /// [`VALUE_MAX_DEPTH`]).
    pub value: Option<Value>,
    /// How many arrays and objects are nested inside one another (0 for a scalar).
    pub depth: usize,
}

impl Doc {
    fn exact(text: String, value: Value) -> Self {
        Self {
            text,
            value: Some(value),
            depth: 0,
        }
    }

    fn scalar(text: String, value: Option<Value>) -> Self {
        Self {
            text,
            value,
            depth: 0,
        }
    }
}

/// A random JSON number text of every kind the module docs list.
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

/// What [`document`] may generate.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// The deepest nesting of arrays and objects.
    pub max_depth: usize,
    /// Whether strings may hold lone surrogates (not a `Value`, not a Rust string).
    pub lone_surrogates: bool,
    /// Whether to insert random whitespace between tokens.
    pub whitespace: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_depth: VALUE_MAX_DEPTH + 40,
            lone_surrogates: true,
            whitespace: true,
        }
    }
}

/// A random JSON document: mostly small trees, sometimes one deep chain.
pub fn document(rng: &mut Rng, options: Options) -> Doc {
    let mut g = Gen { rng, options };
    if g.rng.one_in(20) {
        let depth = 1 + g.rng.below(options.max_depth as u64) as usize;
        g.chain(depth)
    } else {
        g.tree(0)
    }
}

struct Gen<'a> {
    rng: &'a mut Rng,
    options: Options,
}

impl Gen<'_> {
    fn ws(&mut self) -> &'static str {
        if self.options.whitespace && self.rng.one_in(6) {
            self.rng.pick::<&str>(&[" ", "\n", "\t", "\r\n", "  "])
        } else {
            ""
        }
    }

    fn leaf(&mut self) -> Doc {
        match self.rng.below(6) {
            0 | 1 => number(self.rng),
            2 => {
                let (text, s) = string(self.rng, self.options.lone_surrogates);
                Doc::scalar(text, s.map(Value::String))
            }
            3 => Doc::exact("true".into(), Value::Bool(true)),
            4 => Doc::exact("false".into(), Value::Bool(false)),
            _ => Doc::exact("null".into(), Value::Null),
        }
    }

    fn tree(&mut self, depth: usize) -> Doc {
        if depth >= 4 || self.rng.below(3) == 0 {
            return self.leaf();
        }
        let n = self.rng.below(5) as usize;
        let children = (0..n).map(|_| self.tree(depth + 1)).collect();
        if self.rng.one_in(2) {
            self.array(children)
        } else {
            self.object(children)
        }
    }

    /// `depth` containers inside one another around a leaf.
    fn chain(&mut self, depth: usize) -> Doc {
        let mut doc = self.leaf();
        for _ in 0..depth {
            doc = if self.rng.one_in(2) {
                self.array(vec![doc])
            } else {
                self.object(vec![doc])
            };
        }
        if depth > VALUE_MAX_DEPTH {
            doc.value = None;
        }
        doc
    }

    fn array(&mut self, items: Vec<Doc>) -> Doc {
        let mut text = format!("[{}", self.ws());
        let mut values = Some(Vec::new());
        let depth = 1 + items.iter().map(|d| d.depth).max().unwrap_or(0);
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                text.push_str(&format!("{},{}", self.ws(), self.ws()));
            }
            text.push_str(&item.text);
            values = values.zip(item.value).map(|(mut vs, v)| {
                vs.push(v);
                vs
            });
        }
        text.push_str(&format!("{}]", self.ws()));
        Doc {
            text,
            value: values.map(Value::Array),
            depth,
        }
    }

    fn object(&mut self, members: Vec<Doc>) -> Doc {
        let mut text = format!("{{{}", self.ws());
        let mut map = Some(Map::new());
        let depth = 1 + members.iter().map(|d| d.depth).max().unwrap_or(0);
        for (i, member) in members.into_iter().enumerate() {
            if i > 0 {
                text.push_str(&format!("{},{}", self.ws(), self.ws()));
            }
            let (key_text, key) = string(self.rng, self.options.lone_surrogates);
            text.push_str(&format!(
                "{key_text}{}:{}{}",
                self.ws(),
                self.ws(),
                member.text
            ));
            // serde_json keeps the last of duplicate keys.
            map = map.zip(key.zip(member.value)).map(|(mut m, (k, v))| {
                m.insert(k, v);
                m
            });
        }
        text.push_str(&format!("{}}}", self.ws()));
        Doc {
            text,
            value: map.map(Value::Object),
            depth,
        }
    }
}
