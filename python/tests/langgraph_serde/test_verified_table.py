"""The verified table of LangChain message classes (fast_serde.langgraph._verified) against the
installed langchain-core: the release is verified, and the table matches it member for member
(every class, hash, review line and model validator).

`make test-langchain` runs the test_verified_*.py files on every release of
`_verified.RELEASES` (FAST_SERDE_LANGCHAIN_RELEASE names the one it installed).
"""

from __future__ import annotations

import os

import langchain_core
import langchain_core.messages as lcm
import pydantic
import pytest

from fast_serde.langgraph import _verified
from verified_helpers import fresh_verdict_cache  # noqa: F401 - autouse fixture
from verified_helpers import CLASSES


# -- the table against the installed release ----------------------------------------------------


def test_installed_release_is_verified() -> None:
    expected = os.environ.get("FAST_SERDE_LANGCHAIN_RELEASE")
    if expected is not None:  # make test-langchain: the release it installed is the one imported
        assert langchain_core.__version__ == expected
    assert langchain_core.__version__ in _verified.RELEASES


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_table_matches_installed_members(cls: type) -> None:
    """Every member validation runs is one the table reviewed, with the recorded hash; no
    reviewed member is missing; each has its line of review."""
    assert _verified.check(cls) == {}
    members = _verified._members(cls, [])
    keys = {k for k in members if not k.startswith("mode:")}
    assert keys == set(_verified._CHAINS[f"{cls.__module__}.{cls.__qualname__}"])
    for key in keys:
        assert _verified._WHY.get(key), f"{key} has no review line"
    assert _verified.verified(cls) == _verified._CLASSES[(cls.__module__, cls.__qualname__)]


def test_table_covers_every_message_class() -> None:
    """Every concrete pydantic class langchain_core.messages exports (what ext 5 carries in a
    state) is in the table; the abstract bases are not."""
    exported = {
        getattr(lcm, name)
        for name in lcm.__all__
        if isinstance(getattr(lcm, name, None), type)
        and issubclass(getattr(lcm, name), pydantic.BaseModel)
    }
    assert exported - set(CLASSES) == {lcm.BaseMessage, lcm.BaseMessageChunk}
    assert _verified.verified(lcm.BaseMessage) is None


def test_every_hash_and_review_line_is_used() -> None:
    """No stale entries: every hashed member belongs to some class's chain and has a review line."""
    used = {k for chain in _verified._CHAINS.values() for k in chain}
    assert set(_verified._HASHES) == used
    assert set(_verified._WHY) == used
    assert {f"{m}.{n}" for m, n in _verified._CLASSES} == set(_verified._CHAINS)
    assert set(_verified._MODES) == {k for k in used if k in _verified._MODES}


def test_model_validators_are_the_reviewed_ones() -> None:
    """The validators pydantic runs, read from the decorators, are exactly those the table names,
    in the modes it records."""
    for cls in CLASSES:
        decorators = cls.__pydantic_decorators__
        found = {
            f"{_verified._function(d.func).__module__}.{_verified._function(d.func).__qualname__}":
            d.info.mode
            for d in decorators.model_validators.values()
        }
        chain = set(_verified._CHAINS[f"{cls.__module__}.{cls.__qualname__}"])
        assert found == {k: m for k, m in _verified._MODES.items() if k in chain}
        for kind in _verified._DECORATOR_KINDS:
            if kind != "model_validators":
                assert not getattr(decorators, kind), (cls, kind)
