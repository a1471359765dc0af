"""The demo (``make demo``: examples/agent_sqlite/demo.py) and the ``fixtures.states`` generator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fixtures import states

DEMO = Path(__file__).resolve().parents[3] / "examples" / "agent_sqlite" / "demo.py"
NOMINAL_BYTES = {"5k": 5_000, "30k": 30_000, "200k": 200_000, "2m": 2_000_000}


def _state_bytes(state: object) -> bytes:
    return JsonPlusSerializer().dumps_typed(state)[1]


def test_demo_runs_resumes_and_matches(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(DEMO), "--turns", "3",
         "--db", str(tmp_path / "d.sqlite"), "--quiet"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    report = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 0, report
    header = [line for line in proc.stdout.splitlines() if line.startswith("checkpoints ")]
    assert len(header) == 1, report
    for column in (
        "dumps fast", "dumps jsonplus", "loads fast", "loads jsonplus", "same bytes", "same state"
    ):
        assert column in header[0], report
    # 3 turns of 4 messages each, then 3 more in the fresh process.
    assert "resumed thread 'demo' in a fresh process with 12 messages" in proc.stdout, report
    assert (tmp_path / "d.sqlite").exists()


def test_agent_state_is_deterministic():
    first = _state_bytes(states.agent_state("30k"))
    assert _state_bytes(states.agent_state("30k")) == first
    assert _state_bytes(states.agent_state("30k", seed=1)) != first


@pytest.mark.parametrize("size", states.SIZES)
def test_agent_state_size(size):
    nbytes = len(_state_bytes(states.agent_state(size)))
    nominal = NOMINAL_BYTES[size]
    assert 0.75 * nominal <= nbytes <= 1.25 * nominal, f"{size}: {nbytes:,} bytes"


def test_200k_has_about_220_messages():
    assert 200 <= len(states.agent_state("200k")["messages"]) <= 240


def test_agent_state_shape():
    state = states.agent_state("5k")
    messages = state["messages"]
    assert [m.type for m in messages] == ["system", "human", "ai", "tool", "ai"]
    assert all(m.id for m in messages)
    call, result = messages[2], messages[3]
    assert call.tool_calls and call.usage_metadata and call.response_metadata
    assert result.tool_call_id == call.tool_calls[0]["id"]
    assert state["started_at"].tzinfo is not None
    assert state["run_id"].version == 4
    assert {"title", "url", "score", "chunks"} <= state["documents"][0].keys()


def test_plain_state_has_only_plain_values():
    def check(value):
        if isinstance(value, dict):
            assert all(isinstance(k, str) for k in value)
            for v in value.values():
                check(v)
        elif isinstance(value, list):
            for v in value:
                check(v)
        else:
            assert value is None or isinstance(value, (str, int, float, bool)), repr(value)

    plain = states.plain_state("30k")
    check(plain)
    state = states.agent_state("30k")
    assert plain["run_id"] == str(state["run_id"])
    assert plain["messages"] == [m.model_dump() for m in state["messages"]]


def test_checkpoint_round_trips():
    serde = JsonPlusSerializer()
    cp = states.checkpoint("30k")
    assert cp.keys() == {
        "v", "id", "ts", "channel_values", "channel_versions", "versions_seen", "updated_channels"
    }
    assert cp["channel_values"]["messages"] == states.agent_state("30k")["messages"]
    assert serde.loads_typed(serde.dumps_typed(cp)) == cp
