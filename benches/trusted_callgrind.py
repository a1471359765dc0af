"""Instructions per thread walk, `FastSerializer()` against `FastSerializer(validate_models=False)`,
counted by callgrind (issue 19: trusted restore never slower than the default).

``python benches/trusted_callgrind.py [--turns 60] [--walks 2]``

The thread walk of `benches/loads_memo.py` (the last 40 `messages` blobs of a `--turns`-turn
agent thread, read in order by a fresh serializer whose memo fills as it goes) moves by up to
2x between wall-clock runs on a shared machine; its instruction count does not. The blobs are
written by JsonPlusSerializer in this process; each side then runs in a child under
``valgrind --tool=callgrind``, counting only inside ``loads_typed`` (``--toggle-collect``:
the codec, and the validation and restore it calls), after one walk of warm-up (imports, the
admission of the message classes), with the GC disabled: once with 0 and once with ``--walks``
timed walks; the difference divided by ``--walks`` is one walk. Needs valgrind on PATH.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import gc, pickle, sys
from fast_serde.langgraph import FastSerializer
blobs = pickle.load(open(sys.argv[1], "rb"))
kw = {"validate_models": False} if sys.argv[2] == "trusted" else {}
def walk():
    f = FastSerializer(**kw)
    for b in blobs:
        f.loads_typed(b)
walk()
gc.disable()
for _ in range(int(sys.argv[3])):
    walk()
"""


def collected(path: str, side: str, walks: int) -> int:
    """Instructions callgrind counted inside ``loads_typed`` for a child with ``walks`` walks."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", "--collect-atstart=no",
         "--toggle-collect=*TypedBinding*loads_typed*",
         sys.executable, "-c", CHILD, path, side, str(walks)],
        env=env, capture_output=True, text=True, check=True,
    )
    m = re.search(r"Collected : (\d+)", out.stderr)
    if m is None:
        raise SystemExit(f"callgrind printed no count:\n{out.stderr[-2000:]}")
    return int(m.group(1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--turns", type=int, default=60)
    ap.add_argument("--walks", type=int, default=2)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from loads_memo import agent_thread, message_blobs

    _, saver = agent_thread(args.turns)
    blobs = message_blobs(saver)[-40:]
    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as fh:
        pickle.dump(blobs, fh)
    try:
        per = {}
        for side in ("default", "trusted"):
            per[side] = (collected(fh.name, side, args.walks) - collected(fh.name, side, 0)) // args.walks
    finally:
        os.unlink(fh.name)
    print(f"Python {sys.version.split()[0]}; thread walk of {len(blobs)} blobs, {args.turns} turns; "
          f"instructions per walk inside loads_typed (callgrind, {args.walks} walks)")
    print(f"FastSerializer():                      {per['default']:>14,}")
    print(f"FastSerializer(validate_models=False): {per['trusted']:>14,}")
    print(f"default / trusted: {per['default'] / per['trusted']:.3f}x (>= 1: trusted runs no more)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
