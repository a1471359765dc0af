//! JsonPlusSerializer's ext codes (langgraph-checkpoint 4.3, `jsonplus.py`, `EXT_*`): the one
//! registry both the walker (langgraph/plan.rs) and the reader (langgraph/decode.rs) use. Payload shapes are
//! in docs/format.md.

/// `(module, name, arg)`: `cls(arg)`.
pub(crate) const EXT_CONSTRUCTOR_SINGLE_ARG: i8 = 0;
/// `(module, name, args)`: `cls(*args)`.
pub(crate) const EXT_CONSTRUCTOR_POS_ARGS: i8 = 1;
/// `(module, name, kwargs)`: `cls(**kwargs)`.
pub(crate) const EXT_CONSTRUCTOR_KW_ARGS: i8 = 2;
/// `(module, name, arg, method)`: `getattr(cls, method)(arg)`, for `SAFE_MSGPACK_METHODS` only.
pub(crate) const EXT_METHOD_SINGLE_ARG: i8 = 3;
/// `(module, name, kwargs)`: pydantic v1, `cls(**kwargs)` else `cls.construct(**kwargs)`.
pub(crate) const EXT_PYDANTIC_V1: i8 = 4;
/// `(module, name, kwargs, "model_validate_json")`: pydantic v2, `cls(**kwargs)` else
/// `cls.model_construct(**kwargs)`.
pub(crate) const EXT_PYDANTIC_V2: i8 = 5;
/// `(dtype.str, shape, order, buffer)`: a numpy array.
pub(crate) const EXT_NUMPY_ARRAY: i8 = 6;
/// the value itself: `_DeltaSnapshot(value)`.
pub(crate) const EXT_DELTA_SNAPSHOT: i8 = 7;

/// The codes by name (`EXT_<NAME>` in jsonplus.py), as exported to Python (`_native.EXT_CODES`).
pub(crate) const EXT_CODES: [(&str, i8); 8] = [
    ("CONSTRUCTOR_SINGLE_ARG", EXT_CONSTRUCTOR_SINGLE_ARG),
    ("CONSTRUCTOR_POS_ARGS", EXT_CONSTRUCTOR_POS_ARGS),
    ("CONSTRUCTOR_KW_ARGS", EXT_CONSTRUCTOR_KW_ARGS),
    ("METHOD_SINGLE_ARG", EXT_METHOD_SINGLE_ARG),
    ("PYDANTIC_V1", EXT_PYDANTIC_V1),
    ("PYDANTIC_V2", EXT_PYDANTIC_V2),
    ("NUMPY_ARRAY", EXT_NUMPY_ARRAY),
    ("DELTA_SNAPSHOT", EXT_DELTA_SNAPSHOT),
];
