//! The temporal family: `datetime` (ext 3 `(module, name, obj.isoformat(), "fromisoformat")`),
//! `timedelta` and `date` (ext 1, their C fields), `time` (ext 2, its fields by name), as
//! `jsonplus._msgpack_default` writes them; and the exact `datetime` the walker meets before any
//! plan (`write_datetime`, also inside a model's `__dict__`).

use super::family::{args3, args4, Arg, Family, Shape};
use crate::encode::{Encoder, Policy, Walk};
use crate::ffi::typeref::typerefs;
use crate::langgraph::ext::{
    EXT_CONSTRUCTOR_KW_ARGS, EXT_CONSTRUCTOR_POS_ARGS, EXT_METHOD_SINGLE_ARG,
};
use crate::msgpack::writer;
use pyo3::ffi;

/// The temporal kinds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Temporal {
    /// ext 3 `(module, name, obj.isoformat(), "fromisoformat")`: datetime subclasses.
    Datetime,
    /// ext 1 `(module, name, (days, seconds, microseconds))`.
    Timedelta,
    /// ext 1 `(module, name, (year, month, day))`.
    Date,
    /// ext 2 `(module, name, {hour, minute, second, microsecond, tzinfo, fold})`.
    Time,
}

impl Family for Temporal {
    const TABLE: &'static [(Self, Shape)] = &[
        (
            Temporal::Datetime,
            args4("DATETIME", EXT_METHOD_SINGLE_ARG, b"fromisoformat"),
        ),
        (
            Temporal::Timedelta,
            args3("TIMEDELTA", EXT_CONSTRUCTOR_POS_ARGS),
        ),
        (Temporal::Date, args3("DATE", EXT_CONSTRUCTOR_POS_ARGS)),
        (Temporal::Time, args3("TIME", EXT_CONSTRUCTOR_KW_ARGS)),
    ];

    #[inline(always)]
    fn index(self) -> usize {
        self as usize
    }

    #[inline(always)]
    fn write_arg<P: Policy>(self, enc: &mut Encoder<'_, P>, arg: Arg<'_>) -> Walk<P> {
        let Arg { obj, tp, depth, .. } = arg;
        match self {
            Temporal::Datetime => enc.write_datetime_payload(obj, tp),
            // SAFETY: the plan's class is a timedelta (or subclass), whose C fields these read.
            Temporal::Timedelta => unsafe { enc.write_c_ints(obj, TIMEDELTA_FIELDS) },
            // SAFETY: the plan's class is a date (or subclass), whose C fields these read.
            Temporal::Date => unsafe { enc.write_c_ints(obj, DATE_FIELDS) },
            Temporal::Time => enc.write_time(obj, depth),
        }
    }
}

impl<P: Policy> Encoder<'_, P> {
    /// An array of the ints `fields` read from `obj` (a date's or timedelta's C fields).
    ///
    /// # Safety
    /// `obj` is of the type the accessors read.
    #[inline(always)]
    unsafe fn write_c_ints<const N: usize>(
        &mut self,
        obj: *mut ffi::PyObject,
        fields: [CField; N],
    ) -> Walk<P> {
        writer::array_len(self.buf, N as u32);
        for field in fields {
            // SAFETY: the caller's promise: `obj` is of the type `field` reads.
            writer::sint(self.buf, unsafe { field(obj) } as i64);
        }
        Ok(())
    }

    /// `{"hour", "minute", "second", "microsecond", "tzinfo", "fold"}` of a `time`.
    fn write_time(&mut self, obj: *mut ffi::PyObject, depth: u32) -> Walk<P> {
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

/// The datetimes any policy built on LangGraph's format writes (an exact one also inside a
/// model's `__dict__`, pydantic.rs).
impl<P: Policy> Encoder<'_, P> {
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
            Temporal::Datetime.shape(),
            tp,
            DATETIME_HEAD,
            writer::EXT_RESERVE_EXT8,
            |enc, _| enc.write_datetime_payload(obj, tp),
        )
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

#[cfg(test)]
mod tests {
    use super::super::family::encoded_head;
    use super::*;

    #[test]
    fn exact_head_is_the_encoded_names() {
        assert_eq!(DATETIME_HEAD, &encoded_head(4, "datetime", "datetime")[..]);
    }
}
