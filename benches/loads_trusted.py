"""Trusted restore (`validate_models=False`) of LangChain messages on cold loads, side by side.

``python benches/loads_trusted.py [--rounds 15] [--size 200k]``

A 200 KB agent state (fixtures/states.py: system, human, AI with tool calls and usage metadata,
tool messages) is loaded once per timed block, each block a payload never seen before (another
seed), so neither the memo of validated models nor any cache of the payload helps. Rows are
ratios of medians, both sides measured in this process, alternating A/B every round, the cyclic
GC collected before and disabled during every timed block on every side (`loads_memo.trio`):

* JsonPlusSerializer against FastSerializer(validate_models=False): the table's message classes
  are restored without validation (fast_serde.langgraph._verified); target >= 3x.
* FastSerializer() (validating) against FastSerializer(validate_models=False): trusted restore
  must never be slower than the default.
* JsonPlusSerializer against FastSerializer(), for reference.

Also printed: how many of the state's messages belong to a class whose verdict has `restore`,
and that the restored state equals JsonPlusSerializer's object for object.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python" / "tests" / "support"))

import states  # noqa: E402
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer  # noqa: E402
from lg_strategies import assert_same  # noqa: E402
from loads_memo import row, trio  # noqa: E402

from fast_serde.langgraph import FastSerializer, _verified  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--size", default="200k")
    args = p.parse_args(argv)
    j = JsonPlusSerializer()
    # Every timed block reads a payload its serializer has not read: rounds + warm-up each.
    count = args.rounds + 2
    blobs = [j.dumps_typed(states.agent_state(args.size, seed=500 + k)) for k in range(count)]
    sample = states.agent_state(args.size, seed=500)
    verdicts = [_verified.verified(type(m)) for m in sample["messages"]]
    restored = sum(1 for v in verdicts if v is not None and v.restore)

    trusted = FastSerializer(validate_models=False)
    default = FastSerializer()
    assert_same(trusted.loads_typed(blobs[-1]), j.loads_typed(blobs[-1]))

    queues: dict[int, Any] = {}

    def reader(s: Any) -> Callable[[], Any]:
        """Loads by `s` of the next payload `s` has not read yet."""
        queue = queues.setdefault(id(s), iter(blobs[:-1]))
        return lambda: s.loads_typed(next(queue))

    size = len(blobs[0][1]) // 1000
    rows = [
        "| row | JsonPlusSerializer | FastSerializer() | ratio | validate_models=False | ratio | target |",
        "|---|---|---|---|---|---|---|",
    ]
    # The three sides in one rotating measurement (loads_memo.trio), each on payloads of its own.
    tj, td, tt = trio(reader(j), reader(default), reader(trusted), args.rounds)
    rows.append(row(f"cold {size} KB, never seen", tj, td, tt, ">= 3x; trusted >= default"))
    rows.append(f"\ntrusted vs default: {td / tt:.2f}x (>= 1x)")
    print("\n".join(rows))
    print(
        f"\n{len(sample['messages'])} messages per state, {restored} of a class the verified table "
        f"restores; restored state equal to JsonPlusSerializer's: yes; {args.rounds} rounds"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
