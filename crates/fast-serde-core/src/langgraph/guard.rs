//! The TypedDict guards of a PYDANTIC_V2_DICT plan (`_guards.typed_dict_guards`, read from the
//! `PlanSpec`): plan data, read by plan.rs when a plan is decided and by kinds/pydantic.rs when a model is
//! written from its `__dict__`.

use crate::ffi::dictiter::dict_next;
use crate::ffi::py;
use crate::ffi::typeref::typerefs;
use pyo3::ffi;
use pyo3::prelude::*;

/// Where `model_dump()` filters a plain value: the TypedDicts below one model field
/// (`_guards.typed_dict_guards`). A value admitted holds only declared keys, in declared order,
/// so `model_dump()` writes it unchanged; anything else sends the model to `model_dump()`.
pub(crate) enum Guard {
    /// An exact dict with exact str keys. Closed (`extra="ignore"`): its keys are a subsequence
    /// of these names, in this order. Open (`extra="allow"`, written with every key in the dict's
    /// order): any keys. The values of named keys are admitted by their guards.
    TypedDict {
        fields: Vec<(Py<PyAny>, Option<Guard>)>,
        open: bool,
    },
    /// An exact list whose items are admitted.
    List(Box<Guard>),
    /// An exact dict whose values are admitted.
    Dict(Box<Guard>),
    /// None, or admitted by the inner guard.
    Optional(Box<Guard>),
}

impl Guard {
    /// Read a guard spec: `("td", ((key, spec), ...))`, `("list"|"dict"|"opt", spec)`; None for
    /// no guard.
    pub(crate) fn from_spec(spec: &Bound<'_, PyAny>) -> PyResult<Option<Guard>> {
        if spec.is_none() {
            return Ok(None);
        }
        let (tag, inner): (String, Bound<'_, PyAny>) = spec.extract()?;
        let boxed = |g: Option<Guard>| {
            g.map(Box::new)
                .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("empty guard"))
        };
        Ok(Some(match tag.as_str() {
            "td" | "tdx" => {
                let mut fields = Vec::new();
                for item in inner.try_iter()? {
                    let (name, sub): (Bound<'_, pyo3::types::PyString>, Bound<'_, PyAny>) =
                        item?.extract()?;
                    let name = pyo3::types::PyString::intern(py(), name.to_str()?);
                    fields.push((name.into_any().unbind(), Guard::from_spec(&sub)?));
                }
                Guard::TypedDict {
                    fields,
                    open: tag == "tdx",
                }
            }
            "list" => Guard::List(boxed(Guard::from_spec(&inner)?)?),
            "dict" => Guard::Dict(boxed(Guard::from_spec(&inner)?)?),
            "opt" => Guard::Optional(boxed(Guard::from_spec(&inner)?)?),
            _ => return Err(pyo3::exceptions::PyValueError::new_err("unknown guard")),
        }))
    }

    /// Whether `value` is written by `model_dump()` as it stands. Runs no Python code: only exact
    /// types are looked into, and keys are compared as exact strs.
    pub(crate) fn admits(&self, value: *mut ffi::PyObject) -> bool {
        let r = typerefs();
        // SAFETY: `value` is a live object borrowed from the model's `__dict__`, which nothing
        // changes meanwhile (no Python code runs here); items are borrowed from their exact list
        // or dict, read within bounds.
        unsafe {
            let tp = ffi::Py_TYPE(value);
            match self {
                Guard::Optional(g) => value == ffi::Py_None() || g.admits(value),
                Guard::List(g) => {
                    if tp != r.list_type {
                        return false;
                    }
                    (0..ffi::PyList_GET_SIZE(value))
                        .all(|i| g.admits(ffi::PyList_GET_ITEM(value, i)))
                }
                Guard::Dict(g) => {
                    if tp != r.dict_type {
                        return false;
                    }
                    let mut pos: ffi::Py_ssize_t = 0;
                    while let Some((_, v)) = dict_next(value, &mut pos) {
                        if !g.admits(v) {
                            return false;
                        }
                    }
                    true
                }
                Guard::TypedDict { fields, open } => {
                    if tp != r.dict_type {
                        return false;
                    }
                    let mut pos: ffi::Py_ssize_t = 0;
                    let mut next = 0usize;
                    while let Some((k, v)) = dict_next(value, &mut pos) {
                        if ffi::PyUnicode_CheckExact(k) == 0 {
                            return false;
                        }
                        let from = if *open { 0 } else { next };
                        let found = fields[from..].iter().position(|(name, _)| {
                            k == name.as_ptr() || ffi::PyUnicode_Compare(k, name.as_ptr()) == 0
                        });
                        let Some(found) = found else {
                            if *open {
                                continue;
                            }
                            return false;
                        };
                        if let Some(g) = &fields[from + found].1 {
                            if !g.admits(v) {
                                return false;
                            }
                        }
                        next = from + found + 1;
                    }
                    true
                }
            }
        }
    }
}
