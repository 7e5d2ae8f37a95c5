//! JSON ⇄ component values, guided by a [`ValType`].
//!
//! `to_val` is the gate every argument passes before a guest runs: anything the
//! schema from `schema` would reject is refused here with the JSON path and what
//! was expected. `to_json` turns results back, refusing what JSON cannot carry
//! (non-finite floats). Pure code: no wasmtime store.

use std::collections::HashSet;
use std::fmt;

use serde_json::{Map, Number, Value};
use wasmtime::component::Val;

use crate::schema::F32_MAX;
use crate::types::ValType;

/// A value that does not fit its type, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at `{path}`: expected {expected}, found {found}")]
pub struct ConvertError {
    /// JSONPath-style location, `$` being the arguments object (or the result).
    pub path: String,
    pub expected: String,
    pub found: String,
}

/// A location inside a JSON document, built up while descending.
#[derive(Debug, Clone, Default)]
pub struct JsonPath(Vec<Segment>);

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

impl JsonPath {
    pub fn root() -> Self {
        Self::default()
    }
    fn key(&self, key: &str) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.to_string()));
        next
    }
    fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }
    fn error(&self, expected: impl Into<String>, found: impl Into<String>) -> ConvertError {
        ConvertError { path: self.to_string(), expected: expected.into(), found: found.into() }
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for segment in &self.0 {
            match segment {
                Segment::Key(key)
                    if !key.is_empty()
                        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
                {
                    write!(f, ".{key}")?
                }
                Segment::Key(key) => write!(f, "[{}]", Value::String(key.clone()))?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A short description of a JSON value for error messages (never the whole value:
/// arguments may be large or sensitive).
fn describe(value: &Value) -> String {
    const PREVIEW: usize = 40;
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.chars().count() <= PREVIEW => {
            format!("string {}", Value::String(s.clone()))
        }
        Value::String(s) => {
            let head: String = s.chars().take(PREVIEW).collect();
            format!("string {}… ({} characters)", Value::String(head), s.chars().count())
        }
        Value::Array(items) => format!("array of {} items", items.len()),
        Value::Object(map) => format!("object with {} properties", map.len()),
    }
}

/// Converts tool arguments (a JSON object, absent meaning `{}`) to the values of
/// `params`, in declaration order. Every parameter is required; unknown ones are refused.
pub fn args_to_vals(
    params: &[(String, ValType)],
    args: Option<&Map<String, Value>>,
) -> Result<Vec<Val>, ConvertError> {
    let empty = Map::new();
    let args = args.unwrap_or(&empty);
    let root = JsonPath::root();
    let fields: Vec<(String, Val)> = object_fields(params, args, &root, "parameter")?;
    Ok(fields.into_iter().map(|(_, val)| val).collect())
}

/// Shared by records and the arguments object: all fields required, no others.
fn object_fields(
    fields: &[(String, ValType)],
    object: &Map<String, Value>,
    path: &JsonPath,
    what: &str,
) -> Result<Vec<(String, Val)>, ConvertError> {
    for key in object.keys() {
        if !fields.iter().any(|(name, _)| name == key) {
            let known: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
            let expected = if known.is_empty() {
                format!("no {what}s")
            } else {
                format!("only the {what}s {}", known.join(", "))
            };
            return Err(path.key(key).error(expected, format!("unknown {what} `{key}`")));
        }
    }
    fields
        .iter()
        .map(|(name, ty)| {
            let field_path = path.key(name);
            match object.get(name) {
                Some(value) => Ok((name.clone(), to_val(ty, value, &field_path)?)),
                None => Err(field_path.error(format!("required {what} `{name}` ({ty})"), "nothing")),
            }
        })
        .collect()
}

/// Converts one JSON value to a component value of type `ty`.
pub fn to_val(ty: &ValType, value: &Value, path: &JsonPath) -> Result<Val, ConvertError> {
    let mismatch = |expected: &str| Err(path.error(expected, describe(value)));
    Ok(match ty {
        ValType::Bool => match value {
            Value::Bool(b) => Val::Bool(*b),
            _ => return mismatch("boolean"),
        },
        ValType::S8 => Val::S8(integer(value, path, ty)?),
        ValType::U8 => Val::U8(integer(value, path, ty)?),
        ValType::S16 => Val::S16(integer(value, path, ty)?),
        ValType::U16 => Val::U16(integer(value, path, ty)?),
        ValType::S32 => Val::S32(integer(value, path, ty)?),
        ValType::U32 => Val::U32(integer(value, path, ty)?),
        ValType::S64 => Val::S64(integer(value, path, ty)?),
        ValType::U64 => Val::U64(integer(value, path, ty)?),
        ValType::F32 => match value.as_f64() {
            Some(f) if f.abs() <= F32_MAX => Val::Float32(f as f32),
            Some(_) => return mismatch("number within the range of f32"),
            None => return mismatch("number"),
        },
        ValType::F64 => match value.as_f64() {
            Some(f) => Val::Float64(f),
            None => return mismatch("number"),
        },
        ValType::Char => match value.as_str() {
            Some(s) => {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Val::Char(c),
                    _ => return mismatch("string of exactly one character"),
                }
            }
            None => return mismatch("string of exactly one character"),
        },
        ValType::String => match value {
            Value::String(s) => Val::String(s.clone()),
            _ => return mismatch("string"),
        },
        ValType::List(inner) => Val::List(array_items(inner, value, path, None)?),
        ValType::FixedList(inner, len) => {
            Val::FixedLengthList(array_items(inner, value, path, Some(*len as usize))?)
        }
        ValType::StringMap(inner) => match value {
            Value::Object(map) => Val::Map(
                map.iter()
                    .map(|(key, item)| Ok((Val::String(key.clone()), to_val(inner, item, &path.key(key))?)))
                    .collect::<Result<_, ConvertError>>()?,
            ),
            _ => return mismatch("object"),
        },
        ValType::Record(fields) => match value {
            Value::Object(map) => Val::Record(object_fields(fields, map, path, "field")?),
            _ => return mismatch(&format!("object ({ty})")),
        },
        ValType::Tuple(types) => {
            let items = match value {
                Value::Array(items) if items.len() == types.len() => items,
                _ => return mismatch(&format!("array of exactly {} items ({ty})", types.len())),
            };
            Val::Tuple(
                types
                    .iter()
                    .zip(items)
                    .enumerate()
                    .map(|(i, (ty, item))| to_val(ty, item, &path.index(i)))
                    .collect::<Result<_, _>>()?,
            )
        }
        ValType::Variant(cases) => {
            let (tag, payload) = tagged(cases.iter().map(|(n, t)| (n.as_str(), t.as_ref())), value, path)?;
            Val::Variant(tag, payload)
        }
        ValType::Enum(names) => match value.as_str() {
            Some(s) if names.iter().any(|n| n == s) => Val::Enum(s.to_string()),
            _ => return mismatch(&format!("one of the strings {}", quoted_list(names))),
        },
        ValType::Option(inner) => match value {
            Value::Null => Val::Option(None),
            _ => Val::Option(Some(Box::new(to_val(inner, value, path)?))),
        },
        ValType::Result { ok, err } => {
            let cases = [("ok", ok.as_deref()), ("err", err.as_deref())];
            let (tag, payload) = tagged(cases.into_iter(), value, path)?;
            Val::Result(if tag == "ok" { Ok(payload) } else { Err(payload) })
        }
        ValType::Flags(names) => {
            let items = match value {
                Value::Array(items) => items,
                _ => {
                    return mismatch(&format!("array of distinct strings from {}", quoted_list(names)));
                }
            };
            let mut seen = HashSet::new();
            let mut set = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let item_path = path.index(i);
                match item.as_str() {
                    Some(flag) if names.iter().any(|n| n == flag) => {
                        if !seen.insert(flag) {
                            return Err(item_path.error("each flag at most once", format!("`{flag}` again")));
                        }
                        set.push(flag.to_string());
                    }
                    _ => {
                        return Err(item_path.error(format!("one of {}", quoted_list(names)), describe(item)));
                    }
                }
            }
            Val::Flags(set)
        }
    })
}

fn quoted_list(names: &[String]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

fn array_items(
    inner: &ValType,
    value: &Value,
    path: &JsonPath,
    len: Option<usize>,
) -> Result<Vec<Val>, ConvertError> {
    match value {
        Value::Array(items) if len.is_none_or(|len| items.len() == len) => {
            items.iter().enumerate().map(|(i, item)| to_val(inner, item, &path.index(i))).collect()
        }
        _ => Err(path.error(
            match len {
                Some(len) => format!("array of exactly {len} items"),
                None => "array".to_string(),
            },
            describe(value),
        )),
    }
}

/// `{"tag": name, "val": payload}` (no `val` for a case without payload).
fn tagged<'a>(
    cases: impl Iterator<Item = (&'a str, Option<&'a ValType>)> + Clone,
    value: &Value,
    path: &JsonPath,
) -> Result<(String, Option<Box<Val>>), ConvertError> {
    let names: Vec<String> = cases.clone().map(|(name, _)| name.to_string()).collect();
    let expected = || {
        format!("object {{\"tag\": one of {}, \"val\": payload if the case has one}}", quoted_list(&names))
    };
    let Value::Object(map) = value else {
        return Err(path.error(expected(), describe(value)));
    };
    let tag_path = path.key("tag");
    let Some(tag) = map.get("tag") else {
        return Err(tag_path.error(expected(), "nothing"));
    };
    let Some((name, payload_ty)) = cases.clone().find(|(name, _)| tag.as_str() == Some(name)) else {
        return Err(tag_path.error(format!("one of {}", quoted_list(&names)), describe(tag)));
    };
    for key in map.keys() {
        if key != "tag" && !(key == "val" && payload_ty.is_some()) {
            let expected = if payload_ty.is_some() {
                "only `tag` and `val`"
            } else {
                "only `tag` (this case carries no value)"
            };
            return Err(path.key(key).error(expected, format!("unknown property `{key}`")));
        }
    }
    let payload = match payload_ty {
        Some(ty) => match map.get("val") {
            Some(val) => Some(Box::new(to_val(ty, val, &path.key("val"))?)),
            None => {
                return Err(path.key("val").error(format!("the payload of `{name}` ({ty})"), "nothing"));
            }
        },
        None => None,
    };
    Ok((name.to_string(), payload))
}

/// Integers written in float form (`3.0`, `1e3`) are accepted only below this
/// magnitude, where a float is exact: beyond it the JSON parser may already have
/// rounded the number the client wrote to a neighbouring integer.
pub const MAX_EXACT_FLOAT_INTEGER: f64 = 9_007_199_254_740_992.0; // 2^53

/// Reads an integer of the width of `T`, accepting integral floats like `3.0`
/// (JSON Schema's `integer` does too) while they are exact.
fn integer<T: TryFrom<i128>>(value: &Value, path: &JsonPath, ty: &ValType) -> Result<T, ConvertError> {
    let wide: Option<i128> = match value {
        Value::Number(n) => n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)).or_else(|| {
            n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < MAX_EXACT_FLOAT_INTEGER).map(|f| f as i128)
        }),
        _ => None,
    };
    let expected = || {
        let (min, max) = integer_bounds(ty);
        format!("integer in {min}..={max} ({ty})")
    };
    match wide {
        Some(wide) => T::try_from(wide).map_err(|_| path.error(expected(), describe(value))),
        None => Err(path.error(expected(), describe(value))),
    }
}

fn integer_bounds(ty: &ValType) -> (i128, i128) {
    match ty {
        ValType::S8 => (i8::MIN.into(), i8::MAX.into()),
        ValType::U8 => (0, u8::MAX.into()),
        ValType::S16 => (i16::MIN.into(), i16::MAX.into()),
        ValType::U16 => (0, u16::MAX.into()),
        ValType::S32 => (i32::MIN.into(), i32::MAX.into()),
        ValType::U32 => (0, u32::MAX.into()),
        ValType::S64 => (i64::MIN.into(), i64::MAX.into()),
        _ => (0, u64::MAX.into()),
    }
}

/// Converts a component value of type `ty` to JSON.
pub fn to_json(ty: &ValType, val: &Val, path: &JsonPath) -> Result<Value, ConvertError> {
    let mismatch =
        || Err(path.error(ty.to_string(), format!("a guest value of another shape ({})", val_kind(val))));
    let float = |f: f64| match Number::from_f64(f) {
        Some(n) => Ok(Value::Number(n)),
        None => Err(path.error("a finite number (JSON has no NaN or infinity)", f.to_string())),
    };
    Ok(match (ty, val) {
        (ValType::Bool, Val::Bool(b)) => Value::Bool(*b),
        (ValType::S8, Val::S8(n)) => (*n).into(),
        (ValType::U8, Val::U8(n)) => (*n).into(),
        (ValType::S16, Val::S16(n)) => (*n).into(),
        (ValType::U16, Val::U16(n)) => (*n).into(),
        (ValType::S32, Val::S32(n)) => (*n).into(),
        (ValType::U32, Val::U32(n)) => (*n).into(),
        (ValType::S64, Val::S64(n)) => (*n).into(),
        (ValType::U64, Val::U64(n)) => (*n).into(),
        (ValType::F32, Val::Float32(f)) => float(f64::from(*f))?,
        (ValType::F64, Val::Float64(f)) => float(*f)?,
        (ValType::Char, Val::Char(c)) => Value::String(c.to_string()),
        (ValType::String, Val::String(s)) => Value::String(s.clone()),
        (ValType::List(inner), Val::List(items))
        | (ValType::FixedList(inner, _), Val::FixedLengthList(items)) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_json(inner, item, &path.index(i)))
                .collect::<Result<_, _>>()?,
        ),
        (ValType::StringMap(inner), Val::Map(entries)) => {
            let mut map = Map::new();
            for (key, item) in entries {
                let Val::String(key) = key else {
                    return mismatch();
                };
                // Last value wins for duplicate keys, as the component model specifies.
                map.insert(key.clone(), to_json(inner, item, &path.key(key))?);
            }
            Value::Object(map)
        }
        (ValType::Record(fields), Val::Record(values)) if fields.len() == values.len() => {
            let mut map = Map::new();
            for ((name, ty), (_, item)) in fields.iter().zip(values) {
                map.insert(name.clone(), to_json(ty, item, &path.key(name))?);
            }
            Value::Object(map)
        }
        (ValType::Tuple(types), Val::Tuple(items)) if types.len() == items.len() => Value::Array(
            types
                .iter()
                .zip(items)
                .enumerate()
                .map(|(i, (ty, item))| to_json(ty, item, &path.index(i)))
                .collect::<Result<_, _>>()?,
        ),
        (ValType::Variant(cases), Val::Variant(tag, payload)) => {
            let Some((_, payload_ty)) = cases.iter().find(|(name, _)| name == tag) else {
                return mismatch();
            };
            tagged_json(tag, payload_ty.as_ref(), payload.as_deref(), path)?
        }
        (ValType::Enum(names), Val::Enum(name)) if names.contains(name) => Value::String(name.clone()),
        (ValType::Option(_), Val::Option(None)) => Value::Null,
        (ValType::Option(inner), Val::Option(Some(item))) => to_json(inner, item, path)?,
        (ValType::Result { ok, .. }, Val::Result(Ok(payload))) => {
            tagged_json("ok", ok.as_deref(), payload.as_deref(), path)?
        }
        (ValType::Result { err, .. }, Val::Result(Err(payload))) => {
            tagged_json("err", err.as_deref(), payload.as_deref(), path)?
        }
        (ValType::Flags(_), Val::Flags(set)) => {
            Value::Array(set.iter().cloned().map(Value::String).collect())
        }
        _ => return mismatch(),
    })
}

fn tagged_json(
    tag: &str,
    ty: Option<&ValType>,
    payload: Option<&Val>,
    path: &JsonPath,
) -> Result<Value, ConvertError> {
    let mut map = Map::new();
    map.insert("tag".into(), Value::String(tag.to_string()));
    match (ty, payload) {
        (Some(ty), Some(payload)) => {
            map.insert("val".into(), to_json(ty, payload, &path.key("val"))?);
        }
        (None, None) => {}
        _ => {
            return Err(
                path.error(format!("case `{tag}` as declared"), "a payload that does not match the case")
            );
        }
    }
    Ok(Value::Object(map))
}

fn val_kind(val: &Val) -> &'static str {
    match val {
        Val::Bool(_) => "bool",
        Val::S8(_)
        | Val::U8(_)
        | Val::S16(_)
        | Val::U16(_)
        | Val::S32(_)
        | Val::U32(_)
        | Val::S64(_)
        | Val::U64(_) => "integer",
        Val::Float32(_) | Val::Float64(_) => "float",
        Val::Char(_) => "char",
        Val::String(_) => "string",
        Val::List(_) | Val::FixedLengthList(_) => "list",
        Val::Map(_) => "map",
        Val::Record(_) => "record",
        Val::Tuple(_) => "tuple",
        Val::Variant(..) => "variant",
        Val::Enum(_) => "enum",
        Val::Option(_) => "option",
        Val::Result(_) => "result",
        Val::Flags(_) => "flags",
        Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => "handle",
    }
}

#[cfg(test)]
mod tests;
