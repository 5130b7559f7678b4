//! Decoding JSON into our types. Every typed decode goes through [`from_json`] (text) or
//! [`from_value`] (an already parsed tree), for the wasm's sake:
//! - the text is parsed once, into a [`serde_json::Value`]: serde_json's text parser then
//!   exists once in the wasm rather than once per type;
//! - the tree is read by [`Tree`], a deserializer that reads structs from JSON objects only.
//!   serde_json's own would also accept a struct written as an array, which makes every derived
//!   `visit_seq` part of the wasm (about 44 KB of code nobody calls: we never write structs as
//!   arrays);
//! - its [`Error`] names what was expected but not the value found, which keeps float
//!   formatting (`Unexpected::Float`) out of the wasm.
//!
//! Our records are small; the extra tree costs little.

use serde::de::{self, DeserializeOwned, DeserializeSeed, Expected, Unexpected, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Why a decode failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
    fn invalid_type(_: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Error(format!("invalid type: expected {expected}"))
    }
    fn invalid_value(_: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Error(format!("invalid value: expected {expected}"))
    }
    /// A tuple of the wrong length, or a struct missing a field (which [`InOrder::explain`]
    /// then names). What was expected is left out: inlined, this keeps every struct's
    /// "struct X with N elements" out of the wasm.
    #[inline(always)]
    fn invalid_length(len: usize, _: &dyn Expected) -> Self {
        wrong_length(len)
    }
}

/// Decode JSON text.
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    from_value(parse(text)?)
}

/// The text parse, apart from the generic [`from_json`]: once in the wasm, not in every copy.
#[inline(never)]
fn parse(text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|e| Error(e.to_string()))
}

/// Decode a parsed JSON tree.
pub fn from_value<T: DeserializeOwned>(tree: Value) -> Result<T, Error> {
    T::deserialize(Tree(tree))
}

/// A JSON tree, read as serde's data model.
pub struct Tree(pub Value);

fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(_) => Unexpected::Other("number"),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

impl<'de> de::Deserializer<'de> for Tree {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => visitor.visit_u64(u),
                (None, Some(i)) => visitor.visit_i64(i),
                (None, None) => visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => visitor.visit_seq(Seq(items.into_iter())),
            Value::Object(map) => visitor.visit_map(Fields::new(map)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Tree(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// Structs are JSON objects, nothing else. Their fields are handed to the derived
    /// `visit_seq` in declaration order, each looked up by name ([`InOrder`]): that code is far
    /// smaller than the derived `visit_map` (no key matching, no duplicate checks; a JSON
    /// object has no duplicate keys anyway), which then is not in the wasm at all (about 20 KB
    /// gzipped). Unknown keys are ignored, as `visit_map` ignores them.
    fn deserialize_struct<V: Visitor<'de>>(self, _name: &'static str, fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => {
                let mut record = InOrder { map, names: fields.iter(), missing: None };
                let read = visitor.visit_seq(&mut record);
                read.map_err(|e| record.explain(e))
            }
            _ => Err(wrong(&visitor)),
        }
    }

    /// Externally tagged: `"variant"` or `{"variant": content}`. The name alone reads as
    /// `{"variant": null}`: one way in, so one copy of each enum's `visit_enum` in the wasm.
    fn deserialize_enum<V: Visitor<'de>>(self, _name: &'static str, _variants: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(variant) => visitor.visit_enum(Variant { variant, content: Value::Null }),
            Value::Object(map) if map.len() == 1 => {
                let (variant, content) = map.into_iter().next().expect("one entry");
                visitor.visit_enum(Variant { variant, content })
            }
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    // The types our records use, each read from the one JSON type it is written as: one
    // error path each, rather than every `visit_*` of `deserialize_any` per field.
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Bool(b) => visitor.visit_bool(b),
            _ => Err(wrong(&visitor)),
        }
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Number(n) => match n.as_u64() {
                Some(u) => visitor.visit_u64(u),
                None => Err(wrong(&visitor)),
            },
            _ => Err(wrong(&visitor)),
        }
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_string(s),
            _ => Err(wrong(&visitor)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Seq(items.into_iter())),
            _ => Err(wrong(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Fields::new(map)),
            _ => Err(wrong(&visitor)),
        }
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u128 f32 f64 char
        bytes byte_buf unit unit_struct tuple_struct
    }
}

#[inline(never)]
fn wrong_length(len: usize) -> Error {
    Error(format!("invalid length {len}"))
}

/// The one error for a value of the wrong JSON type.
#[inline(never)]
fn wrong(expected: &dyn Expected) -> Error {
    Error(format!("invalid type: expected {expected}"))
}

struct Seq(std::vec::IntoIter<Value>);

impl<'de> de::SeqAccess<'de> for Seq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        self.0.next().map(|v| seed.deserialize(Tree(v))).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// A JSON object read as a struct's fields in order. A missing key is an absent element:
/// the derived code then takes the field's `#[serde(default)]`, or fails (see
/// [`InOrder::explain`]). So an `Option` field that may be missing needs `#[serde(default)]`
/// (`visit_map` would have read a missing `Option` as `None` without it).
struct InOrder {
    map: Map<String, Value>,
    names: std::slice::Iter<'static, &'static str>,
    /// The field just found missing, if the last element asked for was absent.
    missing: Option<&'static str>,
}

impl InOrder {
    /// The next field's value, if the object has it.
    fn next(&mut self) -> Option<Option<Value>> {
        let name = self.names.next()?;
        // Taken, not removed: no B-tree removal code for this map in the wasm (1.5 KB gzipped).
        let value = self.map.get_mut(*name).map(Value::take);
        self.missing = if value.is_none() { Some(name) } else { None };
        Some(value)
    }

    /// A failure right after an absent element is the derived code refusing a missing field
    /// without a default (as a wrong length): name the field instead.
    #[inline(never)]
    fn explain(&self, e: Error) -> Error {
        match self.missing {
            Some(name) => de::Error::missing_field(name),
            None => e,
        }
    }
}

impl<'de> de::SeqAccess<'de> for InOrder {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        match self.next() {
            Some(Some(value)) => seed.deserialize(Tree(value)).map(Some),
            _ => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.names.len())
    }
}

struct Fields {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl Fields {
    fn new(map: Map<String, Value>) -> Self {
        Fields { entries: map.into_iter(), value: None }
    }
}

impl<'de> de::MapAccess<'de> for Fields {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(Key(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(Tree(self.value.take().unwrap_or(Value::Null)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An object's key (or an enum's variant name): a string, whatever type reads it.
struct Key(String);

impl<'de> de::Deserializer<'de> for Key {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_string(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct Variant {
    variant: String,
    content: Value,
}

impl<'de> de::EnumAccess<'de> for Variant {
    type Error = Error;
    type Variant = Tree;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Tree), Error> {
        Ok((seed.deserialize(Key(self.variant))?, Tree(self.content)))
    }
}

impl<'de> de::VariantAccess<'de> for Tree {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            Value::Null => Ok(()),
            other => Err(de::Error::invalid_type(unexpected(&other), &"a unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}

#[cfg(test)]
mod tests;
