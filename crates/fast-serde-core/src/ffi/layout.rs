//! The CPython private layouts this build reads in place, and the check that the running
//! interpreter has them.
//!
//! Two fast paths read structures CPython keeps out of its stable API: the compact-ASCII str
//! read (`unicode.rs`: the `ascii` and `compact` bits of `PyASCIIObject.state`, and the data
//! after the header) and the in-place dict-table read (`dictiter.rs`: `struct _dictkeysobject`).
//! Both are compiled in only when `build.rs` sets `cpython_layout`: CPython 3.11 to 3.15, GIL
//! builds, not the limited API. Those layouts were read from each version's headers
//! (Include/cpython/unicodeobject.h, Include/internal/pycore_dict.h) and are the same in all
//! five. Every other build (3.10, 3.16+, free-threaded, PyPy, GraalPy, abi3) uses the public
//! calls (`PyUnicode_AsUTF8AndSize`, `PyDict_Next`).
//!
//! A version-specific build loaded by another interpreter (its file renamed, or loaded by path)
//! must not read these layouts: [`init`] refuses to load the module there, once, rather than
//! test the version at every str or dict entry (that test cost 4.7 % of a plain `dumps` on
//! 3.11).

/// The CPython minor version whose layouts this build reads (`build.rs`).
#[cfg(cpython_layout)]
const BUILT_FOR_MINOR: std::ffi::c_ulong = {
    let s = env!("FAST_SERDE_LAYOUT_MINOR").as_bytes();
    (s[0] - b'0') as std::ffi::c_ulong * 10 + (s[1] - b'0') as std::ffi::c_ulong
};

/// An ImportError unless the running interpreter is CPython 3.`BUILT_FOR_MINOR` (only when this
/// build reads private layouts; otherwise nothing to check).
pub(crate) fn init() -> pyo3::PyResult<()> {
    #[cfg(cpython_layout)]
    {
        // SAFETY: `Py_Version` is a constant exported by libpython since 3.11 (the gate).
        let hexversion = unsafe { pyo3::ffi::Py_Version };
        // PY_VERSION_HEX: major << 24 | minor << 16 | micro << 8 | level << 4 | serial.
        if hexversion >> 16 != (3 << 8 | BUILT_FOR_MINOR) {
            return Err(pyo3::exceptions::PyImportError::new_err(format!(
                "fast_serde._native was built for CPython 3.{BUILT_FOR_MINOR} and cannot run on \
                 CPython {}.{} (build it for this interpreter)",
                hexversion >> 24,
                (hexversion >> 16) & 0xff
            )));
        }
    }
    Ok(())
}

/// Whether this build reads the private layouts (`fast_serde._native.CPYTHON_LAYOUT`: the tests
/// and benches/matrix_ratios.py say which path a Python ran).
pub const IN_PLACE: bool = cfg!(cpython_layout);
