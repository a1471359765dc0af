"""Golden blobs written by the pinned JsonPlusSerializer (fixtures/golden/, see fixtures/golden.py).

FastSerializer must write these exact bytes for the same values, and read every blob to what
JsonPlusSerializer reads from it — so checkpoints written today stay readable.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde.langgraph import FastSerializer
from fixtures.golden_values import UNAVAILABLE, VALUES

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden"
MANIFEST = json.loads((GOLDEN / "MANIFEST.json").read_text())


def _blob(name: str) -> tuple[str, bytes]:
    tag = MANIFEST["blobs"][name]["type"]
    return tag, (GOLDEN / f"{name}.{tag}").read_bytes()


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
    """Every value, less those the installed release cannot write (`UNAVAILABLE`)."""
    assert set(MANIFEST["blobs"]) == set(VALUES) | UNAVAILABLE


@pytest.mark.parametrize("name", sorted(MANIFEST["blobs"]))
def test_blob_is_intact(name: str) -> None:
    _, data = _blob(name)
    assert hashlib.sha256(data).hexdigest() == MANIFEST["blobs"][name]["sha256"]


@pytest.mark.parametrize("name", sorted(VALUES))
def test_fast_serializer_writes_the_golden_bytes(name: str) -> None:
    assert FastSerializer().dumps_typed(VALUES[name]()) == _blob(name)


@pytest.mark.parametrize("name", sorted(MANIFEST["blobs"]))
def test_fast_serializer_reads_what_jsonplus_reads(name: str) -> None:
    blob = _blob(name)
    ours = FastSerializer().loads_typed(blob)
    theirs = JsonPlusSerializer().loads_typed(blob)
    assert _same(ours, theirs)


@pytest.mark.parametrize("name", sorted(MANIFEST["blobs"]))
def test_trusted_mode_reads_what_jsonplus_reads(name: str) -> None:
    blob = _blob(name)
    ours = FastSerializer(validate_models=False).loads_typed(blob)
    theirs = JsonPlusSerializer().loads_typed(blob)
    assert _same(ours, theirs)
