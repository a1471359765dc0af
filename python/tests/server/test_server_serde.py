"""``fast_serde.langgraph._server``: LangGraph Server's ``langgraph_api.serde.Serializer`` under ``install()``.

Every case runs in a fresh interpreter (``langgraph_api.config`` reads its environment once, at
import), with the variables ``langgraph dev`` sets for the in-memory runtime. The reference is
always the server's own class, reached as ``ours.__mro__[1]`` in the same process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("langgraph_api")

REPO_ROOT = Path(__file__).resolve().parents[3]

# What `langgraph dev` exports before it imports the server (langgraph_api/cli.py run_server).
SERVER_ENV = {
    "DATABASE_URI": ":memory:",
    "REDIS_URI": "fake",
    "MIGRATIONS_PATH": "__inmem",
    "LANGGRAPH_RUNTIME_EDITION": "inmem",
    "LANGSMITH_TRACING": "false",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGGRAPH_DISABLE_FILE_PERSISTENCE": "true",
}


def _child(code: str, *, install_env: bool, extra_env: dict[str, str] | None = None,
           cwd: Path = REPO_ROOT) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FAST_SERDE_", "LANGGRAPH_", "LANGSMITH_", "LANGCHAIN_"))}
    env.update(SERVER_ENV)
    if install_env:
        env["FAST_SERDE_INSTALL"] = "1"
    env.update(extra_env or {})
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, check=False, env=env, cwd=cwd,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["stderr"] = proc.stderr
    return out


# Values the server checkpoints: an agent state, ext types, and values only cloudpickle writes
# (a module object: ormsgpack and pickle refuse it with TypeError) or nobody writes (a lock).
_COMPARE = """
    import json, sys, threading, datetime, decimal, uuid
    sys.path.insert(0, {repo!r})
    from fixtures.states import agent_state
    import langgraph_api.serde as api_serde
    from langgraph.checkpoint.serde.jsonplus import _msgpack_ext_hook_to_json
    import fast_serde.langgraph as lg

    ours = api_serde.Serializer
    stock = ours.__mro__[1]
    values = [
        agent_state("30k"), {{"a": {{1, 2}}, "d": decimal.Decimal("1.5"), "u": uuid.UUID(int=7),
                          "t": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)}},
        None, b"raw", bytearray(b"x"), "text", [1, 2.5, None], sys, threading.Lock(),
    ]

    def outcome(fn, *args):
        try:
            return ("ok", fn(*args))
        except Exception as exc:
            return ("raised", type(exc).__name__, str(exc))

    lg.reset_stats()
    report = {{"ours": ours.__module__ + "." + ours.__qualname__,
              "stock": stock.__module__ + "." + stock.__qualname__, "mismatch": []}}
    for hook in (None, _msgpack_ext_hook_to_json):
        a, b = ours(__unpack_ext_hook__=hook), stock(__unpack_ext_hook__=hook)
        report["pickle_fallback"] = [a.pickle_fallback, b.pickle_fallback]
        report["json_modules"] = [repr(a._allowed_json_modules), repr(b._allowed_json_modules)]
        for i, value in enumerate(values):
            da, db = outcome(a.dumps_typed, value), outcome(b.dumps_typed, value)
            if da != db:
                report["mismatch"].append(["dumps", i, repr(da)[:300], repr(db)[:300]])
                continue
            if da[0] != "ok":
                continue
            la, lb = outcome(a.loads_typed, da[1]), outcome(b.loads_typed, db[1])
            same = la[0] == lb[0] and (la[1:] == lb[1:] if la[0] == "raised" else
                                       repr(la[1]) == repr(lb[1]))
            if not same:
                report["mismatch"].append(["loads", i, repr(la)[:300], repr(lb)[:300]])
        pickled = ("pickle", b.dumps_typed(sys)[1])
        pa, pb = outcome(a.loads_typed, pickled), outcome(b.loads_typed, pickled)
        report["pickle_load"] = [pa[0], pb[0], pa[1:] == pb[1:] if pa[0] == "raised" else pa == pb]
    report["stats"] = lg.stats()
    print(json.dumps(report))
"""


def test_server_serializer_writes_and_reads_what_the_servers_own_does():
    out = _child(_COMPARE.format(repo=str(REPO_ROOT)), install_env=True)
    assert out["ours"] == "fast_serde.langgraph._server.Serializer", out
    assert out["stock"] == "langgraph_api.serde.Serializer", out
    assert out["mismatch"] == [], out["mismatch"]
    assert out["pickle_fallback"] == [True, True]  # the server's default
    assert out["pickle_load"] == ["ok", "ok", True]
    counters = out["stats"]
    # Ours ran natively for the msgpack values, fell back for the module object and the lock;
    # it read every value itself, with either hook (the JSON ext hook natively too), the
    # null/bytes/bytearray tags included; the "pickle" loads are the server's own code.
    assert counters["dumps"] >= 2 * 7 and counters["dumps_fallback"] == 2 * 2, counters
    assert counters["loads"] >= 2 * 7 and counters["loads_fallback"] == 0, counters


def test_server_config_pickle_fallback_and_allowed_json_modules_are_honoured():
    config = {"serde": {"pickle_fallback": False,
                        "allowed_json_modules": [["langchain_core", "messages"]]}}
    out = _child(
        _COMPARE.format(repo=str(REPO_ROOT)),
        install_env=True, extra_env={"LANGGRAPH_CHECKPOINTER": json.dumps(config)},
    )
    assert out["mismatch"] == [], out["mismatch"]
    assert out["pickle_fallback"] == [False, False]
    json_modules = out["json_modules"]
    assert json_modules[0] == json_modules[1] and "langchain_core" in json_modules[0]
    assert out["pickle_load"] == ["raised", "raised", True]  # the server's ValueError, both


def test_every_place_the_server_builds_its_serializer_gets_ours():
    out = _child(
        """
        import json
        import langgraph_api.serde as api_serde          # first: before any langgraph import
        from langgraph_runtime_inmem.checkpoint import Checkpointer
        import langgraph_api._checkpointer._adapter as adapter
        from langgraph.checkpoint.serde.jsonplus import _msgpack_ext_hook_to_json
        name = lambda obj: type(obj).__module__ + "." + type(obj).__qualname__
        print(json.dumps({
            "module": api_serde.Serializer.__module__,
            "memory": name(Checkpointer().serde),
            "state_reader": name(Checkpointer(unpack_hook=_msgpack_ext_hook_to_json).serde),
            "adapter": adapter._ApiSerializer.__module__,
        }))
        """,
        install_env=True,
    )
    assert out["module"] == out["adapter"] == "fast_serde.langgraph._server"
    assert out["memory"] == out["state_reader"] == "fast_serde.langgraph._server.Serializer"


def test_install_from_a_graph_module_reaches_the_already_built_memory_saver():
    # `install()` called in a graph module runs after the runtime built its shared saver.
    out = _child(
        """
        import json
        from langgraph_runtime_inmem.checkpoint import Checkpointer
        import langgraph_api.serde as api_serde
        import langgraph_api._checkpointer._adapter as adapter
        memory = Checkpointer()
        before = memory.serde
        import fast_serde.langgraph as lg
        lg.install()
        during = {"memory": type(memory.serde).__module__, "module": api_serde.Serializer.__module__,
                  "adapter": adapter._ApiSerializer.__module__,
                  "pickle_fallback": memory.serde.pickle_fallback == before.pickle_fallback}
        lg.uninstall()
        after = {"memory_restored": memory.serde is before,
                 "module": api_serde.Serializer.__module__, "adapter": adapter._ApiSerializer.__module__}
        print(json.dumps({"during": during, "after": after}))
        """,
        install_env=False,
    )
    assert out["during"] == {"memory": "fast_serde.langgraph._server", "module": "fast_serde.langgraph._server",
                             "adapter": "fast_serde.langgraph._server", "pickle_fallback": True}
    assert out["after"] == {"memory_restored": True, "module": "langgraph_api.serde",
                            "adapter": "langgraph_api.serde"}


def test_an_unverified_server_version_keeps_its_serializer_with_one_warning():
    out = _child(
        """
        import json, warnings
        warnings.simplefilter("always")
        from fast_serde.langgraph import _server
        _server.VERIFIED_VERSIONS = frozenset({"0.0.1"})
        import fast_serde.langgraph as lg
        from langgraph.checkpoint.memory import InMemorySaver
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lg.install()
            import langgraph_api.serde as api_serde
            lg.uninstall(); lg.install()
        print(json.dumps({
            "module": api_serde.Serializer.__module__,
            "stock_savers": type(InMemorySaver().serde).__name__,
            "warnings": [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)],
        }))
        """,
        install_env=False,
    )
    assert out["module"] == "langgraph_api.serde"
    assert out["stock_savers"] == "FastSerializer"
    assert len(out["warnings"]) == 1, out["warnings"]
    assert "langgraph-api 0.16.7 was not verified" in out["warnings"][0]
    assert "keeps its own serializer" in out["warnings"][0]


def test_server_serializer_class_refuses_what_it_cannot_mirror():
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from fast_serde.langgraph._server import server_serializer_class
    from fast_serde.langgraph import FastSerializer

    class Indirect(FastSerializer):
        pass

    for bad in (Indirect, JsonPlusSerializer, object, "Serializer"):
        with pytest.raises(TypeError, match="not a direct subclass of JsonPlusSerializer"):
            server_serializer_class(bad)  # type: ignore[arg-type]

    class Direct(JsonPlusSerializer):
        pass

    cls = server_serializer_class(Direct)
    assert cls.__mro__[1:3] == (Direct, FastSerializer) and cls.__name__ == "Serializer"
    assert cls().dumps_typed({"a": 1}) == JsonPlusSerializer().dumps_typed({"a": 1})
