//! The reader's cache of short ASCII map keys: the repeated keys of a LangGraph state become one
//! shared interned `str` each.

use crate::ffi::unicode::one_byte_data;
use pyo3::ffi;
use rustc_hash::FxHasher;
use std::hash::Hasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Cache of short ASCII map keys, two-way set-associative: the hash of the bytes picks a pair of
/// slots, and a key is found in either. A hit shares the interned str; a miss puts the new key
/// in the pair's first slot and moves the first's key to the second (the pair keeps the two keys
/// it took in last; a hit moves nothing). With one slot per hash, two frequent keys of one slot evicted each other on
/// every occurrence: 53 keys in 2048 slots collide with a probability of about one half, and
/// one such pair on the 200k state cost `fast_serde.loads` 7% (callgrind).
pub(crate) struct KeyCache {
    slots: Vec<*mut ffi::PyObject>,
}

// SAFETY: the cache only lives inside the `KEYS` mutex and is used while attached.
unsafe impl Send for KeyCache {}

pub(crate) const KEY_CACHE_SLOTS: usize = 2048;
pub(crate) const KEY_CACHE_MAX_LEN: usize = 64;

static KEYS: Mutex<Option<KeyCache>> = Mutex::new(None);

/// Set by [`clear_key_cache`]: the next reader to take the cache empties it first.
static CLEAR: AtomicBool = AtomicBool::new(false);

impl KeyCache {
    fn new() -> Self {
        KeyCache {
            slots: vec![std::ptr::null_mut(); KEY_CACHE_SLOTS],
        }
    }

    #[inline(always)]
    pub(crate) fn get(&mut self, s: &[u8]) -> *mut ffi::PyObject {
        let first = (key_hash(s) as usize) & (KEY_CACHE_SLOTS - 2);
        let pair = &mut self.slots[first..first + 2];
        // SAFETY: cached entries are live compact-ASCII strs owned by the cache; the new str is
        // interned in place (the reference it gives back is the one the slot keeps, plus one for
        // the caller) and the key it evicts is released.
        unsafe {
            for &cur in pair.iter() {
                if holds(cur, s) {
                    ffi::Py_INCREF(cur);
                    return cur;
                }
            }
            let mut new = ascii_str(s);
            if new.is_null() {
                return new;
            }
            ffi::PyUnicode_InternInPlace(&mut new);
            if !pair[1].is_null() {
                ffi::Py_DECREF(pair[1]);
            }
            pair[1] = pair[0];
            ffi::Py_INCREF(new);
            pair[0] = new;
            new
        }
    }
}

impl Drop for KeyCache {
    fn drop(&mut self) {
        for &cur in &self.slots {
            if !cur.is_null() {
                // SAFETY: each slot owns one reference to a live str; the cache is only dropped
                // by a reader (`with_key_cache`), which runs attached.
                unsafe { ffi::Py_DECREF(cur) };
            }
        }
    }
}

/// Whether the slot's str `cur` (NULL when empty) is the key `s`.
///
/// # Safety
/// `cur` is NULL or a live compact-ASCII str.
#[inline(always)]
unsafe fn holds(cur: *mut ffi::PyObject, s: &[u8]) -> bool {
    // SAFETY (caller): a live compact-ASCII str has `len` bytes of data.
    unsafe {
        !cur.is_null()
            && ffi::PyUnicode_GET_LENGTH(cur) as usize == s.len()
            && same_bytes(one_byte_data(cur), s)
    }
}

/// The slot hash of a key. Keys of up to 8 bytes (most keys of a LangGraph state: `"id"`,
/// `"type"`, `"content"`, ...) are read as one word and multiplied, inline; longer ones go
/// through FxHash, a word at a time (a byte-at-a-time FNV-1a loop was a fifth of the reader's own
/// time, perf). Per call of a small map, the out-of-line `hash_bytes` was about 20 instructions
/// a key (callgrind, benches/small_values.py's dict).
#[inline(always)]
fn key_hash(s: &[u8]) -> u64 {
    let n = s.len();
    if n <= 8 {
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(s);
        let x = u64::from_le_bytes(w) ^ ((n as u64) << 59);
        // The 64-bit golden-ratio multiplier; its top bits, which every input bit reaches,
        // are rotated down to where the slot index is taken.
        return x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(11);
    }
    let mut h = FxHasher::default();
    h.write(s);
    h.finish()
}

/// Whether the `s.len()` bytes at `p` equal `s`, inline for keys of up to 16 bytes (two
/// overlapping word reads) instead of a call to `memcmp`.
///
/// # Safety
/// `p` points to at least `s.len()` readable bytes.
#[inline(always)]
unsafe fn same_bytes(p: *const u8, s: &[u8]) -> bool {
    let n = s.len();
    let q = s.as_ptr();
    // SAFETY (caller): every read below stays within the first `n` bytes of `p` and of `s`.
    unsafe {
        if (8..=16).contains(&n) {
            p.cast::<u64>().read_unaligned() == q.cast::<u64>().read_unaligned()
                && p.add(n - 8).cast::<u64>().read_unaligned()
                    == q.add(n - 8).cast::<u64>().read_unaligned()
        } else if (4..8).contains(&n) {
            p.cast::<u32>().read_unaligned() == q.cast::<u32>().read_unaligned()
                && p.add(n - 4).cast::<u32>().read_unaligned()
                    == q.add(n - 4).cast::<u32>().read_unaligned()
        } else {
            std::slice::from_raw_parts(p, n) == s
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
            // A plain load first: the swap (a locked write) only when a clear was asked for.
            if CLEAR.load(Ordering::Relaxed) && CLEAR.swap(false, Ordering::Relaxed) {
                // Dropped while attached: each cached str is released.
                *guard = None;
            }
            let cache = guard.get_or_insert_with(KeyCache::new);
            f(Some(cache))
        }
        Err(_) => f(None),
    }
}

/// Empty the key cache (`clear_cache()`): done by the next reader that takes it, since a reader
/// may hold it now (a hook that clears during a load runs inside one).
pub(crate) fn clear_key_cache() {
    CLEAR.store(true, Ordering::Relaxed);
}
