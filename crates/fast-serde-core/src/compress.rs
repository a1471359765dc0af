//! zstd frames around a MessagePack document (`FastSerializer(compression="zstd")`).
//!
//! The format is one zstd frame (RFC 8878) per blob, written by libzstd through the `zstd` crate:
//! its header declares the content size, and it carries the content checksum (XXH64). Reading
//! is built so that no input can make it allocate more than a limit the caller sets
//! (`max_size`), and never more than the frame could really decompress to:
//!
//! 1. the input must start with the zstd magic number (skippable and legacy frames are refused;
//!    the crate is built without the legacy decoders);
//! 2. the frame header must declare the content size, at most `max_size` and at most what a
//!    frame of this length can hold ([`MAX_RATIO`]);
//! 3. the frame must end exactly at the end of the input (its blocks are walked, not decoded);
//! 4. only then is the declared size reserved (untouched memory: pages are only faulted in as
//!    they are written; from Python, the uninitialised `bytes` that is returned, so the content
//!    is never copied and the peak is the declared size once), and the frame is decompressed in
//!    one shot into exactly that capacity: libzstd stops with an error rather than write past
//!    it, and a frame that decompresses to fewer bytes than it declares, or fails its checksum,
//!    is refused too.
//!
//! Every refusal is a `fast_serde.DecodeError` naming why, with `.offset` the byte offset in
//! the compressed input. The GIL is released while bytes are compressed or decompressed. One
//! compression context and one decompression context are kept per thread.

use crate::error::DecodeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::cell::RefCell;
use zstd::zstd_safe::{self, zstd_sys::ZSTD_ErrorCode, CCtx, CParameter, DCtx, WriteBuf};

/// The first four bytes of every zstd frame (RFC 8878 section 3.1.1), little-endian.
const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The most a zstd frame can expand per compressed byte: a block holds at most 128 KiB
/// (`Block_Maximum_Size`) and takes at least 4 bytes (a 3-byte block header and one byte of an
/// RLE block), so no frame of `n` bytes decompresses to more than `n * 32768` bytes. A header
/// declaring more is corrupt or forged, and is refused before anything is reserved.
pub(crate) const MAX_RATIO: u64 = 128 * 1024 / 4;

/// The compression level used when none is given: 1, zstd's fastest standard level. On agent
/// checkpoints its frames are within 1-2 % of level 3's (zstd's own default) and it compresses
/// 20-30 % faster (docs/benchmarks.md, "Storage").
pub(crate) const DEFAULT_LEVEL: i32 = 1;

/// The default limit of a frame's declared content size, in bytes (256 MiB).
pub(crate) const DEFAULT_MAX_SIZE: u64 = 256 * 1024 * 1024;

thread_local! {
    static CCTX: RefCell<Option<CCtx<'static>>> = const { RefCell::new(None) };
    static DCTX: RefCell<Option<DCtx<'static>>> = const { RefCell::new(None) };
}

/// Why a frame is refused, and where (byte offset in the compressed input).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) offset: usize,
    pub(crate) why: String,
}

impl Refusal {
    fn new(offset: usize, why: String) -> Self {
        Refusal { offset, why }
    }

    #[cold]
    fn into_pyerr(self, py: Python<'_>) -> PyErr {
        let err = DecodeError::new_err(format!("{} at byte {}", self.why, self.offset));
        // A fresh exception instance always takes the attribute; a failure would only lose it.
        let _ = err.value(py).setattr("offset", self.offset);
        err
    }
}

/// The content size `frame` declares, checked against `max_size` and against what `frame` can
/// hold, and the frame's extent checked against the input: steps 1-3 of the module docs.
pub(crate) fn declared_size(frame: &[u8], max_size: u64) -> Result<usize, Refusal> {
    if frame.len() < MAGIC.len() {
        return Err(Refusal::new(
            frame.len(),
            format!("truncated zstd frame ({} bytes)", frame.len()),
        ));
    }
    if frame[..4] != MAGIC {
        return Err(Refusal::new(
            0,
            "not a zstd frame (no zstd magic number)".to_owned(),
        ));
    }
    let declared = match zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) => n,
        Ok(None) => {
            return Err(Refusal::new(
                0,
                "zstd frame without a declared content size".to_owned(),
            ))
        }
        // libzstd answers an error for a header cut short or with a reserved bit set.
        Err(_) => {
            return Err(Refusal::new(
                0,
                "truncated or corrupt zstd frame header".to_owned(),
            ))
        }
    };
    if declared > max_size {
        return Err(Refusal::new(
            0,
            format!(
                "zstd frame declares {declared} bytes, over the limit of {max_size} \
                 (max_decompressed_bytes)"
            ),
        ));
    }
    let can_hold = (frame.len() as u64).saturating_mul(MAX_RATIO);
    if declared > can_hold {
        return Err(Refusal::new(
            0,
            format!(
                "corrupt zstd frame: declares {declared} bytes, more than a frame of {} bytes \
                 can hold",
                frame.len()
            ),
        ));
    }
    match zstd_safe::find_frame_compressed_size(frame) {
        Ok(n) if n == frame.len() => {}
        Ok(n) => {
            return Err(Refusal::new(
                n,
                "trailing bytes after the zstd frame".to_owned(),
            ))
        }
        Err(code) if zstd_safe::is_error_kind(code, ZSTD_ErrorCode::ZSTD_error_srcSize_wrong) => {
            return Err(Refusal::new(frame.len(), "truncated zstd frame".to_owned()))
        }
        Err(code) => {
            return Err(Refusal::new(
                0,
                format!("corrupt zstd frame ({})", zstd_safe::get_error_name(code)),
            ))
        }
    }
    // `declared <= frame.len() * MAX_RATIO` fits a usize on 64-bit targets; on 32-bit ones a
    // size past the address space is refused rather than truncated.
    usize::try_from(declared).map_err(|_| {
        Refusal::new(
            0,
            format!("zstd frame declares {declared} bytes, more than this process can address"),
        )
    })
}

/// Decompress one zstd frame (steps 1-4 of the module docs), without touching Python.
pub(crate) fn decompress_frame(frame: &[u8], max_size: u64) -> Result<Vec<u8>, Refusal> {
    let declared = declared_size(frame, max_size)?;
    // Reserved, not written: the pages are faulted in only as libzstd writes them, and it never
    // writes past this capacity.
    let mut out: Vec<u8> = Vec::new();
    out.try_reserve_exact(declared)
        .map_err(|_| cannot_allocate(declared))?;
    decompress_into(frame, declared, &mut out)?;
    Ok(out)
}

fn cannot_allocate(declared: usize) -> Refusal {
    Refusal::new(
        0,
        format!("cannot allocate the {declared} bytes the zstd frame declares"),
    )
}

/// Step 4 of the module docs: decompress `frame`, whose header declares `declared` bytes
/// (checked by [`declared_size`]), into `out`, of at least that capacity; exactly `declared`
/// bytes must come out.
fn decompress_into<W: WriteBuf + ?Sized>(
    frame: &[u8],
    declared: usize,
    out: &mut W,
) -> Result<(), Refusal> {
    let result = DCTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        let dctx = slot.get_or_insert_with(DCtx::create);
        dctx.decompress(out, frame)
    });
    match result {
        Ok(n) if n == declared => Ok(()),
        Ok(n) => Err(Refusal::new(
            frame.len(),
            format!("zstd frame decompresses to {n} bytes, not the {declared} it declares"),
        )),
        Err(code)
            if zstd_safe::is_error_kind(code, ZSTD_ErrorCode::ZSTD_error_dstSize_tooSmall) =>
        {
            Err(Refusal::new(
                0,
                format!("zstd frame decompresses to more than the {declared} bytes it declares"),
            ))
        }
        Err(code) if zstd_safe::is_error_kind(code, ZSTD_ErrorCode::ZSTD_error_checksum_wrong) => {
            Err(Refusal::new(
                frame.len().saturating_sub(4),
                "corrupt zstd frame: content checksum mismatch".to_owned(),
            ))
        }
        // libzstd checks the size it decoded against the header itself, and reports a
        // mismatch as corruption.
        Err(code)
            if zstd_safe::is_error_kind(code, ZSTD_ErrorCode::ZSTD_error_corruption_detected) =>
        {
            Err(Refusal::new(
                0,
                format!(
                    "corrupt zstd frame: its blocks do not decode, or not to the {declared} \
                     bytes it declares"
                ),
            ))
        }
        Err(code) => Err(Refusal::new(
            0,
            format!("corrupt zstd frame ({})", zstd_safe::get_error_name(code)),
        )),
    }
}

/// Compress `data` as one zstd frame declaring its content size, with the content checksum.
pub(crate) fn compress_frame(data: &[u8], level: i32) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
    CCTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut cctx = CCtx::create();
            for p in [
                CParameter::ChecksumFlag(true),
                CParameter::ContentSizeFlag(true),
            ] {
                cctx.set_parameter(p).map_err(name)?;
            }
            *slot = Some(cctx);
        }
        let cctx = slot.as_mut().expect("set above");
        cctx.set_parameter(CParameter::CompressionLevel(level))
            .map_err(name)?;
        cctx.compress2(&mut out, data).map_err(name)
    })?;
    Ok(out)
}

fn name(code: usize) -> String {
    zstd_safe::get_error_name(code).to_owned()
}

/// zstd_compress(data, /, level=1) -> bytes
///
/// `data` (bytes) as one zstd frame (RFC 8878) whose header declares the content size
/// (`len(data)` bytes) and which ends with the XXH64 content checksum; `level` is zstd's
/// compression level (`ZSTD_MIN_LEVEL` .. `ZSTD_MAX_LEVEL`; default 1, the fastest standard
/// level; 3 is zstd's own default, negative levels trade size for speed).
/// The GIL is released while compressing. Raises ValueError for a level out of range.
#[pyfunction]
#[pyo3(signature = (data, /, level=DEFAULT_LEVEL))]
pub fn zstd_compress<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
    level: i32,
) -> PyResult<Bound<'py, PyBytes>> {
    let (min, max) = (zstd_safe::min_c_level(), zstd_safe::max_c_level());
    if !(min..=max).contains(&level) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "zstd compression level must be in {min}..={max}, not {level}"
        )));
    }
    let src = data.as_bytes();
    // `src` borrows an immutable `bytes` the caller holds for the whole call.
    let frame = py
        .detach(|| compress_frame(src, level))
        .map_err(|why| pyo3::exceptions::PyValueError::new_err(format!("zstd: {why}")))?;
    Ok(PyBytes::new(py, &frame))
}

/// zstd_decompress(data, /, max_size) -> bytes
///
/// The content of `data` (bytes), which must be exactly one zstd frame whose header declares
/// its content size, at most `max_size` bytes. Nothing is decompressed, and nothing of the
/// declared size reserved, before the header and the frame's extent are checked. The GIL is
/// released while decompressing. Raises `DecodeError` (`.offset`: a byte offset in `data`)
/// naming why for: no zstd magic number, a truncated or corrupt frame, no declared content
/// size, a declared size over `max_size` or over what the frame can hold, trailing bytes, a
/// checksum mismatch, or content of another size than declared.
#[pyfunction]
#[pyo3(signature = (data, /, max_size=DEFAULT_MAX_SIZE))]
pub fn zstd_decompress<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
    max_size: u64,
) -> PyResult<Bound<'py, PyBytes>> {
    let src = data.as_bytes();
    let declared = declared_size(src, max_size).map_err(|r| r.into_pyerr(py))?;
    if declared == 0 {
        // CPython's empty `bytes` is one shared object: never handed to libzstd to write in.
        return decompress_frame(src, max_size)
            .map(|_| PyBytes::new(py, b""))
            .map_err(|r| r.into_pyerr(py));
    }
    // The content is written straight into the `bytes` returned, not copied from a buffer of
    // its own: the peak is the declared size once, not twice.
    let (out, mut buf) =
        FreshBytes::new(py, declared).ok_or_else(|| cannot_allocate(declared).into_pyerr(py))?;
    // `src` borrows an immutable `bytes` the caller holds for the whole call; `buf` writes into
    // `out`, which only this function holds.
    match py.detach(|| decompress_into(src, declared, &mut buf)) {
        Ok(()) => Ok(out),
        Err(refusal) => Err(refusal.into_pyerr(py)),
    }
}

/// The buffer of a new, uninitialised `bytes` of `cap` bytes that libzstd writes the content
/// into, with the GIL released. The object itself stays with the caller, which alone holds it
/// (refcount 1) and returns it only once all `cap` bytes are written.
struct FreshBytes {
    data: *mut u8,
    cap: usize,
    filled: usize,
}

// SAFETY: `data` points into a `bytes` no other code can reach (see the type's docs), written
// by one thread at a time: the object's refcount is never touched through it.
unsafe impl Send for FreshBytes {}

impl FreshBytes {
    /// The new `bytes` and its buffer; None when CPython cannot allocate it (no error left set).
    fn new(py: Python<'_>, cap: usize) -> Option<(Bound<'_, PyBytes>, FreshBytes)> {
        let len = pyo3::ffi::Py_ssize_t::try_from(cap).ok()?;
        // SAFETY: a NULL source asks CPython for an uninitialised `bytes` of `len` bytes (owned,
        // refcount 1); on failure its MemoryError is pending and cleared here.
        let obj = unsafe { pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), len) };
        if obj.is_null() {
            // SAFETY: clears the MemoryError just raised; the caller raises a DecodeError.
            unsafe { pyo3::ffi::PyErr_Clear() };
            return None;
        }
        // SAFETY: `obj` is a new `bytes` whose buffer holds `cap` bytes; the Bound owns the
        // reference (released on every path, with the GIL).
        let (bytes, data) = unsafe {
            (
                Bound::from_owned_ptr(py, obj).cast_into_unchecked::<PyBytes>(),
                pyo3::ffi::PyBytes_AS_STRING(obj).cast::<u8>().cast_mut(),
            )
        };
        Some((
            bytes,
            FreshBytes {
                data,
                cap,
                filled: 0,
            },
        ))
    }
}

// SAFETY: `data` holds `cap` writable bytes (a fresh `bytes` of that length); `as_slice` covers
// only the `filled` bytes libzstd reported written, which `filled_until` records.
unsafe impl WriteBuf for FreshBytes {
    fn as_slice(&self) -> &[u8] {
        // SAFETY: the first `filled` bytes were written (WriteBuf's contract).
        unsafe { std::slice::from_raw_parts(self.data, self.filled) }
    }

    fn capacity(&self) -> usize {
        self.cap
    }

    fn as_mut_ptr(&mut self) -> *mut u8 {
        self.data
    }

    unsafe fn filled_until(&mut self, n: usize) {
        self.filled = n;
    }
}

/// zstd_content_size(data, /) -> int | None
///
/// The content size the zstd frame header at the start of `data` declares, in bytes; None when
/// the header declares none. Raises `DecodeError` when `data` does not start with a complete
/// zstd frame header. Reads only the header (used by `fast-serde inspect --sizes`).
#[pyfunction]
#[pyo3(signature = (data, /))]
pub fn zstd_content_size(py: Python<'_>, data: &Bound<'_, PyBytes>) -> PyResult<Option<u64>> {
    let frame = data.as_bytes();
    if frame.len() < MAGIC.len() || frame[..4] != MAGIC {
        return Err(
            Refusal::new(0, "not a zstd frame (no zstd magic number)".to_owned()).into_pyerr(py),
        );
    }
    zstd_safe::get_frame_content_size(frame).map_err(|_| {
        Refusal::new(0, "truncated or corrupt zstd frame header".to_owned()).into_pyerr(py)
    })
}

/// Add the zstd functions and constants to `fast_serde._native`.
pub(crate) fn export(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(zstd_compress, m)?)?;
    m.add_function(wrap_pyfunction!(zstd_decompress, m)?)?;
    m.add_function(wrap_pyfunction!(zstd_content_size, m)?)?;
    m.add("ZSTD_DEFAULT_LEVEL", DEFAULT_LEVEL)?;
    m.add("ZSTD_MIN_LEVEL", zstd_safe::min_c_level())?;
    m.add("ZSTD_MAX_LEVEL", zstd_safe::max_c_level())?;
    m.add("ZSTD_DEFAULT_MAX_SIZE", DEFAULT_MAX_SIZE)?;
    m.add("ZSTD_MAX_RATIO", MAX_RATIO)?;
    m.add("ZSTD_VERSION", zstd_safe::version_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &[u8]) -> Vec<u8> {
        compress_frame(data, DEFAULT_LEVEL).unwrap()
    }

    #[test]
    fn round_trip_declares_size_and_checksum() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let f = frame(&data);
        assert_eq!(
            zstd_safe::get_frame_content_size(&f).unwrap(),
            Some(data.len() as u64)
        );
        // Frame_Header_Descriptor bit 2: Content_Checksum_flag.
        assert_ne!(f[4] & 0b100, 0);
        assert_eq!(decompress_frame(&f, data.len() as u64).unwrap(), data);
        assert!(decompress_frame(&f, data.len() as u64 - 1)
            .unwrap_err()
            .why
            .contains("over the limit"));
    }

    #[test]
    fn refusals_name_why() {
        let data = vec![7u8; 10_000];
        let f = frame(&data);
        let why = |bytes: &[u8]| decompress_frame(bytes, 1 << 20).unwrap_err().why;
        assert!(why(b"").contains("truncated"));
        assert!(why(b"\x82\xa1a").contains("truncated"));
        assert!(why(b"\x82\xa1a\x01\xa1b\x02").contains("magic"));
        assert!(why(&f[..f.len() - 1]).contains("truncated zstd frame"));
        let mut trailing = f.clone();
        trailing.push(0);
        assert!(why(&trailing).contains("trailing"));
        let mut bad = f.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1; // the checksum
        assert!(why(&bad).contains("checksum"));
    }

    #[test]
    fn no_declared_size_is_refused() {
        // A frame written by the streaming API without a pledged size declares none.
        let mut enc = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
        std::io::Write::write_all(&mut enc, b"hello hello hello").unwrap();
        let f = enc.finish().unwrap();
        assert_eq!(zstd_safe::get_frame_content_size(&f).unwrap(), None);
        let r = decompress_frame(&f, 1 << 20).unwrap_err();
        assert!(
            r.why.contains("without a declared content size"),
            "{}",
            r.why
        );
    }

    #[test]
    fn forged_sizes_are_refused_before_reserving() {
        // A header declaring 1 TiB (Frame_Content_Size of 8 bytes), then a tiny raw block.
        let mut f = MAGIC.to_vec();
        f.push(0b1110_0000); // FCS_Field_Size 8 bytes, Single_Segment
        f.extend_from_slice(&(1u64 << 40).to_le_bytes());
        f.extend_from_slice(&[0x01, 0x00, 0x00]); // last raw block of 0 bytes
        let r = decompress_frame(&f, u64::MAX).unwrap_err();
        assert!(r.why.contains("more than a frame of"), "{}", r.why);
        let r = decompress_frame(&f, 1 << 30).unwrap_err();
        assert!(r.why.contains("over the limit"), "{}", r.why);
    }
}
