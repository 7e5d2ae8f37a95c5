//! The JSON-mappable subset of component-model types, as one plain enum.
//!
//! Everything that turns WIT values into JSON (schemas, conversion) works on
//! [`ValType`], never on wasmtime's store-bound handles, so that code stays pure
//! and testable. [`ValType::from_wasmtime`] is the one door in: it refuses types
//! that have no honest JSON form (resources, streams, futures, `option<option<T>>`)
//! with a reason, which makes only the function using them unavailable.

use std::fmt;

use serde::{Deserialize, Serialize};
use wasmtime::component::types::Type;

/// A component-model value type that has an exact JSON representation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValType {
    Bool,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
    S64,
    U64,
    F32,
    F64,
    Char,
    String,
    List(Box<ValType>),
    /// `list<T, N>`: exactly `N` elements.
    FixedList(Box<ValType>, u32),
    /// `map<string, V>`: a JSON object.
    StringMap(Box<ValType>),
    Record(Vec<(String, ValType)>),
    Tuple(Vec<ValType>),
    Variant(Vec<(String, Option<ValType>)>),
    Enum(Vec<String>),
    Option(Box<ValType>),
    Result {
        ok: Option<Box<ValType>>,
        err: Option<Box<ValType>>,
    },
    Flags(Vec<String>),
}

/// Why a WIT type cannot cross the JSON boundary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{0}")]
pub struct UnsupportedType(pub String);

impl ValType {
    /// Maps a wasmtime component type onto the JSON-mappable model.
    pub fn from_wasmtime(ty: &Type) -> Result<ValType, UnsupportedType> {
        let unsupported = |what: &str| Err(UnsupportedType(format!("{what} cannot be passed as JSON")));
        Ok(match ty {
            Type::Bool => ValType::Bool,
            Type::S8 => ValType::S8,
            Type::U8 => ValType::U8,
            Type::S16 => ValType::S16,
            Type::U16 => ValType::U16,
            Type::S32 => ValType::S32,
            Type::U32 => ValType::U32,
            Type::S64 => ValType::S64,
            Type::U64 => ValType::U64,
            Type::Float32 => ValType::F32,
            Type::Float64 => ValType::F64,
            Type::Char => ValType::Char,
            Type::String => ValType::String,
            Type::List(list) => ValType::List(Box::new(Self::from_wasmtime(&list.ty())?)),
            Type::FixedLengthList(list) => {
                ValType::FixedList(Box::new(Self::from_wasmtime(&list.ty())?), list.len())
            }
            Type::Map(map) => match map.key() {
                Type::String => ValType::StringMap(Box::new(Self::from_wasmtime(&map.value())?)),
                _ => return unsupported("a map whose keys are not strings"),
            },
            Type::Record(record) => ValType::Record(
                record
                    .fields()
                    .map(|field| Ok((field.name.to_string(), Self::from_wasmtime(&field.ty)?)))
                    .collect::<Result<_, UnsupportedType>>()?,
            ),
            Type::Tuple(tuple) => {
                ValType::Tuple(tuple.types().map(|ty| Self::from_wasmtime(&ty)).collect::<Result<_, _>>()?)
            }
            Type::Variant(variant) => ValType::Variant(
                variant
                    .cases()
                    .map(|case| {
                        let payload = case.ty.as_ref().map(Self::from_wasmtime).transpose()?;
                        Ok((case.name.to_string(), payload))
                    })
                    .collect::<Result<_, UnsupportedType>>()?,
            ),
            Type::Enum(enumeration) => ValType::Enum(enumeration.names().map(str::to_string).collect()),
            Type::Option(option) => {
                let inner = Self::from_wasmtime(&option.ty())?;
                Self::option_of(inner)?
            }
            Type::Result(result) => ValType::Result {
                ok: result.ok().map(|ty| Self::from_wasmtime(&ty)).transpose()?.map(Box::new),
                err: result.err().map(|ty| Self::from_wasmtime(&ty)).transpose()?.map(Box::new),
            },
            Type::Flags(flags) => ValType::Flags(flags.names().map(str::to_string).collect()),
            Type::Own(_) | Type::Borrow(_) => return unsupported("a resource handle"),
            Type::Future(_) => return unsupported("a future"),
            Type::Stream(_) => return unsupported("a stream"),
            Type::ErrorContext => return unsupported("an error-context"),
        })
    }

    /// Maps a type of a component's WIT, as wit-parser decodes it from the
    /// component's bytes, onto the same model as [`ValType::from_wasmtime`]
    /// (the same types, the same refusals): a component's tools are listed
    /// from its bytes before it is compiled ([`crate::component::decode`]).
    pub fn from_wit(
        resolve: &wit_parser::Resolve,
        ty: &wit_parser::Type,
    ) -> Result<ValType, UnsupportedType> {
        use wit_parser::{Type as Wit, TypeDefKind as Kind};
        let unsupported = |what: &str| Err(UnsupportedType(format!("{what} cannot be passed as JSON")));
        let of = |ty: &Wit| Self::from_wit(resolve, ty);
        let id = match ty {
            Wit::Bool => return Ok(ValType::Bool),
            Wit::S8 => return Ok(ValType::S8),
            Wit::U8 => return Ok(ValType::U8),
            Wit::S16 => return Ok(ValType::S16),
            Wit::U16 => return Ok(ValType::U16),
            Wit::S32 => return Ok(ValType::S32),
            Wit::U32 => return Ok(ValType::U32),
            Wit::S64 => return Ok(ValType::S64),
            Wit::U64 => return Ok(ValType::U64),
            Wit::F32 => return Ok(ValType::F32),
            Wit::F64 => return Ok(ValType::F64),
            Wit::Char => return Ok(ValType::Char),
            Wit::String => return Ok(ValType::String),
            Wit::ErrorContext => return unsupported("an error-context"),
            Wit::Id(id) => *id,
        };
        let Some(def) = resolve.types.get(id) else {
            return Err(UnsupportedType("a type the component does not define".into()));
        };
        Ok(match &def.kind {
            Kind::Type(inner) => of(inner)?,
            Kind::List(item) => ValType::List(Box::new(of(item)?)),
            Kind::FixedLengthList(item, len) => ValType::FixedList(Box::new(of(item)?), *len),
            Kind::Map(key, value) => match key {
                Wit::String => ValType::StringMap(Box::new(of(value)?)),
                _ => return unsupported("a map whose keys are not strings"),
            },
            Kind::Record(record) => ValType::Record(
                record.fields.iter().map(|field| Ok((field.name.clone(), of(&field.ty)?))).collect::<Result<
                    _,
                    UnsupportedType,
                >>(
                )?,
            ),
            Kind::Tuple(tuple) => ValType::Tuple(tuple.types.iter().map(of).collect::<Result<_, _>>()?),
            Kind::Variant(variant) => ValType::Variant(
                variant
                    .cases
                    .iter()
                    .map(|case| Ok((case.name.clone(), case.ty.as_ref().map(of).transpose()?)))
                    .collect::<Result<_, UnsupportedType>>()?,
            ),
            Kind::Enum(enumeration) => {
                ValType::Enum(enumeration.cases.iter().map(|c| c.name.clone()).collect())
            }
            Kind::Option(inner) => Self::option_of(of(inner)?)?,
            Kind::Result(result) => ValType::Result {
                ok: result.ok.as_ref().map(of).transpose()?.map(Box::new),
                err: result.err.as_ref().map(of).transpose()?.map(Box::new),
            },
            Kind::Flags(flags) => ValType::Flags(flags.flags.iter().map(|f| f.name.clone()).collect()),
            Kind::Handle(_) | Kind::Resource => return unsupported("a resource handle"),
            Kind::Future(_) => return unsupported("a future"),
            Kind::Stream(_) => return unsupported("a stream"),
            Kind::Unknown => return Err(UnsupportedType("a type the component does not define".into())),
        })
    }

    /// How many types deep this one nests: 1 for a scalar, enum or flags.
    pub fn nesting(&self) -> usize {
        let inner = match self {
            ValType::List(inner)
            | ValType::FixedList(inner, _)
            | ValType::StringMap(inner)
            | ValType::Option(inner) => inner.nesting(),
            ValType::Record(fields) => fields.iter().map(|(_, ty)| ty.nesting()).max().unwrap_or(0),
            ValType::Tuple(types) => types.iter().map(ValType::nesting).max().unwrap_or(0),
            ValType::Variant(cases) => {
                cases.iter().filter_map(|(_, ty)| ty.as_ref()).map(ValType::nesting).max().unwrap_or(0)
            }
            ValType::Result { ok, err } => {
                ok.iter().chain(err.iter()).map(|ty| ty.nesting()).max().unwrap_or(0)
            }
            _ => 0,
        };
        inner + 1
    }

    /// Calls `visit` on this type and on every type inside it.
    pub fn walk(&self, visit: &mut impl FnMut(&ValType)) {
        visit(self);
        match self {
            ValType::List(inner)
            | ValType::FixedList(inner, _)
            | ValType::StringMap(inner)
            | ValType::Option(inner) => inner.walk(visit),
            ValType::Record(fields) => fields.iter().for_each(|(_, ty)| ty.walk(visit)),
            ValType::Tuple(types) => types.iter().for_each(|ty| ty.walk(visit)),
            ValType::Variant(cases) => {
                cases.iter().filter_map(|(_, ty)| ty.as_ref()).for_each(|ty| ty.walk(visit))
            }
            ValType::Result { ok, err } => ok.iter().chain(err.iter()).for_each(|ty| ty.walk(visit)),
            _ => {}
        }
    }

    /// `option<T>`, refusing `T`s whose JSON form can itself be `null`:
    /// `none` and `some(none)` would both be `null`.
    pub fn option_of(inner: ValType) -> Result<ValType, UnsupportedType> {
        if matches!(inner, ValType::Option(_)) {
            return Err(UnsupportedType(
                "option<option<T>> has no unambiguous JSON form (both `none` and `some(none)` would be null)"
                    .to_string(),
            ));
        }
        Ok(ValType::Option(Box::new(inner)))
    }
}

impl fmt::Display for ValType {
    /// Renders the type in WIT syntax (anonymous records shown by their fields).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T>(
            f: &mut fmt::Formatter<'_>,
            items: &[T],
            each: impl Fn(&mut fmt::Formatter<'_>, &T) -> fmt::Result,
        ) -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                each(f, item)?;
            }
            Ok(())
        }
        match self {
            ValType::Bool => f.write_str("bool"),
            ValType::S8 => f.write_str("s8"),
            ValType::U8 => f.write_str("u8"),
            ValType::S16 => f.write_str("s16"),
            ValType::U16 => f.write_str("u16"),
            ValType::S32 => f.write_str("s32"),
            ValType::U32 => f.write_str("u32"),
            ValType::S64 => f.write_str("s64"),
            ValType::U64 => f.write_str("u64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::Char => f.write_str("char"),
            ValType::String => f.write_str("string"),
            ValType::List(inner) => write!(f, "list<{inner}>"),
            ValType::FixedList(inner, len) => write!(f, "list<{inner}, {len}>"),
            ValType::StringMap(value) => write!(f, "map<string, {value}>"),
            ValType::Record(fields) => {
                f.write_str("record { ")?;
                list(f, fields, |f, (name, ty)| write!(f, "{name}: {ty}"))?;
                f.write_str(" }")
            }
            ValType::Tuple(types) => {
                f.write_str("tuple<")?;
                list(f, types, |f, ty| write!(f, "{ty}"))?;
                f.write_str(">")
            }
            ValType::Variant(cases) => {
                f.write_str("variant { ")?;
                list(f, cases, |f, (name, ty)| match ty {
                    Some(ty) => write!(f, "{name}({ty})"),
                    None => f.write_str(name),
                })?;
                f.write_str(" }")
            }
            ValType::Enum(names) => write!(f, "enum {{ {} }}", names.join(", ")),
            ValType::Option(inner) => write!(f, "option<{inner}>"),
            ValType::Result { ok, err } => match (ok, err) {
                (None, None) => f.write_str("result"),
                (Some(ok), None) => write!(f, "result<{ok}>"),
                (None, Some(err)) => write!(f, "result<_, {err}>"),
                (Some(ok), Some(err)) => write!(f, "result<{ok}, {err}>"),
            },
            ValType::Flags(names) => write!(f, "flags {{ {} }}", names.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_options_are_refused_with_a_reason() {
        let inner = ValType::Option(Box::new(ValType::U8));
        let err = ValType::option_of(inner).unwrap_err();
        assert!(err.0.contains("option<option<T>>"), "{err}");
        assert!(ValType::option_of(ValType::U8).is_ok());
    }

    #[test]
    fn display_reads_like_wit() {
        let ty = ValType::Result {
            ok: Some(Box::new(ValType::List(Box::new(ValType::U32)))),
            err: Some(Box::new(ValType::String)),
        };
        assert_eq!(ty.to_string(), "result<list<u32>, string>");
    }
}
