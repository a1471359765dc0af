//! The walker's LangGraph mode: JsonPlusSerializer's ext values, written natively.
//!
//! Every class met outside the hot types gets a plan once: `fast_serde._plans.encode_plan(obj)`
//! (Python, mirroring `jsonplus._msgpack_default` branch by branch) names the branch and the
//! attributes to read; the plan caches the ext code and the pre-encoded payload head (array
//! header, module str, name str) and the field names as MessagePack str bytes. Each ext payload is
//! written in place behind a reserved header that is patched to the smallest ext marker.

use crate::encode::{Encoder, Mode, Owned};
use crate::error::{EncodeFailure, EncodeKind, EncodeResult, PathSeg};
use crate::ext::*;
use crate::typeref::typerefs;
use crate::weak::WeakClass;
use crate::writer::{self, Out};
use pyo3::ffi;
use pyo3::prelude::*;
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

// Plan kinds: the constants of python/fast_serde/_plans.py.
const FALLBACK: u8 = 0;
const PYDANTIC_V2: u8 = 1;
const PYDANTIC_V2_DICT: u8 = 2;
const DELTA_SNAPSHOT: u8 = 3;
const SECRET: u8 = 4;
const PYDANTIC_V1: u8 = 5;
const NAMEDTUPLE: u8 = 6;
const PATH: u8 = 7;
const PATTERN: u8 = 8;
const STR_ARG: u8 = 9;
const HEX: u8 = 10;
const ITER_ARG: u8 = 11;
const DATETIME: u8 = 12;
const TIMEDELTA: u8 = 13;
const DATE: u8 = 14;
const TIME: u8 = 15;
const INITARGS: u8 = 16;
const ATTR_ARG: u8 = 17;
const SEND: u8 = 18;
const ATTRS_KW: u8 = 19;
const REPR: u8 = 20;

// Plan flags (`_plans.CHECK_INSTANCE`, `_plans.ONCE`).
const CHECK_INSTANCE: u8 = 1;
const ONCE: u8 = 2;

/// One attribute the plan reads: its name (a str) and that name pre-encoded as a map key.
struct Field {
    name: Py<PyAny>,
    key: Box<[u8]>,
}

pub struct Plan {
    kind: u8,
    /// fixarray header + module + name, pre-encoded (empty for kinds without that head).
    head: Box<[u8]>,
    fields: Vec<Field>,
    /// Instances have their own `__dict__`, which may hold an attribute that steers
    /// `_msgpack_default` for that object alone (`_plans.CHECK_INSTANCE`).
    check_instance: bool,
    /// Decided by the instance's own attributes: not cached for the class (`_plans.ONCE`).
    once: bool,
    /// With `check_instance`: an object whose own `__dict__` holds any of these names, or all
    /// of `steer_all` (when not empty), takes the Python path (`_plans.encode_plan`); for
    /// PYDANTIC_V2_DICT, per field the TypedDicts below it. Shared by every thread's copy.
    checks: Arc<Checks>,
    /// The class the plan was decided for, held weakly (set when the plan is cached). A hit
    /// must find this very class object: a new class allocated at a dead one's address does not.
    class: Option<WeakClass>,
    /// The class's `tp_version_tag` when the plan was decided. CPython gives a type a new tag
    /// whenever it or a base is modified (`PyType_Modified`: `cls.model_dump = ...`,
    /// `cls.node = ...`, a property added): a plan is used only while the tag is unchanged, else
    /// it is decided again, as `_msgpack_default` looks at the class as it is now. 0: no tag
    /// (then the plan is not cached).
    version: u32,
}

/// The per-object checks of a plan (see [`Plan::checks`]).
struct Checks {
    steer_any: Vec<Py<PyAny>>,
    steer_all: Vec<Py<PyAny>>,
    /// PYDANTIC_V2_DICT: per field (aligned with `fields`, or empty), the TypedDicts below it
    /// (`_plans.typed_dict_guards`).
    guards: Vec<Option<Guard>>,
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
const PLAN_CACHE_MAX: usize = 4096;

/// Cached plans by type address, for live classes only. A plan holds its class weakly: when the
/// class dies, its weak reference's callback ([`forget_plan`]) takes the plan out of here and out
/// of the dying thread's [`LOCAL_PLANS`], and counts the death in [`PLAN_DEATHS`].
static PLANS: Mutex<Option<HashMap<usize, Arc<Plan>>>> = Mutex::new(None);

/// How many classes with a cached plan have died (counted by [`forget_plan`], which runs before
/// a dying class's memory can be reused).
static PLAN_DEATHS: AtomicUsize = AtomicUsize::new(0);

/// A thread's own copies of the plans of [`PLANS`] it has used: a hit takes no lock and no atomic
/// reference count.
#[derive(Default)]
struct LocalPlans {
    map: FxHashMap<usize, Rc<Plan>>,
    /// [`PLAN_DEATHS`] when the dead classes' plans were last dropped from `map`: while it is
    /// unchanged every plan in `map` is of a live class, which is then the type at its address.
    deaths: usize,
}

thread_local! {
    /// This thread's copy of [`PLANS`].
    static LOCAL_PLANS: RefCell<LocalPlans> = RefCell::default();
}

fn ext_code(kind: u8) -> i8 {
    match kind {
        PYDANTIC_V2 | PYDANTIC_V2_DICT => EXT_PYDANTIC_V2,
        DELTA_SNAPSHOT => EXT_DELTA_SNAPSHOT,
        PYDANTIC_V1 => EXT_PYDANTIC_V1,
        NAMEDTUPLE | TIME | ATTRS_KW => EXT_CONSTRUCTOR_KW_ARGS,
        PATH | PATTERN | TIMEDELTA | DATE | INITARGS | SEND => EXT_CONSTRUCTOR_POS_ARGS,
        DATETIME => EXT_METHOD_SINGLE_ARG,
        _ => EXT_CONSTRUCTOR_SINGLE_ARG,
    }
}

/// Pre-encoded MessagePack str.
fn encoded_str(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 5);
    writer::str(&mut v, s.as_bytes());
    v
}

impl Encoder<'_> {
    /// Write an object of a class outside the walker's built-in types, by its class's plan.
    pub(crate) fn write_planned(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> EncodeResult {
        let Mode::LangGraph { fallback, inspect } = self.mode else {
            unreachable!("plans are a LangGraph-mode feature")
        };
        let plan = plan_for(obj, tp, inspect)?;
        if plan.kind == FALLBACK || (plan.check_instance && own_attrs_steer(obj, &plan)) {
            return self.splice_fallback(fallback, obj, tp);
        }
        if plan.kind == REPR {
            // SAFETY: repr of a live object; owned result.
            let s = unsafe { ffi::PyObject_Repr(obj) };
            return self.write_owned_str(s, tp);
        }
        // The payload is packed on its own, as `_msgpack_enc` packs it: its depth starts again
        // (the payload tuple at 0, its argument at 1; a delta snapshot's value at 0), while
        // `outer` keeps the total bounded.
        if crate::stack_low() {
            return Err(EncodeFailure::new(EncodeKind::Stack));
        }
        let saved = self.outer;
        self.outer = saved + depth + 1;
        let r = self.write_payload(obj, tp, &plan);
        self.outer = saved;
        r
    }

    fn write_payload(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        plan: &Plan,
    ) -> EncodeResult {
        self.enter(0)?;
        let depth = if plan.kind == DELTA_SNAPSHOT { 0 } else { 1 };
        let mark = writer::ext_begin(self.buf, writer::EXT_RESERVE_EXT16);
        self.buf.extend_from_slice(&plan.head);
        let r = match plan.kind {
            PYDANTIC_V2_DICT => match self.write_model_dict(obj, tp, plan, depth) {
                Err(e) if matches!(e.kind, EncodeKind::NotPlain) => {
                    // A value model_dump() would convert: take model_dump() after all.
                    self.buf.truncate(mark.payload() + plan.head.len());
                    self.write_model_dump(obj, tp, depth)
                }
                other => other,
            },
            PYDANTIC_V2 => self.write_model_dump(obj, tp, depth),
            DELTA_SNAPSHOT => self.write_attr(obj, tp, typerefs().s_value, depth),
            SECRET => self.write_call(obj, tp, typerefs().s_get_secret_value, depth),
            PYDANTIC_V1 => self.write_call(obj, tp, typerefs().s_dict_method, depth),
            NAMEDTUPLE => self.write_namedtuple(obj, plan, depth),
            PATH => self.write_attr(obj, tp, typerefs().s_parts, depth),
            PATTERN => self.write_pattern(obj, tp, depth),
            STR_ARG => {
                // SAFETY: str() of a live object; owned result.
                let s = unsafe { ffi::PyObject_Str(obj) };
                self.write_owned_str(s, tp)
            }
            HEX => self.write_attr(obj, tp, typerefs().s_hex, depth),
            ITER_ARG => {
                // SAFETY: tuple(obj) of a live iterable; owned result.
                let t = unsafe { ffi::PySequence_Tuple(obj) };
                self.write_owned(t, tp, depth)
            }
            DATETIME => self.write_datetime_payload(obj, tp),
            TIMEDELTA => {
                // SAFETY: `obj` is a timedelta (or subclass): the accessors read its C fields.
                let v = unsafe {
                    [
                        ffi::PyDateTime_DELTA_GET_DAYS(obj),
                        ffi::PyDateTime_DELTA_GET_SECONDS(obj),
                        ffi::PyDateTime_DELTA_GET_MICROSECONDS(obj),
                    ]
                };
                self.write_int_array(&v);
                Ok(())
            }
            DATE => {
                // SAFETY: `obj` is a date (or subclass): the accessors read its C fields.
                let v = unsafe {
                    [
                        ffi::PyDateTime_GET_YEAR(obj),
                        ffi::PyDateTime_GET_MONTH(obj),
                        ffi::PyDateTime_GET_DAY(obj),
                    ]
                };
                self.write_int_array(&v);
                Ok(())
            }
            TIME => self.write_time(obj, depth),
            INITARGS => self.write_call(obj, tp, typerefs().s_getinitargs, depth),
            ATTR_ARG => match plan.fields.first() {
                Some(f) => self.write_attr(obj, tp, f.name.as_ptr(), depth),
                None => Err(EncodeFailure::new(EncodeKind::Unsupported(
                    crate::encode::type_of(tp),
                ))),
            },
            SEND => self.write_send(obj, tp, depth),
            ATTRS_KW => self.write_attrs_kw(obj, tp, plan, depth),
            _ => unreachable!("unknown plan kind"),
        };
        r?;
        match plan.kind {
            PYDANTIC_V2 | PYDANTIC_V2_DICT => writer::str(self.buf, b"model_validate_json"),
            DATETIME => writer::str(self.buf, b"fromisoformat"),
            _ => {}
        }
        writer::ext_end(self.buf, mark, ext_code(plan.kind));
        Ok(())
    }

    /// A str produced by a C-API call (new reference or NULL).
    fn write_owned_str(
        &mut self,
        s: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> EncodeResult {
        if s.is_null() {
            return Err(crate::encode::callback_failure(tp));
        }
        let s = Owned(s);
        self.walk(s.0, 0)
    }

    /// Any value produced by a C-API call (new reference or NULL), walked.
    fn write_owned(
        &mut self,
        v: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> EncodeResult {
        if v.is_null() {
            return Err(crate::encode::callback_failure(tp));
        }
        let v = Owned(v);
        self.walk(v.0, depth)
    }

    fn write_attr(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        name: *mut ffi::PyObject,
        depth: u32,
    ) -> EncodeResult {
        // SAFETY: attribute fetch on a live object by a live str; owned result.
        let v = unsafe { ffi::PyObject_GetAttr(obj, name) };
        self.write_owned(v, tp, depth)
    }

    fn write_call(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        method: *mut ffi::PyObject,
        depth: u32,
    ) -> EncodeResult {
        // SAFETY: method call on a live object by a live str; owned result.
        let v = unsafe { ffi::PyObject_CallMethodNoArgs(obj, method) };
        self.write_owned(v, tp, depth)
    }

    fn write_int_array(&mut self, v: &[std::ffi::c_int]) {
        writer::array_len(self.buf, v.len() as u32);
        for &i in v {
            writer::sint(self.buf, i as i64);
        }
    }

    /// `obj.model_dump()`; the path through it reads `.field`.
    fn write_model_dump(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> EncodeResult {
        // SAFETY: method call on a live object by an interned name; owned result.
        let dump = unsafe { ffi::PyObject_CallMethodNoArgs(obj, typerefs().s_model_dump) };
        if dump.is_null() {
            return Err(crate::encode::callback_failure(tp));
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
    /// `model_dump()` returns its plain data unchanged (`_plans.plain_model`). Any value that
    /// model_dump() would convert makes this return `NotPlain`.
    fn write_model_dict(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        plan: &Plan,
        depth: u32,
    ) -> EncodeResult {
        let r = typerefs();
        // SAFETY: attribute fetches on a live model, through object's generic lookup (a model's
        // `__getattr__` hook only serves private attributes; `plain_model` classes keep object's
        // own `__dict__`, which `PyObject_GenericGetDict` reads without the descriptor lookup);
        // owned results released by Owned.
        let (dict, extra) = unsafe {
            let d = ffi::PyObject_GenericGetDict(obj, std::ptr::null_mut());
            if d.is_null() {
                return Err(crate::encode::callback_failure(tp));
            }
            let d = Owned(d);
            let e = ffi::PyObject_GenericGetAttr(obj, r.s_pydantic_extra);
            if e.is_null() {
                ffi::PyErr_Clear();
                return Err(EncodeFailure::new(EncodeKind::NotPlain));
            }
            (d, Owned(e))
        };
        // SAFETY: type checks on live objects; sizes of dicts.
        let (nd, ne) = unsafe {
            if ffi::PyDict_CheckExact(dict.0) == 0 {
                return Err(EncodeFailure::new(EncodeKind::NotPlain));
            }
            let ne = if extra.0 == ffi::Py_None() {
                0
            } else if ffi::PyDict_CheckExact(extra.0) != 0 {
                crate::dictiter::dict_len(extra.0)
            } else {
                return Err(EncodeFailure::new(EncodeKind::NotPlain));
            };
            (crate::dictiter::dict_len(dict.0), ne)
        };
        if nd != plan.fields.len() || (ne > 0 && extra_shadows_field(dict.0, extra.0)) {
            return Err(EncodeFailure::new(EncodeKind::NotPlain));
        }
        self.enter(depth)?;
        writer::map_len(self.buf, (nd + ne) as u32);
        self.plain_only += 1;
        let res = self.write_model_fields(dict.0, plan, depth);
        let res = res.and_then(|_| {
            if ne > 0 {
                self.write_dict_items(extra.0, depth, true)
            } else {
                Ok(())
            }
        });
        self.plain_only -= 1;
        res
    }

    fn write_model_fields(
        &mut self,
        dict: *mut ffi::PyObject,
        plan: &Plan,
        depth: u32,
    ) -> EncodeResult {
        let mut pos: ffi::Py_ssize_t = 0;
        for (i, f) in plan.fields.iter().enumerate() {
            // SAFETY: iterating a live exact dict whose size was checked; borrowed pointers.
            let Some((key, value)) = (unsafe { crate::dictiter::dict_next(dict, &mut pos) }) else {
                return Err(EncodeFailure::new(EncodeKind::NotPlain));
            };
            // Same field, same place: interned names compare by address, else by value.
            // SAFETY: comparing two live strs (nothing has run since PyDict_Next yielded them).
            let same = key == f.name.as_ptr()
                || unsafe {
                    ffi::PyUnicode_CheckExact(key) != 0
                        && ffi::PyUnicode_Compare(key, f.name.as_ptr()) == 0
                };
            if !same {
                return Err(EncodeFailure::new(EncodeKind::NotPlain));
            }
            if let Some(Some(g)) = plan.checks.guards.get(i) {
                if !g.admits(value) {
                    return Err(EncodeFailure::new(EncodeKind::NotPlain));
                }
            }
            self.buf.extend_from_slice(&f.key);
            // A non-scalar is held while walked: a tzinfo's utcoffset, say, is Python code that
            // could replace it in the dict.
            if let Err(e) = self.walk_item(value, depth + 1) {
                return Err(crate::encode::at(
                    e,
                    PathSeg::Field(f.name.clone_ref(py())),
                    dict,
                ));
            }
        }
        Ok(())
    }

    /// namedtuple: `{field: item}` (what `_asdict()` returns), field names pre-encoded.
    fn write_namedtuple(
        &mut self,
        obj: *mut ffi::PyObject,
        plan: &Plan,
        depth: u32,
    ) -> EncodeResult {
        // SAFETY: `obj` is a tuple subclass (checked by the plan); borrowed items of an immutable
        // tuple, indices bounded by its size.
        let len = unsafe { ffi::PyTuple_GET_SIZE(obj) } as usize;
        let n = len.min(plan.fields.len());
        self.enter(depth)?;
        writer::map_len(self.buf, n as u32);
        for (i, f) in plan.fields.iter().take(n).enumerate() {
            self.buf.extend_from_slice(&f.key);
            // SAFETY: i < len.
            let item = unsafe { ffi::PyTuple_GET_ITEM(obj, i as ffi::Py_ssize_t) };
            if let Err(e) = self.walk(item, depth + 1) {
                return Err(crate::encode::at(
                    e,
                    PathSeg::Field(f.name.clone_ref(py())),
                    obj,
                ));
            }
        }
        Ok(())
    }

    /// dataclass fields / `Item` slots: `{name: getattr(obj, name)}`.
    fn write_attrs_kw(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        plan: &Plan,
        depth: u32,
    ) -> EncodeResult {
        self.enter(depth)?;
        writer::map_len(self.buf, plan.fields.len() as u32);
        for f in &plan.fields {
            self.buf.extend_from_slice(&f.key);
            if let Err(e) = self.write_attr(obj, tp, f.name.as_ptr(), depth + 1) {
                return Err(crate::encode::at(
                    e,
                    PathSeg::Field(f.name.clone_ref(py())),
                    obj,
                ));
            }
        }
        Ok(())
    }

    /// `("re", "compile", (obj.pattern, obj.flags))`: the head is in the plan.
    fn write_pattern(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> EncodeResult {
        let r = typerefs();
        writer::array_len(self.buf, 2);
        self.write_attr(obj, tp, r.s_pattern, depth + 1)?;
        self.write_attr(obj, tp, r.s_flags, depth + 1)
    }

    /// `(node, arg)` or `(node, arg, timeout)` when `timeout` is set.
    fn write_send(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> EncodeResult {
        let r = typerefs();
        // SAFETY: attribute fetch on a live object; a missing attribute counts as None.
        let timeout = unsafe {
            let t = ffi::PyObject_GetAttr(obj, r.s_timeout);
            if t.is_null() {
                ffi::PyErr_Clear();
                None
            } else if t == ffi::Py_None() {
                ffi::Py_DECREF(t);
                None
            } else {
                Some(Owned(t))
            }
        };
        writer::array_len(self.buf, if timeout.is_some() { 3 } else { 2 });
        self.write_attr(obj, tp, r.s_node, depth + 1)?;
        self.write_attr(obj, tp, r.s_arg, depth + 1)?;
        if let Some(t) = timeout {
            self.walk(t.0, depth + 1)?;
        }
        Ok(())
    }

    /// `{"hour", "minute", "second", "microsecond", "tzinfo", "fold"}` of a `time`.
    fn write_time(&mut self, obj: *mut ffi::PyObject, depth: u32) -> EncodeResult {
        // SAFETY: `obj` is a time (or subclass): the accessors read its C fields; tzinfo is
        // borrowed from `obj`.
        let (h, m, s, us, tz, fold) = unsafe {
            (
                ffi::PyDateTime_TIME_GET_HOUR(obj),
                ffi::PyDateTime_TIME_GET_MINUTE(obj),
                ffi::PyDateTime_TIME_GET_SECOND(obj),
                ffi::PyDateTime_TIME_GET_MICROSECOND(obj),
                ffi::PyDateTime_TIME_GET_TZINFO(obj),
                ffi::PyDateTime_TIME_GET_FOLD(obj),
            )
        };
        self.enter(depth)?;
        writer::map_len(self.buf, 6);
        for (k, v) in [
            ("hour", h),
            ("minute", m),
            ("second", s),
            ("microsecond", us),
        ] {
            writer::str(self.buf, k.as_bytes());
            writer::sint(self.buf, v as i64);
        }
        writer::str(self.buf, b"tzinfo");
        self.walk(tz, depth + 1)?;
        writer::str(self.buf, b"fold");
        writer::sint(self.buf, fold as i64);
        Ok(())
    }

    /// The isoformat str of a datetime (the middle of ext 3's payload).
    pub(crate) fn write_datetime_payload(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> EncodeResult {
        if tp == typerefs().datetime_type && self.write_isoformat_utc(obj) {
            return Ok(());
        }
        // SAFETY: method call on a live object by an interned name; owned result.
        let s = unsafe { ffi::PyObject_CallMethodNoArgs(obj, typerefs().s_isoformat) };
        self.write_owned_str(s, tp)
    }

    /// `datetime.isoformat()` written natively for naive and `timezone.utc` datetimes (what
    /// LangGraph itself stores); `false` for other tzinfos, whose offset needs Python.
    fn write_isoformat_utc(&mut self, obj: *mut ffi::PyObject) -> bool {
        // SAFETY: `obj` is exactly a datetime; the accessors read its C fields.
        let (tz, y, mo, d, h, mi, s, us) = unsafe {
            (
                ffi::PyDateTime_DATE_GET_TZINFO(obj),
                ffi::PyDateTime_GET_YEAR(obj),
                ffi::PyDateTime_GET_MONTH(obj),
                ffi::PyDateTime_GET_DAY(obj),
                ffi::PyDateTime_DATE_GET_HOUR(obj),
                ffi::PyDateTime_DATE_GET_MINUTE(obj),
                ffi::PyDateTime_DATE_GET_SECOND(obj),
                ffi::PyDateTime_DATE_GET_MICROSECOND(obj),
            )
        };
        // SAFETY: comparing with the None singleton's address.
        let naive = tz == unsafe { ffi::Py_None() };
        if !naive && tz != typerefs().utc {
            return false;
        }
        let mut out = [0u8; 32];
        let mut w = &mut out[..];
        use std::io::Write;
        let _ = write!(w, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
        if us != 0 {
            let _ = write!(w, ".{us:06}");
        }
        if !naive {
            let _ = write!(w, "+00:00");
        }
        let left = w.len();
        let n = out.len() - left;
        writer::str(self.buf, &out[..n]);
        true
    }

    /// ext 3 `("datetime", "datetime", obj.isoformat(), "fromisoformat")` for an exact datetime.
    pub(crate) fn write_datetime(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> EncodeResult {
        let mark = writer::ext_begin(self.buf, writer::EXT_RESERVE_EXT8);
        writer::array_len(self.buf, 4);
        writer::str(self.buf, b"datetime");
        writer::str(self.buf, b"datetime");
        self.write_datetime_payload(obj, tp)?;
        writer::str(self.buf, b"fromisoformat");
        writer::ext_end(self.buf, mark, EXT_METHOD_SINGLE_ARG);
        Ok(())
    }

    /// ext 0 `("uuid", "UUID", obj.hex)` for an exact UUID, hex formatted from `obj.int`; an
    /// `int` outside 0..2**128 (set through `object.__setattr__`) is written as `obj.hex` says.
    pub(crate) fn write_uuid(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> EncodeResult {
        let mark = writer::ext_begin(self.buf, writer::EXT_RESERVE_EXT8);
        writer::array_len(self.buf, 3);
        writer::str(self.buf, b"uuid");
        writer::str(self.buf, b"UUID");
        match uuid_hex(obj, tp)? {
            Some(hex) => writer::str(self.buf, &hex),
            None => self.write_attr(obj, tp, typerefs().s_hex, 1)?,
        }
        writer::ext_end(self.buf, mark, EXT_CONSTRUCTOR_SINGLE_ARG);
        Ok(())
    }
}

/// `'%032x' % obj.int` for an int in 0..2**128; `None` for any other int (then `obj.hex`).
fn uuid_hex(obj: *mut ffi::PyObject, tp: *mut ffi::PyTypeObject) -> EncodeResult<Option<[u8; 32]>> {
    // SAFETY: attribute fetch on a live UUID (`int` is a slot); owned result.
    let int = unsafe { ffi::PyObject_GetAttr(obj, typerefs().s_int) };
    if int.is_null() {
        return Err(crate::encode::callback_failure(tp));
    }
    let int = Owned(int);
    let mut bytes = [0u8; 16];
    // SAFETY: the low 64 bits by mask conversion, the high ones as `int >> 64`, which must fit
    // an unsigned 64-bit int (so the int is in 0..2**128); the shifted temporary is released by
    // Owned; conversion errors are cleared and answered with `None`, a type error reported.
    unsafe {
        if ffi::PyLong_Check(int.0) == 0 {
            return Ok(None);
        }
        let lo = ffi::PyLong_AsUnsignedLongLongMask(int.0);
        let shift = ffi::PyLong_FromLong(64);
        if shift.is_null() {
            return Err(crate::encode::callback_failure(tp));
        }
        let shift = Owned(shift);
        let shifted = ffi::PyNumber_Rshift(int.0, shift.0);
        if shifted.is_null() {
            return Err(crate::encode::callback_failure(tp));
        }
        let shifted = Owned(shifted);
        let hi = ffi::PyLong_AsUnsignedLongLong(shifted.0);
        if hi == u64::MAX && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return Ok(None);
        }
        bytes[..8].copy_from_slice(&hi.to_be_bytes());
        bytes[8..].copy_from_slice(&lo.to_be_bytes());
    }
    const HEXDIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = [0u8; 32];
    for (i, b) in bytes.iter().enumerate() {
        hex[2 * i] = HEXDIGITS[(b >> 4) as usize];
        hex[2 * i + 1] = HEXDIGITS[(b & 15) as usize];
    }
    Ok(Some(hex))
}

fn py() -> Python<'static> {
    // SAFETY: the walker runs attached to the interpreter.
    unsafe { Python::assume_attached() }
}

/// The plan for `tp`, decided once per class.
#[inline]
fn plan_for(
    obj: *mut ffi::PyObject,
    tp: *mut ffi::PyTypeObject,
    inspect: *mut ffi::PyObject,
) -> EncodeResult<Rc<Plan>> {
    let key = tp as usize;
    let hit = LOCAL_PLANS.with_borrow(|l| {
        let p = l.map.get(&key)?;
        // No class with a cached plan has died since the dead ones' plans were dropped: the
        // plan's class is alive, so it is `tp`. Else its weak reference tells.
        ((l.deaths == PLAN_DEATHS.load(Ordering::Relaxed) || p.is_for(tp)) && p.current(tp))
            .then(|| p.clone())
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
fn plan_miss(
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
            let mut plan = decide(obj, tp, inspect)?;
            // SAFETY: reading a field of a live type object (its tag after the lookups `decide`
            // made, which assign one).
            plan.version = unsafe { (*tp).tp_version_tag };
            if plan.once || plan.version == 0 {
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
fn forget_plan(key: usize, wr: *mut ffi::PyObject) {
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

/// Whether `obj`'s own `__dict__` steers `_msgpack_default` away from its class's branch: it
/// holds one of `plan.steer_any` (`_plans.INSTANCE_ATTRS`, which that function probes before the
/// class's branch, and the callable `SendProtocol` members) or all of `plan.steer_all` (the
/// `SendProtocol` data members the class lacks). Such an object takes the Python path. A
/// `__dict__` that cannot be read sends it there too, where the parent's error is raised.
fn own_attrs_steer(obj: *mut ffi::PyObject, plan: &Plan) -> bool {
    // SAFETY: attribute fetch on a live object; the owned result is released by Owned; the
    // containment checks read a live dict by interned names (exact strs: no Python code runs).
    unsafe {
        let d = match instance_dict(obj) {
            Ok(Some(d)) => d,
            Ok(None) => return false,
            Err(()) => {
                ffi::PyErr_Clear();
                return true;
            }
        };
        let d = Owned(d);
        if ffi::PyDict_Check(d.0) == 0 || crate::dictiter::dict_len(d.0) == 0 {
            return false;
        }
        let has = |name: &Py<PyAny>| match ffi::PyDict_Contains(d.0, name.as_ptr()) {
            0 => Some(false),
            1 => Some(true),
            _ => {
                ffi::PyErr_Clear();
                None
            }
        };
        for name in &plan.checks.steer_any {
            if has(name) != Some(false) {
                return true;
            }
        }
        !plan.checks.steer_all.is_empty()
            && plan.checks.steer_all.iter().all(|n| has(n) != Some(false))
    }
}

/// `obj`'s own `__dict__` as a new reference, `None` when it has none yet, `Err` (a Python
/// error set) when `obj.__dict__` raises. An instance dict that has not been created yet (an
/// exception's, which BaseException makes on first access) is not created: its existence shows
/// in `pickle.dumps` of the object. Objects whose dict lives elsewhere (managed dicts, a
/// `__dict__` property) are asked through `obj.__dict__`.
pub(crate) fn instance_dict(obj: *mut ffi::PyObject) -> Result<Option<*mut ffi::PyObject>, ()> {
    // SAFETY: `obj` is live; a positive `tp_dictoffset` is the byte offset of the instance's dict
    // pointer within the object (CPython's `_PyObject_GetDictPtr` reads it the same way), read
    // and turned into a new reference when set; otherwise a generic attribute fetch (owned).
    unsafe {
        let offset = (*ffi::Py_TYPE(obj)).tp_dictoffset;
        if offset > 0 {
            let slot = obj.cast::<u8>().offset(offset).cast::<*mut ffi::PyObject>();
            let d = *slot;
            return Ok((!d.is_null()).then(|| ffi::Py_NewRef(d)));
        }
        let d = ffi::PyObject_GetAttr(obj, typerefs().s_dunder_dict);
        if d.is_null() {
            return Err(());
        }
        Ok(Some(d))
    }
}

/// Where `model_dump()` filters a plain value: the TypedDicts below one model field
/// (`_plans.typed_dict_guards`). A value admitted holds only declared keys, in declared order,
/// so `model_dump()` writes it unchanged; anything else sends the model to `model_dump()`.
enum Guard {
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
    fn from_spec(spec: &Bound<'_, PyAny>) -> PyResult<Option<Guard>> {
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
    fn admits(&self, value: *mut ffi::PyObject) -> bool {
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
                    while let Some((_, v)) = crate::dictiter::dict_next(value, &mut pos) {
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
                    while let Some((k, v)) = crate::dictiter::dict_next(value, &mut pos) {
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

/// Ask `_plans.encode_plan(obj)` and pre-encode the payload head and field names.
#[cold]
fn decide(
    obj: *mut ffi::PyObject,
    tp: *mut ffi::PyTypeObject,
    inspect: *mut ffi::PyObject,
) -> EncodeResult<Plan> {
    let py = py();
    let fail = |_e: PyErr| crate::encode::callback_failure(tp);
    // SAFETY: `inspect` and `obj` are live; the result is owned by the Bound.
    let res = unsafe {
        let r = ffi::PyObject_CallOneArg(inspect, obj);
        if r.is_null() {
            return Err(crate::encode::callback_failure(tp));
        }
        Bound::from_owned_ptr(py, r)
    };
    let parsed = res
        .extract::<(
            u8,
            Vec<String>,
            u8,
            Bound<'_, PyAny>,
            Vec<String>,
            Vec<String>,
        )>()
        .and_then(|(kind, names, flags, guards, any, all)| {
            let guards = guards
                .try_iter()?
                .map(|g| Guard::from_spec(&g?))
                .collect::<PyResult<Vec<_>>>()?;
            Ok((kind, names, flags, guards, any, all))
        });
    let (kind, names, flags, guards, steer_any, steer_all) = match parsed {
        Ok(v) => v,
        Err(e) => {
            e.restore(py);
            return Err(crate::encode::callback_failure(tp));
        }
    };
    let intern = |names: Vec<String>| -> Vec<Py<PyAny>> {
        names
            .iter()
            .map(|n| pyo3::types::PyString::intern(py, n).into_any().unbind())
            .collect()
    };
    // SAFETY: `tp` is a live type object, borrowed into a new reference.
    let cls = unsafe { Bound::from_borrowed_ptr(py, tp.cast()) };
    let mut head = Vec::new();
    if !matches!(kind, FALLBACK | REPR | DELTA_SNAPSHOT) {
        let len = match kind {
            PYDANTIC_V2 | PYDANTIC_V2_DICT | DATETIME => 4,
            _ => 3,
        };
        writer::array_len(&mut head, len);
        if kind == PATTERN {
            head.extend_from_slice(&encoded_str("re"));
            head.extend_from_slice(&encoded_str("compile"));
        } else {
            for attr in ["__module__", "__name__"] {
                let s: String = cls.getattr(attr).and_then(|v| v.extract()).map_err(fail)?;
                head.extend_from_slice(&encoded_str(&s));
            }
        }
    }
    let fields = names
        .iter()
        .map(|n| Field {
            name: pyo3::types::PyString::intern(py, n).into_any().unbind(),
            key: encoded_str(n).into_boxed_slice(),
        })
        .collect();
    Ok(Plan {
        kind,
        head: head.into_boxed_slice(),
        fields,
        check_instance: flags & CHECK_INSTANCE != 0,
        once: flags & ONCE != 0,
        checks: Arc::new(Checks {
            steer_any: intern(steer_any),
            steer_all: intern(steer_all),
            guards,
        }),
        class: None,
        version: 0,
    })
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
        while let Some((key, _)) = crate::dictiter::dict_next(extra, &mut pos) {
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
