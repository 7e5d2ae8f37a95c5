//! Component values → JSON: a guest's results, refusing what JSON cannot
//! carry (non-finite floats).

use serde_json::{Map, Number, Value};
use wasmtime::component::Val;

use super::{ConvertError, JsonPath};
use crate::schema::Conventions;
use crate::types::ValType;

/// Converts a component value of type `ty` to JSON.
pub fn to_json(ty: &ValType, val: &Val, path: &JsonPath, conv: Conventions) -> Result<Value, ConvertError> {
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
                .map(|(i, item)| to_json(inner, item, &path.index(i), conv))
                .collect::<Result<_, _>>()?,
        ),
        (ValType::StringMap(inner), Val::Map(entries)) => {
            let mut map = Map::new();
            for (key, item) in entries {
                let Val::String(key) = key else {
                    return mismatch();
                };
                // Last value wins for duplicate keys, as the component model specifies.
                map.insert(key.clone(), to_json(inner, item, &path.key(key), conv)?);
            }
            Value::Object(map)
        }
        (ValType::Record(fields), Val::Record(values)) if fields.len() == values.len() => {
            let mut map = Map::new();
            for ((name, ty), (_, item)) in fields.iter().zip(values) {
                if conv.omissible(ty) && matches!(item, Val::Option(None)) {
                    continue;
                }
                let key = conv.name(name);
                let value = to_json(ty, item, &path.key(&key), conv)?;
                map.insert(key.into_owned(), value);
            }
            Value::Object(map)
        }
        (ValType::Tuple(types), Val::Tuple(items)) if types.len() == items.len() => Value::Array(
            types
                .iter()
                .zip(items)
                .enumerate()
                .map(|(i, (ty, item))| to_json(ty, item, &path.index(i), conv))
                .collect::<Result<_, _>>()?,
        ),
        (ValType::Variant(cases), Val::Variant(tag, payload)) => {
            let Some((_, payload_ty)) = cases.iter().find(|(name, _)| name == tag) else {
                return mismatch();
            };
            tagged_json(tag, payload_ty.as_ref(), payload.as_deref(), path, conv)?
        }
        (ValType::Enum(names), Val::Enum(name)) if names.contains(name) => Value::String(name.clone()),
        (ValType::Option(_), Val::Option(None)) => Value::Null,
        (ValType::Option(inner), Val::Option(Some(item))) => to_json(inner, item, path, conv)?,
        (ValType::Result { ok, .. }, Val::Result(Ok(payload))) => {
            tagged_json("ok", ok.as_deref(), payload.as_deref(), path, conv)?
        }
        (ValType::Result { err, .. }, Val::Result(Err(payload))) => {
            tagged_json("err", err.as_deref(), payload.as_deref(), path, conv)?
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
    conv: Conventions,
) -> Result<Value, ConvertError> {
    let mut map = Map::new();
    map.insert("tag".into(), Value::String(tag.to_string()));
    match (ty, payload) {
        (Some(ty), Some(payload)) => {
            map.insert("val".into(), to_json(ty, payload, &path.key("val"), conv)?);
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
