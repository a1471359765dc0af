"""Probe classes of the allowlist tests (test_allowlist.py; the type tag, encryption and
regression tests use them too): each records its constructions in ``CONSTRUCTED`` (emptied around
every test by conftest.py), so a test can tell that a blocked class was never built. Payloads name
them under this module's name, ``THIS``."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import pydantic
import pytest
from langgraph.checkpoint.serde.jsonplus import _msgpack_enc
from langgraph.types import Send

import lg_models as M
from lg_helpers import assert_same_outcome, ext, pair, run_logged


THIS = __name__  # the module name the probe classes below are written under


CONSTRUCTED: list[tuple[str, Any]] = []


class ProbeModel(pydantic.BaseModel):
    """Records every construction (``__init__`` and ``model_construct``)."""

    x: int = 0
    tag: str = ""

    def __init__(self, **kw: Any) -> None:
        CONSTRUCTED.append(("ProbeModel", dict(kw)))
        super().__init__(**kw)

    @classmethod
    def model_construct(cls, _fields_set: Any = None, **values: Any) -> Any:
        CONSTRUCTED.append(("ProbeModel.model_construct", dict(values)))
        return super().model_construct(_fields_set, **values)


@dataclasses.dataclass
class ProbeData:
    x: int = 0

    def __post_init__(self) -> None:
        CONSTRUCTED.append(("ProbeData", self.x))


class ProbePlain:
    """A plain class written by hand as ext 0 ``(module, "ProbePlain", arg)``."""

    def __init__(self, arg: Any) -> None:
        CONSTRUCTED.append(("ProbePlain", arg))
        self.arg = arg

    def __eq__(self, other: object) -> bool:
        return type(other) is ProbePlain and other.arg == self.arg

    @classmethod
    def boom(cls, arg: Any) -> Any:
        CONSTRUCTED.append(("ProbePlain.boom", arg))
        return ("called", arg)


class ProbeEnum(enum.Enum):
    A = 1


PROBE_KEYS = [(THIS, "ProbeModel"), (THIS, "ProbeData"), (THIS, "ProbePlain"), (THIS, "ProbeEnum")]


def probe_payloads() -> list[Any]:
    """Values holding probes; the encoding itself constructs nothing."""
    values = [
        ProbeModel(x=1, tag="m"),
        ProbeData(2),
        {"nested": [ProbeModel(x=3), {"d": ProbeData(4)}]},
        Send("node", ProbeModel(x=5)),
        M.AnyBox(ProbeData(6)),
        ProbeEnum.A,
    ]
    CONSTRUCTED.clear()
    return values


def plain_probe_bytes(arg: Any = "p") -> bytes:
    return ext(0, _msgpack_enc((THIS, "ProbePlain", arg)))


def _allowed_list() -> list[Any]:
    return [(THIS, "ProbeModel"), ProbeData, (THIS, "ProbePlain"), (THIS, "ProbeEnum"), ("lg_models", "AnyBox")]


def _compare_logged(caplog: pytest.LogCaptureFixture, mode: dict[str, Any], data: tuple[str, bytes], *, calls: bool = True) -> Any:
    j, f = pair(**mode)
    CONSTRUCTED.clear()
    out_f, ev_f, log_f = run_logged(caplog, f, data, PROBE_KEYS)
    calls_f = list(CONSTRUCTED)
    CONSTRUCTED.clear()
    out_j, ev_j, log_j = run_logged(caplog, j, data, PROBE_KEYS)
    assert_same_outcome(out_f, out_j)
    assert ev_f == ev_j, "serde events differ"
    assert log_f == log_j, "jsonplus warnings differ"
    if calls:
        assert calls_f == CONSTRUCTED, "constructions differ"
    return out_f, ev_f, log_f
