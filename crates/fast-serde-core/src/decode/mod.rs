//! The reader: MessagePack bytes straight into Python objects.
//!
//! Every declared length is checked against the bytes left before anything is allocated (an
//! array of n items needs at least n bytes, a map 2n), nesting is bounded by [`MAX_DEPTH`], and
//! every partial result is released on error. Map keys that are arrays become tuples so they stay
//! hashable; short ASCII keys go through a small cache so the repeated keys of a LangGraph state
//! become one shared `str` each.

mod ext;
mod keys;

pub(crate) use ext::{call_ext_hook, ExtHandler, PlainExt};
pub(crate) use keys::{clear_key_cache, with_key_cache, KeyCache};

use crate::error::{DecodeFailure, DecodeKind, DecodeResult};
use crate::ffi::typeref::{typerefs, TypeRefs};
use crate::ffi::{new_none, new_ref, py, Owned};
use crate::limits::{stack_low, MAX_DEPTH, MAX_TOTAL_DEPTH};
use keys::{ascii_str, KEY_CACHE_MAX_LEN};
use pyo3::ffi;
use rmp::Marker;

// Marker bytes, named through `rmp::Marker` as the writer names them (msgpack/writer.rs).
const FIXPOS_MIN: u8 = Marker::FixPos(0).to_u8();
const FIXPOS_MAX: u8 = Marker::FixPos(0x7f).to_u8();
const FIXNEG_MIN: u8 = Marker::FixNeg(-32).to_u8();
const FIXNEG_MAX: u8 = Marker::FixNeg(-1).to_u8();
const FIXSTR_MIN: u8 = Marker::FixStr(0).to_u8();
const FIXSTR_MAX: u8 = Marker::FixStr(31).to_u8();
const FIXARRAY_MIN: u8 = Marker::FixArray(0).to_u8();
const FIXARRAY_MAX: u8 = Marker::FixArray(15).to_u8();
const FIXMAP_MIN: u8 = Marker::FixMap(0).to_u8();
const FIXMAP_MAX: u8 = Marker::FixMap(15).to_u8();
const NIL: u8 = Marker::Null.to_u8();
const RESERVED: u8 = Marker::Reserved.to_u8();
const FALSE: u8 = Marker::False.to_u8();
const TRUE: u8 = Marker::True.to_u8();
const BIN8: u8 = Marker::Bin8.to_u8();
const BIN16: u8 = Marker::Bin16.to_u8();
const BIN32: u8 = Marker::Bin32.to_u8();
const EXT8: u8 = Marker::Ext8.to_u8();
const EXT16: u8 = Marker::Ext16.to_u8();
const EXT32: u8 = Marker::Ext32.to_u8();
const F32: u8 = Marker::F32.to_u8();
const F64: u8 = Marker::F64.to_u8();
const U8: u8 = Marker::U8.to_u8();
const U16: u8 = Marker::U16.to_u8();
const U32: u8 = Marker::U32.to_u8();
const U64: u8 = Marker::U64.to_u8();
const I8: u8 = Marker::I8.to_u8();
const I16: u8 = Marker::I16.to_u8();
const I32: u8 = Marker::I32.to_u8();
const I64: u8 = Marker::I64.to_u8();
const FIXEXT1: u8 = Marker::FixExt1.to_u8();
const FIXEXT2: u8 = Marker::FixExt2.to_u8();
const FIXEXT4: u8 = Marker::FixExt4.to_u8();
const FIXEXT8: u8 = Marker::FixExt8.to_u8();
const FIXEXT16: u8 = Marker::FixExt16.to_u8();
const STR8: u8 = Marker::Str8.to_u8();
const STR16: u8 = Marker::Str16.to_u8();
const STR32: u8 = Marker::Str32.to_u8();
const ARRAY16: u8 = Marker::Array16.to_u8();
const ARRAY32: u8 = Marker::Array32.to_u8();
const MAP16: u8 = Marker::Map16.to_u8();
const MAP32: u8 = Marker::Map32.to_u8();

pub(crate) struct Reader<'a> {
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

impl<'a> Reader<'a> {
    pub(crate) fn new(
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
    /// is packed on its own), the levels above it count towards [`MAX_TOTAL_DEPTH`].
    pub(crate) fn nested<'b>(&'b mut self, data: &'b [u8], base: usize, depth: u32) -> Reader<'b> {
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
        if total >= MAX_TOTAL_DEPTH {
            return Err(self.fail_at(start, DecodeKind::TotalDepth));
        }
        if total % 8 == 0 && stack_low() {
            return Err(self.fail_at(start, DecodeKind::Stack));
        }
        Ok(())
    }

    /// Levels above this reader's data.
    pub(crate) fn outer(&self) -> u32 {
        self.outer
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.data.len()
    }

    /// Exactly one value and nothing after it.
    pub(crate) fn read_document(&mut self) -> DecodeResult<*mut ffi::PyObject> {
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
    pub(crate) fn read(&mut self, depth: u32, key: bool) -> DecodeResult<*mut ffi::PyObject> {
        let start = self.pos;
        let m = self.u8()?;
        match m {
            FIXPOS_MIN..=FIXPOS_MAX => self.int(m as i64),
            FIXNEG_MIN..=FIXNEG_MAX => self.int(m as i8 as i64),
            FIXSTR_MIN..=FIXSTR_MAX => self.str(start, (m & 0x1f) as usize, key),
            FIXARRAY_MIN..=FIXARRAY_MAX => self.array(start, (m & 0x0f) as usize, depth, key),
            FIXMAP_MIN..=FIXMAP_MAX => self.map(start, (m & 0x0f) as usize, depth),
            NIL => Ok(new_none()),
            // SAFETY: the bool singletons are immortal; a new reference is returned.
            FALSE => Ok(new_ref(unsafe { ffi::Py_False() })),
            TRUE => Ok(new_ref(unsafe { ffi::Py_True() })),
            U8 => {
                let v = self.u8()?;
                self.int(v as i64)
            }
            U16 => {
                let v = u16::from_be_bytes(self.be()?);
                self.int(v as i64)
            }
            U32 => {
                let v = u32::from_be_bytes(self.be()?);
                self.int(v as i64)
            }
            U64 => {
                let v = u64::from_be_bytes(self.be()?);
                // SAFETY: plain C conversion, never fails for a u64.
                self.obj(start, unsafe { ffi::PyLong_FromUnsignedLongLong(v) })
            }
            I8 => {
                let v = i8::from_be_bytes(self.be()?);
                self.int(v as i64)
            }
            I16 => {
                let v = i16::from_be_bytes(self.be()?);
                self.int(v as i64)
            }
            I32 => {
                let v = i32::from_be_bytes(self.be()?);
                self.int(v as i64)
            }
            I64 => {
                let v = i64::from_be_bytes(self.be()?);
                self.int(v)
            }
            F32 => {
                let v = f32::from_be_bytes(self.be()?);
                // SAFETY: plain C conversion.
                self.obj(start, unsafe { ffi::PyFloat_FromDouble(v as f64) })
            }
            F64 => {
                let v = f64::from_be_bytes(self.be()?);
                // SAFETY: plain C conversion.
                self.obj(start, unsafe { ffi::PyFloat_FromDouble(v) })
            }
            STR8 => {
                let n = self.len8()?;
                self.str(start, n, key)
            }
            STR16 => {
                let n = self.len16()?;
                self.str(start, n, key)
            }
            STR32 => {
                let n = self.len32()?;
                self.str(start, n, key)
            }
            BIN8 => {
                let n = self.len8()?;
                self.bin(start, n)
            }
            BIN16 => {
                let n = self.len16()?;
                self.bin(start, n)
            }
            BIN32 => {
                let n = self.len32()?;
                self.bin(start, n)
            }
            ARRAY16 => {
                let n = self.len16()?;
                self.array(start, n, depth, key)
            }
            ARRAY32 => {
                let n = self.len32()?;
                self.array(start, n, depth, key)
            }
            MAP16 => {
                let n = self.len16()?;
                self.map(start, n, depth)
            }
            MAP32 => {
                let n = self.len32()?;
                self.map(start, n, depth)
            }
            FIXEXT1 => self.ext(key, start, 1, depth),
            FIXEXT2 => self.ext(key, start, 2, depth),
            FIXEXT4 => self.ext(key, start, 4, depth),
            FIXEXT8 => self.ext(key, start, 8, depth),
            FIXEXT16 => self.ext(key, start, 16, depth),
            EXT8 => {
                let n = self.len8()?;
                self.ext(key, start, n, depth)
            }
            EXT16 => {
                let n = self.len16()?;
                self.ext(key, start, n, depth)
            }
            EXT32 => {
                let n = self.len32()?;
                self.ext(key, start, n, depth)
            }
            RESERVED => Err(self.fail_at(start, DecodeKind::Reserved(m))),
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
    pub(crate) fn str_bytes(&mut self) -> DecodeResult<Option<&'a [u8]>> {
        let start = self.pos;
        let m = self.u8()?;
        let n = match m {
            FIXSTR_MIN..=FIXSTR_MAX => (m & 0x1f) as usize,
            STR8 => self.len8()?,
            STR16 => self.len16()?,
            STR32 => self.len32()?,
            _ => {
                self.pos = start;
                return Ok(None);
            }
        };
        let s = self.bytes(start, n)?;
        // Names (a module, a class, a method) are ASCII: checked a word at a time first.
        if !s.is_ascii() && std::str::from_utf8(s).is_err() {
            return Err(self.fail_at(start, DecodeKind::Utf8));
        }
        Ok(Some(s))
    }

    /// An array header; `None` (position unchanged) when the next value is not an array.
    pub(crate) fn array_len(&mut self) -> DecodeResult<Option<usize>> {
        let start = self.pos;
        let m = self.u8()?;
        let n = match m {
            FIXARRAY_MIN..=FIXARRAY_MAX => (m & 0x0f) as usize,
            ARRAY16 => self.len16()?,
            ARRAY32 => self.len32()?,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The named markers are the bytes of the MessagePack spec.
    #[test]
    fn markers_are_the_spec_bytes() {
        let ranges = [
            (FIXPOS_MIN, FIXPOS_MAX, 0x00, 0x7f),
            (FIXNEG_MIN, FIXNEG_MAX, 0xe0, 0xff),
            (FIXSTR_MIN, FIXSTR_MAX, 0xa0, 0xbf),
            (FIXARRAY_MIN, FIXARRAY_MAX, 0x90, 0x9f),
            (FIXMAP_MIN, FIXMAP_MAX, 0x80, 0x8f),
        ];
        for (lo, hi, a, b) in ranges {
            assert_eq!((lo, hi), (a, b));
        }
        let single = [
            (NIL, 0xc0),
            (RESERVED, 0xc1),
            (FALSE, 0xc2),
            (TRUE, 0xc3),
            (BIN8, 0xc4),
            (BIN16, 0xc5),
            (BIN32, 0xc6),
            (EXT8, 0xc7),
            (EXT16, 0xc8),
            (EXT32, 0xc9),
            (F32, 0xca),
            (F64, 0xcb),
            (U8, 0xcc),
            (U16, 0xcd),
            (U32, 0xce),
            (U64, 0xcf),
            (I8, 0xd0),
            (I16, 0xd1),
            (I32, 0xd2),
            (I64, 0xd3),
            (FIXEXT1, 0xd4),
            (FIXEXT2, 0xd5),
            (FIXEXT4, 0xd6),
            (FIXEXT8, 0xd7),
            (FIXEXT16, 0xd8),
            (STR8, 0xd9),
            (STR16, 0xda),
            (STR32, 0xdb),
            (ARRAY16, 0xdc),
            (ARRAY32, 0xdd),
            (MAP16, 0xde),
            (MAP32, 0xdf),
        ];
        for (m, b) in single {
            assert_eq!(m, b);
        }
    }
}
