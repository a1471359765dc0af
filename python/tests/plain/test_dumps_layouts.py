"""fast_serde.dumps: CPython's str and dict storage layouts read in place, the build
that refuses another minor version, and outputs of every size."""

from __future__ import annotations

import collections
import ctypes
import re
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

import fast_serde
from fast_serde import _native

from strategies import reference_packb


# --- str storage forms (the walker reads compact-ASCII strs in place on CPython 3.11-3.15) ---


class _Text(str):
    pass


def _str_forms() -> dict[str, str]:
    """A str in each of CPython's storage forms (PEP 393): compact ASCII, compact of each
    character width, and a subclass's "legacy" form, whose characters are in a separate block
    (its state has `ascii` set without `compact`: read as compact ASCII, it writes the wrong
    bytes)."""
    return {
        "empty": "",
        "ascii": "plain ascii text",
        "ascii-long": "x" * 100_000,
        "ascii-interned": sys.intern("an interned key"),
        "latin1": "caf\u00e9 cr\u00e8me",
        "latin1-1": "\u00ff",
        "ucs2": "\u20ac and \u4e2d\u6587",
        "ucs4": "\U0001f600 emoji",
        "subclass-ascii": _Text("subclass, ascii"),
        "subclass-empty": _Text(""),
        "subclass-latin1": _Text("subclass caf\u00e9"),
        "subclass-ucs4": _Text("subclass \U0001f600"),
        "ascii-from-bytes": b"decoded ascii".decode(),
        "ascii-slice": "\u00e9abcdef"[1:],
        "ascii-join": "".join(["a", "b", "c"] * 50),
    }


@pytest.mark.parametrize("name", sorted(_str_forms()))
def test_str_storage_forms_match_ormsgpack(name):
    s = _str_forms()[name]
    value = {s: [s, {"k": s}], "n": (s, s)}
    assert fast_serde.dumps(value) == reference_packb(value)
    assert fast_serde.loads(fast_serde.dumps(value)) == {str(s): [str(s), {"k": str(s)}], "n": [str(s), str(s)]}


def test_private_layouts_read_in_place_exactly_where_built_for():
    """The compact-ASCII str read and the dict-table read are on for CPython 3.11-3.15 GIL
    builds (layouts read from each version's headers) and off elsewhere: a build that silently
    took the slow path on those would pass every byte test and lose the speed."""
    expected = (
        sys.implementation.name == "cpython"
        and (3, 11) <= sys.version_info[:2] <= (3, 15)
        and not sysconfig.get_config_var("Py_GIL_DISABLED")
    )
    assert _native.CPYTHON_LAYOUT is expected


# --- dict storage layouts (the walker reads CPython 3.11-3.15 combined tables in place) --------


class _Plain:
    pass


class _Split:
    pass


class _Wide:
    pass


def _pydict_next_items(d: dict) -> list[tuple]:
    """The (key, value) pairs of `d` as CPython's own PyDict_Next yields them (through ctypes):
    the oracle the in-place reader must match, entry for entry and in order."""
    next_ = ctypes.pythonapi.PyDict_Next
    next_.argtypes = [ctypes.py_object] + [ctypes.c_void_p] * 3
    next_.restype = ctypes.c_int
    pos, key, value = ctypes.c_ssize_t(0), ctypes.c_void_p(), ctypes.c_void_p()
    items = []
    while next_(d, ctypes.byref(pos), ctypes.byref(key), ctypes.byref(value)):
        items.append((ctypes.cast(key, ctypes.py_object).value, ctypes.cast(value, ctypes.py_object).value))
    return items


def _dict_layouts() -> dict[str, dict]:
    """Dicts whose entries CPython stores differently: holes after deletions, general (non-str)
    keys, split tables (instance __dict__ sharing their class's keys), grown and re-grown tables."""
    holes = {f"k{i}": i for i in range(50)}
    for i in range(0, 50, 3):
        del holes[f"k{i}"]
    last_only = {f"k{i}": i for i in range(9)}
    for i in range(8):
        del last_only[f"k{i}"]
    all_deleted = {"a": 1, "b": 2}
    del all_deleted["a"], all_deleted["b"]
    general = {1: "one", "two": 2, (3, "x"): [3], 4.5: None, b"k": True}
    del general[1]
    a, b = _Plain(), _Plain()
    a.x, a.y, a.z = 1, "two", [3.0]
    b.x, b.y, b.z = 4, "five", {"six": 6}
    b.extra = "split table grows"
    grown = {}
    for i in range(2000):
        grown[str(i)] = i
    for i in range(0, 2000, 2):
        del grown[str(i)]
    reinserted = dict(holes)
    reinserted["k0"] = "back"
    popped = {f"p{i}": i for i in range(10)}
    for _ in range(3):
        popped.popitem()  # the last entries go and the table's entry count shrinks
    general_holes = {i: str(i) for i in range(20)}
    for i in (0, 1, 2, 10, 18, 19):
        del general_holes[i]
    # Split tables with a deleted attribute, and with an insertion order that is not the order
    # of the class's shared keys; one turned combined (general) by a non-str key.
    c = _Split()
    c.x, c.y, c.z = 1, 2, 3
    del c.y
    c.w = 4
    r = _Split()
    r.x, r.y, r.z = 1, 2, 3
    del r.x
    r.x = "again"
    mixed = _Split()
    mixed.x, mixed.y = 1, 2
    vars(mixed)[7] = "int key"
    wide_obj = _Wide()  # more attributes than a class's shared keys hold
    for i in range(40):
        setattr(wide_obj, f"a{i}", i)
    return {
        "holes": holes,
        "last-only": last_only,
        "all-deleted": all_deleted,
        "general-keys": general,
        "split-a": vars(a),
        "split-b": vars(b),
        "grown": grown,
        "reinserted": reinserted,
        "ordered": collections.OrderedDict([("z", 1), ("a", 2)]),
        "counter": collections.Counter("mississippi"),
        "empty": {},
        "popped": popped,
        "general-holes": general_holes,
        "index-2-bytes": {f"w{i}": i for i in range(300)},
        "index-4-bytes": {i: -i for i in range(50_000)},
        "fromkeys": dict.fromkeys(["x", "y", "z"], 0),
        "split-deleted": vars(c),
        "split-reordered": vars(r),
        "split-copy": vars(r).copy(),
        "split-then-general": vars(mixed),
        "many-attributes": vars(wide_obj),
    }


@pytest.mark.parametrize("name", sorted(_dict_layouts()))
def test_dict_layouts_match_ormsgpack(name):
    d = _dict_layouts()[name]
    want = reference_packb(d)
    assert fast_serde.dumps(d) == want
    assert fast_serde.dumps({"nested": [d, d]}) == reference_packb({"nested": [d, d]})
    assert fast_serde.loads(want) == dict(d)


def _foreign_builds() -> list[str]:
    """Builds of fast_serde._native for another CPython 3.11-3.15 beside this one's (a tree
    shared by `make test-matrix` has one per Python); none in a fresh clone or a wheel."""
    here = Path(fast_serde.__file__).parent
    this = f"cpython-{sys.version_info[0]}{sys.version_info[1]}-"
    return sorted(
        str(p) for minor in range(11, 16) for p in here.glob(f"_native.cpython-3{minor}-*.so") if this not in p.name
    )


@pytest.mark.skipif(not _foreign_builds(), reason="no build for another CPython 3.11-3.15 here")
@pytest.mark.parametrize("path", _foreign_builds())
def test_a_build_for_another_minor_version_refuses_to_load(path):
    """The in-place str and dict reads are for the layouts of the build's own minor version: loaded (by
    path) into another interpreter, the module raises ImportError before reading any dict (or
    the dynamic loader refuses it first)."""
    code = textwrap.dedent(f"""
        import importlib.machinery, importlib.util
        loader = importlib.machinery.ExtensionFileLoader("fast_serde._native", {path!r})
        spec = importlib.util.spec_from_file_location("fast_serde._native", {path!r}, loader=loader)
        try:
            loader.exec_module(importlib.util.module_from_spec(spec))
        except ImportError as e:
            print(e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    built_for = re.search(r"cpython-3(\d+)-", Path(path).name).group(1)
    want = f"built for CPython 3.{built_for} and cannot run on CPython 3.{sys.version_info[1]}"
    # A newer build may not even link against an older libpython (a symbol it lacks), nor one
    # built in the sid root of the 3.14/3.15 lane against the host's older glibc.
    refused_by_loader = "undefined symbol" in out.stdout or "GLIBC_" in out.stdout
    assert want in out.stdout or refused_by_loader, (out.returncode, out.stdout, out.stderr[-2000:])


@pytest.mark.parametrize("name", sorted(_dict_layouts()))
def test_dict_layouts_are_read_as_pydict_next_reads_them(name):
    d = _dict_layouts()[name]
    items = _pydict_next_items(d)
    assert len(items) == len(d)
    # A fresh dict of PyDict_Next's pairs, in its order, encoded by the reference.
    assert fast_serde.dumps(d) == reference_packb(dict(items))
    assert fast_serde.dumps([d, {"in": d}]) == reference_packb([dict(items), {"in": dict(items)}])


def test_outputs_of_every_size_in_sequence_are_exact():
    """The output `bytes` is sized from the previous output, grown, cut by a realloc or just
    given its length: every path must give ormsgpack's bytes, the right length and a
    working hash, whatever the previous size was."""
    sizes = [10, 300, 300, 290, 280, 5_000, 4_900, 100_000, 99_000, 80_000, 10, 2_000_000, 1_990_000, 3, 70_000]
    for n in sizes:
        v = {"k": "x" * n, "n": n}
        out = fast_serde.dumps(v)
        want = reference_packb(v)
        assert out == want and len(out) == len(want)
        assert hash(out) == hash(bytes(bytearray(want)))
        assert out + b"" == want and out[-4:] == want[-4:]
