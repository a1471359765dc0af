//! The positional-arguments family, ext 1 `(module, name, args)`, read back as `cls(*args)`:
//! `pathlib` paths (`obj.parts`), compiled patterns (`("re", "compile", (pattern, flags))`), and
//! classes with `__getinitargs__`.

use super::family::{args3, Arg, Family, Shape};
use crate::encode::{Encoder, Policy, Walk};
use crate::ffi::typeref::typerefs;
use crate::langgraph::ext::EXT_CONSTRUCTOR_POS_ARGS;
use crate::msgpack::writer;

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

impl Family for PosArgs {
    const TABLE: &'static [(Self, Shape)] = &[
        (PosArgs::Path, args3("PATH", EXT_CONSTRUCTOR_POS_ARGS)),
        (
            PosArgs::Pattern,
            Shape {
                head_names: Some(("re", "compile")),
                ..args3("PATTERN", EXT_CONSTRUCTOR_POS_ARGS)
            },
        ),
        (
            PosArgs::InitArgs,
            args3("INITARGS", EXT_CONSTRUCTOR_POS_ARGS),
        ),
    ];

    #[inline(always)]
    fn index(self) -> usize {
        self as usize
    }

    #[inline(always)]
    fn write_arg<P: Policy>(self, enc: &mut Encoder<'_, P>, arg: Arg<'_>) -> Walk<P> {
        let Arg { obj, tp, depth, .. } = arg;
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
