"""Print the members of every class of fast-serde's verified table of LangChain message classes
(fast_serde.langgraph._verified) as the installed langchain-core has them: per member its key and
hash, and whether the table accepts it. Run it in a venv with a new langchain-core release after
reading that release's members, to extend `_HASHES` and `RELEASES`.

    python scripts/langchain_table.py [--json]

With --json prints `{"version": ..., "chains": {class: [member, ...]}, "hashes": {member: hash}}`.
"""

from __future__ import annotations

import importlib
import json
import sys

from fast_serde.langgraph import _verified


def main() -> int:
    import langchain_core

    chains: dict[str, list[str]] = {}
    hashes: dict[str, str] = {}
    for module, name in _verified._CLASSES:
        cls = getattr(importlib.import_module(module), name)
        members = _verified._members(cls, [])
        chains[f"{module}.{name}"] = sorted(k for k in members if not k.startswith("mode:"))
        for key, (digest, _) in members.items():
            if not key.startswith("mode:"):
                hashes[key] = digest
    if "--json" in sys.argv:
        print(json.dumps({"version": langchain_core.__version__, "chains": chains, "hashes": hashes}))
        return 0
    print(f"langchain-core {langchain_core.__version__}")
    for key, digest in sorted(hashes.items()):
        known = "ok" if digest in _verified._HASHES.get(key, ()) else "NEW"
        why = "" if key in _verified._WHY else "  (no review line)"
        print(f"  {known:3} {digest} {key}{why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
