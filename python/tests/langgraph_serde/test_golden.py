"""Golden blobs written by the pinned JsonPlusSerializer (fixtures/golden/, see fixtures/golden.py).

FastSerializer must write these exact bytes for the same values, and read every blob to what
JsonPlusSerializer reads from it — so checkpoints written today stay readable. Values whose bytes
depend on the interpreter (``PER_PYTHON``) are checked against the blob the pinned
JsonPlusSerializer wrote on this Python (``fixtures/golden/python3.X/``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde.langgraph import FastSerializer
from fixtures.golden import python_dir, python_key
from fixtures.golden_values import PER_PYTHON, UNAVAILABLE, VALUES

GOLDEN = Path(__file__).resolve().parents[3] / "fixtures" / "golden"
MANIFEST = json.loads((GOLDEN / "MANIFEST.json").read_text())


def _entry(name: str) -> tuple[dict[str, object], Path]:
    """The manifest entry of ``name`` and its file, this Python's for a ``PER_PYTHON`` value."""
    if name not in PER_PYTHON:
        entry = MANIFEST["blobs"][name]
        return entry, GOLDEN / f"{name}.{entry['type']}"
    key = python_key()
    mine = MANIFEST["per_python"].get(key)
    if mine is None:
        pytest.fail(
            f"no golden blobs for Python {key} ({name}: {PER_PYTHON[name]}); write them with "
            f"this Python: python{key} -m fixtures.golden --this-python"
        )
    entry = mine["blobs"][name]
    return entry, python_dir(key) / f"{name}.{entry['type']}"


def _blob(name: str) -> tuple[str, bytes]:
    entry, path = _entry(name)
    return str(entry["type"]), path.read_bytes()


def _same(a: object, b: object) -> bool:
    """Equality that also holds for numpy arrays and compares types, recursively."""
    if type(a) is not type(b):
        return False
    try:
        import numpy as np

        if isinstance(a, np.ndarray):
            return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b))
    except ImportError:  # pragma: no cover
        pass
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "model_fields_set"):
        return a == b and a.model_fields_set == b.model_fields_set
    return a == b


def test_manifest_lists_every_value() -> None:
    """Every value (those the installed release cannot write, `UNAVAILABLE`, included), the
    interpreter-dependent ones per Python."""
    assert set(MANIFEST["blobs"]) == (set(VALUES) | UNAVAILABLE) - set(PER_PYTHON)
    assert MANIFEST["per_python"], "no per-Python blobs"
    for key, mine in MANIFEST["per_python"].items():
        assert set(mine["blobs"]) == set(PER_PYTHON), key
        assert mine["langgraph-checkpoint"] == MANIFEST["langgraph-checkpoint"], key


def test_every_per_python_blob_is_intact() -> None:
    """Every Python's blobs, not only this one's: a file edited by hand is caught anywhere."""
    for key, mine in MANIFEST["per_python"].items():
        for name, entry in mine["blobs"].items():
            data = (python_dir(key) / f"{name}.{entry['type']}").read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], (key, name)


# Every blob this Python reads: the shared ones (also those the installed release cannot write)
# and this Python's own.
READ = sorted(set(MANIFEST["blobs"]) | set(PER_PYTHON))


@pytest.mark.parametrize("name", sorted(MANIFEST["blobs"]))
def test_blob_is_intact(name: str) -> None:
    entry, path = _entry(name)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]


@pytest.mark.parametrize("name", sorted(PER_PYTHON))
def test_per_python_blob_is_what_jsonplus_writes_here(name: str) -> None:
    """The pinned JsonPlusSerializer on this Python writes this Python's blob (so the blob is no
    other Python's copied over)."""
    assert JsonPlusSerializer().dumps_typed(VALUES[name]()) == _blob(name)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_fast_serializer_writes_the_golden_bytes(name: str) -> None:
    assert FastSerializer().dumps_typed(VALUES[name]()) == _blob(name)


@pytest.mark.parametrize("name", READ)
def test_fast_serializer_reads_what_jsonplus_reads(name: str) -> None:
    blob = _blob(name)
    ours = FastSerializer().loads_typed(blob)
    theirs = JsonPlusSerializer().loads_typed(blob)
    assert _same(ours, theirs)


@pytest.mark.parametrize("name", READ)
def test_trusted_mode_reads_what_jsonplus_reads(name: str) -> None:
    blob = _blob(name)
    ours = FastSerializer(validate_models=False).loads_typed(blob)
    theirs = JsonPlusSerializer().loads_typed(blob)
    assert _same(ours, theirs)
