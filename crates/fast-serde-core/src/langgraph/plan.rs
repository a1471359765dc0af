//! Per-class plans of the LangGraph encoder: `fast_serde.langgraph._plans.encode_plan(obj)`
//! (Python, mirroring `jsonplus._msgpack_default` branch by branch) names the branch and the
//! attributes to read, once per class; the plan keeps the ext code, the pre-encoded payload head
//! (array header, module str, name str) and the field names as MessagePack str bytes. Plans are
//! cached by class (held weakly, and used only while the class's `tp_version_tag` is unchanged),
//! shared between threads and copied into each thread's own map.

use super::guard::Guard;
use super::kind::{PlanKind, CHECK_INSTANCE, ONCE};
use super::spec::PlanSpec;
use crate::encode::callback_failure;
use crate::error::EncodeResult;
use crate::ffi::py;
use crate::ffi::weak::WeakClass;
use crate::msgpack::writer;
use pyo3::ffi;
use pyo3::prelude::*;
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One attribute the plan reads: its name (a str) and that name pre-encoded as a map key.
pub(crate) struct Field {
    pub(crate) name: Py<PyAny>,
    pub(crate) key: Box<[u8]>,
}

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
    /// The class the plan was decided for, held weakly (set when the plan is cached). A hit
    /// must find this very class object: a new class allocated at a dead one's address does not.
    pub(crate) class: Option<WeakClass>,
    /// The class's `tp_version_tag` when the plan was decided. CPython gives a type a new tag
    /// whenever it or a base is modified (`PyType_Modified`: `cls.model_dump = ...`,
    /// `cls.node = ...`, a property added): a plan is used only while the tag is unchanged, else
    /// it is decided again, as `_msgpack_default` looks at the class as it is now. 0: no tag
    /// (then the plan is not cached).
    pub(crate) version: u32,
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
    /// Whether this plan was cached for the live type `tp`.
    #[inline]
    fn is_for(&self, tp: *mut ffi::PyTypeObject) -> bool {
        self.class.as_ref().is_some_and(|c| c.is(tp.cast()))
    }

    /// Whether `tp` is unchanged since the plan was decided (see [`Plan::version`]).
    #[inline(always)]
    fn current(&self, tp: *mut ffi::PyTypeObject) -> bool {
        // SAFETY: reading a field of a live type object.
        self.version != 0 && unsafe { (*tp).tp_version_tag } == self.version
    }

    /// Whether `wr` is the weak reference this plan holds to its class.
    fn holds(&self, wr: *mut ffi::PyObject) -> bool {
        self.class.as_ref().is_some_and(|c| c.as_ptr() == wr)
    }

    /// Whether the class the plan was cached for is alive.
    fn alive(&self) -> bool {
        self.class.as_ref().is_some_and(WeakClass::alive)
    }

    /// A copy for one thread's [`LOCAL_PLANS`] (same strs, same weak reference).
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
            class: self.class.as_ref().map(|c| c.clone_ref(py)),
            version: self.version,
        }
    }
}

/// At most this many classes get a plan (in [`PLANS`], and in each thread's [`LOCAL_PLANS`]);
/// past it, the rest are decided on every call.
pub(crate) const PLAN_CACHE_MAX: usize = 4096;

/// Cached plans by type address, for live classes only. A plan holds its class weakly: when the
/// class dies, its weak reference's callback ([`forget_plan`]) takes the plan out of here and out
/// of the dying thread's [`LOCAL_PLANS`], and counts the death in [`PLAN_DEATHS`].
pub(crate) static PLANS: Mutex<Option<HashMap<usize, Arc<Plan>>>> = Mutex::new(None);

/// How many classes with a cached plan have died (counted by [`forget_plan`], which runs before
/// a dying class's memory can be reused), plus how many times [`clear_plans`] ran: a thread whose
/// copy saw another count asks [`PLANS`] again before it uses its copy.
pub(crate) static PLAN_DEATHS: AtomicUsize = AtomicUsize::new(0);

/// How many times [`clear_plans`] ran: a thread whose copy saw another count drops it whole.
static PLAN_CLEARS: AtomicUsize = AtomicUsize::new(0);

/// A thread's own copies of the plans of [`PLANS`] it has used: a hit takes no lock and no atomic
/// reference count.
#[derive(Default)]
pub(crate) struct LocalPlans {
    pub(crate) map: FxHashMap<usize, Rc<Plan>>,
    /// [`PLAN_DEATHS`] when the dead classes' plans were last dropped from `map`: while it is
    /// unchanged every plan in `map` is of a live class, which is then the type at its address.
    pub(crate) deaths: usize,
    /// [`PLAN_CLEARS`] when `map` was last emptied for it.
    clears: usize,
}

thread_local! {
    /// This thread's copy of [`PLANS`].
    static LOCAL_PLANS: RefCell<LocalPlans> = RefCell::default();
}

/// Pre-encoded MessagePack str.
pub(crate) fn encoded_str(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 5);
    writer::str(&mut v, s.as_bytes());
    v
}

/// The plan for `tp`, decided once per class.
#[inline]
pub(crate) fn plan_for(
    obj: *mut ffi::PyObject,
    tp: *mut ffi::PyTypeObject,
    inspect: *mut ffi::PyObject,
) -> EncodeResult<Rc<Plan>> {
    let key = tp as usize;
    let hit = LOCAL_PLANS.with_borrow(|l| {
        let p = l.map.get(&key)?;
        // No class with a cached plan has died, and the plans were not cleared, since this copy
        // last caught up ([`plan_miss`] does): the plan's class is alive, so it is `tp`.
        (l.deaths == PLAN_DEATHS.load(Ordering::Relaxed) && p.current(tp)).then(|| p.clone())
    });
    match hit {
        Some(p) => Ok(p),
        None => plan_miss(obj, tp, inspect),
    }
}

/// [`plan_for`] past this thread's copy: the shared cache, else a new plan (cached when it holds
/// for the class and the class can be referenced weakly).
#[cold]
#[inline(never)]
pub(crate) fn plan_miss(
    obj: *mut ffi::PyObject,
    tp: *mut ffi::PyTypeObject,
    inspect: *mut ffi::PyObject,
) -> EncodeResult<Rc<Plan>> {
    let key = tp as usize;
    let shared = {
        let guard = PLANS.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .and_then(|m| m.get(&key))
            .filter(|p| p.is_for(tp) && p.current(tp))
            .cloned()
    };
    let shared = match shared {
        Some(p) => p,
        None => {
            // SAFETY: reading a field of a live type object.
            let before = unsafe { (*tp).tp_version_tag };
            let mut plan = decide(obj, tp, inspect)?;
            // SAFETY: as above (the tag after the lookups `decide` made, which assign one).
            plan.version = unsafe { (*tp).tp_version_tag };
            // `decide` runs Python code, which may modify the class (a metaclass hook, another
            // thread): the plan holds for the tag only if the class had that very tag before.
            // A class without one yet (modified since its last lookup) is cached next time.
            if plan.once || plan.version == 0 || plan.version != before {
                return Ok(Rc::new(plan));
            }
            // Made before the lock is taken: allocating may run the garbage collector, whose
            // weakref callbacks take the lock.
            match WeakClass::new(py(), tp.cast(), move |wr| forget_plan(key, wr)) {
                Some(class) => plan.class = Some(class),
                None => return Ok(Rc::new(plan)),
            }
            let plan = Arc::new(plan);
            let mut guard = PLANS.lock().unwrap_or_else(|e| e.into_inner());
            let map = guard.get_or_insert_with(HashMap::new);
            match map.get(&key) {
                // Another thread decided the same class meanwhile: keep the first.
                Some(p) if p.is_for(tp) && p.current(tp) => p.clone(),
                Some(_) => {
                    // A dead class's plan at this address, whose callback has not run yet, or
                    // the plan of this class before it was modified.
                    let stale = map.insert(key, plan.clone());
                    drop(guard);
                    drop(stale);
                    plan
                }
                None if map.len() < PLAN_CACHE_MAX => {
                    map.insert(key, plan.clone());
                    plan
                }
                None => {
                    drop(guard);
                    return Ok(Rc::new(plan.copy(py())));
                }
            }
        }
    };
    let plan = Rc::new(shared.copy(py()));
    drop(shared);
    let dropped = LOCAL_PLANS.with_borrow_mut(|l| {
        let mut dropped = Vec::new();
        let clears = PLAN_CLEARS.load(Ordering::Relaxed);
        if l.clears != clears {
            dropped.extend(l.map.drain().map(|(_, p)| p));
            l.clears = clears;
        }
        let deaths = PLAN_DEATHS.load(Ordering::Relaxed);
        if l.deaths != deaths {
            let dead: Vec<usize> = (l.map.iter())
                .filter(|(_, p)| !p.alive())
                .map(|(k, _)| *k)
                .collect();
            dropped.extend(dead.iter().filter_map(|k| l.map.remove(k)));
            l.deaths = deaths;
        }
        if l.map.len() < PLAN_CACHE_MAX || l.map.contains_key(&key) {
            dropped.extend(l.map.insert(key, plan.clone()));
        }
        dropped
    });
    drop(dropped);
    Ok(plan)
}

/// The callback of a cached plan's weak reference `wr` to its class, which is dying: drop the
/// plan from [`PLANS`] and from this thread's copy, and count the death for the other threads'.
/// It runs inside a deallocation or the garbage collector: no Python code runs, and the plans are
/// freed once the locks are released.
pub(crate) fn forget_plan(key: usize, wr: *mut ffi::PyObject) {
    let shared = {
        let mut guard = PLANS.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(m) if m.get(&key).is_some_and(|p| p.holds(wr)) => m.remove(&key),
            _ => None,
        }
    };
    let local = LOCAL_PLANS
        .try_with(|l| {
            let mut l = l.try_borrow_mut().ok()?;
            if l.map.get(&key).is_some_and(|p| p.holds(wr)) {
                l.map.remove(&key)
            } else {
                None
            }
        })
        .ok()
        .flatten();
    PLAN_DEATHS.fetch_add(1, Ordering::Relaxed);
    drop((shared, local));
}

/// Forget every cached plan: [`PLANS`] and this thread's copy now, the other threads' copies at
/// their next plan lookup (which finds [`PLAN_DEATHS`] moved and [`PLAN_CLEARS`] too). Plans are
/// shared by every codec of the process, so this clears them for all (they are decided again).
pub(crate) fn clear_plans() {
    let shared = PLANS.lock().unwrap_or_else(|e| e.into_inner()).take();
    PLAN_CLEARS.fetch_add(1, Ordering::Relaxed);
    PLAN_DEATHS.fetch_add(1, Ordering::Relaxed);
    let local = LOCAL_PLANS
        .try_with(|l| {
            let mut l = l.try_borrow_mut().ok()?;
            l.clears = PLAN_CLEARS.load(Ordering::Relaxed);
            Some(std::mem::take(&mut l.map))
        })
        .ok()
        .flatten();
    // Released with no lock or borrow held: a plan's release drops weak references and strs.
    drop((shared, local));
}

/// `(plans in [`PLANS`], plans in this thread's copy)`.
pub(crate) fn plan_counts() -> (usize, usize) {
    let shared = (PLANS.lock().unwrap_or_else(|e| e.into_inner()))
        .as_ref()
        .map_or(0, HashMap::len);
    let local = LOCAL_PLANS.with_borrow(|l| l.map.len());
    (shared, local)
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
        class: None,
        version: 0,
    })
}
