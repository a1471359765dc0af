"""Import every module a fast-serde wheel ships, with only ``fast-serde[langgraph]`` installed.

    python scripts/wheel_check.py WHEEL

Run by scripts/wheels.sh with the interpreter of a fresh venv holding WHEEL and its
``[langgraph]`` extra from the registry, away from the source tree. Then one byte check against
the installed JsonPlusSerializer and one round trip. Prints ``N modules``; any failure raises.
"""

import importlib
import sys
import zipfile

wheel = sys.argv[1]
names = sorted(
    n[:-3].replace("/", ".").removesuffix(".__init__")
    for n in zipfile.ZipFile(wheel).namelist()
    if n.startswith("fast_serde/") and n.endswith(".py")
)
for name in names:
    importlib.import_module(name)
import fast_serde  # noqa: E402
from fast_serde.langgraph import FastSerializer  # noqa: E402
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer  # noqa: E402

assert fast_serde.__file__.startswith(sys.prefix), fast_serde.__file__  # the venv, not a source tree
value = {"messages": [{"role": "user", "content": "hi"}], "n": 3}
assert FastSerializer().dumps_typed(value) == JsonPlusSerializer().dumps_typed(value)
assert fast_serde.loads(fast_serde.dumps(value)) == value
print(f"{len(names)} modules")
