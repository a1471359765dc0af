"""The memory probe: the extra memory of one ``FastSerializer().dumps_typed`` relative to its
output, by tracemalloc peak, peak RSS and glibc ``mallinfo2()``, each size in a fresh
interpreter (so earlier sizes and the timing runs leave nothing behind)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from . import ROOT


_MEMORY_PROBE = r"""
import ctypes, gc, json, sys, tracemalloc
sys.path.insert(0, sys.argv[2])
from fixtures.states import checkpoint
from fast_serde.langgraph import FastSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

def status():
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024
    return fields

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

try:
    _mallinfo2 = ctypes.CDLL(None).mallinfo2
    _mallinfo2.restype = MallInfo2
except (AttributeError, OSError):  # not glibc >= 2.33
    _mallinfo2 = None

def malloc_in_use():
    # Bytes malloc has handed out (heap + mmapped chunks): Rust's buffer, large bytes objects.
    if _mallinfo2 is None:
        return None
    info = _mallinfo2()
    return info.uordblks + info.hblkhd

def measure(fn):
    # (peak RSS extra during the call, malloc'd bytes held while the output is alive)
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    before = status()["VmRSS"]
    m0 = malloc_in_use()
    out = fn()
    m1 = malloc_in_use()
    rss = status()["VmHWM"] - before
    del out
    return rss, None if m0 is None else m1 - m0

def tracemalloc_peak_extra(fn):
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1]
        del out
    finally:
        tracemalloc.stop()
    return peak - base

size = sys.argv[1]
fast, ref = FastSerializer(), JsonPlusSerializer()
small = checkpoint("5k")
fast.dumps_typed(small); ref.dumps_typed(small)  # per-class plans, imports: not per call
obj = checkpoint(size)
fast_call = lambda: fast.dumps_typed(obj)
ref_call = lambda: ref.dumps_typed(obj)
result = {"output": len(ref.dumps_typed(obj)[1])}
result["fast_rss_cold"], result["fast_malloc_cold"] = measure(fast_call)
warm = [measure(fast_call) for _ in range(3)]
result["fast_rss_warm"] = min(w[0] for w in warm)
result["fast_malloc_warm"] = None if warm[0][1] is None else min(w[1] for w in warm)
result["ref_rss_cold"], result["ref_malloc_cold"] = measure(ref_call)
result["fast_tracemalloc"] = tracemalloc_peak_extra(fast_call)
result["ref_tracemalloc"] = tracemalloc_peak_extra(ref_call)
print(json.dumps(result))
"""


def measure_memory(size: str) -> dict[str, Any]:
    """Peak extra memory of one dumps_typed call, in a fresh interpreter (see _MEMORY_PROBE)."""
    proc = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, size, str(ROOT)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe for {size} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
