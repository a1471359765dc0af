//! The positional-arguments family, ext 1 `(module, name, args)`, read back as `cls(*args)`:
//! `pathlib` paths (`obj.parts`), compiled patterns (`("re", "compile", (pattern, flags))`), and
//! classes with `__getinitargs__`.

use super::family::{args3, Family, Field, Shape};
use crate::encode::{Encoder, Policy, Walk};
use crate::ffi::typeref::typerefs;
use crate::langgraph::ext::EXT_CONSTRUCTOR_POS_ARGS;
use crate::langgraph::guard::Guard;
use crate::msgpack::writer;
use pyo3::ffi;

/// The ext 1 kinds outside the temporal and graph families.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PosArgs {
    /// `(module, name, obj.parts)`.
    Path,
    /// `("re", "compile", (obj.pattern, obj.flags))`.
    Pattern,
    /// `(module, name, obj.__getinitargs__())`.
    InitArgs,
}

const PATH: Shape = args3("PATH", EXT_CONSTRUCTOR_POS_ARGS);
const PATTERN: Shape = Shape {
    head_names: Some(("re", "compile")),
    ..args3("PATTERN", EXT_CONSTRUCTOR_POS_ARGS)
};
const INITARGS: Shape = args3("INITARGS", EXT_CONSTRUCTOR_POS_ARGS);

impl Family for PosArgs {
    const ALL: &'static [Self] = &[PosArgs::Path, PosArgs::Pattern, PosArgs::InitArgs];

    #[inline(always)]
    fn shape(self) -> &'static Shape {
        match self {
            PosArgs::Path => &PATH,
            PosArgs::Pattern => &PATTERN,
            PosArgs::InitArgs => &INITARGS,
        }
    }

    #[inline(always)]
    fn write_arg<P: Policy>(
        self,
        enc: &mut Encoder<'_, P>,
        obj: *mut ffi::PyObject,
        tp: *mut ffi::PyTypeObject,
        _fields: &[Field],
        _guards: &[Option<Guard>],
        depth: u32,
        _arg_at: usize,
    ) -> Walk<P> {
        let r = typerefs();
        match self {
            PosArgs::Path => enc.write_attr(obj, tp, r.s_parts, depth),
            PosArgs::Pattern => {
                // The head `("re", "compile")` is in the plan.
                writer::array_len(enc.buf, 2);
                enc.write_attr(obj, tp, r.s_pattern, depth + 1)?;
                enc.write_attr(obj, tp, r.s_flags, depth + 1)
            }
            PosArgs::InitArgs => enc.write_call(obj, tp, r.s_getinitargs, depth),
        }
    }
}
