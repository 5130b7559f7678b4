//! Reading JSON that someone else wrote: request bodies, client metadata documents, JWKS, JWT
//! headers and claims. serde_json does the parsing and the typed decoding; this module adds
//! the one rule it leaves to its caller: **no object may name a key twice**.
//!
//! serde_json keeps the last of two equal keys when it builds a [`Value`], and derived structs
//! refuse a duplicate only for the fields they know. A body such as
//! `{"issuer": "https://good…", "issuer": "https://evil…"}` must not be read as either
//! (RFC 8259 §4 leaves duplicates undefined; RFC 7515 §4 lets a JWS parser refuse them, which
//! we do): [`parse`] refuses it and names the key, and [`decode`] parses that way before it
//! decodes into a type, so every external JSON input has one meaning.
//!
//! The check is a [`DeserializeSeed`] that builds a [`Value`] as serde_json's own visitor does,
//! refusing a repeated key; no crate offers it (serde_json has no option for it).
//! Our own records (written by this server) are read with `serde_json::from_str` directly.

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::fmt;

/// Why JSON text was refused, and the field to blame when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The offending key (a duplicate, or the field a typed decode failed at), when known.
    pub field: Option<String>,
    message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Parse JSON text into a tree, refusing a key repeated in any object.
pub fn parse(text: &str) -> Result<Value, Error> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Strict { duplicate: &duplicate }.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| match duplicate.into_inner() {
        Some(key) => Error { message: format!("invalid JSON: the key \"{}\" appears twice", shorten(&key)), field: Some(key) },
        None => Error { field: None, message: format!("invalid JSON: {e}") },
    })
}

/// Parse JSON bytes that must be a UTF-8 JSON object (a request body, a document).
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error { field: None, message: "invalid JSON: not UTF-8".into() })?;
    match parse(text)? {
        Value::Object(m) => Ok(m),
        _ => Err(Error { field: None, message: "the body must be a JSON object".into() }),
    }
}

/// Decode external JSON text into a type: [`parse`] (no duplicate keys), then serde_json's
/// typed decoding, with the path of the field that failed (`serde_path_to_error`).
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    let tree = parse(text)?;
    serde_path_to_error::deserialize(tree).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        Error { message: format!("invalid JSON: {}", e.inner()), field }
    })
}

/// A key as it may be quoted back in an error: at most 64 characters.
fn shorten(key: &str) -> String {
    match key.char_indices().nth(64) {
        Some((cut, _)) => format!("{}…", &key[..cut]),
        None => key.to_string(),
    }
}

/// Builds a [`Value`], remembering the first repeated key it meets.
#[derive(Clone, Copy)]
struct Strict<'a> {
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        // JSON text has no NaN or infinity, so this is always a number.
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let error = de::Error::custom(format_args!("duplicate key {key:?}"));
                *self.duplicate.borrow_mut() = Some(key);
                return Err(error);
            }
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests;
