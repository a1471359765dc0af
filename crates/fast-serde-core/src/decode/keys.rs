//! The reader's cache of short ASCII map keys: the repeated keys of a LangGraph state become one
//! shared interned `str` each.

use crate::ffi::unicode::one_byte_data;
use pyo3::ffi;
use rustc_hash::FxHasher;
use std::hash::Hasher;
use std::sync::Mutex;

/// Cache of short ASCII map keys: slot = hash of the bytes; a hit shares the interned str.
pub(crate) struct KeyCache {
    slots: Vec<*mut ffi::PyObject>,
}

// SAFETY: the cache only lives inside the `KEYS` mutex and is used while attached.
unsafe impl Send for KeyCache {}

pub(crate) const KEY_CACHE_SLOTS: usize = 2048;
pub(crate) const KEY_CACHE_MAX_LEN: usize = 64;

static KEYS: Mutex<Option<KeyCache>> = Mutex::new(None);

impl KeyCache {
    fn new() -> Self {
        KeyCache {
            slots: vec![std::ptr::null_mut(); KEY_CACHE_SLOTS],
        }
    }

    #[inline(always)]
    pub(crate) fn get(&mut self, s: &[u8]) -> *mut ffi::PyObject {
        // FxHash reads the key a word at a time (a byte-at-a-time FNV-1a loop was a fifth of
        // the reader's own time, perf).
        let mut h = FxHasher::default();
        h.write(s);
        let slot = &mut self.slots[(h.finish() as usize) & (KEY_CACHE_SLOTS - 1)];
        let cur = *slot;
        // SAFETY: cached entries are live compact-ASCII strs owned by the cache.
        unsafe {
            if !cur.is_null()
                && ffi::PyUnicode_GET_LENGTH(cur) as usize == s.len()
                && std::slice::from_raw_parts(one_byte_data(cur), s.len()) == s
            {
                ffi::Py_INCREF(cur);
                return cur;
            }
            let mut new = ascii_str(s);
            if new.is_null() {
                return new;
            }
            ffi::PyUnicode_InternInPlace(&mut new);
            if !cur.is_null() {
                ffi::Py_DECREF(cur);
            }
            ffi::Py_INCREF(new);
            *slot = new;
            new
        }
    }
}

/// A new str from ASCII bytes (already checked), copied into a compact-ASCII object.
#[inline(always)]
pub(crate) unsafe fn ascii_str(s: &[u8]) -> *mut ffi::PyObject {
    // SAFETY (caller): `s` is ASCII. PyUnicode_New(n, 127) makes a compact ASCII str whose data
    // area holds exactly n bytes, which are filled here before the object escapes.
    let o = ffi::PyUnicode_New(s.len() as ffi::Py_ssize_t, 127);
    if !o.is_null() {
        std::ptr::copy_nonoverlapping(s.as_ptr(), one_byte_data(o), s.len());
    }
    o
}

/// Run `f` with the shared key cache when no other reader holds it (a nested or concurrent
/// decode simply goes without).
pub(crate) fn with_key_cache<R>(f: impl FnOnce(Option<&mut KeyCache>) -> R) -> R {
    match KEYS.try_lock() {
        Ok(mut guard) => {
            let cache = guard.get_or_insert_with(KeyCache::new);
            f(Some(cache))
        }
        Err(_) => f(None),
    }
}
