//! Shared set-up of the Criterion benches: an embedded interpreter that imports the repository's
//! `fast_serde` package (python/), its `fixtures` (repository root) and the venv's packages, plus
//! the objects the benches time.

use std::env;
use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// The repository root (two levels above this package).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// The venv: `FAST_SERDE_VENV`, default `../../.venv`; relative paths are taken from this
/// package's directory (benches/criterion).
pub fn venv_dir() -> PathBuf {
    let raw = env::var_os("FAST_SERDE_VENV").unwrap_or_else(|| "../../.venv".into());
    let path = PathBuf::from(raw);
    if path.is_absolute() {
        path
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
    }
}

/// Put the repository's `python/` dir and root first on `sys.path`, add the venv's
/// site-packages (with its `.pth` files), then initialise fast-serde-core's type references.
pub fn setup(py: Python<'_>) -> PyResult<()> {
    let root = repo_root()
        .canonicalize()
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("repository root: {e}")))?;
    let venv = venv_dir();
    let version = py.version_info();
    let site_packages = venv
        .join("lib")
        .join(format!("python{}.{}", version.major, version.minor))
        .join("site-packages");
    if !site_packages.is_dir() {
        return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
            "{} not found: set FAST_SERDE_VENV to the venv made by `make setup`",
            site_packages.display()
        )));
    }
    let site = py.import("site")?;
    site.call_method1("addsitedir", (site_packages.to_string_lossy().as_ref(),))?;
    let sys_path = py.import("sys")?.getattr("path")?.cast_into::<PyList>()?;
    for dir in [root.clone(), root.join("python")] {
        sys_path.insert(0, dir.to_string_lossy().as_ref())?;
    }
    fast_serde_core::ffi::typeref::init(py)?;
    Ok(())
}

/// One size's objects and the Python callables the benches time.
pub struct Workload<'py> {
    pub size: String,
    /// `fixtures.states.checkpoint(size)`: what a checkpointer hands `dumps_typed`.
    pub checkpoint: Bound<'py, PyAny>,
    /// `fixtures.states.plain_state(size)`: plain data for the walker and ormsgpack.
    pub plain: Bound<'py, PyAny>,
    /// `FastSerializer().dumps_typed`.
    pub fast_dumps_typed: Bound<'py, PyAny>,
    /// `JsonPlusSerializer().dumps_typed`.
    pub jsonplus_dumps_typed: Bound<'py, PyAny>,
    /// `functools.partial(pickle.dumps, protocol=5)`.
    pub pickle_dumps: Bound<'py, PyAny>,
    /// `copy.deepcopy`.
    pub deepcopy: Bound<'py, PyAny>,
    /// `functools.partial(ormsgpack.packb, option=OPT_NON_STR_KEYS | OPT_REPLACE_SURROGATES)`.
    pub ormsgpack_packb: Bound<'py, PyAny>,
    /// Output lengths, for Criterion's throughput: (plain msgpack, checkpoint msgpack).
    pub plain_len: u64,
    pub checkpoint_len: u64,
}

impl<'py> Workload<'py> {
    /// Build the fixtures of `size` and check that the walker and FastSerializer write the same
    /// bytes as ormsgpack and JsonPlusSerializer (panics otherwise: a benchmark of wrong output
    /// is worthless).
    pub fn new(py: Python<'py>, size: &str) -> PyResult<Self> {
        let states = py.import("fixtures.states")?;
        let checkpoint = states.call_method1("checkpoint", (size,))?;
        let plain = states.call_method1("plain_state", (size,))?;

        let fast = py
            .import("fast_serde.langgraph")?
            .getattr("FastSerializer")?
            .call0()?;
        let jsonplus = py
            .import("langgraph.checkpoint.serde.jsonplus")?
            .getattr("JsonPlusSerializer")?
            .call0()?;
        let partial = py.import("functools")?.getattr("partial")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("protocol", 5)?;
        let pickle_dumps =
            partial.call((py.import("pickle")?.getattr("dumps")?,), Some(&kwargs))?;
        let ormsgpack = py.import("ormsgpack")?;
        let option = ormsgpack
            .getattr("OPT_NON_STR_KEYS")?
            .bitor(&ormsgpack.getattr("OPT_REPLACE_SURROGATES")?)?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("option", option)?;
        let ormsgpack_packb = partial.call((ormsgpack.getattr("packb")?,), Some(&kwargs))?;

        let walker_bytes = fast_serde_core::dumps(py, &plain, None)?;
        let ormsgpack_bytes = ormsgpack_packb.call1((&plain,))?.cast_into::<PyBytes>()?;
        assert_eq!(
            walker_bytes.as_bytes(),
            ormsgpack_bytes.as_bytes(),
            "{size}: fast_serde_core::dumps differs from ormsgpack.packb"
        );
        let fast_dumps_typed = fast.getattr("dumps_typed")?;
        let jsonplus_dumps_typed = jsonplus.getattr("dumps_typed")?;
        let fast_out = fast_dumps_typed.call1((&checkpoint,))?;
        let ref_out = jsonplus_dumps_typed.call1((&checkpoint,))?;
        assert!(
            fast_out.eq(&ref_out)?,
            "{size}: FastSerializer.dumps_typed differs from JsonPlusSerializer.dumps_typed"
        );
        let checkpoint_len = ref_out.get_item(1)?.len()? as u64;
        Ok(Self {
            size: size.to_owned(),
            checkpoint,
            plain,
            fast_dumps_typed,
            jsonplus_dumps_typed,
            pickle_dumps,
            deepcopy: py.import("copy")?.getattr("deepcopy")?,
            ormsgpack_packb,
            plain_len: walker_bytes.as_bytes().len() as u64,
            checkpoint_len,
        })
    }
}
