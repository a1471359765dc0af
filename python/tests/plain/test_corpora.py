"""fast_serde.dumps / loads on the standard corpora (fixtures/corpora: orjson's twitter, github,
citm_catalog and canada) against ormsgpack and msgpack-python, byte for byte and object for
object."""

from __future__ import annotations

import msgpack
import ormsgpack
import pytest

import fast_serde
from fixtures.corpora import NAMES, corpus

from strategies import ORMSGPACK_OPT, assert_strict_equal


@pytest.mark.parametrize("name", NAMES)
def test_dumps_equals_ormsgpack(name: str) -> None:
    doc = corpus(name)
    assert fast_serde.dumps(doc) == ormsgpack.packb(doc, option=ORMSGPACK_OPT)


@pytest.mark.parametrize("name", NAMES)
def test_loads_equals_references(name: str) -> None:
    doc = corpus(name)
    data = ormsgpack.packb(doc, option=ORMSGPACK_OPT)
    loaded = fast_serde.loads(data)
    assert_strict_equal(loaded, ormsgpack.unpackb(data))
    assert_strict_equal(loaded, msgpack.unpackb(data, strict_map_key=False))
    assert_strict_equal(loaded, doc)
