"""End-to-end workload: the demo's real agent graph checkpointed to ``InMemorySaver``.

``python benches/e2e.py [--turns 125] [--reps 3]`` runs it on its own; ``benches/compare``
imports :func:`run_e2e` for the "end to end" rows of ``make bench``.

One run = a fresh ``InMemorySaver(serde=...)`` and a freshly compiled ``build_graph`` of
examples/agent_sqlite/scripted_agent.py (scripted tool-calling model + ``ToolNode``), then
``turns`` ``graph.invoke`` calls on one thread. Each turn adds 4 messages (human question, AI
tool call, tool result, AI answer), so 125 turns end with 500 messages; every superstep writes a
checkpoint (the growing ``messages`` channel is re-serialized each time) and every ``invoke``
reads the latest one back, so the serializer's ``dumps_typed``/``loads_typed`` sit on the hot
path the way they do in production. Timed: the ``invoke`` loop (wall clock, GC enabled as in
production); not timed: building the graph.

The three serializers' whole runs alternate (JsonPlus, Fast, trusted, JsonPlus, ...) after an
untimed warm-up run of each; the result is the median per serializer.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from fast_serde.langgraph import FastSerializer

_AGENT = Path(__file__).resolve().parents[1] / "examples" / "agent_sqlite"
if str(_AGENT) not in sys.path:  # the demo's agent (scripted_agent.py)
    sys.path.insert(0, str(_AGENT))

from scripted_agent import build_graph, question  # noqa: E402

__all__ = ["E2E_SERIALIZERS", "E2EResult", "run_agent", "run_e2e", "transcript"]

DEFAULT_TURNS = 125
DEFAULT_REPS = 7
WARMUP_TURNS = 5
THREAD = "bench"

#: label -> factory; the first is the baseline the others' speed-ups are relative to.
E2E_SERIALIZERS: dict[str, Callable[[], Any]] = {
    "JsonPlusSerializer": JsonPlusSerializer,
    "FastSerializer()": FastSerializer,
    "FastSerializer(validate_models=False)": lambda: FastSerializer(validate_models=False),
}


@dataclass
class E2EResult:
    turns: int
    reps: int
    seconds: dict[str, list[float]] = field(default_factory=dict)  # label -> per-run wall times
    messages: int = 0  # messages in the thread after a run
    checkpoints: int = 0  # checkpoints the saver holds after a run
    same_transcript: bool = True  # every serializer's run produced the same conversation
    roundtrip_checked: int = 0  # stored blobs checked: Fast bytes == JsonPlus bytes, equal loads
    roundtrip_ok: bool = True

    def median(self, label: str) -> float:
        return statistics.median(self.seconds[label])


def transcript(messages: Sequence[BaseMessage]) -> list[tuple[Any, ...]]:
    """The conversation without the random message ids ``add_messages`` assigns."""
    return [
        (m.type, m.content, [(c["name"], c["args"]) for c in getattr(m, "tool_calls", []) or []])
        for m in messages
    ]


def run_agent(
    serde: Any, turns: int, *, on_turn: Callable[[], None] | None = None
) -> tuple[float, InMemorySaver, list[BaseMessage]]:
    """One timed run; returns (seconds of the invoke loop, the saver, the final messages)."""
    saver = InMemorySaver(serde=serde)
    graph = build_graph(saver)  # typed for SqliteSaver, takes any BaseCheckpointSaver
    config = {"configurable": {"thread_id": THREAD}}
    start = time.perf_counter()
    for turn in range(turns):
        graph.invoke({"messages": [HumanMessage(question(turn))]}, config)
        if on_turn is not None:
            on_turn()
    seconds = time.perf_counter() - start
    messages = list(graph.get_state(config).values["messages"])
    return seconds, saver, messages


def _check_roundtrip(saver: InMemorySaver, every: int = 25) -> tuple[int, bool]:
    """On a sample of the blobs JsonPlusSerializer stored: FastSerializer reads them back equal
    and writes them back byte for byte."""
    ref, fast = JsonPlusSerializer(), FastSerializer()
    trusted = FastSerializer(validate_models=False)
    blobs = [v for v in saver.blobs.values() if v[0] == "msgpack"]
    checkpoints = [
        entry[0] for ns in saver.storage.values() for d in ns.values() for entry in d.values()
    ]
    sample = blobs[::every] + blobs[-3:] + checkpoints[::every] + checkpoints[-3:]
    ok = True
    for blob in sample:
        value = ref.loads_typed(blob)
        ok &= fast.loads_typed(blob) == value and trusted.loads_typed(blob) == value
        ok &= fast.dumps_typed(value) == ref.dumps_typed(value) == blob
    return len(sample), ok


def run_e2e(
    turns: int = DEFAULT_TURNS,
    reps: int = DEFAULT_REPS,
    *,
    on_turn: Callable[[], None] | None = None,
) -> E2EResult:
    """Warm up, then ``reps`` alternating rounds of one whole run per serializer."""
    result = E2EResult(turns=turns, reps=reps, seconds={label: [] for label in E2E_SERIALIZERS})
    for factory in E2E_SERIALIZERS.values():
        run_agent(factory(), min(WARMUP_TURNS, turns), on_turn=on_turn)
    reference: list[tuple[Any, ...]] | None = None
    for rep in range(reps):
        for label, factory in E2E_SERIALIZERS.items():
            seconds, saver, messages = run_agent(factory(), turns, on_turn=on_turn)
            result.seconds[label].append(seconds)
            got = transcript(messages)
            if reference is None:
                reference = got
                result.messages = len(messages)
                result.checkpoints = sum(
                    len(d) for ns in saver.storage.values() for d in ns.values()
                )
            elif got != reference:
                result.same_transcript = False
            if rep == 0 and label == "JsonPlusSerializer":
                result.roundtrip_checked, result.roundtrip_ok = _check_roundtrip(saver)
            del saver, messages
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=DEFAULT_TURNS)
    parser.add_argument("--reps", type=int, default=DEFAULT_REPS)
    args = parser.parse_args(argv)
    result = run_e2e(args.turns, args.reps)
    base = result.median("JsonPlusSerializer")
    print(f"{args.turns} turns, {result.messages} messages, {result.checkpoints} checkpoints; "
          f"median of {args.reps} alternating runs")
    for label in E2E_SERIALIZERS:
        median = result.median(label)
        print(f"{label:<40} {median:8.3f} s  {base / median:5.2f}x")
    ok = result.same_transcript and result.roundtrip_ok
    if not ok:
        print("FAILED: transcripts or stored bytes differ between serializers", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
