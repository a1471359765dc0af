//! The Python callables a `LangGraphCodec` is given (`FastSerializer._make_codec` passes them by
//! keyword), and the answers of `resolve`.

use pyo3::prelude::*;

/// `resolve` answers: allowed and cacheable (no per-object events), allowed but ask again next
/// time (the permissive mode's per-object event), blocked / unimportable (payload returned), or
/// allowed and cacheable for a constructor that is no module attribute (`Send`'s).
pub(crate) const RESOLVED_CACHE: i64 = 0;
pub(crate) const RESOLVED_ONCE: i64 = 1;
pub(crate) const RESOLVED_BLOCKED: i64 = 2;
pub(crate) const RESOLVED_FIXED: i64 = 3;

/// What the codec calls back into Python for.
///
/// * `fallback(obj) -> bytes`: langgraph's `_msgpack_enc`, for types written in Python.
/// * `inspect(obj) -> PlanSpec`: `_plans.encode_plan`, once per class (plan.rs).
/// * `unusual(code, decoded, tup)`: `_ext_from_payload`, the parent's ext hook past its unpackb,
///   in Python, for the payloads of an unusual shape that `constructed` (decode.rs) does not
///   build.
/// * `resolve(code, module, name) -> (status, cls)`: the allowlist decision (`RESOLVED_CACHE`:
///   allowed, cache it while `sys.modules[module].__dict__[name] is cls`; `RESOLVED_ONCE`:
///   allowed, ask again next time; `RESOLVED_BLOCKED`: blocked or not importable, return the
///   payload; `RESOLVED_FIXED`: allowed, cache it as it is).
/// * `failed(code, module, name, arg, exc)`: the parent's fallback when building raised.
/// * `method_allowed(module, name, method) -> bool`: the parent's `_check_allowed_method`.
/// * `trust(cls) -> (fields, extra_allow, rules, either) | None`: `_trusted.trusted_model` when
///   `validate_models=False`, else None.
/// * `forwarded(cls) -> BaseModel.__init__ | None`: `_verified.forwarded_init` (forward.rs), or
///   None for no shortcut.
/// * `delta`: `_DeltaSnapshot`, for ext 7.
/// * `numpy(payload) -> ndarray | None`: for ext 6 (the parent's rebuild, errors read as None).
pub(crate) struct Hooks {
    pub(crate) fallback: Py<PyAny>,
    pub(crate) inspect: Py<PyAny>,
    pub(crate) unusual: Py<PyAny>,
    pub(crate) resolve: Py<PyAny>,
    pub(crate) failed: Py<PyAny>,
    pub(crate) method_allowed: Py<PyAny>,
    pub(crate) trust: Option<Py<PyAny>>,
    pub(crate) forwarded: Option<Py<PyAny>>,
    pub(crate) delta: Py<PyAny>,
    pub(crate) numpy: Py<PyAny>,
}
