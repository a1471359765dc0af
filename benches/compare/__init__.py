"""fast-serde against every anchor, measured side by side (``make bench``).

Run from the repository root with the venv's interpreter::

    .venv/bin/python -m benches.compare            # full run, writes docs/benchmarks.{md,png}
    .venv/bin/python -m benches.compare --quick --no-write   # smoke test: 5k/30k, few rounds

What is timed, on the seeded fixtures of ``fixtures/states.py`` (sizes 5k, 30k, 200k, 2m):

* ``FastSerializer().dumps_typed(checkpoint)`` vs ``JsonPlusSerializer().dumps_typed``,
  ``pickle.dumps(protocol=5)`` and ``copy.deepcopy`` of the same checkpoint;
* ``FastSerializer().loads_typed`` (validate_models=True) vs ``JsonPlusSerializer().loads_typed``,
  with the share of JsonPlus's load spent re-validating the messages (``cls(**kwargs)`` of every
  message alone, the kwargs being ``m.model_dump()`` prepared beforehand, as JsonPlus's ext hook
  receives them);
* ``FastSerializer(validate_models=False).loads_typed`` vs JsonPlus and vs ``pickle.loads``;
* ``fast_serde.dumps/loads(plain_state)`` vs ``ormsgpack.packb/unpackb``, beside
  ``msgspec.msgpack.encode/decode``;
* end to end (not with ``--quick``): ``benches/e2e.py``, the demo's agent graph on
  ``InMemorySaver`` for 125 turns (500 messages) per serializer;
* memory: the extra memory of ``FastSerializer().dumps_typed`` relative to its output, by
  tracemalloc peak, by peak RSS (``VmHWM`` after resetting it through ``/proc/self/clear_refs``)
  and by glibc ``mallinfo2()`` (which sees every allocation), each size in a fresh
  subprocess.

Method: the targets and every B/A come from pair alternation, as the issue specifies: for each
row, its A and B run alternately (A, B, A, B, ...), one sample each per round in an order
shuffled (seeded) every round, so both share whatever the machine does meanwhile and neither is
always first; the table shows the medians over the rounds. The column ``B/A shuffled`` is a
second, "cold caches" view: every contender of a size runs once per round in a freshly shuffled
order (half the rounds, at least 3), so each call tends to find its data set evicted from the
CPU caches by the previous contender; a real graph step is somewhere between the two. Cache
misses cost both sides the same absolute time, so they lower fast-serde's ratios, which do less
work per object. A sample is a batch of
calls calibrated to last at least ``--min-sample`` seconds (one call at 200k and 2m) with the
garbage collector disabled during the batch (as ``timeit`` does) and the results kept alive
until the clock stopped (deallocating them is not timed). Before any timing, the bytes of
FastSerializer must equal JsonPlusSerializer's and fast_serde.dumps's ormsgpack's, and every
loader must return equal objects; if not, the script exits 1 without timing. Otherwise it exits
0 whether the targets are met or not.

The modules: ``rows`` (row labels and targets), ``timing`` (contenders, pair alternation),
``memory`` (the probe run in a fresh interpreter), ``machine`` (the machine record), ``report``
(the text table and summaries), ``markdown`` (docs/benchmarks.md), ``chart``
(docs/benchmarks.png), ``__main__`` (arguments, the run).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository root (``fixtures.states``, ``benches.e2e``, docs/)."""
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
