//! JSON → component values: the gate every argument passes before a guest
//! runs. Anything the derived schema would reject is refused here, with the
//! JSON path and what was expected.

use std::collections::HashSet;

use serde_json::{Map, Value};
use wasmtime::component::Val;

use super::{ConvertError, JsonPath, describe};
use crate::schema::{Conventions, F32_MAX};
use crate::types::ValType;

/// Converts tool arguments (a JSON object, absent meaning `{}`) to the values of
/// `params`, in declaration order. Every parameter is required but an
/// omissible one ([`Conventions::omissible`]); unknown ones are refused.
pub fn args_to_vals(
    params: &[(String, ValType)],
    args: Option<&Map<String, Value>>,
    conv: Conventions,
) -> Result<Vec<Val>, ConvertError> {
    let empty = Map::new();
    let args = args.unwrap_or(&empty);
    let root = JsonPath::root();
    let fields: Vec<(String, Val)> = object_fields(params, args, &root, "parameter", conv)?;
    Ok(fields.into_iter().map(|(_, val)| val).collect())
}

/// Shared by records and the arguments object: every field required but the
/// omissible ones, no others. Keys are the fields' JSON names; the values
/// keep their WIT names, which the component's record types carry.
fn object_fields(
    fields: &[(String, ValType)],
    object: &Map<String, Value>,
    path: &JsonPath,
    what: &str,
    conv: Conventions,
) -> Result<Vec<(String, Val)>, ConvertError> {
    for key in object.keys() {
        if !fields.iter().any(|(name, _)| conv.name(name) == key.as_str()) {
            let known: Vec<String> = fields.iter().map(|(name, _)| conv.name(name).into_owned()).collect();
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
            let key = conv.name(name);
            let field_path = path.key(&key);
            match object.get(key.as_ref()) {
                Some(value) => Ok((name.clone(), to_val(ty, value, &field_path, conv)?)),
                None if conv.omissible(ty) => Ok((name.clone(), Val::Option(None))),
                None => Err(field_path.error(format!("required {what} `{key}` ({ty})"), "nothing")),
            }
        })
        .collect()
}

/// Converts one JSON value to a component value of type `ty`.
pub fn to_val(ty: &ValType, value: &Value, path: &JsonPath, conv: Conventions) -> Result<Val, ConvertError> {
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
        ValType::List(inner) => Val::List(array_items(inner, value, path, None, conv)?),
        ValType::FixedList(inner, len) => {
            Val::FixedLengthList(array_items(inner, value, path, Some(*len as usize), conv)?)
        }
        ValType::StringMap(inner) => match value {
            Value::Object(map) => Val::Map(
                map.iter()
                    .map(|(key, item)| {
                        Ok((Val::String(key.clone()), to_val(inner, item, &path.key(key), conv)?))
                    })
                    .collect::<Result<_, ConvertError>>()?,
            ),
            _ => return mismatch("object"),
        },
        ValType::Record(fields) => match value {
            Value::Object(map) => Val::Record(object_fields(fields, map, path, "field", conv)?),
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
                    .map(|(i, (ty, item))| to_val(ty, item, &path.index(i), conv))
                    .collect::<Result<_, _>>()?,
            )
        }
        ValType::Variant(cases) => {
            let (tag, payload) =
                tagged(cases.iter().map(|(n, t)| (n.as_str(), t.as_ref())), value, path, conv)?;
            Val::Variant(tag, payload)
        }
        ValType::Enum(names) => match value.as_str() {
            Some(s) if names.iter().any(|n| n == s) => Val::Enum(s.to_string()),
            _ => return mismatch(&format!("one of the strings {}", quoted_list(names))),
        },
        ValType::Option(inner) => match value {
            Value::Null => Val::Option(None),
            _ => Val::Option(Some(Box::new(to_val(inner, value, path, conv)?))),
        },
        ValType::Result { ok, err } => {
            let cases = [("ok", ok.as_deref()), ("err", err.as_deref())];
            let (tag, payload) = tagged(cases.into_iter(), value, path, conv)?;
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
    conv: Conventions,
) -> Result<Vec<Val>, ConvertError> {
    match value {
        Value::Array(items) if len.is_none_or(|len| items.len() == len) => {
            items.iter().enumerate().map(|(i, item)| to_val(inner, item, &path.index(i), conv)).collect()
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
    conv: Conventions,
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
            Some(val) => Some(Box::new(to_val(ty, val, &path.key("val"), conv)?)),
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

/// True when `json` holds a number in float form too large to be an exact
/// integer: there the converter is deliberately stricter than JSON Schema,
/// which cannot say so.
pub fn holds_inexact_float_integer(json: &Value) -> bool {
    match json {
        Value::Number(n) => {
            n.is_f64() && n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() >= MAX_EXACT_FLOAT_INTEGER)
        }
        Value::Array(items) => items.iter().any(holds_inexact_float_integer),
        Value::Object(map) => map.values().any(holds_inexact_float_integer),
        _ => false,
    }
}

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
