//! The reader: MessagePack bytes straight into Python objects.
//!
//! Every declared length is checked against the bytes left before anything is allocated (an
//! array of n items needs at least n bytes, a map 2n), nesting is bounded by [`MAX_DEPTH`], and
//! every partial result is released on error. Map keys that are arrays become tuples so they stay
//! hashable; short ASCII keys go through a small cache so the repeated keys of a LangGraph state
//! become one shared `str` each.

use crate::error::{DecodeFailure, DecodeKind, DecodeResult};
use crate::typeref::{typerefs, TypeRefs};
use crate::MAX_DEPTH;
use pyo3::ffi;
use pyo3::prelude::*;
use rustc_hash::FxHasher;
use std::hash::Hasher;
use std::sync::Mutex;

/// What the reader does with ext values.
pub trait ExtHandler {
    /// Build the object for ext `code` with payload `data` (at byte `offset` of the input).
    /// Returns a new reference.
    fn ext(
        &self,
        reader: &mut Reader<'_>,
        code: i8,
        data: &[u8],
        offset: usize,
        depth: u32,
    ) -> DecodeResult<*mut ffi::PyObject>;

    /// Whether an ext value may be a map key (msgpack-python allows it; ormsgpack does not).
    fn ext_keys(&self) -> bool {
        true
    }
}

/// `fast_serde.loads`: timestamps (-1) become aware UTC datetimes, other codes go to `ext_hook`
/// (nullable) or become `fast_serde.Ext(code, data)`.
pub struct PlainExt {
    pub hook: *mut ffi::PyObject,
}

pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Added to positions in error messages (a nested payload's place in the whole input).
    base: usize,
    refs: &'static TypeRefs,
    keys: Option<&'a mut KeyCache>,
    ext: &'a dyn ExtHandler,
    /// Levels above the ext payload being read (zero outside ext payloads).
    outer: u32,
    /// Bytes still owed by the containers being read (one per unread array item, two per
    /// unread map entry): a declared length must fit in what is left after them, so nested
    /// headers cannot together reserve more than the input can fill.
    owed: usize,
}

/// A new reference owned by the reader until handed over; released on drop.
pub struct Owned(pub *mut ffi::PyObject);

impl Owned {
    pub fn into_ptr(self) -> *mut ffi::PyObject {
        let p = self.0;
        std::mem::forget(self);
        p
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: only built from non-null new references, released exactly once.
        unsafe { ffi::Py_DECREF(self.0) }
    }
}

#[inline(always)]
fn py() -> Python<'static> {
    // SAFETY: every reader entry point is called while attached to the interpreter.
    unsafe { Python::assume_attached() }
}

/// Cache of short ASCII map keys: slot = hash of the bytes; a hit shares the interned str.
pub struct KeyCache {
    slots: Vec<*mut ffi::PyObject>,
}

// SAFETY: the cache only lives inside the `KEYS` mutex and is used while attached.
unsafe impl Send for KeyCache {}

const KEY_CACHE_SLOTS: usize = 2048;
const KEY_CACHE_MAX_LEN: usize = 64;

static KEYS: Mutex<Option<KeyCache>> = Mutex::new(None);

impl KeyCache {
    fn new() -> Self {
        KeyCache {
            slots: vec![std::ptr::null_mut(); KEY_CACHE_SLOTS],
        }
    }

    #[inline(always)]
    fn get(&mut self, s: &[u8]) -> *mut ffi::PyObject {
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
                && std::slice::from_raw_parts(ffi::PyUnicode_DATA(cur) as *const u8, s.len()) == s
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
unsafe fn ascii_str(s: &[u8]) -> *mut ffi::PyObject {
    // SAFETY (caller): `s` is ASCII. PyUnicode_New(n, 127) makes a compact ASCII str whose data
    // area holds exactly n bytes, which are filled here before the object escapes.
    let o = ffi::PyUnicode_New(s.len() as ffi::Py_ssize_t, 127);
    if !o.is_null() {
        std::ptr::copy_nonoverlapping(s.as_ptr(), ffi::PyUnicode_DATA(o) as *mut u8, s.len());
    }
    o
}

/// Run `f` with the shared key cache when no other reader holds it (a nested or concurrent
/// decode simply goes without).
pub fn with_key_cache<R>(f: impl FnOnce(Option<&mut KeyCache>) -> R) -> R {
    match KEYS.try_lock() {
        Ok(mut guard) => {
            let cache = guard.get_or_insert_with(KeyCache::new);
            f(Some(cache))
        }
        Err(_) => f(None),
    }
}

impl<'a> Reader<'a> {
    pub fn new(
        data: &'a [u8],
        base: usize,
        keys: Option<&'a mut KeyCache>,
        ext: &'a dyn ExtHandler,
    ) -> Self {
        Reader {
            data,
            pos: 0,
            base,
            refs: typerefs(),
            keys,
            ext,
            outer: 0,
            owed: 0,
        }
    }

    /// A reader over an ext payload met at `depth`: its own depth starts again at 0 (the payload
    /// is packed on its own), the levels above it count towards [`crate::MAX_TOTAL_DEPTH`].
    pub fn nested<'b>(&'b mut self, data: &'b [u8], base: usize, depth: u32) -> Reader<'b> {
        Reader {
            data,
            pos: 0,
            base,
            refs: self.refs,
            keys: self.keys.as_deref_mut(),
            ext: self.ext,
            outer: self.outer + depth + 1,
            owed: 0,
        }
    }

    /// Fail if a container at `depth` would nest too deep.
    #[inline(always)]
    fn enter(&self, start: usize, depth: u32) -> DecodeResult<()> {
        if depth >= MAX_DEPTH {
            return Err(self.fail_at(start, DecodeKind::Depth));
        }
        let total = self.outer + depth;
        if total >= crate::MAX_TOTAL_DEPTH {
            return Err(self.fail_at(start, DecodeKind::TotalDepth));
        }
        if total % 8 == 0 && crate::stack_low() {
            return Err(self.fail_at(start, DecodeKind::Stack));
        }
        Ok(())
    }

    /// Levels above this reader's data.
    pub fn outer(&self) -> u32 {
        self.outer
    }

    pub fn at_end(&self) -> bool {
        self.pos == self.data.len()
    }

    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Exactly one value and nothing after it.
    pub fn read_document(&mut self) -> DecodeResult<*mut ffi::PyObject> {
        if self.data.is_empty() {
            return Err(self.fail(DecodeKind::Empty));
        }
        let v = Owned(self.read(0, false)?);
        if !self.at_end() {
            return Err(self.fail(DecodeKind::Trailing));
        }
        Ok(v.into_ptr())
    }

    #[cold]
    fn fail(&self, kind: DecodeKind) -> Box<DecodeFailure> {
        DecodeFailure::new(self.base + self.pos, kind)
    }

    #[cold]
    fn fail_at(&self, pos: usize, kind: DecodeKind) -> Box<DecodeFailure> {
        DecodeFailure::new(self.base + pos, kind)
    }

    #[cold]
    fn python_error(&self, pos: usize) -> Box<DecodeFailure> {
        DecodeFailure::fetch(py(), self.base + pos)
    }

    #[inline(always)]
    fn take(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        if self.data.len() - self.pos < n {
            return Err(self.fail(DecodeKind::Truncated));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline(always)]
    fn u8(&mut self) -> DecodeResult<u8> {
        Ok(self.take(1)?[0])
    }

    #[inline(always)]
    fn be<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    #[inline(always)]
    fn len8(&mut self) -> DecodeResult<usize> {
        Ok(self.u8()? as usize)
    }
    #[inline(always)]
    fn len16(&mut self) -> DecodeResult<usize> {
        Ok(u16::from_be_bytes(self.be()?) as usize)
    }
    #[inline(always)]
    fn len32(&mut self) -> DecodeResult<usize> {
        Ok(u32::from_be_bytes(self.be()?) as usize)
    }

    /// Check a declared byte length against what is left, before allocating anything for it.
    #[inline(always)]
    fn bytes(&mut self, _marker_pos: usize, len: usize) -> DecodeResult<&'a [u8]> {
        if self.data.len() - self.pos < len {
            return Err(self.fail_at(self.data.len(), DecodeKind::Length(len as u64)));
        }
        self.take(len)
    }

    /// Read one value; `key` turns arrays into tuples (map keys must be hashable).
    pub fn read(&mut self, depth: u32, key: bool) -> DecodeResult<*mut ffi::PyObject> {
        let start = self.pos;
        let m = self.u8()?;
        match m {
            0x00..=0x7f => self.int(m as i64),
            0xe0..=0xff => self.int(m as i8 as i64),
            0xa0..=0xbf => self.str(start, (m & 0x1f) as usize, key),
            0x90..=0x9f => self.array(start, (m & 0x0f) as usize, depth, key),
            0x80..=0x8f => self.map(start, (m & 0x0f) as usize, depth),
            0xc0 => Ok(new_ref(py_none())),
            // SAFETY: the bool singletons are immortal; a new reference is returned.
            0xc2 => Ok(new_ref(unsafe { ffi::Py_False() })),
            0xc3 => Ok(new_ref(unsafe { ffi::Py_True() })),
            0xcc => {
                let v = self.u8()?;
                self.int(v as i64)
            }
            0xcd => {
                let v = u16::from_be_bytes(self.be()?);
                self.int(v as i64)
            }
            0xce => {
                let v = u32::from_be_bytes(self.be()?);
                self.int(v as i64)
            }
            0xcf => {
                let v = u64::from_be_bytes(self.be()?);
                // SAFETY: plain C conversion, never fails for a u64.
                self.obj(start, unsafe { ffi::PyLong_FromUnsignedLongLong(v) })
            }
            0xd0 => {
                let v = i8::from_be_bytes(self.be()?);
                self.int(v as i64)
            }
            0xd1 => {
                let v = i16::from_be_bytes(self.be()?);
                self.int(v as i64)
            }
            0xd2 => {
                let v = i32::from_be_bytes(self.be()?);
                self.int(v as i64)
            }
            0xd3 => {
                let v = i64::from_be_bytes(self.be()?);
                self.int(v)
            }
            0xca => {
                let v = f32::from_be_bytes(self.be()?);
                // SAFETY: plain C conversion.
                self.obj(start, unsafe { ffi::PyFloat_FromDouble(v as f64) })
            }
            0xcb => {
                let v = f64::from_be_bytes(self.be()?);
                // SAFETY: plain C conversion.
                self.obj(start, unsafe { ffi::PyFloat_FromDouble(v) })
            }
            0xd9 => {
                let n = self.len8()?;
                self.str(start, n, key)
            }
            0xda => {
                let n = self.len16()?;
                self.str(start, n, key)
            }
            0xdb => {
                let n = self.len32()?;
                self.str(start, n, key)
            }
            0xc4 => {
                let n = self.len8()?;
                self.bin(start, n)
            }
            0xc5 => {
                let n = self.len16()?;
                self.bin(start, n)
            }
            0xc6 => {
                let n = self.len32()?;
                self.bin(start, n)
            }
            0xdc => {
                let n = self.len16()?;
                self.array(start, n, depth, key)
            }
            0xdd => {
                let n = self.len32()?;
                self.array(start, n, depth, key)
            }
            0xde => {
                let n = self.len16()?;
                self.map(start, n, depth)
            }
            0xdf => {
                let n = self.len32()?;
                self.map(start, n, depth)
            }
            0xd4 => self.ext(key, start, 1, depth),
            0xd5 => self.ext(key, start, 2, depth),
            0xd6 => self.ext(key, start, 4, depth),
            0xd7 => self.ext(key, start, 8, depth),
            0xd8 => self.ext(key, start, 16, depth),
            0xc7 => {
                let n = self.len8()?;
                self.ext(key, start, n, depth)
            }
            0xc8 => {
                let n = self.len16()?;
                self.ext(key, start, n, depth)
            }
            0xc9 => {
                let n = self.len32()?;
                self.ext(key, start, n, depth)
            }
            0xc1 => Err(self.fail_at(start, DecodeKind::Reserved(m))),
        }
    }

    #[inline(always)]
    fn obj(&self, pos: usize, o: *mut ffi::PyObject) -> DecodeResult<*mut ffi::PyObject> {
        if o.is_null() {
            Err(self.python_error(pos))
        } else {
            Ok(o)
        }
    }

    #[inline(always)]
    fn int(&self, v: i64) -> DecodeResult<*mut ffi::PyObject> {
        // SAFETY: plain C conversion (small ints come from CPython's cache).
        self.obj(self.pos, unsafe { ffi::PyLong_FromLongLong(v) })
    }

    /// A str of `n` bytes; raw bytes for callers that need the text without an object.
    #[inline(always)]
    pub fn str_bytes(&mut self) -> DecodeResult<Option<&'a [u8]>> {
        let start = self.pos;
        let m = self.u8()?;
        let n = match m {
            0xa0..=0xbf => (m & 0x1f) as usize,
            0xd9 => self.len8()?,
            0xda => self.len16()?,
            0xdb => self.len32()?,
            _ => {
                self.pos = start;
                return Ok(None);
            }
        };
        let s = self.bytes(start, n)?;
        if std::str::from_utf8(s).is_err() {
            return Err(self.fail_at(start, DecodeKind::Utf8));
        }
        Ok(Some(s))
    }

    /// An array header; `None` (position unchanged) when the next value is not an array.
    pub fn array_len(&mut self) -> DecodeResult<Option<usize>> {
        let start = self.pos;
        let m = self.u8()?;
        let n = match m {
            0x90..=0x9f => (m & 0x0f) as usize,
            0xdc => self.len16()?,
            0xdd => self.len32()?,
            _ => {
                self.pos = start;
                return Ok(None);
            }
        };
        if self.data.len() - self.pos < n {
            return Err(self.fail_at(self.data.len(), DecodeKind::Length(n as u64)));
        }
        Ok(Some(n))
    }

    #[inline(always)]
    fn str(&mut self, start: usize, n: usize, key: bool) -> DecodeResult<*mut ffi::PyObject> {
        let s = self.bytes(start, n)?;
        if s.is_ascii() {
            if key && n <= KEY_CACHE_MAX_LEN {
                if let Some(cache) = self.keys.as_deref_mut() {
                    let o = cache.get(s);
                    return self.obj(start, o);
                }
            }
            // SAFETY: `s` is ASCII.
            return self.obj(start, unsafe { ascii_str(s) });
        }
        // SAFETY: decodes `n` bytes from a valid slice; NULL (with UnicodeDecodeError) if invalid.
        let o = unsafe {
            ffi::PyUnicode_DecodeUTF8(s.as_ptr().cast(), n as ffi::Py_ssize_t, c"strict".as_ptr())
        };
        if o.is_null() {
            // SAFETY: clearing the UnicodeDecodeError we report as DecodeError.
            unsafe { ffi::PyErr_Clear() };
            return Err(self.fail_at(start, DecodeKind::Utf8));
        }
        Ok(o)
    }

    fn bin(&mut self, start: usize, n: usize) -> DecodeResult<*mut ffi::PyObject> {
        let s = self.bytes(start, n)?;
        // SAFETY: copies `n` bytes from a valid slice into a new bytes object.
        self.obj(start, unsafe {
            ffi::PyBytes_FromStringAndSize(s.as_ptr().cast(), n as ffi::Py_ssize_t)
        })
    }

    fn array(
        &mut self,
        start: usize,
        n: usize,
        depth: u32,
        key: bool,
    ) -> DecodeResult<*mut ffi::PyObject> {
        self.enter(start, depth)?;
        // Every item takes at least one byte, beyond those the enclosing containers still owe.
        if (self.data.len() - self.pos).saturating_sub(self.owed) < n {
            return Err(self.fail_at(self.data.len(), DecodeKind::Length(n as u64)));
        }
        self.owed += n;
        // SAFETY: new list/tuple of `n` NULL slots, each filled below before it escapes; on error
        // the partly filled container is released (CPython skips NULL slots).
        unsafe {
            let out = if key {
                ffi::PyTuple_New(n as ffi::Py_ssize_t)
            } else {
                ffi::PyList_New(n as ffi::Py_ssize_t)
            };
            let out = Owned(self.obj(start, out)?);
            for i in 0..n {
                self.owed -= 1;
                let item = self.read(depth + 1, key)?;
                if key {
                    ffi::PyTuple_SET_ITEM(out.0, i as ffi::Py_ssize_t, item);
                } else {
                    ffi::PyList_SET_ITEM(out.0, i as ffi::Py_ssize_t, item);
                }
            }
            Ok(out.into_ptr())
        }
    }

    fn map(&mut self, start: usize, n: usize, depth: u32) -> DecodeResult<*mut ffi::PyObject> {
        self.enter(start, depth)?;
        // Every entry takes at least two bytes, beyond those the enclosing containers owe.
        if (self.data.len() - self.pos).saturating_sub(self.owed) / 2 < n {
            return Err(self.fail_at(self.data.len(), DecodeKind::Length(n as u64)));
        }
        self.owed += 2 * n;
        // SAFETY: a new dict, filled below; keys and values are owned until inserted (SetItem
        // takes its own references) and released by Owned.
        unsafe {
            let out = Owned(self.obj(start, ffi::PyDict_New())?);
            for _ in 0..n {
                self.owed -= 2;
                let kpos = self.pos;
                let k = Owned(self.read(depth + 1, true)?);
                let v = Owned(self.read(depth + 1, false)?);
                if ffi::PyDict_SetItem(out.0, k.0, v.0) != 0 {
                    if ffi::PyErr_ExceptionMatches(ffi::PyExc_TypeError) != 0 {
                        ffi::PyErr_Clear();
                        return Err(self.fail_at(kpos, DecodeKind::UnhashableKey));
                    }
                    return Err(self.python_error(kpos));
                }
            }
            Ok(out.into_ptr())
        }
    }

    fn ext(
        &mut self,
        key: bool,
        start: usize,
        n: usize,
        depth: u32,
    ) -> DecodeResult<*mut ffi::PyObject> {
        if key && !self.ext.ext_keys() {
            return Err(self.fail_at(start, DecodeKind::ExtKey));
        }
        let code = self.u8()? as i8;
        let data = self.bytes(start, n)?;
        let offset = self.base + self.pos - n;
        let handler = self.ext;
        handler.ext(self, code, data, offset, depth)
    }
}

fn py_none() -> *mut ffi::PyObject {
    // SAFETY: the None singleton is immortal.
    unsafe { ffi::Py_None() }
}

#[inline(always)]
pub(crate) fn new_ref(o: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: `o` is a live singleton; the caller receives a new reference.
    unsafe { ffi::Py_INCREF(o) };
    o
}

impl ExtHandler for PlainExt {
    fn ext(
        &self,
        reader: &mut Reader<'_>,
        code: i8,
        data: &[u8],
        offset: usize,
        _depth: u32,
    ) -> DecodeResult<*mut ffi::PyObject> {
        if code == -1 && self.hook.is_null() {
            if let Some(dt) = timestamp(reader.refs, data) {
                return Ok(dt);
            }
            // Not a timestamp datetime can hold: kept as Ext(-1, data), losslessly.
        }
        let callable = if self.hook.is_null() {
            reader.refs.ext_type.cast()
        } else {
            self.hook
        };
        call_ext_hook(callable, code, data, offset).map_err(|e| DecodeFailure::fetch(py(), e))
    }
}

/// `hook(code, data)` for an ext value at byte `offset`: a new reference, or `Err(offset)` with
/// the Python exception set.
pub(crate) fn call_ext_hook(
    hook: *mut ffi::PyObject,
    code: i8,
    data: &[u8],
    offset: usize,
) -> Result<*mut ffi::PyObject, usize> {
    // SAFETY: builds the two arguments (new references released by Owned, NULL checked) and
    // vectorcalls a live callable with them; the owned result is checked for NULL.
    unsafe {
        let b = ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), data.len() as ffi::Py_ssize_t);
        if b.is_null() {
            return Err(offset);
        }
        let b = Owned(b);
        let c = ffi::PyLong_FromLong(code as std::ffi::c_long);
        if c.is_null() {
            return Err(offset);
        }
        let c = Owned(c);
        let args = [c.0, b.0];
        let r = ffi::PyObject_Vectorcall(hook, args.as_ptr(), 2, std::ptr::null_mut());
        if r.is_null() {
            return Err(offset);
        }
        Ok(r)
    }
}

/// The MessagePack timestamp extension (type -1: 4, 8 or 12 bytes) as an aware UTC datetime,
/// truncated to microseconds; `None` when the payload is not a timestamp a datetime can hold
/// (other lengths, nanoseconds past 999 999 999, years outside 1..9999).
/// Source: the MessagePack spec, "Timestamp extension type".
fn timestamp(refs: &TypeRefs, data: &[u8]) -> Option<*mut ffi::PyObject> {
    let (secs, nanos): (i64, u32) = match data.len() {
        4 => (u32::from_be_bytes(data.try_into().ok()?) as i64, 0),
        8 => {
            let v = u64::from_be_bytes(data.try_into().ok()?);
            ((v & 0x3_ffff_ffff) as i64, (v >> 34) as u32)
        }
        12 => (
            i64::from_be_bytes(data[4..12].try_into().ok()?),
            u32::from_be_bytes(data[0..4].try_into().ok()?),
        ),
        _ => return None,
    };
    if nanos >= 1_000_000_000 {
        return None;
    }
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // datetime covers years 1..9999: about ±3.2 million days around 1970.
    if days.abs() > 4_000_000 {
        return None;
    }
    // SAFETY: builds a timedelta from in-range C ints and adds it to the UTC epoch; NULL results
    // (OverflowError past year 9999) are cleared and reported as None; temporaries released.
    unsafe {
        let delta = ffi::PyDelta_FromDSU(days as i32, rem as i32, (nanos / 1000) as i32);
        if delta.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        let delta = Owned(delta);
        let dt = ffi::PyNumber_Add(refs.utc_epoch, delta.0);
        if dt.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(dt)
    }
}
