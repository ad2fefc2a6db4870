//! Random JSON texts for exactness tests, each with the [`Value`] it must read as when
//! a `Value` holds it exactly (computed without serde_json's parser: floats by the
//! standard library's correctly rounded parser, strings decoded here).
//!
//! Covers 17-significant-digit and shortest-form floats from random bits (subnormals
//! included), integers at and beyond ±2^53, ±2^63 and ±2^64, exponent forms, strings
//! with astral characters, escapes (surrogate pairs, lone surrogates) and controls, any
//! key order and duplicate keys, random whitespace, and nesting up to
//! [`VALUE_MAX_DEPTH`] (deeper for documents only raw text can hold).

use serde_json::{Map, Value};

mod scalars;

pub use scalars::{number, string};

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

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
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

    pub(crate) fn scalar(text: String, value: Option<Value>) -> Self {
        Self {
            text,
            value,
            depth: 0,
        }
    }
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
        let mut values = Some(Vec::new());
        let (text, depth) = self.bracketed(('[', ']'), items, |_, item, text| {
            text.push_str(&item.text);
            values = values.take().zip(item.value).map(|(mut vs, v)| {
                vs.push(v);
                vs
            });
        });
        Doc {
            text,
            value: values.map(Value::Array),
            depth,
        }
    }

    fn object(&mut self, members: Vec<Doc>) -> Doc {
        let mut map = Some(Map::new());
        let (text, depth) = self.bracketed(('{', '}'), members, |g, member, text| {
            let (key_text, key) = string(g.rng, g.options.lone_surrogates);
            text.push_str(&format!("{key_text}{}:{}{}", g.ws(), g.ws(), member.text));
            // serde_json keeps the last of duplicate keys.
            map = map
                .take()
                .zip(key.zip(member.value))
                .map(|(mut m, (k, v))| {
                    m.insert(k, v);
                    m
                });
        });
        Doc {
            text,
            value: map.map(Value::Object),
            depth,
        }
    }

    /// The text of `parts` between `brackets`, comma-separated, with random white space
    /// inside each bracket and around each comma (`write` writes one part), and the
    /// depth of the container.
    fn bracketed(
        &mut self,
        brackets: (char, char),
        parts: Vec<Doc>,
        mut write: impl FnMut(&mut Self, Doc, &mut String),
    ) -> (String, usize) {
        let mut text = format!("{}{}", brackets.0, self.ws());
        let depth = 1 + parts.iter().map(|d| d.depth).max().unwrap_or(0);
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                text.push_str(&format!("{},{}", self.ws(), self.ws()));
            }
            write(self, part, &mut text);
        }
        text.push_str(&format!("{}{}", self.ws(), brackets.1));
        (text, depth)
    }
}
