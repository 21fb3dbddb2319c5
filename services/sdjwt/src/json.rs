//! Strict JSON reading for untrusted input: no duplicate member names (RFC 7515 §5.2 lets a JWS
//! consumer reject them, and accepting them lets two parsers see two different headers), a
//! nesting-depth limit, and a size limit checked before any parsing.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a JSON text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// More bytes than allowed.
    #[error("JSON is {len} bytes; the limit is {max}")]
    TooLarge { len: usize, max: usize },
    /// Not JSON, a duplicate member name, or nested deeper than allowed.
    #[error("JSON refused: {0}")]
    Invalid(String),
}

/// Parses `bytes` as one JSON value, refusing duplicate member names and nesting deeper than
/// `max_depth` (an object or array at the top is depth 1).
pub fn parse_strict(bytes: &[u8], max_bytes: usize, max_depth: usize) -> Result<Value, JsonError> {
    if bytes.len() > max_bytes {
        return Err(JsonError::TooLarge {
            len: bytes.len(),
            max: max_bytes,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict {
        depth: 0,
        max_depth,
    }
    .deserialize(&mut de)
    .map_err(|e| JsonError::Invalid(e.to_string()))?;
    de.end().map_err(|e| JsonError::Invalid(e.to_string()))?;
    Ok(value)
}

/// The nesting depth of an already parsed value (scalars are 0).
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[derive(Clone, Copy)]
struct Strict {
    depth: usize,
    max_depth: usize,
}

impl Strict {
    fn deeper<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= self.max_depth {
            return Err(E::custom(format!(
                "nested deeper than {} levels",
                self.max_depth
            )));
        }
        Ok(Self {
            depth: self.depth + 1,
            max_depth: self.max_depth,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("not a finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(inner)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate member {key:?}")));
            }
            let v = map.next_value_seed(inner)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_duplicates_depth_and_size() {
        assert!(parse_strict(br#"{"a":1,"b":[1,{"c":2}]}"#, 100, 3).is_ok());
        let dup = parse_strict(br#"{"alg":"ES256","alg":"none"}"#, 100, 3);
        assert!(matches!(dup, Err(JsonError::Invalid(m)) if m.contains("duplicate")));
        let nested = parse_strict(br#"{"a":{"b":{"c":{}}}}"#, 100, 3);
        assert!(matches!(nested, Err(JsonError::Invalid(m)) if m.contains("deeper")));
        assert!(parse_strict(br#"{"a":{"b":{"c":1}}}"#, 100, 3).is_ok());
        assert_eq!(
            parse_strict(b"[1,2,3]", 6, 3),
            Err(JsonError::TooLarge { len: 7, max: 6 })
        );
        assert!(parse_strict(b"{} {}", 100, 3).is_err());
        assert_eq!(depth(&serde_json::json!({"a": [1, {"b": 2}]})), 3);
    }
}
