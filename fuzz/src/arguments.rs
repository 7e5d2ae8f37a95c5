//! JSON arguments → component values, against the JSON Schema moat derives
//! from the same type: the converter accepts exactly what the schema
//! accepts; what it accepts converts back to JSON that the schema accepts
//! and to the same value; and no input panics it or overflows its stack.

use arbitrary::{Result, Unstructured};
use moat::convert::{JsonPath, holds_inexact_float_integer, to_json, to_val};
use moat::metadata::NameStyle;
use moat::schema::{Conventions, schema_for};
use moat::types::ValType;
use serde_json::{Map, Value};

/// How deep the generated types nest; JSON text may nest deeper.
const MAX_DEPTH: usize = 5;
/// Names of fields, cases and flags, and keys the generated JSON uses.
const NAMES: &[&str] = &["a", "b", "tag", "val", "ok", "err", "x-y"];

pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(ty) = val_type(&mut u, 0) else { return };
    let conv = match u.int_in_range(0..=3u8) {
        Ok(1) => Conventions(Some(NameStyle::Kebab)),
        Ok(2) => Conventions(Some(NameStyle::Snake)),
        Ok(3) => Conventions(Some(NameStyle::Camel)),
        _ => Conventions::WIT,
    };
    let json = match u.arbitrary::<bool>() {
        // The rest as JSON text, as a client sends it.
        Ok(true) => match serde_json::from_slice::<Value>(u.take_rest()) {
            Ok(json) => json,
            Err(_) => return,
        },
        _ => match json_for(&mut u, &ty, 0) {
            Ok(json) => json,
            Err(_) => return,
        },
    };
    agree(&ty, &json, conv);
}

/// The converter and the schema agree on `json` under `conv`, and what is
/// accepted round-trips.
pub fn agree(ty: &ValType, json: &Value, conv: Conventions) {
    let schema = schema_for(ty, conv);
    let validator = jsonschema::validator_for(&schema).expect("moat's schemas are valid JSON Schema");
    let converted = to_val(ty, json, &JsonPath::root(), conv);
    // Integers in float form past 2^53 are refused on purpose, where the
    // schema cannot say so (docs/config.md).
    if !holds_inexact_float_integer(json) {
        assert_eq!(
            converted.is_ok(),
            validator.is_valid(json),
            "the converter and the schema disagree on {json} for {ty}: {:?}",
            converted.as_ref().err()
        );
    }
    if let Ok(val) = converted {
        let back = to_json(ty, &val, &JsonPath::root(), conv).expect("an accepted value converts back");
        assert!(validator.is_valid(&back), "{back} (from {json}) does not satisfy the schema of {ty}");
        let again = to_val(ty, &back, &JsonPath::root(), conv).expect("what moat writes, moat reads");
        assert_eq!(again, val, "{json} → {back} changed the value of {ty}");
    }
}

fn val_type(u: &mut Unstructured, depth: usize) -> Result<ValType> {
    let kinds = if depth >= MAX_DEPTH { 14 } else { 22 };
    let inner = |u: &mut Unstructured| val_type(u, depth + 1).map(Box::new);
    Ok(match u.int_in_range(0..=kinds)? {
        0 => ValType::Bool,
        1 => ValType::S8,
        2 => ValType::U8,
        3 => ValType::S16,
        4 => ValType::U16,
        5 => ValType::S32,
        6 => ValType::U32,
        7 => ValType::S64,
        8 => ValType::U64,
        9 => ValType::F32,
        10 => ValType::F64,
        11 => ValType::Char,
        12 => ValType::String,
        13 => ValType::Enum(names(u, 1)?),
        14 => ValType::Flags(names(u, 0)?),
        15 => ValType::List(inner(u)?),
        16 => ValType::FixedList(inner(u)?, u.int_in_range(0..=3)?),
        17 => ValType::StringMap(inner(u)?),
        18 => {
            let names = names(u, 0)?;
            ValType::Record(
                names.into_iter().map(|n| Ok((n, val_type(u, depth + 1)?))).collect::<Result<_>>()?,
            )
        }
        19 => ValType::Tuple(
            (0..u.int_in_range(1..=3)?).map(|_| val_type(u, depth + 1)).collect::<Result<_>>()?,
        ),
        20 => {
            let names = names(u, 1)?;
            let cases = names
                .into_iter()
                .map(|n| Ok((n, if u.arbitrary()? { Some(val_type(u, depth + 1)?) } else { None })));
            ValType::Variant(cases.collect::<Result<_>>()?)
        }
        21 => ValType::option_of(val_type(u, depth + 1)?).unwrap_or(ValType::String),
        _ => ValType::Result {
            ok: if u.arbitrary()? { Some(inner(u)?) } else { None },
            err: if u.arbitrary()? { Some(inner(u)?) } else { None },
        },
    })
}

/// Between `min` and 4 distinct names.
fn names(u: &mut Unstructured, min: usize) -> Result<Vec<String>> {
    (0..u.int_in_range(min..=4)?).map(|i| Ok(format!("{}-{i}", u.choose(NAMES)?))).collect()
}

/// JSON mostly of the shape `ty` asks for, often slightly off.
fn json_for(u: &mut Unstructured, ty: &ValType, depth: usize) -> Result<Value> {
    if depth > MAX_DEPTH + 1 || u.ratio(1, 10)? {
        return any_json(u, depth);
    }
    let int = |u: &mut Unstructured, min: i128, max: i128| -> Result<Value> {
        let near = [min, max, 0, min - 1, max + 1][u.choose_index(5)?];
        let n = near + i128::from(u.int_in_range(-2i8..=2)?);
        Ok(if u.ratio(1, 8)? {
            serde_json::Number::from_f64(n as f64).map_or(Value::Null, Value::Number)
        } else if let Ok(n) = i64::try_from(n) {
            Value::from(n)
        } else if let Ok(n) = u64::try_from(n) {
            Value::from(n)
        } else {
            serde_json::Number::from_f64(n as f64).map_or(Value::Null, Value::Number)
        })
    };
    Ok(match ty {
        ValType::Bool => Value::Bool(u.arbitrary()?),
        ValType::S8 => int(u, i8::MIN.into(), i8::MAX.into())?,
        ValType::U8 => int(u, 0, u8::MAX.into())?,
        ValType::S16 => int(u, i16::MIN.into(), i16::MAX.into())?,
        ValType::U16 => int(u, 0, u16::MAX.into())?,
        ValType::S32 => int(u, i32::MIN.into(), i32::MAX.into())?,
        ValType::U32 => int(u, 0, u32::MAX.into())?,
        ValType::S64 => int(u, i64::MIN.into(), i64::MAX.into())?,
        ValType::U64 => int(u, 0, u64::MAX.into())?,
        ValType::F32 | ValType::F64 => number(u)?,
        ValType::Char | ValType::String => Value::String(u.arbitrary()?),
        ValType::List(inner) => Value::Array(
            (0..u.int_in_range(0..=3)?).map(|_| json_for(u, inner, depth + 1)).collect::<Result<_>>()?,
        ),
        ValType::FixedList(inner, len) => {
            let len = (*len as usize + u.int_in_range(0..=2)?).saturating_sub(1);
            Value::Array((0..len).map(|_| json_for(u, inner, depth + 1)).collect::<Result<_>>()?)
        }
        ValType::StringMap(inner) => {
            let mut map = Map::new();
            for _ in 0..u.int_in_range(0..=3)? {
                map.insert(u.arbitrary()?, json_for(u, inner, depth + 1)?);
            }
            Value::Object(map)
        }
        ValType::Record(fields) => {
            let mut map = Map::new();
            for (name, ty) in fields {
                if !u.ratio(1, 12)? {
                    map.insert(name.clone(), json_for(u, ty, depth + 1)?);
                }
            }
            if u.ratio(1, 12)? {
                map.insert(u.choose(NAMES)?.to_string(), any_json(u, depth + 1)?);
            }
            Value::Object(map)
        }
        ValType::Tuple(types) => {
            let mut items: Vec<Value> =
                types.iter().map(|ty| json_for(u, ty, depth + 1)).collect::<Result<_>>()?;
            if u.ratio(1, 12)? {
                items.pop();
            }
            Value::Array(items)
        }
        ValType::Variant(cases) => {
            let (name, payload) = u.choose(cases)?;
            tagged(u, name, payload.as_ref(), depth)?
        }
        ValType::Result { ok, err } => {
            let (name, payload) = if u.arbitrary()? { ("ok", ok) } else { ("err", err) };
            tagged(u, name, payload.as_deref(), depth)?
        }
        ValType::Enum(names) => match u.ratio(1, 8)? {
            true => Value::String(u.arbitrary()?),
            false => Value::String(u.choose(names)?.clone()),
        },
        ValType::Option(inner) => match u.arbitrary()? {
            true => Value::Null,
            false => json_for(u, inner, depth + 1)?,
        },
        ValType::Flags(names) => {
            let mut flags = Vec::new();
            for _ in 0..u.int_in_range(0..=names.len() + 1)? {
                flags.push(match names.is_empty() || u.ratio(1, 10)? {
                    true => Value::String(u.arbitrary()?),
                    false => Value::String(u.choose(names)?.clone()),
                });
            }
            Value::Array(flags)
        }
    })
}

fn tagged(u: &mut Unstructured, name: &str, payload: Option<&ValType>, depth: usize) -> Result<Value> {
    let mut map = Map::new();
    map.insert("tag".into(), Value::String(name.into()));
    match payload {
        Some(ty) if !u.ratio(1, 12)? => {
            map.insert("val".into(), json_for(u, ty, depth + 1)?);
        }
        None if u.ratio(1, 12)? => {
            map.insert("val".into(), Value::Null);
        }
        _ => {}
    }
    Ok(Value::Object(map))
}

fn number(u: &mut Unstructured) -> Result<Value> {
    Ok(match u.int_in_range(0..=3)? {
        0 => Value::from(u.arbitrary::<i64>()?),
        1 => Value::from(u.arbitrary::<u64>()?),
        2 => serde_json::Number::from_f64(
            f64::from(f32::MAX) * f64::from(u.int_in_range(-2i8..=2)?) * 1.0000001,
        )
        .map_or(Value::Null, Value::Number),
        _ => serde_json::Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
    })
}

fn any_json(u: &mut Unstructured, depth: usize) -> Result<Value> {
    let kinds = if depth > MAX_DEPTH + 2 { 4 } else { 6 };
    Ok(match u.int_in_range(0..=kinds)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => number(u)?,
        3 => Value::String(u.choose(NAMES)?.to_string()),
        4 => Value::String(u.arbitrary()?),
        5 => {
            Value::Array((0..u.int_in_range(0..=3)?).map(|_| any_json(u, depth + 1)).collect::<Result<_>>()?)
        }
        _ => {
            let mut map = Map::new();
            for _ in 0..u.int_in_range(0..=3)? {
                map.insert(u.choose(NAMES)?.to_string(), any_json(u, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}
