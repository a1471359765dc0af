//! The pydantic family: v2 models (ext 5 `(module, name, obj.model_dump(),
//! "model_validate_json")`), by `model_dump()` or with its bytes written straight from the model's
//! `__dict__` and `__pydantic_extra__` when the class's `model_dump()` returns its plain data
//! unchanged (`_guards.plain_model`), guarded per field by the TypedDicts below it; and v1 models
//! (ext 4 `(module, name, obj.dict())`).
//!
//! The `__dict__` is walked under its own policy, [`InModel`]: plain data and exact datetimes
//! and UUIDs are written as LangGraph writes them, and any other value stops the walk with
//! [`ModelStop::NotPlain`], which the caller answers by writing `model_dump()` instead.

use super::family::{args3, args4, Arg, Family, Field, Shape};
use crate::encode::{at, callback_failure, Encoder, Entries, Policy, Unwind, Walk};
use crate::error::{EncodeFailure, PathSeg};
use crate::ffi::dictiter::{dict_len, dict_next};
use crate::ffi::typeref::typerefs;
use crate::ffi::{py, Owned};
use crate::langgraph::ext::{EXT_PYDANTIC_V1, EXT_PYDANTIC_V2};
use crate::langgraph::guard::Guard;
use crate::msgpack::writer::{self, Out};
use pyo3::ffi;

/// The pydantic kinds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Pydantic {
    /// ext 5 `(module, name, obj.model_dump(), "model_validate_json")`.
    V2,
    /// The same bytes, from `obj.__dict__` and `__pydantic_extra__` (`_guards.plain_model`).
    V2Dict,
    /// ext 4 `(module, name, obj.dict())`.
    V1,
}

impl Family for Pydantic {
    const TABLE: &'static [(Self, Shape)] = &[
        (
            Pydantic::V2,
            args4("PYDANTIC_V2", EXT_PYDANTIC_V2, b"model_validate_json"),
        ),
        (
            Pydantic::V2Dict,
            args4("PYDANTIC_V2_DICT", EXT_PYDANTIC_V2, b"model_validate_json"),
        ),
        (Pydantic::V1, args3("PYDANTIC_V1", EXT_PYDANTIC_V1)),
    ];

    #[inline(always)]
    fn index(self) -> usize {
        self as usize
    }

    #[inline(always)]
    fn write_arg<P: Policy>(self, enc: &mut Encoder<'_, P>, arg: Arg<'_>) -> Walk<P> {
        let Arg {
            obj,
            tp,
            fields,
            guards,
            depth,
            at,
            ..
        } = arg;
        match self {
            Pydantic::V2Dict => match enc.write_model_dict(obj, tp, fields, guards, depth)? {
                FromDict::Written => Ok(()),
                FromDict::NotPlain => {
                    // A value model_dump() would convert: take model_dump() after all.
                    enc.buf.truncate(at);
                    enc.write_model_dump(obj, tp, depth)
                }
            },
            Pydantic::V2 => enc.write_model_dump(obj, tp, depth),
            Pydantic::V1 => enc.write_call(obj, tp, typerefs().s_dict_method, depth),
        }
    }
}

/// The walk of a model's `__dict__` in place of its `model_dump()`: what `model_dump()` returns
/// unchanged (the plain types, exact datetime and UUID) is written as [`LangGraph`] writes it;
/// any other value, and a dict key LangGraph leaves to the parent, stops the walk.
pub(crate) struct InModel;

/// What stops an [`InModel`] walk: a failure, or a value `model_dump()` would convert.
pub(crate) enum ModelStop {
    Failed(Box<EncodeFailure>),
    NotPlain,
}

impl From<Box<EncodeFailure>> for ModelStop {
    #[inline(always)]
    fn from(f: Box<EncodeFailure>) -> Self {
        ModelStop::Failed(f)
    }
}

impl Unwind for ModelStop {
    #[inline(always)]
    fn failure(&mut self) -> Option<&mut EncodeFailure> {
        match self {
            ModelStop::Failed(f) => Some(f),
            ModelStop::NotPlain => None,
        }
    }
}

impl Policy for InModel {
    /// As [`LangGraph`]'s: the dict keys model_dump() leaves to `_msgpack_enc` stop the walk
    /// ([`InModel::dict_fallback`]). Never read for values: [`InModel::write_exact`] answers
    /// every type the walker does not write before them.
    const WRITE_EXT: bool = false;
    const ENUM_AS_VALUE: bool = false;
    const TUPLE_FLOAT_SUBCLASSES: bool = false;
    const ENUM_KEY_AS_VALUE: bool = true;
    const KEY_FALLBACK: bool = true;
    type Stop = ModelStop;

    /// Exact datetime and UUID as LangGraph writes them; any other type the walker does not
    /// write before its subclass checks (Enum members, subclasses, classes with a plan) stops.
    #[inline(always)]
    fn write_exact(
        enc: &mut Encoder<'_, Self>,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> Option<Walk<Self>> {
        let r = enc.refs;
        Some(if tp == r.datetime_type {
            enc.write_datetime(obj, tp)
        } else if tp == r.uuid_type {
            enc.write_uuid(obj, tp)
        } else {
            Err(ModelStop::NotPlain)
        })
    }

    /// Not reached: [`InModel::write_exact`] answers every type it is asked about.
    fn unknown(
        _enc: &mut Encoder<'_, Self>,
        _obj: *mut ffi::PyObject,
        _tp: *mut ffi::PyTypeObject,
        _depth: u32,
    ) -> Walk<Self> {
        Err(ModelStop::NotPlain)
    }

    /// A nested dict with a key LangGraph leaves to the parent: model_dump() decides.
    fn dict_fallback(
        _enc: &mut Encoder<'_, Self>,
        _obj: *mut ffi::PyObject,
        _start: usize,
    ) -> Walk<Self> {
        Err(ModelStop::NotPlain)
    }
}

/// How writing a model from its `__dict__` ended: written, or not (nothing of it is kept: the
/// caller truncates and writes `model_dump()`). A plain result, not an error.
enum FromDict {
    Written,
    NotPlain,
}

impl<P: Policy> Encoder<'_, P> {
    /// `obj.model_dump()`; the path through it reads `.field`.
    fn write_model_dump(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> Walk<P> {
        // SAFETY: method call on a live object by an interned name; owned result.
        let dump = unsafe { ffi::PyObject_CallMethodNoArgs(obj, typerefs().s_model_dump) };
        if dump.is_null() {
            return Err(callback_failure(tp).into());
        }
        let dump = Owned(dump);
        // SAFETY: reading the type of a live object.
        if unsafe { ffi::Py_TYPE(dump.0) } == typerefs().dict_type {
            self.write_dict(dump.0, depth, true)
        } else {
            self.walk(dump.0, depth)
        }
    }

    /// `model_dump()`'s bytes from `obj.__dict__` and `obj.__pydantic_extra__`, for a class whose
    /// `model_dump()` returns its plain data unchanged (`_guards.plain_model`). Any value that
    /// model_dump() would convert makes this return [`FromDict::NotPlain`].
    fn write_model_dict(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        fields: &[Field],
        guards: &[Option<Guard>],
        depth: u32,
    ) -> Walk<P, FromDict> {
        let r = typerefs();
        // SAFETY: attribute fetches on a live model, through object's generic lookup (a model's
        // `__getattr__` hook only serves private attributes; `plain_model` classes keep object's
        // own `__dict__`, which `PyObject_GenericGetDict` reads without the descriptor lookup);
        // owned results released by Owned.
        let (dict, extra) = unsafe {
            let d = ffi::PyObject_GenericGetDict(obj, std::ptr::null_mut());
            if d.is_null() {
                return Err(callback_failure(tp).into());
            }
            let d = Owned(d);
            let e = ffi::PyObject_GenericGetAttr(obj, r.s_pydantic_extra);
            if e.is_null() {
                ffi::PyErr_Clear();
                return Ok(FromDict::NotPlain);
            }
            (d, Owned(e))
        };
        // SAFETY: type checks on live objects; sizes of dicts.
        let (nd, ne) = unsafe {
            if ffi::PyDict_CheckExact(dict.0) == 0 {
                return Ok(FromDict::NotPlain);
            }
            let ne = if extra.0 == ffi::Py_None() {
                0
            } else if ffi::PyDict_CheckExact(extra.0) != 0 {
                dict_len(extra.0)
            } else {
                return Ok(FromDict::NotPlain);
            };
            (dict_len(dict.0), ne)
        };
        if nd != fields.len() || (ne > 0 && extra_shadows_field(dict.0, extra.0)) {
            return Ok(FromDict::NotPlain);
        }
        self.enter(depth)?;
        writer::map_len(self.buf, (nd + ne) as u32);
        let mut in_model = self.with_policy(InModel);
        let res = in_model
            .write_model_fields(dict.0, fields, guards, depth)
            .and_then(|_| {
                if ne == 0 {
                    return Ok(());
                }
                match in_model.write_dict_items(extra.0, depth, true)? {
                    Entries::Written => Ok(()),
                    // A key LangGraph leaves to the parent: model_dump() decides.
                    Entries::KeyFallback => Err(ModelStop::NotPlain),
                }
            });
        match res {
            Ok(()) => Ok(FromDict::Written),
            Err(ModelStop::NotPlain) => Ok(FromDict::NotPlain),
            Err(ModelStop::Failed(f)) => Err(f.into()),
        }
    }
}

impl Encoder<'_, InModel> {
    /// The fields of a model's `__dict__` in the plan's order, each value walked under
    /// [`InModel`]; a field out of place, or a value its guard does not admit, stops.
    fn write_model_fields(
        &mut self,
        dict: *mut ffi::PyObject,
        fields: &[Field],
        guards: &[Option<Guard>],
        depth: u32,
    ) -> Walk<InModel> {
        let mut pos: ffi::Py_ssize_t = 0;
        for (i, f) in fields.iter().enumerate() {
            // SAFETY: iterating a live exact dict whose size was checked; borrowed pointers.
            let Some((key, value)) = (unsafe { dict_next(dict, &mut pos) }) else {
                return Err(ModelStop::NotPlain);
            };
            // Same field, same place: interned names compare by address, else by value.
            // SAFETY: comparing two live strs (nothing has run since PyDict_Next yielded them).
            let same = key == f.name.as_ptr()
                || unsafe {
                    ffi::PyUnicode_CheckExact(key) != 0
                        && ffi::PyUnicode_Compare(key, f.name.as_ptr()) == 0
                };
            if !same {
                return Err(ModelStop::NotPlain);
            }
            if let Some(Some(g)) = guards.get(i) {
                if !g.admits(value) {
                    return Err(ModelStop::NotPlain);
                }
            }
            self.buf.extend_from_slice(&f.key);
            // A non-scalar is held while walked: a tzinfo's utcoffset, say, is Python code that
            // could replace it in the dict.
            if let Err(e) = self.walk_item(value, depth + 1) {
                return Err(at(e, PathSeg::Field(f.name.clone_ref(py())), dict));
            }
        }
        Ok(())
    }
}

/// Whether an extra (`__pydantic_extra__`) key also names a field in `__dict__`: `model_dump()`
/// then writes that key once, with the extra's value (`extra="allow"` with a `validation_alias`,
/// or an edited `__pydantic_extra__`), so the `__dict__` path does not apply. A key that is not
/// exactly a str counts as shadowing (model_dump() decides).
fn extra_shadows_field(dict: *mut ffi::PyObject, extra: *mut ffi::PyObject) -> bool {
    let mut pos: ffi::Py_ssize_t = 0;
    // SAFETY: `extra` and `dict` are live exact dicts; keys are borrowed from `extra` and only
    // exact strs are looked up in `dict`, whose hashing and comparison run no Python code, so
    // neither dict can change meanwhile.
    unsafe {
        while let Some((key, _)) = dict_next(extra, &mut pos) {
            if ffi::PyUnicode_CheckExact(key) == 0 {
                return true;
            }
            match ffi::PyDict_Contains(dict, key) {
                0 => {}
                1 => return true,
                _ => {
                    ffi::PyErr_Clear();
                    return true;
                }
            }
        }
    }
    false
}
