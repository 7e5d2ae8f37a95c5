//! JSON Schema (2020-12) derived from WIT types.
//!
//! Every rule here has a twin in `convert`: a JSON value is accepted by the
//! converter exactly when it validates against the schema produced here (the
//! property test in `convert` checks that agreement). Pure code: no wasmtime store.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::metadata::NameStyle;
use crate::types::ValType;

/// How a component's JSON spells WIT names and treats options: its world's
/// `@json` tag ([`NameStyle`]), or none (names as WIT writes them, every
/// parameter and field required). Enum, flag and case names are values, not
/// names, and stay as WIT writes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conventions(pub Option<NameStyle>);

impl Conventions {
    /// Names as WIT writes them, every parameter and field required.
    pub const WIT: Conventions = Conventions(None);

    /// The JSON name of the WIT name `wit`. A name the style cannot spell is
    /// refused when the tool is loaded ([`Conventions::check`]), so it never
    /// reaches here; should one, it keeps its WIT spelling.
    pub fn name(self, wit: &str) -> Cow<'_, str> {
        match self.0 {
            None | Some(NameStyle::Kebab) => Cow::Borrowed(wit),
            Some(style) => Cow::Owned(style.spell(wit).unwrap_or_else(|_| wit.to_string())),
        }
    }

    /// Refuses a name of `ty`'s records the style cannot spell.
    pub fn check(self, ty: &ValType) -> Result<(), String> {
        let Some(style) = self.0 else { return Ok(()) };
        let mut result = Ok(());
        ty.walk(&mut |ty| {
            if let ValType::Record(fields) = ty {
                for (name, _) in fields {
                    if result.is_ok()
                        && let Err(error) = style.spell(name)
                    {
                        result = Err(error);
                    }
                }
            }
        });
        result
    }

    /// Whether a parameter or field of type `ty` may be left out (meaning
    /// `none`), and is left out when it is `none`.
    pub fn omissible(self, ty: &ValType) -> bool {
        self.0.is_some() && matches!(ty, ValType::Option(_))
    }
}

/// The largest finite `f32`, as the bound of the `f32` schema.
pub const F32_MAX: f64 = f32::MAX as f64;

/// The JSON Schema a value of `ty` must satisfy.
pub fn schema_for(ty: &ValType, conv: Conventions) -> Value {
    let schema_for = |ty: &ValType| schema_for(ty, conv);
    match ty {
        ValType::Bool => json!({ "type": "boolean" }),
        ValType::S8 => integer(i8::MIN.into(), i8::MAX.into()),
        ValType::U8 => integer(0, u8::MAX.into()),
        ValType::S16 => integer(i16::MIN.into(), i16::MAX.into()),
        ValType::U16 => integer(0, u16::MAX.into()),
        ValType::S32 => integer(i32::MIN.into(), i32::MAX.into()),
        ValType::U32 => integer(0, u32::MAX.into()),
        ValType::S64 => integer(i64::MIN.into(), i64::MAX.into()),
        ValType::U64 => integer(0, u64::MAX.into()),
        ValType::F32 => json!({ "type": "number", "minimum": -F32_MAX, "maximum": F32_MAX }),
        ValType::F64 => json!({ "type": "number" }),
        ValType::Char => json!({ "type": "string", "minLength": 1, "maxLength": 1 }),
        ValType::String => json!({ "type": "string" }),
        ValType::List(inner) => json!({ "type": "array", "items": schema_for(inner) }),
        ValType::FixedList(inner, len) => json!({
            "type": "array", "items": schema_for(inner), "minItems": len, "maxItems": len,
        }),
        ValType::StringMap(value) => {
            json!({ "type": "object", "additionalProperties": schema_for(value) })
        }
        ValType::Record(fields) => object_schema(
            fields
                .iter()
                .map(|(name, ty)| (conv.name(name).into_owned(), schema_for(ty), conv.omissible(ty))),
        ),
        ValType::Tuple(types) => json!({
            "type": "array",
            "prefixItems": types.iter().map(schema_for).collect::<Vec<_>>(),
            "items": false,
            "minItems": types.len(),
            "maxItems": types.len(),
        }),
        ValType::Variant(cases) => {
            tagged_union(cases.iter().map(|(name, ty)| (name.as_str(), ty.as_ref())), conv)
        }
        ValType::Enum(names) => json!({ "type": "string", "enum": names }),
        ValType::Option(inner) => json!({ "anyOf": [schema_for(inner), { "type": "null" }] }),
        ValType::Result { ok, err } => {
            tagged_union([("ok", ok.as_deref()), ("err", err.as_deref())].into_iter(), conv)
        }
        ValType::Flags(names) => json!({
            "type": "array",
            "items": { "type": "string", "enum": names },
            "uniqueItems": true,
            "maxItems": names.len(),
        }),
    }
}

/// `{"type": "object"}` with these properties (`(name, schema, omissible)`),
/// every one required that is not omissible, and nothing else allowed.
pub fn object_schema(properties: impl Iterator<Item = (String, Value, bool)>) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for (name, schema, omissible) in properties {
        if !omissible {
            required.push(Value::String(name.clone()));
        }
        props.insert(name, schema);
    }
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

fn integer(minimum: i128, maximum: i128) -> Value {
    // serde_json carries i64 and u64 exactly; every WIT integer bound fits one of them.
    let number = |n: i128| -> Value {
        match i64::try_from(n) {
            Ok(n) => n.into(),
            Err(_) => u64::try_from(n).expect("WIT integer bounds fit in u64").into(),
        }
    };
    json!({ "type": "integer", "minimum": number(minimum), "maximum": number(maximum) })
}

/// Variants and results: `{"tag": "<case>", "val": <payload>}`, `val` absent
/// for a case without payload (the convention of the jco JavaScript bindings).
fn tagged_union<'a>(cases: impl Iterator<Item = (&'a str, Option<&'a ValType>)>, conv: Conventions) -> Value {
    let tag = |name: &str| ("tag".to_string(), json!({ "const": name }), false);
    let alternatives: Vec<Value> = cases
        .map(|(name, payload)| match payload {
            Some(ty) => object_schema([tag(name), ("val".into(), schema_for(ty, conv), false)].into_iter()),
            None => object_schema([tag(name)].into_iter()),
        })
        .collect();
    json!({ "oneOf": alternatives })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_carry_the_width_bounds() {
        assert_eq!(
            schema_for(&ValType::U8, Conventions::WIT),
            json!({"type": "integer", "minimum": 0, "maximum": 255})
        );
        assert_eq!(
            schema_for(&ValType::S64, Conventions::WIT),
            json!({"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX})
        );
        assert_eq!(schema_for(&ValType::U64, Conventions::WIT)["maximum"], json!(u64::MAX));
    }

    #[test]
    fn records_require_every_field_and_nothing_else() {
        let ty = ValType::Record(vec![("a".into(), ValType::Bool), ("b-c".into(), ValType::String)]);
        assert_eq!(
            schema_for(&ty, Conventions::WIT),
            json!({
                "type": "object",
                "properties": {"a": {"type": "boolean"}, "b-c": {"type": "string"}},
                "required": ["a", "b-c"],
                "additionalProperties": false,
            })
        );
    }

    #[test]
    fn a_json_style_spells_field_names_and_leaves_options_out_of_required() {
        let ty = ValType::Record(vec![
            ("entity-name".into(), ValType::String),
            ("max-length".into(), ValType::Option(Box::new(ValType::U32))),
        ]);
        let camel = schema_for(&ty, Conventions(Some(NameStyle::Camel)));
        assert_eq!(camel["required"], json!(["entityName"]));
        assert!(camel["properties"]["maxLength"]["anyOf"].is_array());
        let snake = schema_for(&ty, Conventions(Some(NameStyle::Snake)));
        assert_eq!(snake["required"], json!(["entity_name"]));
        assert!(snake["properties"].get("max_length").is_some());
        let capitals = ValType::Record(vec![("get-URL".into(), ValType::String)]);
        assert!(Conventions(Some(NameStyle::Camel)).check(&capitals).is_err());
        assert!(Conventions(Some(NameStyle::Snake)).check(&capitals).is_ok());
    }

    #[test]
    fn tuples_use_prefix_items() {
        let ty = ValType::Tuple(vec![ValType::U8, ValType::String]);
        let schema = schema_for(&ty, Conventions::WIT);
        assert_eq!(schema["prefixItems"].as_array().unwrap().len(), 2);
        assert_eq!(schema["items"], json!(false));
        assert_eq!(schema["minItems"], json!(2));
    }

    #[test]
    fn options_are_nullable_and_flags_unique() {
        let schema = schema_for(&ValType::Option(Box::new(ValType::Char)), Conventions::WIT);
        assert_eq!(schema["anyOf"][1], json!({"type": "null"}));
        let flags = schema_for(&ValType::Flags(vec!["read".into(), "write".into()]), Conventions::WIT);
        assert_eq!(flags["uniqueItems"], json!(true));
        assert_eq!(flags["items"]["enum"], json!(["read", "write"]));
    }

    #[test]
    fn results_are_tagged_unions() {
        let ty = ValType::Result { ok: Some(Box::new(ValType::U32)), err: None };
        let schema = schema_for(&ty, Conventions::WIT);
        assert_eq!(schema["oneOf"][0]["properties"]["tag"], json!({"const": "ok"}));
        assert_eq!(schema["oneOf"][0]["required"], json!(["tag", "val"]));
        assert_eq!(schema["oneOf"][1]["required"], json!(["tag"]));
    }
}
