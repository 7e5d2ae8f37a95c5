//! Converter tests: every type, each rejection, and the schema/converter agreement.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::metadata::NameStyle;
use crate::schema::{Conventions, schema_for};
use crate::types::ValType;
use wasmtime::component::Val;

fn ok(ty: &ValType, value: Value) -> Val {
    to_val(ty, &value, &JsonPath::root(), Conventions::WIT)
        .unwrap_or_else(|e| panic!("{value} should fit {ty}: {e}"))
}

fn err(ty: &ValType, value: Value) -> ConvertError {
    to_val(ty, &value, &JsonPath::root(), Conventions::WIT)
        .expect_err(&format!("{value} should not fit {ty}"))
}

fn round_trip(ty: &ValType, value: Value) {
    let val = ok(ty, value.clone());
    let back = to_json(ty, &val, &JsonPath::root(), Conventions::WIT).unwrap();
    assert_eq!(back, value, "round trip of {ty}");
}

#[test]
fn every_integer_width_checks_its_bounds() {
    let cases: [(ValType, i128, i128); 8] = [
        (ValType::S8, i8::MIN.into(), i8::MAX.into()),
        (ValType::U8, 0, u8::MAX.into()),
        (ValType::S16, i16::MIN.into(), i16::MAX.into()),
        (ValType::U16, 0, u16::MAX.into()),
        (ValType::S32, i32::MIN.into(), i32::MAX.into()),
        (ValType::U32, 0, u32::MAX.into()),
        (ValType::S64, i64::MIN.into(), i64::MAX.into()),
        (ValType::U64, 0, u64::MAX.into()),
    ];
    let number = |n: i128| -> Value { serde_json::from_str(&n.to_string()).unwrap() };
    for (ty, min, max) in cases {
        round_trip(&ty, number(min));
        round_trip(&ty, number(max));
        let below = err(&ty, number(min - 1));
        assert_eq!(below.path, "$");
        assert!(below.expected.contains(&format!("{min}..={max}")), "{below}");
        let above = err(&ty, number(max + 1));
        assert!(above.found.starts_with("number "), "{above}");
        err(&ty, json!(1.5));
        err(&ty, json!("1"));
    }
    // JSON Schema's `integer` accepts integral floats; so does the converter...
    assert_eq!(ok(&ValType::U8, json!(3.0)), Val::U8(3));
    // ...but not where the parser may have rounded what the client wrote.
    err(&ValType::U64, json!(1e18));
}

#[test]
fn floats_chars_strings_bools() {
    round_trip(&ValType::F64, json!(1.5));
    round_trip(&ValType::F32, json!(0.25));
    err(&ValType::F32, json!(1e39));
    err(&ValType::F64, json!("1.0"));
    round_trip(&ValType::Char, json!("é"));
    round_trip(&ValType::Char, json!("🦀"));
    err(&ValType::Char, json!("ab"));
    err(&ValType::Char, json!(""));
    round_trip(&ValType::String, json!("hello"));
    err(&ValType::String, json!(null));
    round_trip(&ValType::Bool, json!(true));
    err(&ValType::Bool, json!(0));
}

#[test]
fn non_finite_floats_cannot_leave_as_json() {
    let e = to_json(&ValType::F64, &Val::Float64(f64::NAN), &JsonPath::root(), Conventions::WIT).unwrap_err();
    assert!(e.expected.contains("finite"), "{e}");
    to_json(&ValType::F32, &Val::Float32(f32::INFINITY), &JsonPath::root(), Conventions::WIT).unwrap_err();
}

fn record() -> ValType {
    ValType::Record(vec![
        ("name".into(), ValType::String),
        ("max-results".into(), ValType::U8),
        ("tags".into(), ValType::List(Box::new(ValType::String))),
    ])
}

#[test]
fn records_need_every_field_and_refuse_unknown_ones() {
    round_trip(&record(), json!({"name": "a", "max-results": 3, "tags": ["x"]}));
    let missing = err(&record(), json!({"name": "a", "tags": []}));
    assert_eq!(missing.path, "$.max-results");
    assert!(missing.expected.contains("required field"), "{missing}");
    let unknown = err(&record(), json!({"name": "a", "max-results": 1, "tags": [], "extra": 1}));
    assert_eq!(unknown.path, "$.extra");
    assert!(unknown.found.contains("unknown field `extra`"), "{unknown}");
    let nested = err(&record(), json!({"name": "a", "max-results": 1, "tags": ["ok", 7]}));
    assert_eq!(nested.path, "$.tags[1]");
    assert_eq!(nested.expected, "string");
}

#[test]
fn arguments_object_is_checked_like_a_record() {
    let params = vec![("a".to_string(), ValType::S32), ("b".to_string(), ValType::S32)];
    let args = json!({"a": 1, "b": 2});
    let vals = args_to_vals(&params, args.as_object(), Conventions::WIT).unwrap();
    assert_eq!(vals, vec![Val::S32(1), Val::S32(2)]);
    let e = args_to_vals(&params, json!({"a": 1}).as_object(), Conventions::WIT).unwrap_err();
    assert_eq!(e.path, "$.b");
    assert!(e.expected.contains("required parameter `b` (s32)"), "{e}");
    let e = args_to_vals(&params, json!({"a": 1, "b": 2, "sidenote": "x"}).as_object(), Conventions::WIT)
        .unwrap_err();
    assert_eq!(e.path, "$.sidenote");
    assert!(args_to_vals(&[], None, Conventions::WIT).unwrap().is_empty());
    let odd_key = args_to_vals(&[], json!({"a b": 1}).as_object(), Conventions::WIT).unwrap_err();
    assert_eq!(odd_key.path, "$[\"a b\"]");
}

#[test]
fn a_json_style_spells_keys_and_lets_options_be_left_out() {
    let ty = ValType::Record(vec![
        ("entity-name".into(), ValType::String),
        ("max-length".into(), ValType::Option(Box::new(ValType::U32))),
    ]);
    let camel = Conventions(Some(NameStyle::Camel));
    let val = to_val(&ty, &json!({"entityName": "a"}), &JsonPath::root(), camel).unwrap();
    assert_eq!(
        val,
        Val::Record(vec![
            ("entity-name".into(), Val::String("a".into())),
            ("max-length".into(), Val::Option(None))
        ])
    );
    assert_eq!(to_json(&ty, &val, &JsonPath::root(), camel).unwrap(), json!({"entityName": "a"}));
    let e = to_val(&ty, &json!({"entity-name": "a"}), &JsonPath::root(), camel).unwrap_err();
    assert!(e.expected.contains("entityName, maxLength"), "{e}");
    let e = to_val(&ty, &json!({}), &JsonPath::root(), camel).unwrap_err();
    assert_eq!(e.path, "$.entityName");
    // Without a style, an option is still required (and null is how it is none).
    let e = to_val(&ty, &json!({"entity-name": "a"}), &JsonPath::root(), Conventions::WIT).unwrap_err();
    assert_eq!(e.path, "$.max-length");
    let snake = Conventions(Some(NameStyle::Snake));
    let val = to_val(&ty, &json!({"entity_name": "a", "max_length": 5}), &JsonPath::root(), snake).unwrap();
    assert_eq!(
        to_json(&ty, &val, &JsonPath::root(), snake).unwrap(),
        json!({"entity_name": "a", "max_length": 5})
    );
}

#[test]
fn tuples_lists_maps() {
    let tuple = ValType::Tuple(vec![ValType::U8, ValType::String]);
    round_trip(&tuple, json!([1, "x"]));
    err(&tuple, json!([1]));
    err(&tuple, json!([1, "x", 2]));
    let fixed = ValType::FixedList(Box::new(ValType::U8), 3);
    round_trip(&fixed, json!([1, 2, 3]));
    err(&fixed, json!([1, 2]));
    let map = ValType::StringMap(Box::new(ValType::U32));
    round_trip(&map, json!({"a": 1, "b": 2}));
    assert_eq!(err(&map, json!({"a": -1})).path, "$.a");
}

#[test]
fn variants_enums_options_results_flags() {
    let variant = ValType::Variant(vec![("none".into(), None), ("some".into(), Some(ValType::U8))]);
    round_trip(&variant, json!({"tag": "none"}));
    round_trip(&variant, json!({"tag": "some", "val": 4}));
    assert_eq!(err(&variant, json!({"tag": "some"})).path, "$.val");
    assert_eq!(err(&variant, json!({"tag": "none", "val": 1})).path, "$.val");
    assert_eq!(err(&variant, json!({"tag": "other"})).path, "$.tag");
    err(&variant, json!("none"));

    let enumeration = ValType::Enum(vec!["celsius".into(), "kelvin".into()]);
    round_trip(&enumeration, json!("kelvin"));
    assert!(err(&enumeration, json!("Kelvin")).expected.contains("\"celsius\", \"kelvin\""));

    let option = ValType::Option(Box::new(ValType::U8));
    round_trip(&option, json!(null));
    round_trip(&option, json!(7));

    let result = ValType::Result { ok: Some(Box::new(ValType::String)), err: None };
    round_trip(&result, json!({"tag": "ok", "val": "fine"}));
    round_trip(&result, json!({"tag": "err"}));

    let flags = ValType::Flags(vec!["read".into(), "write".into(), "exec".into()]);
    round_trip(&flags, json!(["read", "exec"]));
    round_trip(&flags, json!([]));
    assert_eq!(err(&flags, json!(["read", "read"])).path, "$[1]");
    assert_eq!(err(&flags, json!(["delete"])).path, "$[0]");
}

#[test]
fn long_strings_are_abbreviated_in_errors() {
    let e = err(&ValType::U8, json!("x".repeat(500)));
    assert!(e.found.len() < 120, "{e}");
    assert!(e.found.contains("500 characters"), "{e}");
}

// ---- property tests: schema and converter agree -------------------------------

fn names(prefix: &'static str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i}")).collect()
}

fn arb_type() -> impl Strategy<Value = ValType> {
    let leaf = prop_oneof![
        Just(ValType::Bool),
        Just(ValType::S8),
        Just(ValType::U8),
        Just(ValType::S16),
        Just(ValType::U16),
        Just(ValType::S32),
        Just(ValType::U32),
        Just(ValType::S64),
        Just(ValType::U64),
        Just(ValType::F32),
        Just(ValType::F64),
        Just(ValType::Char),
        Just(ValType::String),
        (1usize..4).prop_map(|n| ValType::Enum(names("case", n))),
        (1usize..4).prop_map(|n| ValType::Flags(names("flag", n))),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| ValType::List(Box::new(t))),
            (inner.clone(), 0u32..3).prop_map(|(t, n)| ValType::FixedList(Box::new(t), n)),
            inner.clone().prop_map(|t| ValType::StringMap(Box::new(t))),
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|ts| ValType::Record(names("field", ts.len()).into_iter().zip(ts).collect())),
            prop::collection::vec(inner.clone(), 1..4).prop_map(ValType::Tuple),
            prop::collection::vec(prop::option::of(inner.clone()), 1..4)
                .prop_map(|ts| { ValType::Variant(names("case", ts.len()).into_iter().zip(ts).collect()) }),
            inner.clone().prop_filter_map("nested option", |t| ValType::option_of(t).ok()),
            (prop::option::of(inner.clone()), prop::option::of(inner))
                .prop_map(|(ok, err)| { ValType::Result { ok: ok.map(Box::new), err: err.map(Box::new) } }),
        ]
    })
}

fn arb_val(ty: &ValType) -> BoxedStrategy<Val> {
    match ty.clone() {
        ValType::Bool => any::<bool>().prop_map(Val::Bool).boxed(),
        ValType::S8 => any::<i8>().prop_map(Val::S8).boxed(),
        ValType::U8 => any::<u8>().prop_map(Val::U8).boxed(),
        ValType::S16 => any::<i16>().prop_map(Val::S16).boxed(),
        ValType::U16 => any::<u16>().prop_map(Val::U16).boxed(),
        ValType::S32 => any::<i32>().prop_map(Val::S32).boxed(),
        ValType::U32 => any::<u32>().prop_map(Val::U32).boxed(),
        ValType::S64 => any::<i64>().prop_map(Val::S64).boxed(),
        ValType::U64 => any::<u64>().prop_map(Val::U64).boxed(),
        ValType::F32 => prop::num::f32::NORMAL.prop_map(Val::Float32).boxed(),
        ValType::F64 => prop::num::f64::NORMAL.prop_map(Val::Float64).boxed(),
        ValType::Char => any::<char>().prop_map(Val::Char).boxed(),
        ValType::String => ".{0,8}".prop_map(Val::String).boxed(),
        ValType::List(inner) => prop::collection::vec(arb_val(&inner), 0..4).prop_map(Val::List).boxed(),
        ValType::FixedList(inner, n) => {
            prop::collection::vec(arb_val(&inner), n as usize).prop_map(Val::FixedLengthList).boxed()
        }
        ValType::StringMap(inner) => prop::collection::btree_map("[a-z]{1,3}", arb_val(&inner), 0..3)
            .prop_map(|m| Val::Map(m.into_iter().map(|(k, v)| (Val::String(k), v)).collect()))
            .boxed(),
        ValType::Record(fields) => {
            let names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
            fields
                .iter()
                .map(|(_, t)| arb_val(t))
                .collect::<Vec<_>>()
                .prop_map(move |vals| Val::Record(names.clone().into_iter().zip(vals).collect()))
                .boxed()
        }
        ValType::Tuple(types) => types.iter().map(arb_val).collect::<Vec<_>>().prop_map(Val::Tuple).boxed(),
        ValType::Variant(cases) => {
            let alternatives: Vec<BoxedStrategy<Val>> = cases
                .into_iter()
                .map(|(name, payload)| match payload {
                    Some(t) => {
                        arb_val(&t).prop_map(move |v| Val::Variant(name.clone(), Some(Box::new(v)))).boxed()
                    }
                    None => Just(Val::Variant(name, None)).boxed(),
                })
                .collect();
            prop::strategy::Union::new(alternatives).boxed()
        }
        ValType::Enum(names) => prop::sample::select(names).prop_map(Val::Enum).boxed(),
        ValType::Option(inner) => {
            prop::option::of(arb_val(&inner)).prop_map(|v| Val::Option(v.map(Box::new))).boxed()
        }
        ValType::Result { ok, err } => {
            let side = |t: Option<Box<ValType>>| -> BoxedStrategy<Option<Box<Val>>> {
                match t {
                    Some(t) => arb_val(&t).prop_map(|v| Some(Box::new(v))).boxed(),
                    None => Just(None).boxed(),
                }
            };
            prop_oneof![
                side(ok).prop_map(|v| Val::Result(Ok(v))),
                side(err).prop_map(|v| Val::Result(Err(v)))
            ]
            .boxed()
        }
        ValType::Flags(names) => {
            prop::sample::subsequence(names.clone(), 0..=names.len()).prop_map(Val::Flags).boxed()
        }
    }
}

/// Arbitrary JSON biased towards the shapes the converter cares about.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-300i64..300).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::num::f64::NORMAL.prop_map(Value::from),
        prop::sample::select(vec![
            "ok", "err", "tag", "val", "case-0", "case-1", "flag-0", "flag-1", "field-0", "x", "", "ab"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["tag", "val", "field-0", "field-1", "a"]).prop_map(String::from),
                inner,
                0..3
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_conventions() -> impl Strategy<Value = Conventions> {
    prop_oneof![
        Just(Conventions::WIT),
        Just(Conventions(Some(NameStyle::Kebab))),
        Just(Conventions(Some(NameStyle::Snake))),
        Just(Conventions(Some(NameStyle::Camel))),
    ]
}

fn type_and_val() -> impl Strategy<Value = (ValType, Val)> {
    arb_type().prop_flat_map(|ty| {
        let vals = arb_val(&ty);
        (Just(ty), vals)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// value → JSON → value is the identity, and the JSON satisfies the schema.
    #[test]
    fn values_round_trip_and_satisfy_their_schema((ty, val) in type_and_val(), conv in arb_conventions()) {
        let json = to_json(&ty, &val, &JsonPath::root(), conv).unwrap();
        let schema = schema_for(&ty, conv);
        let validator = jsonschema::validator_for(&schema).unwrap();
        prop_assert!(validator.is_valid(&json), "{} does not satisfy {} for {}", json, schema, ty);
        let back = to_val(&ty, &json, &JsonPath::root(), conv).unwrap();
        prop_assert_eq!(back, val);
    }

    /// For arbitrary JSON, the converter accepts exactly what the schema accepts.
    #[test]
    fn converter_accepts_exactly_what_the_schema_accepts(
        ty in arb_type(),
        json in arb_json(),
        conv in arb_conventions(),
    ) {
        prop_assume!(!holds_inexact_float_integer(&json));
        let schema = schema_for(&ty, conv);
        let validator = jsonschema::validator_for(&schema).unwrap();
        let converted = to_val(&ty, &json, &JsonPath::root(), conv);
        prop_assert_eq!(validator.is_valid(&json), converted.is_ok(),
            "schema and converter disagree on {} for {}: {:?}", json, ty, converted.err());
    }
}
