//! The single-argument family, ext 0 `(module, name, arg)`, read back as `cls(arg)`: pydantic's
//! `SecretStr`/`SecretBytes` (`get_secret_value()`), classes written as `str(obj)` (Decimal,
//! IPv4/6 addresses), UUID subclasses (`obj.hex`), set, frozenset and deque (`tuple(obj)`), and
//! `ZoneInfo.key` / `Enum.value` (one attribute); and the exact `UUID` the walker meets before any
//! plan (`write_uuid`, also inside a model's `__dict__`).

use super::family::{args3, Arg, Family, Shape};
use crate::encode::{callback_failure, type_of, Encoder, Policy, Walk};
use crate::error::{EncodeFailure, EncodeKind, EncodeResult};
use crate::ffi::typeref::typerefs;
use crate::ffi::Owned;
use crate::langgraph::ext::EXT_CONSTRUCTOR_SINGLE_ARG;
use crate::msgpack::writer;
use pyo3::ffi;

/// The ext 0 kinds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SingleArg {
    /// `(module, name, obj.get_secret_value())`.
    Secret,
    /// `(module, name, str(obj))`.
    StrArg,
    /// `(module, name, obj.hex)`: UUID subclasses.
    Hex,
    /// `(module, name, tuple(obj))`: set, frozenset, deque.
    IterArg,
    /// `(module, name, getattr(obj, fields[0]))`: ZoneInfo.key, Enum.value.
    AttrArg,
}

impl Family for SingleArg {
    const TABLE: &'static [(Self, Shape)] = &[
        (
            SingleArg::Secret,
            args3("SECRET", EXT_CONSTRUCTOR_SINGLE_ARG),
        ),
        (
            SingleArg::StrArg,
            args3("STR_ARG", EXT_CONSTRUCTOR_SINGLE_ARG),
        ),
        (SingleArg::Hex, args3("HEX", EXT_CONSTRUCTOR_SINGLE_ARG)),
        (
            SingleArg::IterArg,
            args3("ITER_ARG", EXT_CONSTRUCTOR_SINGLE_ARG),
        ),
        (
            SingleArg::AttrArg,
            args3("ATTR_ARG", EXT_CONSTRUCTOR_SINGLE_ARG),
        ),
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
            depth,
            ..
        } = arg;
        match self {
            SingleArg::Secret => enc.write_call(obj, tp, typerefs().s_get_secret_value, depth),
            SingleArg::StrArg => {
                // SAFETY: str() of a live object; owned result.
                let s = unsafe { ffi::PyObject_Str(obj) };
                enc.write_owned(s, tp, 0)
            }
            SingleArg::Hex => enc.write_uuid_hex(obj, tp, depth),
            SingleArg::IterArg => {
                // SAFETY: tuple(obj) of a live iterable; owned result.
                let t = unsafe { ffi::PySequence_Tuple(obj) };
                enc.write_owned(t, tp, depth)
            }
            SingleArg::AttrArg => match fields.first() {
                Some(f) => enc.write_attr(obj, tp, f.name.as_ptr(), depth),
                None => Err(EncodeFailure::new(EncodeKind::Unsupported(type_of(tp))).into()),
            },
        }
    }
}

/// The UUIDs any policy built on LangGraph's format writes (an exact one also inside a model's
/// `__dict__`, pydantic.rs).
impl<P: Policy> Encoder<'_, P> {
    /// ext 0 `("uuid", "UUID", obj.hex)` for an exact UUID: the `Hex` kind with a pre-encoded
    /// head.
    pub(crate) fn write_uuid(
        &mut self,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
    ) -> Walk<P> {
        self.write_ext(
            SingleArg::Hex.shape(),
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

/// The payload head `("uuid", "UUID", ...)` of an exact UUID: fixarray(3), two fixstr.
const UUID_HEAD: &[u8] = b"\x93\xa4uuid\xa4UUID";

#[cfg(test)]
mod tests {
    use super::super::family::encoded_head;
    use super::*;

    #[test]
    fn exact_head_is_the_encoded_names() {
        assert_eq!(UUID_HEAD, &encoded_head(3, "uuid", "UUID")[..]);
    }
}
