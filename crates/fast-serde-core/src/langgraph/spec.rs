//! The per-class contract between `fast_serde.langgraph._plans.encode_plan` (Python) and the
//! plan cache (plan.rs): a frozen `PlanSpec`, built in Python by keyword and read here field by
//! field. A renamed or missing field fails where the spec is built (`_plans` builds two at
//! import), never as a misread position at run time.

use super::kinds::{PlanKind, CHECK_INSTANCE, ONCE};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// A class's plan as `_plans.encode_plan(obj)` decides it.
///
/// * `kind`: the branch of `jsonplus._msgpack_default` (a `_native.PLAN_KINDS` value).
/// * `fields`: the attributes the walker reads, in order (str).
/// * `flags`: `_native.PLAN_FLAGS` bits (`CHECK_INSTANCE`, `ONCE`).
/// * `guards`: for PYDANTIC_V2_DICT, per field the TypedDict guard spec
///   (`_guards.typed_dict_guards`, read by `guard.rs::Guard::from_spec`) or None; else empty.
/// * `steer_any`, `steer_all`: with CHECK_INSTANCE, an object whose own `__dict__` holds any of
///   `steer_any`, or all of `steer_all` (when not empty), takes the Python path.
#[pyclass(module = "fast_serde._native", frozen)]
pub(crate) struct PlanSpec {
    pub(crate) kind: PlanKind,
    pub(crate) fields: Vec<String>,
    pub(crate) flags: u8,
    pub(crate) guards: Py<PyAny>,
    pub(crate) steer_any: Vec<String>,
    pub(crate) steer_all: Vec<String>,
}

#[pymethods]
impl PlanSpec {
    /// `PlanSpec(kind, *, fields=(), flags=0, guards=(), steer_any=(), steer_all=())`: the
    /// sequences of names are sequences of str (a str itself is refused), `guards` any iterable.
    /// Raises ValueError for a `kind` no `PlanKind` has or a flag bit no `PLAN_FLAGS` names,
    /// TypeError for arguments of another type, OverflowError for values outside 0-255.
    #[new]
    #[pyo3(signature = (
        kind, *, fields = Vec::new(), flags = 0, guards = None, steer_any = Vec::new(),
        steer_all = Vec::new()
    ))]
    fn new(
        py: Python<'_>,
        kind: u8,
        fields: Vec<String>,
        flags: u8,
        guards: Option<Py<PyAny>>,
        steer_any: Vec<String>,
        steer_all: Vec<String>,
    ) -> PyResult<Self> {
        let kind = PlanKind::try_from(kind)
            .map_err(|v| PyValueError::new_err(format!("fast_serde: unknown plan kind {v}")))?;
        if flags & !(CHECK_INSTANCE | ONCE) != 0 {
            let msg = format!("fast_serde: unknown plan flags {flags:#x}");
            return Err(PyValueError::new_err(msg));
        }
        let guards = guards.unwrap_or_else(|| PyTuple::empty(py).into_any().unbind());
        Ok(PlanSpec {
            kind,
            fields,
            flags,
            guards,
            steer_any,
            steer_all,
        })
    }

    #[getter]
    fn kind(&self) -> u8 {
        self.kind.value()
    }

    #[getter]
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.fields)
    }

    #[getter]
    fn flags(&self) -> u8 {
        self.flags
    }

    #[getter]
    fn guards(&self, py: Python<'_>) -> Py<PyAny> {
        self.guards.clone_ref(py)
    }

    #[getter]
    fn steer_any<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.steer_any)
    }

    #[getter]
    fn steer_all<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.steer_all)
    }

    /// The same spec with `flags` in place of its own (same checks as the constructor).
    fn with_flags(&self, py: Python<'_>, flags: u8) -> PyResult<PlanSpec> {
        PlanSpec::new(
            py,
            self.kind.value(),
            self.fields.clone(),
            flags,
            Some(self.guards.clone_ref(py)),
            self.steer_any.clone(),
            self.steer_all.clone(),
        )
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let guards = self.guards.bind(py).repr()?;
        Ok(format!(
            "PlanSpec({}, fields={:?}, flags={}, guards={}, steer_any={:?}, steer_all={:?})",
            self.kind.shape().name,
            self.fields,
            self.flags,
            guards,
            self.steer_any,
            self.steer_all
        ))
    }
}
