//! `fast_serde._native`: registers what fast-serde-core provides; no logic of its own.

use pyo3::prelude::*;

/// `gil_used = true`: a free-threaded CPython keeps the GIL on while this module is loaded. The
/// walker holds borrowed references across calls into Python, which only the GIL keeps alive
/// (README "Supported Pythons"); pyo3's default would declare the module free-threading safe.
#[pymodule(gil_used = true)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    fast_serde_core::register(m)
}
