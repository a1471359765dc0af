//! The walker's LangGraph policy: JsonPlusSerializer's ext values, written natively.
//!
//! Every class met outside the hot types is written by its plan (plan.rs); each ext payload is
//! written in place behind a reserved header that is patched to the smallest ext marker.
//! Pydantic v2 models are in model.rs.

use super::kind::PlanKind;
use super::model::FromDict;
use super::plan::{plan_for, Field, Plan};
use super::policy::LangGraph;
use crate::encode::{at, callback_failure, type_of, unsupported, Encoder, Policy, Walk};
use crate::error::{EncodeFailure, EncodeKind, EncodeResult, PathSeg};
use crate::ffi::dictiter::dict_len;
use crate::ffi::object::instance_dict;
use crate::ffi::typeref::typerefs;
use crate::ffi::{py, Owned};
use crate::msgpack::writer::{self, Out};
use pyo3::ffi;
use pyo3::prelude::*;

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

    /// `plan`'s ext value: its head and the argument its kind reads, framed by
    /// [`Self::write_ext`].
    fn write_payload(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        plan: &Plan,
    ) -> EncodeResult {
        self.enter(0)?;
        let depth = plan.kind.shape().arg_depth;
        self.write_ext(
            plan.kind,
            tp,
            &plan.head,
            writer::EXT_RESERVE_EXT16,
            |enc, arg_at| enc.write_arg(obj, tp, plan, depth, arg_at),
        )
    }

    /// The argument of `plan`'s payload, what its kind reads from `obj`, written from offset
    /// `arg_at` at `depth`.
    #[inline(always)]
    fn write_arg(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        plan: &Plan,
        depth: u32,
        arg_at: usize,
    ) -> EncodeResult {
        match plan.kind {
            PlanKind::PydanticV2Dict => match self.write_model_dict(obj, tp, plan, depth)? {
                FromDict::Written => Ok(()),
                FromDict::NotPlain => {
                    // A value model_dump() would convert: take model_dump() after all.
                    self.buf.truncate(arg_at);
                    self.write_model_dump(obj, tp, depth)
                }
            },
            PlanKind::PydanticV2 => self.write_model_dump(obj, tp, depth),
            PlanKind::DeltaSnapshot => self.write_attr(obj, tp, typerefs().s_value, depth),
            PlanKind::Secret => self.write_call(obj, tp, typerefs().s_get_secret_value, depth),
            PlanKind::PydanticV1 => self.write_call(obj, tp, typerefs().s_dict_method, depth),
            PlanKind::NamedTuple => self.write_namedtuple(obj, plan, depth),
            PlanKind::Path => self.write_attr(obj, tp, typerefs().s_parts, depth),
            PlanKind::Pattern => self.write_pattern(obj, tp, depth),
            PlanKind::StrArg => {
                // SAFETY: str() of a live object; owned result.
                let s = unsafe { ffi::PyObject_Str(obj) };
                self.write_owned(s, tp, 0)
            }
            PlanKind::Hex => self.write_uuid_hex(obj, tp, depth),
            PlanKind::IterArg => {
                // SAFETY: tuple(obj) of a live iterable; owned result.
                let t = unsafe { ffi::PySequence_Tuple(obj) };
                self.write_owned(t, tp, depth)
            }
            PlanKind::Datetime => self.write_datetime_payload(obj, tp),
            // SAFETY: the plan's class is a timedelta (or subclass), whose C fields these read.
            PlanKind::Timedelta => unsafe { self.write_c_ints(obj, TIMEDELTA_FIELDS) },
            // SAFETY: the plan's class is a date (or subclass), whose C fields these read.
            PlanKind::Date => unsafe { self.write_c_ints(obj, DATE_FIELDS) },
            PlanKind::Time => self.write_time(obj, depth),
            PlanKind::InitArgs => self.write_call(obj, tp, typerefs().s_getinitargs, depth),
            PlanKind::AttrArg => match plan.fields.first() {
                Some(f) => self.write_attr(obj, tp, f.name.as_ptr(), depth),
                None => Err(EncodeFailure::new(EncodeKind::Unsupported(type_of(tp)))),
            },
            PlanKind::Send => self.write_send(obj, tp, depth),
            PlanKind::AttrsKw => self.write_attrs_kw(obj, tp, plan, depth),
            // Written without an ext by `write_planned`, never here.
            PlanKind::Fallback | PlanKind::Repr => Err(unsupported(tp)),
        }
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

    /// An array of the ints `fields` read from `obj` (a date's or timedelta's C fields).
    ///
    /// # Safety
    /// `obj` is of the type the accessors read.
    #[inline(always)]
    unsafe fn write_c_ints<const N: usize>(
        &mut self,
        obj: *mut ffi::PyObject,
        fields: [CField; N],
    ) -> EncodeResult {
        writer::array_len(self.buf, N as u32);
        for field in fields {
            // SAFETY: the caller's promise: `obj` is of the type `field` reads.
            writer::sint(self.buf, unsafe { field(obj) } as i64);
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
        // SAFETY: `obj` is a tuple subclass (checked by the plan).
        let len = unsafe { ffi::PyTuple_GET_SIZE(obj) } as usize;
        let fields = &plan.fields[..len.min(plan.fields.len())];
        self.write_fields(obj, fields, depth, |enc, i, _| {
            // SAFETY: a borrowed item of an immutable tuple, i < len.
            let item = unsafe { ffi::PyTuple_GET_ITEM(obj, i as ffi::Py_ssize_t) };
            enc.walk(item, depth + 1)
        })
    }

    /// dataclass fields / `Item` slots: `{name: getattr(obj, name)}`.
    fn write_attrs_kw(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        plan: &Plan,
        depth: u32,
    ) -> EncodeResult {
        self.write_fields(obj, &plan.fields, depth, |enc, _, f| {
            enc.write_attr(obj, tp, f.name.as_ptr(), depth + 1)
        })
    }

    /// A map of `fields` of `obj` at `depth`: each pre-encoded name, then the value `value`
    /// writes for the field at that index; the path through it reads `.name`.
    #[inline(always)]
    fn write_fields(
        &mut self,
        obj: *mut ffi::PyObject,
        fields: &[Field],
        depth: u32,
        mut value: impl FnMut(&mut Self, usize, &Field) -> EncodeResult,
    ) -> EncodeResult {
        self.enter(depth)?;
        writer::map_len(self.buf, fields.len() as u32);
        for (i, f) in fields.iter().enumerate() {
            self.buf.extend_from_slice(&f.key);
            if let Err(e) = value(self, i, f) {
                return Err(at(e, PathSeg::Field(f.name.clone_ref(py())), obj));
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
        // SAFETY: attribute fetch on a live object; a missing attribute counts as None, as in
        // the parent's `getattr(obj, "timeout", None)`: any other error is raised.
        let timeout = unsafe {
            let t = ffi::PyObject_GetAttr(obj, r.s_timeout);
            if t.is_null() {
                if ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) == 0 {
                    return Err(callback_failure(tp));
                }
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
}

/// The ext values any policy built on LangGraph's format writes: exact datetimes and UUIDs (also
/// inside a model's `__dict__`, model.rs) and the helpers they share with the plans.
impl<P: Policy> Encoder<'_, P> {
    /// One ext value of `kind`, as its shape says (kind.rs): a header of `reserve` bytes (the
    /// size expected) patched at the end to the smallest marker with the kind's code, the
    /// pre-encoded `head`, the argument written by `arg` (given the offset where it starts), then
    /// the kind's trailer. Every ext value of a plan, and exact datetimes and UUIDs, go through
    /// here.
    #[inline(always)]
    fn write_ext(
        &mut self,
        kind: PlanKind,
        tp: *mut ffi::PyTypeObject,
        head: &[u8],
        reserve: usize,
        arg: impl FnOnce(&mut Self, usize) -> Walk<P>,
    ) -> Walk<P> {
        let shape = kind.shape();
        let Some(code) = shape.code else {
            // Fallback and Repr have no ext of their own: `write_planned` writes them.
            return Err(unsupported(tp).into());
        };
        let mark = writer::ext_begin(self.buf, reserve);
        self.buf.extend_from_slice(head);
        arg(self, mark.payload() + head.len())?;
        if let Some(trailer) = shape.trailer {
            writer::str(self.buf, trailer);
        }
        writer::ext_end(self.buf, mark, code);
        Ok(())
    }

    /// Any value produced by a C-API call (new reference or NULL), walked.
    fn write_owned(
        &mut self,
        v: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> Walk<P> {
        if v.is_null() {
            return Err(callback_failure(tp).into());
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
    ) -> Walk<P> {
        // SAFETY: attribute fetch on a live object by a live str; owned result.
        let v = unsafe { ffi::PyObject_GetAttr(obj, name) };
        self.write_owned(v, tp, depth)
    }

    /// The isoformat str of a datetime (the middle of ext 3's payload).
    pub(crate) fn write_datetime_payload(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> Walk<P> {
        if tp == typerefs().datetime_type && self.write_isoformat_utc(obj) {
            return Ok(());
        }
        // SAFETY: method call on a live object by an interned name; owned result.
        let s = unsafe { ffi::PyObject_CallMethodNoArgs(obj, typerefs().s_isoformat) };
        self.write_owned(s, tp, 0)
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

    /// ext 3 `("datetime", "datetime", obj.isoformat(), "fromisoformat")` for an exact datetime:
    /// the `Datetime` kind with a pre-encoded head.
    pub(crate) fn write_datetime(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> Walk<P> {
        self.write_ext(
            PlanKind::Datetime,
            tp,
            DATETIME_HEAD,
            writer::EXT_RESERVE_EXT8,
            |enc, _| enc.write_datetime_payload(obj, tp),
        )
    }

    /// ext 0 `("uuid", "UUID", obj.hex)` for an exact UUID: the `Hex` kind with a pre-encoded
    /// head.
    pub(crate) fn write_uuid(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> Walk<P> {
        self.write_ext(
            PlanKind::Hex,
            tp,
            UUID_HEAD,
            writer::EXT_RESERVE_EXT8,
            |enc, _| enc.write_uuid_hex(obj, tp, 1),
        )
    }

    /// `obj.hex` of a UUID (the argument of ext 0): for an exact UUID formatted from `obj.int`
    /// (an `int` outside 0..2**128, set through `object.__setattr__`, is written as `obj.hex`
    /// says); a subclass's `hex` is asked, as it may redefine it.
    fn write_uuid_hex(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        depth: u32,
    ) -> Walk<P> {
        if tp == typerefs().uuid_type {
            if let Some(hex) = uuid_hex(obj, tp)? {
                writer::str(self.buf, &hex);
                return Ok(());
            }
        }
        self.write_attr(obj, tp, typerefs().s_hex, depth)
    }
}

/// A C accessor of a date or timedelta field (pyo3's `PyDateTime_GET_YEAR`, ...).
type CField = unsafe fn(*mut ffi::PyObject) -> std::ffi::c_int;
/// The argument of a timedelta's payload: `(days, seconds, microseconds)`.
const TIMEDELTA_FIELDS: [CField; 3] = [
    ffi::PyDateTime_DELTA_GET_DAYS,
    ffi::PyDateTime_DELTA_GET_SECONDS,
    ffi::PyDateTime_DELTA_GET_MICROSECONDS,
];
/// The argument of a date's payload: `(year, month, day)`.
const DATE_FIELDS: [CField; 3] = [
    ffi::PyDateTime_GET_YEAR,
    ffi::PyDateTime_GET_MONTH,
    ffi::PyDateTime_GET_DAY,
];

/// The payload head `("datetime", "datetime", ...)` of an exact datetime: fixarray(4), two fixstr.
const DATETIME_HEAD: &[u8] = b"\x94\xa8datetime\xa8datetime";
/// The payload head `("uuid", "UUID", ...)` of an exact UUID: fixarray(3), two fixstr.
const UUID_HEAD: &[u8] = b"\x93\xa4uuid\xa4UUID";

/// `'%032x' % obj.int` for an int in 0..2**128; `None` for any other int (then `obj.hex`).
fn uuid_hex(obj: *mut ffi::PyObject, tp: *mut ffi::PyTypeObject) -> EncodeResult<Option<[u8; 32]>> {
    // SAFETY: attribute fetch on a live UUID (`int` is a slot); owned result.
    let int = unsafe { ffi::PyObject_GetAttr(obj, typerefs().s_int) };
    if int.is_null() {
        return Err(callback_failure(tp));
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
            return Err(callback_failure(tp));
        }
        let shift = Owned(shift);
        let shifted = ffi::PyNumber_Rshift(int.0, shift.0);
        if shifted.is_null() {
            return Err(callback_failure(tp));
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
            && matches!(plan.kind, PlanKind::Repr | PlanKind::AttrsKw)
        {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_heads_are_the_encoded_names() {
        for (head, len, module, name) in [
            (DATETIME_HEAD, 4, "datetime", "datetime"),
            (UUID_HEAD, 3, "uuid", "UUID"),
        ] {
            let mut v = Vec::new();
            writer::array_len(&mut v, len);
            writer::str(&mut v, module.as_bytes());
            writer::str(&mut v, name.as_bytes());
            assert_eq!(head, &v[..]);
        }
    }
}
