//! Per-class plans of the LangGraph encoder: `fast_serde.langgraph._plans.encode_plan(obj)`
//! (Python, mirroring `jsonplus._msgpack_default` branch by branch) names the branch and the
//! attributes to read, once per class; the plan keeps the ext code, the pre-encoded payload head
//! (array header, module str, name str) and the field names as MessagePack str bytes. Plans are
//! cached per codec in a [`ClassMap`] (the class held weakly, a plan used only while the class's
//! `tp_version_tag` is unchanged), copied into each thread's own [`Locals`] for the hot path.

use super::guard::Guard;
use super::kinds::{Field, PlanKind, CHECK_INSTANCE, ONCE};
use super::spec::PlanSpec;
use crate::encode::callback_failure;
use crate::error::EncodeResult;
use crate::ffi::classmap::{ClassMap, Locals, CLASS_MAP_MAX};
use crate::ffi::object::version_tag;
use crate::ffi::py;
use crate::msgpack::writer;
use pyo3::ffi;
use pyo3::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

pub(crate) struct Plan {
    pub(crate) kind: PlanKind,
    /// fixarray header + module + name, pre-encoded (empty for kinds without that head).
    pub(crate) head: Box<[u8]>,
    pub(crate) fields: Vec<Field>,
    /// Instances have their own `__dict__`, which may hold an attribute that steers
    /// `_msgpack_default` for that object alone (`_plans.CHECK_INSTANCE`).
    pub(crate) check_instance: bool,
    /// Decided by the instance's own attributes: not cached for the class (`_plans.ONCE`).
    pub(crate) once: bool,
    /// With `check_instance`: an object whose own `__dict__` holds any of these names, or all
    /// of `steer_all` (when not empty), takes the Python path (`_plans.encode_plan`); for
    /// PYDANTIC_V2_DICT, per field the TypedDicts below it. Shared by every thread's copy.
    pub(crate) checks: Arc<Checks>,
}

/// The per-object checks of a plan (see [`Plan::checks`]).
pub(crate) struct Checks {
    pub(crate) steer_any: Vec<Py<PyAny>>,
    pub(crate) steer_all: Vec<Py<PyAny>>,
    /// PYDANTIC_V2_DICT: per field (aligned with `fields`, or empty), the TypedDicts below it
    /// (`_guards.typed_dict_guards`).
    pub(crate) guards: Vec<Option<Guard>>,
}

impl Plan {
    /// A copy for one thread's [`LOCAL_PLANS`] (same strs, same checks).
    fn copy(&self, py: Python<'_>) -> Plan {
        Plan {
            kind: self.kind,
            head: self.head.clone(),
            fields: (self.fields.iter())
                .map(|f| Field {
                    name: f.name.clone_ref(py),
                    key: f.key.clone(),
                })
                .collect(),
            check_instance: self.check_instance,
            once: self.once,
            checks: self.checks.clone(),
        }
    }
}

/// A codec's plans, by type address.
pub(crate) type Plans = ClassMap<Plan>;

thread_local! {
    /// This thread's copies of the plans of the codecs it used last.
    static LOCAL_PLANS: RefCell<Locals<Plan>> = RefCell::default();
}

/// Pre-encoded MessagePack str.
pub(crate) fn encoded_str(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 5);
    writer::str(&mut v, s.as_bytes());
    v
}

/// The plan for `tp`, decided once per class and codec (`plans`).
#[inline]
pub(crate) fn plan_for(
    plans: &Plans,
    obj: *mut ffi::PyObject,
    tp: *mut ffi::PyTypeObject,
    inspect: *mut ffi::PyObject,
) -> EncodeResult<Rc<Plan>> {
    match LOCAL_PLANS.with_borrow(|l| l.get(plans, tp)) {
        Some(p) => Ok(p),
        None => plan_miss(plans, obj, tp, inspect),
    }
}

/// [`plan_for`] past this thread's copy: the codec's map, else a new plan (cached when it holds
/// for the class and the class can be referenced weakly).
#[cold]
#[inline(never)]
fn plan_miss(
    plans: &Plans,
    obj: *mut ffi::PyObject,
    tp: *mut ffi::PyTypeObject,
    inspect: *mut ffi::PyObject,
) -> EncodeResult<Rc<Plan>> {
    let py = py();
    let (hit, dropped) = LOCAL_PLANS.with_borrow_mut(|l| l.catch_up(plans, tp));
    drop(dropped);
    if let Some(p) = hit {
        return Ok(p);
    }
    let cached = match plans.get(tp.cast()) {
        Some(c) => c,
        None => {
            let before = version_tag(tp.cast());
            let plan = decide(obj, tp, inspect)?;
            // The tag after the lookups `decide` made, which assign one.
            let version = version_tag(tp.cast());
            // `decide` runs Python code, which may modify the class (a metaclass hook, another
            // thread): the plan holds for the tag only if the class had that very tag before.
            // A class without one yet (modified since its last lookup) is cached next time.
            if plan.once || version != before {
                return Ok(Rc::new(plan));
            }
            match plans.insert(py, tp as usize, tp.cast(), version, plan) {
                Ok(c) => c,
                Err(plan) => return Ok(Rc::new(plan)),
            }
        }
    };
    let plan = Rc::new(cached.value.copy(py));
    let dropped = LOCAL_PLANS.with_borrow_mut(|l| l.put(py, plans, tp, &cached, plan.clone()));
    drop((dropped, cached));
    Ok(plan)
}

/// An empty map of a codec's plans.
pub(crate) fn new_plans() -> Plans {
    Plans::with_locals(CLASS_MAP_MAX, Some(forget_local))
}

/// The `LocalHook` of the plans: drop this thread's copy of map `id` (cleared or dropped), or
/// its plan for the dying type `tp`. Runs no Python code until the borrow has ended; a copy
/// borrowed at that moment (a death inside a lookup) is caught up at the next miss.
fn forget_local(id: usize, tp: Option<usize>) {
    let dropped = LOCAL_PLANS
        .try_with(|l| l.try_borrow_mut().ok().and_then(|mut l| l.forget(id, tp)))
        .ok()
        .flatten();
    drop(dropped);
}

/// How many plans this thread's copy of `plans` holds.
pub(crate) fn local_count(plans: &Plans) -> usize {
    LOCAL_PLANS.with_borrow(|l| l.len(plans))
}

/// Ask `_plans.encode_plan(obj)` for its `PlanSpec` (spec.rs) and pre-encode the payload head and
/// field names.
#[cold]
pub(crate) fn decide(
    obj: *mut ffi::PyObject,
    tp: *mut ffi::PyTypeObject,
    inspect: *mut ffi::PyObject,
) -> EncodeResult<Plan> {
    let py = py();
    let fail = |_e: PyErr| callback_failure(tp);
    // SAFETY: `inspect` and `obj` are live; the result is owned by the Bound.
    let res = unsafe {
        let r = ffi::PyObject_CallOneArg(inspect, obj);
        if r.is_null() {
            return Err(callback_failure(tp));
        }
        Bound::from_owned_ptr(py, r)
    };
    let spec = match res.cast::<PlanSpec>() {
        Ok(spec) => spec.get(),
        Err(_) => {
            let msg = format!(
                "fast_serde: encode_plan answered a {}, not a _native.PlanSpec",
                res.get_type()
                    .name()
                    .map_or_else(|_| "?".to_owned(), |n| n.to_string())
            );
            pyo3::exceptions::PyTypeError::new_err(msg).restore(py);
            return Err(callback_failure(tp));
        }
    };
    let guards = spec.guards.bind(py).try_iter().and_then(|it| {
        it.map(|g| Guard::from_spec(&g?))
            .collect::<PyResult<Vec<_>>>()
    });
    let guards = match guards {
        Ok(g) => g,
        Err(e) => {
            e.restore(py);
            return Err(callback_failure(tp));
        }
    };
    let kind = spec.kind;
    let intern = |names: &[String]| -> Vec<Py<PyAny>> {
        names
            .iter()
            .map(|n| pyo3::types::PyString::intern(py, n).into_any().unbind())
            .collect()
    };
    // SAFETY: `tp` is a live type object, borrowed into a new reference.
    let cls = unsafe { Bound::from_borrowed_ptr(py, tp.cast()) };
    let mut head = Vec::new();
    let shape = kind.shape();
    if shape.head_len > 0 {
        writer::array_len(&mut head, shape.head_len);
        if let Some((module, name)) = shape.head_names {
            head.extend_from_slice(&encoded_str(module));
            head.extend_from_slice(&encoded_str(name));
        } else {
            for attr in ["__module__", "__name__"] {
                let s: String = cls.getattr(attr).and_then(|v| v.extract()).map_err(fail)?;
                head.extend_from_slice(&encoded_str(&s));
            }
        }
    }
    let fields = (spec.fields.iter())
        .map(|n| Field {
            name: pyo3::types::PyString::intern(py, n).into_any().unbind(),
            key: encoded_str(n).into_boxed_slice(),
        })
        .collect();
    Ok(Plan {
        kind,
        head: head.into_boxed_slice(),
        fields,
        check_instance: spec.flags & CHECK_INSTANCE != 0,
        once: spec.flags & ONCE != 0,
        checks: Arc::new(Checks {
            steer_any: intern(&spec.steer_any),
            steer_all: intern(&spec.steer_all),
            guards,
        }),
    })
}
