//! The `Py_3_*` cfgs of the interpreter being built for (pyo3's own), and `cpython_layout`: set
//! when this build reads CPython's private object layouts in place (`src/ffi/layout.rs`: the
//! compact-ASCII str read and the dict-table read), with `FAST_SERDE_LAYOUT_MINOR`, the minor
//! version whose layouts those are.

use pyo3_build_config::{PythonAbiKind, PythonImplementation};

/// The CPython minor versions whose `PyASCIIObject` state bits and `struct _dictkeysobject` were
/// read from their headers (Include/cpython/unicodeobject.h, Include/internal/pycore_dict.h)
/// and are the same: 3.11 to 3.15, GIL builds.
const LAYOUT_MINORS: std::ops::RangeInclusive<u8> = 11..=15;

fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    println!("cargo:rustc-check-cfg=cfg(cpython_layout)");
    let config = pyo3_build_config::get();
    let version = config.version();
    // Not the limited API (abi3), not free-threaded (`Py_GIL_DISABLED`: another state layout,
    // a `dk_mutex`, and entries other threads may change), not PyPy or GraalPy.
    let in_place = config.implementation() == PythonImplementation::CPython
        && matches!(
            config.target_abi().kind(),
            PythonAbiKind::VersionSpecific(_)
        )
        && !config.is_free_threaded()
        && version.major == 3
        && LAYOUT_MINORS.contains(&version.minor);
    if in_place {
        println!("cargo:rustc-cfg=cpython_layout");
        println!("cargo:rustc-env=FAST_SERDE_LAYOUT_MINOR={}", version.minor);
    }
}
