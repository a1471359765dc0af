//! The walker's LangGraph policy (`FastSerializer`): which types it writes itself and where
//! the rest go: a class outside the walker's types by its plan (plan.rs), through
//! [`Encoder::write_planned`] here; the writing itself is in kinds/ (one module per family).

use super::kinds::{Arg, KwArgs, PlanKind};
use super::plan::{plan_for, Plan, Plans};
use crate::encode::{callback_failure, unsupported, Encoder, Policy};
use crate::error::{EncodeFailure, EncodeKind, EncodeResult};
use crate::ffi::dictiter::dict_len;
use crate::ffi::object::instance_dict;
use crate::ffi::typeref::typerefs;
use crate::ffi::{bytes_slice, Owned};
use crate::msgpack::writer::{self, Out};
use pyo3::ffi;
use pyo3::prelude::*;

/// `FastSerializer`: the bytes of langgraph-checkpoint's `_msgpack_enc`. `fallback` is
/// langgraph's `_msgpack_enc` (returns packed bytes), `inspect` is
/// `fast_serde.langgraph._plans.encode_plan` (one call per class and codec), `plans` the
/// codec's plans.
pub(crate) struct LangGraph<'a> {
    pub(crate) fallback: *mut ffi::PyObject,
    pub(crate) inspect: *mut ffi::PyObject,
    pub(crate) plans: &'a Plans,
}

impl Policy for LangGraph<'_> {
    /// ormsgpack with `OPT_PASSTHROUGH_ENUM`, `OPT_PASSTHROUGH_TUPLE` and
    /// `OPT_PASSTHROUGH_SUBCLASS` (langgraph's `_msgpack_enc`): Enum members, tuple subclasses
    /// and float subclasses go to `_msgpack_default` (here, their plans); no `fast_serde.Ext`.
    const WRITE_EXT: bool = false;
    const ENUM_AS_VALUE: bool = false;
    const TUPLE_FLOAT_SUBCLASSES: bool = false;
    /// `OPT_NON_STR_KEYS`: an Enum key is its value; datetime, date, time and UUID keys (which
    /// ormsgpack writes as text) and the keys it refuses send the whole dict to `_msgpack_enc`,
    /// so its bytes or its error are langgraph's.
    const ENUM_KEY_AS_VALUE: bool = true;
    const KEY_FALLBACK: bool = true;
    type Stop = Box<EncodeFailure>;

    #[inline(always)]
    fn write_exact(
        enc: &mut Encoder<'_, Self>,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> Option<EncodeResult> {
        let r = enc.refs;
        if tp == r.datetime_type {
            Some(enc.write_datetime(obj, tp))
        } else if tp == r.uuid_type {
            Some(enc.write_uuid(obj, tp))
        } else {
            None
        }
    }

    fn unknown(
        enc: &mut Encoder<'_, Self>,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> EncodeResult {
        enc.write_planned(obj, tp, depth)
    }

    fn dict_fallback(
        enc: &mut Encoder<'_, Self>,
        obj: *mut ffi::PyObject,
        start: usize,
    ) -> EncodeResult {
        enc.buf.truncate(start);
        // SAFETY: `obj` is alive.
        let tp = unsafe { ffi::Py_TYPE(obj) };
        enc.splice_fallback(obj, tp)
    }
}

impl Encoder<'_, LangGraph<'_>> {
    /// `_msgpack_enc(obj)`: langgraph's own bytes for a type written in Python, spliced in.
    pub(crate) fn splice_fallback(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> EncodeResult {
        // SAFETY: calling a live callable with one borrowed argument; owned result.
        let res = unsafe { ffi::PyObject_CallOneArg(self.policy.fallback, obj) };
        if res.is_null() {
            return Err(callback_failure(tp));
        }
        let res = Owned(res);
        // SAFETY: type check on the live result.
        if unsafe { ffi::PyBytes_Check(res.0) } == 0 {
            return Err(unsupported(tp));
        }
        // SAFETY: `res` is bytes; its buffer is valid while `res` is alive.
        self.buf.extend_from_slice(unsafe { bytes_slice(res.0) });
        Ok(())
    }
}

impl Encoder<'_, LangGraph<'_>> {
    /// Write an object of a class outside the walker's built-in types, by its class's plan.
    pub(crate) fn write_planned(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> EncodeResult {
        let LangGraph { inspect, plans, .. } = self.policy;
        let plan = plan_for(plans, obj, tp, inspect)?;
        if plan.kind == PlanKind::Fallback || (plan.check_instance && own_attrs_steer(obj, &plan)) {
            return self.splice_fallback(obj, tp);
        }
        if plan.kind == PlanKind::Repr {
            // SAFETY: repr of a live object; owned result.
            let s = unsafe { ffi::PyObject_Repr(obj) };
            return self.write_owned(s, tp, 0);
        }
        // The payload is packed on its own, as `_msgpack_enc` packs it: its depth starts again
        // (the payload tuple at 0, its argument at 1; a delta snapshot's value at 0), while
        // `outer` keeps the total bounded.
        if crate::limits::stack_low() {
            return Err(EncodeFailure::new(EncodeKind::Stack));
        }
        let saved = self.outer;
        self.outer = saved + depth + 1;
        let r = self.write_payload(obj, tp, &plan);
        self.outer = saved;
        r
    }

    /// `plan`'s ext value: its head and the argument its kind reads (kinds/), framed by
    /// `write_ext` (kinds/write.rs).
    fn write_payload(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        plan: &Plan,
    ) -> EncodeResult {
        self.enter(0)?;
        let depth = plan.kind.shape().arg_depth;
        self.write_ext(
            plan.kind.shape(),
            tp,
            &plan.head,
            writer::EXT_RESERVE_EXT16,
            |enc, at| {
                let arg = Arg {
                    obj,
                    tp,
                    fields: &plan.fields,
                    guards: &plan.checks.guards,
                    depth,
                    at,
                };
                plan.kind.write_arg(enc, arg)
            },
        )
    }
}

/// Whether `obj`'s own `__dict__` steers `_msgpack_default` away from its class's branch: it
/// holds one of `plan.steer_any` (`_plans.INSTANCE_ATTRS`, which that function probes before the
/// class's branch, and the callable `SendProtocol` members) or all of `plan.steer_all` (the
/// `SendProtocol` data members the class lacks). Such an object takes the Python path. A
/// `__dict__` that cannot be read sends it there too, where the parent's error is raised.
/// On CPython 3.12+ `isinstance(obj, SendProtocol)` reads each protocol member with
/// `inspect.getattr_static`, which creates an instance's lazy `__dict__` (an exception's, whose
/// existence shows in its pickle). The parent makes that check for every object that reaches its
/// branch (plan kinds `AttrsKw` and `Repr`), so the walker creates the dict for those too; on
/// 3.10 and 3.11 the check uses `hasattr`, which creates nothing.
#[cfg(Py_3_12)]
const PROTOCOL_CHECK_CREATES_DICT: bool = true;
#[cfg(not(Py_3_12))]
const PROTOCOL_CHECK_CREATES_DICT: bool = false;

fn own_attrs_steer(obj: *mut ffi::PyObject, plan: &Plan) -> bool {
    // SAFETY: attribute fetch on a live object; the owned result is released by Owned; the
    // containment checks read a live dict by interned names (exact strs: no Python code runs).
    unsafe {
        let d = if PROTOCOL_CHECK_CREATES_DICT
            && matches!(
                plan.kind,
                PlanKind::Repr | PlanKind::KwArgs(KwArgs::AttrsKw)
            ) {
            // As the parent's `isinstance(obj, SendProtocol)` does on 3.12+ (see the constant).
            let d = ffi::PyObject_GetAttr(obj, typerefs().s_dunder_dict);
            if d.is_null() {
                Err(())
            } else {
                Ok(Some(d))
            }
        } else {
            instance_dict(obj)
        };
        let d = match d {
            Ok(Some(d)) => d,
            Ok(None) => return false,
            Err(()) => {
                ffi::PyErr_Clear();
                return true;
            }
        };
        let d = Owned(d);
        if ffi::PyDict_Check(d.0) == 0 || dict_len(d.0) == 0 {
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
