//! Trusted restore (`validate_models=False`): a pydantic model rebuilt as pickle rebuilds it,
//! without validation, where the class's schema (`_trusted.trusted_model`, read once per class)
//! proves that validation returns every value unchanged and each value meets its field's rule.

use super::copy::SetRecipe;
use super::template::new_model;
use super::watch;
use crate::error::{fallback_ok, pending_fatal};
use crate::ffi::classmap::{ClassMap, CLASS_MAP_MAX};
use crate::ffi::dictiter::dict_next;
use crate::ffi::object::version_tag;
use crate::ffi::typeref::typerefs;
use crate::ffi::unicode::{compact_ascii_bytes, is_compact_ascii};
use crate::ffi::{py, Owned};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use smallvec::SmallVec;
use std::sync::Arc;

/// How a trusted pydantic class is restored without validation (`_trusted.trusted_model`): the
/// field names in order, whether extras are kept (`extra="allow"`), per field the rule its
/// value must meet for validation to provably return it unchanged, and groups of
/// `(field index, rule)` of which at least one per group must hold.
pub(crate) struct Trusted {
    fields: Vec<Py<PyAny>>,
    /// Each restored model's `__pydantic_fields_set__`: a new set of the field names as if added
    /// one at a time in the schema's order, as pydantic-core adds them, so that it iterates in
    /// the same order (a payload restores only when its keys are exactly these names).
    fields_set: SetRecipe,
    extra_allow: bool,
    rules: Vec<Option<Rule>>,
    either: Vec<Vec<(usize, Option<Rule>)>>,
}

/// One declared key of a TypedDict rule: its name (an exact str), its value's rule, required.
pub(crate) struct TdKey {
    name: Py<PyAny>,
    rule: Option<Rule>,
    required: bool,
}

/// A value validation returns unchanged (`_trusted.trusted_model`'s rules).
pub(crate) enum Rule {
    /// Exactly one of these types.
    Types(Vec<Py<PyAny>>),
    /// Equal to one of these str/int/bool/None values, of the same exact type.
    Literal(Vec<Py<PyAny>>),
    Optional(Box<Option<Rule>>),
    List(Box<Option<Rule>>),
    Dict(Box<(Option<Rule>, Option<Rule>)>),
    Union(Vec<Option<Rule>>),
    /// An exact dict whose exact str keys are declared ones in declared order (the required ones
    /// present), then, when the bool is true, undeclared ones (values unchecked).
    TypedDict(Vec<TdKey>, bool),
    /// A non-empty exact list or dict.
    NonEmpty,
    /// An exact dict whose keys are exact str/int/float/bool/None/bytes, none equal to this str.
    Without(Py<PyAny>),
}

impl Rule {
    fn from_spec(spec: &Bound<'_, PyAny>) -> PyResult<Option<Rule>> {
        if spec.is_none() {
            return Ok(None);
        }
        let tag: String = spec.get_item(0)?.extract()?;
        let arg = spec.get_item(1)?;
        let list = |b: &Bound<'_, PyAny>| -> PyResult<Vec<Py<PyAny>>> {
            b.try_iter()?.map(|v| v.map(Bound::unbind)).collect()
        };
        Ok(Some(match tag.as_str() {
            "types" => Rule::Types(list(&arg)?),
            "literal" => Rule::Literal(list(&arg)?),
            "opt" => Rule::Optional(Box::new(Rule::from_spec(&arg)?)),
            "list" => Rule::List(Box::new(Rule::from_spec(&arg)?)),
            "dict" => Rule::Dict(Box::new((
                Rule::from_spec(&arg)?,
                Rule::from_spec(&spec.get_item(2)?)?,
            ))),
            "union" => Rule::Union(
                arg.try_iter()?
                    .map(|r| Rule::from_spec(&r?))
                    .collect::<PyResult<_>>()?,
            ),
            "td" => {
                let keys = arg
                    .try_iter()?
                    .map(|k| {
                        let k = k?;
                        let name = k.get_item(0)?;
                        if !name.is_exact_instance_of::<pyo3::types::PyString>() {
                            return Err(pyo3::exceptions::PyValueError::new_err(
                                "TypedDict keys are str",
                            ));
                        }
                        Ok(TdKey {
                            name: name.unbind(),
                            rule: Rule::from_spec(&k.get_item(1)?)?,
                            required: k.get_item(2)?.is_truthy()?,
                        })
                    })
                    .collect::<PyResult<_>>()?;
                Rule::TypedDict(keys, spec.get_item(2)?.is_truthy()?)
            }
            "nonempty" => Rule::NonEmpty,
            "without" => {
                if !arg.is_exact_instance_of::<pyo3::types::PyString>() {
                    return Err(pyo3::exceptions::PyValueError::new_err("a str key"));
                }
                Rule::Without(arg.unbind())
            }
            _ => {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "unknown trust rule",
                ))
            }
        }))
    }

    /// Whether `rule` admits `value` (None admits everything). Runs no Python code: types are
    /// compared by address, literals only for exact str/int/bool/None, containers only when exact.
    fn admits(rule: &Option<Rule>, value: *mut ffi::PyObject) -> bool {
        let Some(rule) = rule else { return true };
        let refs = typerefs();
        // SAFETY: `value` is a live object held by the caller (the decoded kwargs); items are
        // borrowed from exact lists and dicts that nothing changes meanwhile.
        unsafe {
            let tp = ffi::Py_TYPE(value);
            match rule {
                Rule::Types(types) => types.iter().any(|t| t.as_ptr() == tp.cast()),
                Rule::Literal(values) => values.iter().any(|v| {
                    let v = v.as_ptr();
                    ffi::Py_TYPE(v) == tp
                        && (v == value
                            || (tp == refs.str_type && same_str(v, value))
                            || (tp == refs.int_type
                                && ffi::PyObject_RichCompareBool(v, value, ffi::Py_EQ) == 1))
                }),
                Rule::Optional(inner) => value == ffi::Py_None() || Rule::admits(inner, value),
                Rule::List(items) => {
                    tp == refs.list_type
                        && (items.is_none()
                            || (0..ffi::PyList_GET_SIZE(value))
                                .all(|i| Rule::admits(items, ffi::PyList_GET_ITEM(value, i))))
                }
                Rule::Dict(kv) => {
                    if tp != refs.dict_type {
                        return false;
                    }
                    if kv.0.is_none() && kv.1.is_none() {
                        return true; // any keys and values
                    }
                    let mut pos: ffi::Py_ssize_t = 0;
                    while let Some((k, v)) = dict_next(value, &mut pos) {
                        if !Rule::admits(&kv.0, k) || !Rule::admits(&kv.1, v) {
                            return false;
                        }
                    }
                    true
                }
                Rule::Union(members) => members.iter().any(|m| Rule::admits(m, value)),
                Rule::TypedDict(keys, extra) => {
                    tp == refs.dict_type && typed_dict(keys, *extra, value)
                }
                Rule::NonEmpty => {
                    (tp == refs.list_type && ffi::PyList_GET_SIZE(value) > 0)
                        || (tp == refs.dict_type && ffi::PyDict_Size(value) > 0)
                }
                Rule::Without(key) => {
                    tp == refs.dict_type && plain_keys_without(value, key.as_ptr())
                }
            }
        }
    }
}

/// Two exact str objects are equal (by address, then by value; runs no Python code).
///
/// # Safety
/// Both must be live exact str objects.
unsafe fn same_str(a: *mut ffi::PyObject, b: *mut ffi::PyObject) -> bool {
    if a == b {
        return true;
    }
    if is_compact_ascii(a) && is_compact_ascii(b) {
        return compact_ascii_bytes(a) == compact_ascii_bytes(b);
    }
    ffi::PyUnicode_Compare(a, b) == 0
}

/// `Rule::TypedDict` on an exact dict: what pydantic-core's typed-dict validator returns
/// unchanged (it writes the declared keys present in declared order, then the undeclared ones).
///
/// # Safety
/// `value` must be a live exact dict that nothing changes meanwhile.
unsafe fn typed_dict(keys: &[TdKey], extra: bool, value: *mut ffi::PyObject) -> bool {
    let mut pos: ffi::Py_ssize_t = 0;
    let mut next = 0; // the first declared key not seen yet
    let mut in_extras = false;
    while let Some((k, v)) = dict_next(value, &mut pos) {
        if ffi::PyUnicode_CheckExact(k) == 0 {
            return false;
        }
        match declared(keys, next, k) {
            Some(i) if !in_extras && i >= next => {
                // Every declared key skipped over must be optional.
                if keys[next..i].iter().any(|d| d.required) || !Rule::admits(&keys[i].rule, v) {
                    return false;
                }
                next = i + 1;
            }
            Some(_) => return false, // out of declared order, or after an undeclared key
            None if extra => in_extras = true,
            None => return false,
        }
    }
    keys[next..].iter().all(|d| !d.required)
}

/// The index of the declared key equal to the exact str `k`: looked for from `next` (keys come
/// in declared order), by address first (decoded keys are interned, as declared names are),
/// then by value.
///
/// # Safety
/// `k` must be a live exact str.
unsafe fn declared(keys: &[TdKey], next: usize, k: *mut ffi::PyObject) -> Option<usize> {
    let order = (next..keys.len()).chain(0..next.min(keys.len()));
    let by_address = order.clone().find(|&i| keys[i].name.as_ptr() == k);
    by_address.or_else(|| {
        order
            .into_iter()
            .find(|&i| same_str(keys[i].name.as_ptr(), k))
    })
}

/// `Rule::Without`: every key of the exact dict `value` is of a type whose comparison with a str
/// runs no Python code, and none equals `key`.
///
/// # Safety
/// `value` must be a live exact dict that nothing changes meanwhile; `key` a live exact str.
unsafe fn plain_keys_without(value: *mut ffi::PyObject, key: *mut ffi::PyObject) -> bool {
    let refs = typerefs();
    let mut pos: ffi::Py_ssize_t = 0;
    while let Some((k, _)) = dict_next(value, &mut pos) {
        let tp = ffi::Py_TYPE(k);
        if tp == refs.str_type {
            if same_str(k, key) {
                return false;
            }
        } else if !(tp == refs.int_type
            || tp == refs.float_type
            || tp == refs.bool_type
            || tp == refs.bytes_type
            || k == ffi::Py_None())
        {
            return false;
        }
    }
    true
}

/// A codec's trusted-restore decisions (`_trusted.trusted_model`), per class: `None` for a class
/// not trusted. Decided again for a class modified since (`model_rebuild`, a replaced `__init__`
/// or validator: a new `tp_version_tag`).
pub(crate) type Decisions = ClassMap<Option<Arc<Trusted>>>;

/// An empty map of decisions.
pub(crate) fn new_decisions() -> Decisions {
    Decisions::new(CLASS_MAP_MAX)
}

/// `validate_models=False` (`trust`, `_trusted.trusted_model`, given): restore a trusted pydantic
/// model of class `cls` as pickle does (`__dict__`, fields set, extras set directly). `None` when
/// validating, when the class is not trusted or the kwargs are not exactly its fields in order
/// (then the validated path runs); `Err` when deciding raised a `BaseException` that is not an
/// `Exception` (a KeyboardInterrupt ends the read).
pub(crate) fn restore_trusted(
    decisions: &Decisions,
    trust: Option<&Py<PyAny>>,
    cls: &Py<PyAny>,
    kwargs: *mut ffi::PyObject,
) -> PyResult<Option<*mut ffi::PyObject>> {
    let Some(trust) = trust else {
        return Ok(None);
    };
    let c = cls.as_ptr();
    // SAFETY: a type check on a live object (the allowlist may name something else).
    if unsafe { ffi::PyType_Check(c) } == 0 {
        return Ok(None);
    }
    let py = py();
    let t = match decisions.value(c) {
        Some(d) => d,
        None => {
            let before = version_tag(c);
            let generation = watch::generation();
            // Not remembered when deciding raised: asked again next time.
            let decided = decide_trust(py, trust, cls)?.map(Arc::new);
            // Kept only when the class was not modified while `trusted_model` ran, nor anything
            // watched found changed (watch.rs: what the decision rests on may be unwatched).
            if version_tag(c) == before && watch::generation() == generation {
                let kept = decisions.insert(py, c as usize, c, before, decided.clone());
                drop(kept);
            }
            decided
        }
    };
    match t.and_then(|t| restore(&t, cls, kwargs)) {
        Some(obj) => Ok(Some(obj)),
        // A KeyboardInterrupt raised while the model was made ends the load; else it validates.
        None => pending_fatal(py).map_or(Ok(None), Err),
    }
}

/// A model of the trusted class `cls` with `kwargs` as its `__dict__`, when they are exactly
/// its fields in order and each meets its rule.
fn restore(t: &Trusted, cls: &Py<PyAny>, kwargs: *mut ffi::PyObject) -> Option<*mut ffi::PyObject> {
    // SAFETY: `kwargs` is a live exact dict, iterated with no Python code run (keys compared by
    // address, then by value, with the field names in order; rules run no Python code); the
    // fields set is made from `t.fields_set` (exact strs); the new object gets its four pydantic
    // slots from `new_model`; every temporary is released by Owned.
    unsafe {
        if ffi::PyDict_Size(kwargs) as usize != t.fields.len() {
            return None;
        }
        let mut pos: ffi::Py_ssize_t = 0;
        // The values, borrowed from `kwargs`, for the `either` groups.
        let mut values: SmallVec<[*mut ffi::PyObject; 16]> = SmallVec::new();
        for (f, rule) in t.fields.iter().zip(&t.rules) {
            let (k, v) = dict_next(kwargs, &mut pos)?;
            if k != f.as_ptr() && (ffi::PyUnicode_CheckExact(k) == 0 || !same_str(k, f.as_ptr())) {
                return None;
            }
            if !Rule::admits(rule, v) {
                return None;
            }
            if !t.either.is_empty() {
                values.push(v);
            }
        }
        let either_holds = t.either.iter().all(|group| {
            group
                .iter()
                .any(|(i, rule)| values.get(*i).is_some_and(|&v| Rule::admits(rule, v)))
        });
        if !either_holds {
            return None;
        }
        let fields_set = t.fields_set.make()?;
        let extra = if t.extra_allow {
            ffi::PyDict_New()
        } else {
            ffi::Py_NewRef(ffi::Py_None())
        };
        if extra.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        let extra = Owned(extra);
        new_model(cls.as_ptr(), kwargs, fields_set.0, extra.0, ffi::Py_None())
    }
}

/// Ask `_trusted.trusted_model(cls)` once per class; read its fields, extra mode and rules.
/// `Ok(None)` (not trusted) when it raised an `Exception`; anything else it raised is returned.
#[cold]
fn decide_trust(py: Python<'_>, trust: &Py<PyAny>, cls: &Py<PyAny>) -> PyResult<Option<Trusted>> {
    let decided = match trust.bind(py).call1((cls.bind(py),)) {
        Ok(d) => d,
        Err(e) if !fallback_ok(py, &e) => return Err(e),
        Err(_) => return Ok(None),
    };
    if decided.is_none() {
        return Ok(None);
    }
    let parse = || -> PyResult<Trusted> {
        let fields: Vec<Py<PyAny>> = decided
            .get_item(0)?
            .try_iter()?
            .map(|k| k.map(Bound::unbind))
            .collect::<PyResult<_>>()?;
        let extra_allow = decided.get_item(1)?.is_truthy()?;
        let rules = decided
            .get_item(2)?
            .try_iter()?
            .map(|r| Rule::from_spec(&r?))
            .collect::<PyResult<Vec<_>>>()?;
        if rules.len() != fields.len() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "one rule per field",
            ));
        }
        let either = decided
            .get_item(3)?
            .try_iter()?
            .map(|group| {
                group?
                    .try_iter()?
                    .map(|pair| {
                        let pair = pair?;
                        let i: usize = pair.get_item(0)?.extract()?;
                        if i >= fields.len() {
                            return Err(pyo3::exceptions::PyValueError::new_err("a field index"));
                        }
                        Ok((i, Rule::from_spec(&pair.get_item(1)?)?))
                    })
                    .collect::<PyResult<Vec<_>>>()
            })
            .collect::<PyResult<Vec<_>>>()?;
        if !fields
            .iter()
            .all(|f| f.bind(py).is_exact_instance_of::<PyString>())
        {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "field names are strs",
            ));
        }
        let names = PyTuple::new(py, &fields)?;
        let fields_set = SetRecipe::new(Owned(names.into_ptr()))
            .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("the fields set"))?;
        Ok(Trusted {
            fields,
            fields_set,
            extra_allow,
            rules,
            either,
        })
    };
    Ok(parse().ok())
}
