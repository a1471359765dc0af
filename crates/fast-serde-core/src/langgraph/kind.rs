//! Plan kinds: the branches of `jsonplus._msgpack_default` the walker writes natively, and the one
//! table of how each is written (ext code, payload head, trailer, depth of the argument).
//!
//! The kind values are exported to Python as `_native.PLAN_KINDS` (name -> value) and the flags
//! as `_native.PLAN_FLAGS`; `fast_serde.langgraph._plans` reads its constants from there. What
//! each kind reads from the object is in langgraph/encode.rs (`write_payload`).

use super::ext::*;

/// The branch `_plans.encode_plan(obj)` chose for a class (`_plans.<NAME>`).
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PlanKind {
    /// `_msgpack_enc(obj)` in Python, spliced (numpy arrays, unknown types).
    Fallback = 0,
    /// ext 5 `(module, name, obj.model_dump(), "model_validate_json")`.
    PydanticV2 = 1,
    /// The same bytes, from `obj.__dict__` and `__pydantic_extra__` (`_guards.plain_model`).
    PydanticV2Dict = 2,
    /// ext 7 `obj.value`.
    DeltaSnapshot = 3,
    /// ext 0 `(module, name, obj.get_secret_value())`.
    Secret = 4,
    /// ext 4 `(module, name, obj.dict())`.
    PydanticV1 = 5,
    /// ext 2 `(module, name, {field: item})`, what `obj._asdict()` returns.
    NamedTuple = 6,
    /// ext 1 `(module, name, obj.parts)`.
    Path = 7,
    /// ext 1 `("re", "compile", (obj.pattern, obj.flags))`.
    Pattern = 8,
    /// ext 0 `(module, name, str(obj))`.
    StrArg = 9,
    /// ext 0 `(module, name, obj.hex)`: UUID subclasses.
    Hex = 10,
    /// ext 0 `(module, name, tuple(obj))`: set, frozenset, deque.
    IterArg = 11,
    /// ext 3 `(module, name, obj.isoformat(), "fromisoformat")`: datetime subclasses.
    Datetime = 12,
    /// ext 1 `(module, name, (days, seconds, microseconds))`.
    Timedelta = 13,
    /// ext 1 `(module, name, (year, month, day))`.
    Date = 14,
    /// ext 2 `(module, name, {hour, minute, second, microsecond, tzinfo, fold})`.
    Time = 15,
    /// ext 1 `(module, name, obj.__getinitargs__())`.
    InitArgs = 16,
    /// ext 0 `(module, name, getattr(obj, fields[0]))`: ZoneInfo.key, Enum.value.
    AttrArg = 17,
    /// ext 1 `(module, name, (node, arg[, timeout]))`.
    Send = 18,
    /// ext 2 `(module, name, {f: getattr(obj, f) for f in fields})`: dataclass, Item.
    AttrsKw = 19,
    /// `repr(obj)` as a str: exceptions.
    Repr = 20,
}

/// How one kind is written.
pub(crate) struct Shape {
    /// The name Python knows the kind by (`_plans.<name>`, `_native.PLAN_KINDS[name]`).
    pub(crate) name: &'static str,
    /// The ext code of the payload; `None` for the kinds written without an ext of their own
    /// (`Fallback`: the parent's bytes; `Repr`: a str).
    pub(crate) code: Option<i8>,
    /// The length of the payload's array `(module, name, arg[, trailer])`; 0 when the payload is
    /// the argument itself (ext 7).
    pub(crate) head_len: u32,
    /// Module and name of the payload head when they are not the class's own.
    pub(crate) head_names: Option<(&'static str, &'static str)>,
    /// The str written after the argument (the method of ext 3, ext 5's validator).
    pub(crate) trailer: Option<&'static [u8]>,
    /// The depth the argument is walked at inside its payload (each payload is packed on its
    /// own: the payload tuple at 0, its argument at 1; ext 7's value at 0).
    pub(crate) arg_depth: u32,
}

/// `(module, name, arg)`, the class's own module and name: most kinds.
const fn args3(name: &'static str, code: i8) -> Shape {
    Shape {
        name,
        code: Some(code),
        head_len: 3,
        head_names: None,
        trailer: None,
        arg_depth: 1,
    }
}

/// `(module, name, arg, trailer)`.
const fn args4(name: &'static str, code: i8, trailer: &'static [u8]) -> Shape {
    Shape {
        head_len: 4,
        trailer: Some(trailer),
        ..args3(name, code)
    }
}

/// Written without an ext of its own.
const fn no_ext(name: &'static str) -> Shape {
    Shape {
        code: None,
        head_len: 0,
        arg_depth: 0,
        ..args3(name, 0)
    }
}

/// Every kind, in value order.
pub(crate) const KINDS: [PlanKind; 21] = [
    PlanKind::Fallback,
    PlanKind::PydanticV2,
    PlanKind::PydanticV2Dict,
    PlanKind::DeltaSnapshot,
    PlanKind::Secret,
    PlanKind::PydanticV1,
    PlanKind::NamedTuple,
    PlanKind::Path,
    PlanKind::Pattern,
    PlanKind::StrArg,
    PlanKind::Hex,
    PlanKind::IterArg,
    PlanKind::Datetime,
    PlanKind::Timedelta,
    PlanKind::Date,
    PlanKind::Time,
    PlanKind::InitArgs,
    PlanKind::AttrArg,
    PlanKind::Send,
    PlanKind::AttrsKw,
    PlanKind::Repr,
];

/// The shape of every kind, indexed by its value: the one answer to "how is kind K written".
const SHAPES: [Shape; 21] = [
    no_ext("FALLBACK"),
    args4("PYDANTIC_V2", EXT_PYDANTIC_V2, b"model_validate_json"),
    args4("PYDANTIC_V2_DICT", EXT_PYDANTIC_V2, b"model_validate_json"),
    Shape {
        head_len: 0,
        arg_depth: 0,
        ..args3("DELTA_SNAPSHOT", EXT_DELTA_SNAPSHOT)
    },
    args3("SECRET", EXT_CONSTRUCTOR_SINGLE_ARG),
    args3("PYDANTIC_V1", EXT_PYDANTIC_V1),
    args3("NAMEDTUPLE", EXT_CONSTRUCTOR_KW_ARGS),
    args3("PATH", EXT_CONSTRUCTOR_POS_ARGS),
    Shape {
        head_names: Some(("re", "compile")),
        ..args3("PATTERN", EXT_CONSTRUCTOR_POS_ARGS)
    },
    args3("STR_ARG", EXT_CONSTRUCTOR_SINGLE_ARG),
    args3("HEX", EXT_CONSTRUCTOR_SINGLE_ARG),
    args3("ITER_ARG", EXT_CONSTRUCTOR_SINGLE_ARG),
    args4("DATETIME", EXT_METHOD_SINGLE_ARG, b"fromisoformat"),
    args3("TIMEDELTA", EXT_CONSTRUCTOR_POS_ARGS),
    args3("DATE", EXT_CONSTRUCTOR_POS_ARGS),
    args3("TIME", EXT_CONSTRUCTOR_KW_ARGS),
    args3("INITARGS", EXT_CONSTRUCTOR_POS_ARGS),
    args3("ATTR_ARG", EXT_CONSTRUCTOR_SINGLE_ARG),
    args3("SEND", EXT_CONSTRUCTOR_POS_ARGS),
    args3("ATTRS_KW", EXT_CONSTRUCTOR_KW_ARGS),
    no_ext("REPR"),
];

impl PlanKind {
    /// How this kind is written.
    #[inline(always)]
    pub(crate) fn shape(self) -> &'static Shape {
        &SHAPES[self as usize]
    }
}

impl TryFrom<u8> for PlanKind {
    /// The value that names no kind.
    type Error = u8;

    fn try_from(v: u8) -> Result<Self, u8> {
        KINDS.get(v as usize).copied().ok_or(v)
    }
}

/// Plan flag: instances have their own `__dict__`, looked into per object (`_plans.CHECK_INSTANCE`).
pub(crate) const CHECK_INSTANCE: u8 = 1;
/// Plan flag: decided by the instance's own attributes, not cached for the class (`_plans.ONCE`).
pub(crate) const ONCE: u8 = 2;

/// The plan flags by name, as exported to Python (`_native.PLAN_FLAGS`).
pub(crate) const PLAN_FLAGS: [(&str, u8); 2] = [("CHECK_INSTANCE", CHECK_INSTANCE), ("ONCE", ONCE)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_in_value_order_and_round_trip() {
        for (i, k) in KINDS.iter().enumerate() {
            assert_eq!(*k as usize, i);
            assert_eq!(PlanKind::try_from(i as u8), Ok(*k));
        }
        assert_eq!(
            PlanKind::try_from(KINDS.len() as u8),
            Err(KINDS.len() as u8)
        );
        assert_eq!(PlanKind::try_from(255), Err(255));
    }

    #[test]
    fn shapes_are_consistent() {
        let mut names: Vec<&str> = SHAPES.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SHAPES.len(), "kind names are unique");
        for k in KINDS {
            let s = k.shape();
            // A trailer is the fourth item of the payload tuple.
            assert_eq!(s.trailer.is_some(), s.head_len == 4, "{}", s.name);
            // Only kinds with an ext of their own have a payload head.
            assert!(s.code.is_some() || s.head_len == 0, "{}", s.name);
        }
        assert_eq!(PlanKind::DeltaSnapshot.shape().arg_depth, 0);
        assert_eq!(PlanKind::Datetime.shape().code, Some(EXT_METHOD_SINGLE_ARG));
    }
}
