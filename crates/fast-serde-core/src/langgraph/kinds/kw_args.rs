//! The keyword-arguments family, ext 2 `(module, name, {field: value})`, read back as
//! `cls(**kwargs)`: namedtuples (what `_asdict()` returns) and dataclasses and LangGraph's `Item`
//! (`{f: getattr(obj, f)}`), field names pre-encoded in the plan.

use super::family::{args3, Arg, Family, Field, Shape};
use crate::encode::{at, Encoder, Policy, Walk};
use crate::error::PathSeg;
use crate::ffi::py;
use crate::langgraph::ext::EXT_CONSTRUCTOR_KW_ARGS;
use crate::msgpack::writer::{self, Out};
use pyo3::ffi;

/// The ext 2 kinds outside the temporal family.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum KwArgs {
    /// `(module, name, {field: item})`, what `obj._asdict()` returns.
    NamedTuple,
    /// `(module, name, {f: getattr(obj, f) for f in fields})`: dataclass, Item.
    AttrsKw,
}

impl Family for KwArgs {
    const TABLE: &'static [(Self, Shape)] = &[
        (
            KwArgs::NamedTuple,
            args3("NAMEDTUPLE", EXT_CONSTRUCTOR_KW_ARGS),
        ),
        (KwArgs::AttrsKw, args3("ATTRS_KW", EXT_CONSTRUCTOR_KW_ARGS)),
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
            KwArgs::NamedTuple => {
                // SAFETY: `obj` is a tuple subclass (checked by the plan).
                let len = unsafe { ffi::PyTuple_GET_SIZE(obj) } as usize;
                let fields = &fields[..len.min(fields.len())];
                enc.write_fields(obj, fields, depth, |enc, i, _| {
                    // SAFETY: a borrowed item of an immutable tuple, i < len.
                    let item = unsafe { ffi::PyTuple_GET_ITEM(obj, i as ffi::Py_ssize_t) };
                    enc.walk(item, depth + 1)
                })
            }
            KwArgs::AttrsKw => enc.write_fields(obj, fields, depth, |enc, _, f| {
                enc.write_attr(obj, tp, f.name.as_ptr(), depth + 1)
            }),
        }
    }
}

impl<P: Policy> Encoder<'_, P> {
    /// A map of `fields` of `obj` at `depth`: each pre-encoded name, then the value `value`
    /// writes for the field at that index; the path through it reads `.name`.
    #[inline(always)]
    fn write_fields(
        &mut self,
        obj: *mut ffi::PyObject,
        fields: &[Field],
        depth: u32,
        mut value: impl FnMut(&mut Self, usize, &Field) -> Walk<P>,
    ) -> Walk<P> {
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
}
