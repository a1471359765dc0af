"""A real `langgraph dev` server's state and history responses, read natively.

The state and history endpoints decode checkpoints with ``_msgpack_ext_hook_to_json`` (through
the in-memory runtime's ``_delta_aware_hook``), which fast-serde reads natively when installed.
One app directory: the stock server runs a workload and answers ``threads.get_state`` and
``threads.get_history``; the same app, restarted with ``FAST_SERDE_INSTALL=1``, reads the same
persisted checkpoints: every response must be the same JSON, and the counters must show native
reads. Waits are bounded; the servers are stopped in ``finally``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import sys
import time
from pathlib import Path

import pytest

from fixtures.langgraph_server import Server, make_app

if importlib.util.find_spec("langgraph_api") is None or importlib.util.find_spec("langgraph_sdk") is None:
    pytest.skip("langgraph-cli[inmem] / langgraph-sdk are not installed", allow_module_level=True)

from langgraph_sdk import get_client  # noqa: E402

THREADS = [f"00000000-0000-4000-8000-{i:012d}" for i in range(21, 23)]
TURNS = 2
TIMEOUT = 60.0  # seconds for a workload or a set of reads


async def _run(url: str) -> None:
    client = get_client(url=url)
    for thread_id in THREADS:
        await client.threads.create(thread_id=thread_id, if_exists="do_nothing")
        for turn in range(TURNS):
            question = {"role": "user", "content": f"question {turn}", "id": f"h-{turn}"}
            await client.runs.wait(thread_id, "agent", input={"messages": [question]})


async def _reads(url: str) -> dict[str, object]:
    client = get_client(url=url)
    out: dict[str, object] = {}
    for thread_id in THREADS:
        out[f"state {thread_id}"] = await client.threads.get_state(thread_id)
        out[f"history {thread_id}"] = await client.threads.get_history(thread_id, limit=100)
    return out


def _bounded(coro):
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


def test_state_and_history_read_natively_equal_the_stock_servers(tmp_path):
    if shutil.which("langgraph", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the langgraph CLI is not installed beside this Python")
    started = time.monotonic()
    app = make_app(tmp_path / "app")
    server = Server(app, fast=False)
    try:
        server.start()
        _bounded(_run(server.url))
        stock = _bounded(_reads(server.url))
    finally:
        server.stop()
    assert all(stock.values()), stock  # each thread has a state and a history
    for thread_id in THREADS:
        assert len(stock[f"history {thread_id}"]) > TURNS

    server.fast = True
    try:
        info = server.start()
        assert info["serde"] == "fast_serde.langgraph._server.Serializer", info
        fast = _bounded(_reads(server.url))
        counters = server.stats()["stats"]
    finally:
        server.stop()
    assert fast == stock
    # Only these reads ran: "loads" are the native ones (without the native JSON reader they are
    # all "loads_fallback"; pending writes tagged "null" count there too, answered without a read).
    assert counters["loads"] > counters["loads_fallback"], counters
    assert time.monotonic() - started < 150
