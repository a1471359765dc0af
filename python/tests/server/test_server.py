"""fast-serde under a real LangGraph Server: `langgraph dev` (langgraph-cli[inmem] 0.4.40,
langgraph-api 0.16.7, langgraph-runtime-inmem 0.36.7) switched on by ``FAST_SERDE_INSTALL=1`` alone.

One test, in steps, on the app in ``fixtures/server_app`` (an agent graph: ``add_messages``, a
scripted model calling a tool, a ``ToolNode``, pydantic models of the graph module in the state),
driven through ``langgraph-sdk`` with several threads at once and several turns each:

1. the stock server (no variable) runs the workload: the reference states and checkpoint bytes;
2. the same server with ``FAST_SERDE_INSTALL=1`` runs it: its checkpointer is fast-serde's
   ``Serializer``, the counters read inside the server show native dumps and loads and no
   fallback, and the final states and the digests of every stored channel value equal the stock
   server's;
3. it is restarted, the variable now given in ``langgraph.json``'s ``env``: the threads persisted
   in ``.langgraph_api/`` read back equal and take another turn, whose checkpoints are loaded
   natively;
4. the graph file changes: `langgraph dev` reloads it in a new worker, and the next run uses the
   new code with the state classes of the new module.

The servers listen on 127.0.0.1 only, with tracing, analytics and the version check off; the test
also checks that their processes hold no socket to a non-loopback address. Waits are bounded and
the process groups are killed in ``finally``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from fixtures.langgraph_server import Server, is_loopback, make_app, remote_addresses

if importlib.util.find_spec("langgraph_api") is None or importlib.util.find_spec("langgraph_sdk") is None:
    pytest.skip("langgraph-cli[inmem] / langgraph-sdk are not installed", allow_module_level=True)

from langgraph_sdk import get_client  # noqa: E402

THREADS = [f"00000000-0000-4000-8000-{i:012d}" for i in range(1, 5)]
TURNS = 3
RUN_TIMEOUT = 30.0  # seconds per run


async def _turn(client, thread_id: str, turn: int) -> dict:
    question = {"role": "user", "content": f"question {turn} of {thread_id[-2:]}", "id": f"h-{turn}"}
    return await asyncio.wait_for(
        client.runs.wait(thread_id, "agent", input={"messages": [question]}), RUN_TIMEOUT
    )


async def _drive(url: str, turns: range) -> dict[str, dict]:
    """Each thread takes ``turns`` one after the other, all threads at once; returns each
    thread's final state values as the API reads them."""
    client = get_client(url=url)

    async def thread(thread_id: str) -> None:
        for turn in turns:
            await _turn(client, thread_id, turn)

    for thread_id in THREADS:
        if turns.start == 0:
            await client.threads.create(thread_id=thread_id, if_exists="do_nothing")
    await asyncio.gather(*(thread(t) for t in THREADS))
    return {t: (await client.threads.get_state(t))["values"] for t in THREADS}


def _states(server: Server, turns: range) -> dict[str, dict]:
    return asyncio.run(asyncio.wait_for(_drive(server.url, turns), 120))


def _assert_loopback_only(server: Server) -> None:
    remotes = remote_addresses(server.pids())
    assert all(is_loopback(r) for r in remotes), remotes


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for the server's sockets")
def test_langgraph_dev_runs_fast_serde_from_the_environment(tmp_path):
    if shutil.which("langgraph", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the langgraph CLI is not installed beside this Python")
    started = time.monotonic()

    # 1. The stock server: the reference.
    stock = Server(make_app(tmp_path / "stock"), fast=False)
    try:
        info = stock.start()
        assert info["serde"] == "langgraph_api.serde.Serializer", info
        assert not info["fast_serde_imported"], info
        reference = _states(stock, range(TURNS))
        reference_blobs = {t: stock.blob_digests(t) for t in THREADS}
        _assert_loopback_only(stock)
    finally:
        stock.stop()

    for values in reference.values():  # the workload did what it should
        assert len(values["messages"]) == 4 * TURNS and values["turns"] == TURNS
        assert values["facts_are_current_class"] is True and len(values["facts"]) == TURNS

    app = make_app(tmp_path / "fast")
    fast = Server(app, fast=True)
    try:
        # 2. FAST_SERDE_INSTALL=1: the server's own checkpointer runs fast-serde.
        info = fast.start()
        assert info["serde"] == "fast_serde.langgraph._server.Serializer", info
        assert info["stats"]["dumps"] == info["stats"]["loads"] == 0, info
        states = _states(fast, range(TURNS))
        counters = fast.stats()["stats"]
        assert counters["dumps"] >= len(THREADS) * TURNS * 3, counters  # >= one per superstep
        assert counters["loads"] > 0, counters
        assert counters["dumps_fallback"] == 0, counters
        assert states == reference
        assert {t: fast.blob_digests(t) for t in THREADS} == reference_blobs
        _assert_loopback_only(fast)

        # 3. A restart reads the persisted threads back and goes on from them. This time the
        # variable comes from langgraph.json's "env" (the CLI passes it to the reloading worker),
        # not from the server's environment.
        fast.stop()
        config = json.loads((app / "langgraph.json").read_text())
        config["env"] = {"FAST_SERDE_INSTALL": "1"}
        (app / "langgraph.json").write_text(json.dumps(config))
        fast.fast = False
        info = fast.start()
        assert info["serde"] == "fast_serde.langgraph._server.Serializer", info
        assert info["stats"]["loads"] == 0, info
        client_states = asyncio.run(asyncio.wait_for(_persisted_states(fast.url), 60))
        assert client_states == reference
        more = _states(fast, range(TURNS, TURNS + 1))
        counters = fast.stats()["stats"]
        assert counters["loads"] >= len(THREADS), counters  # each run loaded its checkpoint
        for thread_id, values in more.items():
            assert values["turns"] == TURNS + 1 and values["facts_are_current_class"] is True
            assert values["messages"][: 4 * TURNS] == reference[thread_id]["messages"]

        # 4. A change to the graph file reloads it; the next run runs the new code.
        old_pid = info["pid"]
        graph = app / "graph.py"
        graph.write_text(graph.read_text().replace("VERSION = 1 ", "VERSION = 2 ", 1))
        info = fast.wait_ready(60, not_pid=old_pid)
        assert info["serde"] == "fast_serde.langgraph._server.Serializer", info
        reloaded = _states(fast, range(TURNS + 1, TURNS + 2))
        for thread_id, values in reloaded.items():
            assert values["version"] == 2, values
            assert values["messages"][-1]["content"].startswith("v2: "), values["messages"][-1]
            assert values["facts_are_current_class"] is True
            assert values["messages"][: 4 * (TURNS + 1)] == more[thread_id]["messages"]
        assert fast.stats()["stats"]["loads"] >= len(THREADS)
        _assert_loopback_only(fast)
    finally:
        fast.stop()
    assert time.monotonic() - started < 180  # the budget is ~90 s; fail loudly well past it


async def _persisted_states(url: str) -> dict[str, dict]:
    client = get_client(url=url)
    return {t: (await client.threads.get_state(t))["values"] for t in THREADS}
