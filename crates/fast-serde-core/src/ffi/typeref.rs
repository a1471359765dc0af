//! Type pointers and interned strings, looked up once at module init.
//!
//! The walk compares `ob_type` against these pointers (exact-type dispatch, as orjson's `typeref`
//! does) and fetches attributes by these interned names, so it never imports or builds a name on
//! the hot path. Every pointer here is a strong reference that lives as long as the interpreter.

use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::CStr;
use std::sync::OnceLock;

/// Strong references to the types and names the walker and the reader use.
pub(crate) struct TypeRefs {
    pub(crate) str_type: *mut ffi::PyTypeObject,
    pub(crate) bytes_type: *mut ffi::PyTypeObject,
    pub(crate) bytearray_type: *mut ffi::PyTypeObject,
    pub(crate) memoryview_type: *mut ffi::PyTypeObject,
    pub(crate) int_type: *mut ffi::PyTypeObject,
    pub(crate) bool_type: *mut ffi::PyTypeObject,
    pub(crate) none_type: *mut ffi::PyTypeObject,
    pub(crate) float_type: *mut ffi::PyTypeObject,
    pub(crate) list_type: *mut ffi::PyTypeObject,
    pub(crate) dict_type: *mut ffi::PyTypeObject,
    pub(crate) tuple_type: *mut ffi::PyTypeObject,
    pub(crate) datetime_type: *mut ffi::PyTypeObject,
    pub(crate) uuid_type: *mut ffi::PyTypeObject,
    /// `enum.EnumType` (`EnumMeta`): the metaclass of every Enum.
    pub(crate) enum_meta: *mut ffi::PyTypeObject,
    /// `fast_serde._types.Ext`, the NamedTuple `(code, data)`.
    pub(crate) ext_type: *mut ffi::PyTypeObject,
    /// `datetime.timezone.utc`.
    pub(crate) utc: *mut ffi::PyObject,
    /// `datetime.datetime(1970, 1, 1, tzinfo=utc)`.
    pub(crate) utc_epoch: *mut ffi::PyObject,
    /// `datetime.datetime.fromisoformat`.
    pub(crate) datetime_fromisoformat: *mut ffi::PyObject,
    pub(crate) empty_tuple: *mut ffi::PyObject,
    /// `object.__new__`.
    pub(crate) object_new: *mut ffi::PyObject,
    pub(crate) s_model_dump: *mut ffi::PyObject,
    pub(crate) s_model_construct: *mut ffi::PyObject,
    pub(crate) s_construct: *mut ffi::PyObject,
    pub(crate) s_isoformat: *mut ffi::PyObject,
    pub(crate) s_int: *mut ffi::PyObject,
    pub(crate) s_value: *mut ffi::PyObject,
    pub(crate) s_get_secret_value: *mut ffi::PyObject,
    pub(crate) s_dict_method: *mut ffi::PyObject,
    pub(crate) s_parts: *mut ffi::PyObject,
    pub(crate) s_hex: *mut ffi::PyObject,
    pub(crate) s_getinitargs: *mut ffi::PyObject,
    pub(crate) s_pattern: *mut ffi::PyObject,
    pub(crate) s_flags: *mut ffi::PyObject,
    pub(crate) s_timeout: *mut ffi::PyObject,
    pub(crate) s_node: *mut ffi::PyObject,
    pub(crate) s_arg: *mut ffi::PyObject,
    pub(crate) s_dunder_dict: *mut ffi::PyObject,
    pub(crate) s_pydantic_extra: *mut ffi::PyObject,
    pub(crate) s_fields_set: *mut ffi::PyObject,
    pub(crate) s_pydantic_fields: *mut ffi::PyObject,
    pub(crate) s_pydantic_private: *mut ffi::PyObject,
    pub(crate) s_sizeof: *mut ffi::PyObject,
}

// SAFETY: the pointers are immortal strong references created once under the GIL and only ever
// read (never written) afterwards; all uses happen while attached to the interpreter.
unsafe impl Sync for TypeRefs {}
// SAFETY: as above; the struct is only moved into the OnceLock once.
unsafe impl Send for TypeRefs {}

static TYPEREFS: OnceLock<TypeRefs> = OnceLock::new();

/// The type references; `init` must have run (the module init does it).
#[inline(always)]
pub(crate) fn typerefs() -> &'static TypeRefs {
    // SAFETY-free: `init` is called from the module init before any function is reachable.
    TYPEREFS.get().expect("fast_serde typerefs not initialised")
}

fn leak(obj: Bound<'_, PyAny>) -> *mut ffi::PyObject {
    obj.into_ptr()
}

fn leak_type(obj: Bound<'_, PyAny>) -> *mut ffi::PyTypeObject {
    obj.into_ptr().cast()
}

/// An interned str kept forever; the pending error (MemoryError) if interning failed.
fn intern(py: Python<'_>, s: &CStr) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: `s` is a valid NUL-terminated string; the returned new reference is kept forever.
    let ptr = unsafe { ffi::PyUnicode_InternFromString(s.as_ptr()) };
    if ptr.is_null() {
        return Err(PyErr::fetch(py));
    }
    Ok(ptr)
}

/// Fill the statics. Called once from the `#[pymodule]` init; later calls are no-ops.
pub fn init(py: Python<'_>) -> PyResult<()> {
    super::layout::init()?;
    if TYPEREFS.get().is_some() {
        return Ok(());
    }
    // SAFETY: imports the datetime C API capsule; attached to the interpreter.
    unsafe { ffi::PyDateTime_IMPORT() };
    let datetime_mod = py.import("datetime")?;
    let datetime_cls = datetime_mod.getattr("datetime")?;
    let utc = datetime_mod.getattr("timezone")?.getattr("utc")?;
    let epoch = datetime_cls.call1((1970, 1, 1, 0, 0, 0, 0, utc.clone()))?;
    let fromisoformat = datetime_cls.getattr("fromisoformat")?;
    let uuid_cls = py.import("uuid")?.getattr("UUID")?;
    let enum_meta = py.import("enum")?.getattr("EnumMeta")?;
    let ext_cls = py.import("fast_serde._types")?.getattr("Ext")?;
    let b = py.import("builtins")?;
    let refs = TypeRefs {
        str_type: leak_type(b.getattr("str")?),
        bytes_type: leak_type(b.getattr("bytes")?),
        bytearray_type: leak_type(b.getattr("bytearray")?),
        memoryview_type: leak_type(b.getattr("memoryview")?),
        int_type: leak_type(b.getattr("int")?),
        bool_type: leak_type(b.getattr("bool")?),
        none_type: leak_type(py.None().into_bound(py).get_type().into_any()),
        float_type: leak_type(b.getattr("float")?),
        list_type: leak_type(b.getattr("list")?),
        dict_type: leak_type(b.getattr("dict")?),
        tuple_type: leak_type(b.getattr("tuple")?),
        datetime_type: leak_type(datetime_cls),
        uuid_type: leak_type(uuid_cls),
        enum_meta: leak_type(enum_meta),
        ext_type: leak_type(ext_cls),
        utc: leak(utc),
        utc_epoch: leak(epoch),
        datetime_fromisoformat: leak(fromisoformat),
        empty_tuple: leak(pyo3::types::PyTuple::empty(py).into_any()),
        object_new: leak(b.getattr("object")?.getattr("__new__")?),
        s_model_dump: intern(py, c"model_dump")?,
        s_model_construct: intern(py, c"model_construct")?,
        s_construct: intern(py, c"construct")?,
        s_isoformat: intern(py, c"isoformat")?,
        s_int: intern(py, c"int")?,
        s_value: intern(py, c"value")?,
        s_get_secret_value: intern(py, c"get_secret_value")?,
        s_dict_method: intern(py, c"dict")?,
        s_parts: intern(py, c"parts")?,
        s_hex: intern(py, c"hex")?,
        s_getinitargs: intern(py, c"__getinitargs__")?,
        s_pattern: intern(py, c"pattern")?,
        s_flags: intern(py, c"flags")?,
        s_timeout: intern(py, c"timeout")?,
        s_node: intern(py, c"node")?,
        s_arg: intern(py, c"arg")?,
        s_dunder_dict: intern(py, c"__dict__")?,
        s_pydantic_extra: intern(py, c"__pydantic_extra__")?,
        s_fields_set: intern(py, c"__pydantic_fields_set__")?,
        s_pydantic_fields: intern(py, c"__pydantic_fields__")?,
        s_pydantic_private: intern(py, c"__pydantic_private__")?,
        s_sizeof: intern(py, c"__sizeof__")?,
    };
    // A racing second init loses and its references stay alive forever: harmless, bounded.
    let _ = TYPEREFS.set(refs);
    Ok(())
}
