"""PostgreSQL scale-out benchmark: FastSerializer vs JsonPlusSerializer behind PostgresSaver.

    python benches/bench_pg.py                 # full run, rewrites the table in docs/scaling.md
    python benches/bench_pg.py --quick --no-write

What is measured. ``--workers`` spawned processes each hold one psycopg connection and run a
LangGraph ``StateGraph`` over the agent state of ``fixtures.states.agent_state(size)`` (30 KB and
200 KB of msgpack): every run starts a new thread with the whole state as input, then loops
``--steps`` super-steps, each appending one AIMessage (so every super-step re-writes the
``messages`` channel, as an agent turn does). Graphs run with ``durability="sync"``: a super-step
ends when its checkpoint is committed, so the super-step latency includes serializing the
checkpoint and writing it to PostgreSQL (fsync on: the server runs with PostgreSQL's durable
defaults).

* ``ckpt/s``: checkpoints committed per second by all workers together (wall clock of a phase).
* ``p50``/``p95``: latency of one loop super-step (between consecutive node starts), all workers.
* ``KB/ckpt``: bytes the saver stored per checkpoint (blobs + writes + checkpoint JSONB), and
  ``WAL KB/ckpt``: PostgreSQL WAL generated per checkpoint.

Phases alternate serializers, A B A B ... (``--rounds`` of each), over the same worker processes
and connections, so slow drifts of the machine hit both sides alike; per serializer the phases are
pooled. Nothing is asserted: the numbers are printed and, unless ``--no-write``, written between
``<!-- bench-pg:begin -->`` and ``<!-- bench-pg:end -->`` in docs/scaling.md.

The server: ``$FAST_SERDE_PG_DSN`` if set (a fresh database is created in it and dropped), else a
throwaway cluster started by python/tests/support/pg_server.py (run ``scripts/pg_setup.sh`` first if
PostgreSQL is not installed).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import re
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DOC = REPO_ROOT / "docs" / "scaling.md"
BEGIN, END_MARK = "<!-- bench-pg:begin -->", "<!-- bench-pg:end -->"
for p in (REPO_ROOT, REPO_ROOT / "python" / "tests" / "support"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from langchain_core.messages import AIMessage, AnyMessage  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.graph.message import add_messages  # noqa: E402
from typing_extensions import TypedDict  # noqa: E402

SERDES = ("FastSerializer", "JsonPlusSerializer")
CONN_KWARGS: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0}


# ------------------------------------------------------------------------------------------
# The state and the graph
# ------------------------------------------------------------------------------------------


class BenchState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    documents: list[dict]
    scratchpad: dict
    run_id: Any
    started_at: Any
    steps_left: int


def load_state(size: str) -> tuple[dict, str]:
    """``fixtures.states.agent_state(size)``, or a comparable stand-in if it is missing."""
    try:
        from fixtures.states import agent_state
    except ImportError:
        return _fallback_state(size), "built-in stand-in (fixtures/states.py missing)"
    return agent_state(size), "fixtures.states.agent_state"


def _fallback_state(size: str) -> dict:
    from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage

    turns = {"5k": 1, "30k": 8, "200k": 55, "2m": 665}[size]
    words = "agent cache checkpoint graph index latency message node queue state stream tool".split()
    text = lambda i, n: " ".join(words[(i * 7 + k) % len(words)] for k in range(n))  # noqa: E731
    messages: list = [SystemMessage(content=text(0, 60), id=str(uuid.UUID(int=1)))]
    for t in range(turns):
        call = f"call_{t:08d}"
        messages += [
            HumanMessage(content=text(t, 40), id=str(uuid.UUID(int=10 * t + 2))),
            AIMessage(content="", id=str(uuid.UUID(int=10 * t + 3)),
                      tool_calls=[{"name": "search_docs", "args": {"q": text(t, 6)}, "id": call, "type": "tool_call"}],
                      usage_metadata={"input_tokens": 900 + t, "output_tokens": 40, "total_tokens": 940 + t}),
            ToolMessage(content=text(t, 380), tool_call_id=call, id=str(uuid.UUID(int=10 * t + 4))),
            AIMessage(content=text(t + 1, 160), id=str(uuid.UUID(int=10 * t + 5))),
        ]
    return {
        "messages": messages,
        "documents": [{"title": text(i, 5), "url": f"https://docs.example/{i}", "score": 0.5, "chunks": [text(i, 30)]}
                      for i in range(min(turns, 40))],
        "scratchpad": {"plan": [text(i, 8) for i in range(5)], "budget": 1200},
        "run_id": uuid.UUID(int=42),
        "started_at": datetime(2025, 3, 14, 9, 26, 53, tzinfo=timezone.utc),
    }


_STEP_TIMES: list[float] = []


def step(state: BenchState, config) -> dict:
    _STEP_TIMES.append(time.perf_counter())
    left = state.get("steps_left", 0)
    n = len(state["messages"])
    return {
        "messages": [AIMessage(content=f"step {n}: checkpoint written, continuing the plan.",
                               id=f"{config['configurable']['thread_id']}-{n}",
                               response_metadata={"model_name": "bench", "finish_reason": "stop"})],
        "steps_left": left - 1,
    }


def build_graph(saver):
    g = StateGraph(BenchState)
    g.add_node("step", step)
    g.add_edge(START, "step")
    g.add_conditional_edges("step", lambda s: "step" if s["steps_left"] > 0 else END, ["step", END])
    return g.compile(checkpointer=saver)


# ------------------------------------------------------------------------------------------
# Worker processes
# ------------------------------------------------------------------------------------------


def worker_main(dsn: str, index: int, pipe) -> None:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from psycopg.rows import dict_row

    from fast_serde.langgraph import FastSerializer

    try:
        conn = psycopg.Connection.connect(dsn, row_factory=dict_row, **CONN_KWARGS)
        graphs = {
            "FastSerializer": build_graph(PostgresSaver(conn, serde=FastSerializer())),
            "JsonPlusSerializer": build_graph(PostgresSaver(conn, serde=JsonPlusSerializer())),
        }
        states: dict[str, dict] = {}
        pipe.send(("ready", index))
        while True:
            cmd = pipe.recv()
            if cmd[0] == "stop":
                break
            _, serde, size, runs, steps, prefix = cmd
            if size not in states:
                states[size] = load_state(size)[0]
            graph, state = graphs[serde], states[size]
            pipe.send(("go", index))
            assert pipe.recv()[0] == "start"
            latencies: list[float] = []
            t0 = time.perf_counter()
            for r in range(runs):
                _STEP_TIMES.clear()
                cfg = {"configurable": {"thread_id": f"{prefix}-w{index}-r{r}"}, "recursion_limit": steps + 10}
                graph.invoke({**state, "steps_left": steps}, cfg, durability="sync")
                latencies += [b - a for a, b in zip(_STEP_TIMES, _STEP_TIMES[1:])]
            pipe.send(("done", index, t0, time.perf_counter(), runs * (steps + 2), latencies))
        conn.close()
    except BaseException as exc:  # report, don't hang the parent
        import traceback

        pipe.send(("error", index, "".join(traceback.format_exception(exc))))


class Fleet:
    def __init__(self, dsn: str, workers: int) -> None:
        ctx = mp.get_context("spawn")
        self.pipes, self.procs = [], []
        for i in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(dsn, i, child), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
        for p in self.pipes:
            self._expect(p, "ready")

    @staticmethod
    def _expect(pipe, kind: str):
        msg = pipe.recv()
        if msg[0] == "error":
            raise RuntimeError(f"worker {msg[1]} failed:\n{msg[2]}")
        assert msg[0] == kind, msg
        return msg

    def phase(self, serde: str, size: str, runs: int, steps: int, prefix: str) -> dict:
        for p in self.pipes:
            p.send(("run", serde, size, runs, steps, prefix))
        for p in self.pipes:  # every worker has its state built: start together
            self._expect(p, "go")
        for p in self.pipes:
            p.send(("start",))
        results = [self._expect(p, "done") for p in self.pipes]
        start = min(r[2] for r in results)
        end = max(r[3] for r in results)
        return {
            "seconds": end - start,
            "checkpoints": sum(r[4] for r in results),
            "latencies": [x for r in results for x in r[5]],
        }

    def close(self) -> None:
        for p in self.pipes:
            try:
                p.send(("stop",))
            except (BrokenPipeError, OSError):
                pass
        for proc in self.procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()


# ------------------------------------------------------------------------------------------
# Measurement
# ------------------------------------------------------------------------------------------


def stored_bytes(conn, prefix: str) -> tuple[int, int]:
    """(bytes stored for threads ``prefix*``, checkpoints) by PostgresSaver."""
    like = prefix + "-%"
    blobs = conn.execute(
        "SELECT coalesce(sum(octet_length(blob)), 0) FROM checkpoint_blobs WHERE thread_id LIKE %s", (like,)
    ).fetchone()[0]
    writes = conn.execute(
        "SELECT coalesce(sum(octet_length(blob)), 0) FROM checkpoint_writes WHERE thread_id LIKE %s", (like,)
    ).fetchone()[0]
    ckpt, n = conn.execute(
        "SELECT coalesce(sum(pg_column_size(checkpoint) + pg_column_size(metadata)), 0), count(*)"
        " FROM checkpoints WHERE thread_id LIKE %s", (like,)
    ).fetchone()
    return int(blobs + writes + ckpt), int(n)


def wal_lsn(conn) -> str:
    return conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]


def wal_diff(conn, a: str, b: str) -> int:
    return int(conn.execute("SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)", (b, a)).fetchone()[0])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(q * (len(values) - 1))))
    return values[k]


def state_bytes(size: str) -> int:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    return len(JsonPlusSerializer().dumps_typed(load_state(size)[0])[1])


def run(args) -> tuple[str, list[dict]]:
    import psycopg

    from pg_server import DSN_ENV, connect_server, start_server

    server = connect_server(os.environ[DSN_ENV]) if os.environ.get(DSN_ENV) else start_server(durable=True)
    fleet = None
    try:
        dsn = server.create_database("fast_serde_bench")
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        with psycopg.Connection.connect(dsn, row_factory=dict_row, **CONN_KWARGS) as c:
            PostgresSaver(c).setup()
        with psycopg.connect(dsn, autocommit=True) as c:
            settings = {k: c.execute(f"SHOW {k}").fetchone()[0] for k in ("server_version", "fsync", "synchronous_commit")}
        fleet = Fleet(dsn, args.workers)
        rows = []
        with psycopg.connect(dsn, autocommit=True) as admin:
            for size in args.sizes:
                acc = {s: {"seconds": 0.0, "checkpoints": 0, "latencies": [], "bytes": 0, "wal": 0, "stored": 0}
                       for s in SERDES}
                # warm-up: one short phase per serializer (imports, caches, connections)
                for serde in SERDES:
                    fleet.phase(serde, size, 1, 2, f"warm-{size}-{serde}")
                for rnd in range(args.rounds):
                    for serde in SERDES:  # A, B, A, B, ...
                        prefix = f"{size}-{serde}-{rnd}"
                        lsn0 = wal_lsn(admin)
                        res = fleet.phase(serde, size, args.runs, args.steps, prefix)
                        wal = wal_diff(admin, lsn0, wal_lsn(admin))
                        nbytes, nckpt = stored_bytes(admin, prefix)
                        if nckpt != res["checkpoints"]:
                            raise RuntimeError(f"{prefix}: {nckpt} checkpoints stored, {res['checkpoints']} expected")
                        a = acc[serde]
                        a["seconds"] += res["seconds"]
                        a["checkpoints"] += res["checkpoints"]
                        a["latencies"] += res["latencies"]
                        a["stored"] += nbytes
                        a["wal"] += wal
                        if not args.quiet:
                            print(f"  {size:>5} round {rnd} {serde:<18} {res['checkpoints'] / res['seconds']:8.1f} ckpt/s"
                                  f"  p50 {pct(res['latencies'], .5) * 1e3:6.2f} ms", flush=True)
                for serde in SERDES:
                    a = acc[serde]
                    rows.append({
                        "size": size, "serde": serde,
                        "state_kb": state_bytes(size) / 1000,
                        "ckpt_s": a["checkpoints"] / a["seconds"],
                        "p50": pct(a["latencies"], 0.5) * 1e3, "p95": pct(a["latencies"], 0.95) * 1e3,
                        "kb_ckpt": a["stored"] / a["checkpoints"] / 1000,
                        "wal_kb_ckpt": a["wal"] / a["checkpoints"] / 1000,
                        "checkpoints": a["checkpoints"], "steps": len(a["latencies"]),
                    })
        header = (
            f"PostgreSQL {settings['server_version']} on 127.0.0.1 (fsync={settings['fsync']}, "
            f"synchronous_commit={settings['synchronous_commit']}); {args.workers} worker processes, "
            f"{args.rounds} alternating rounds x {args.runs} runs x {args.steps} super-steps per worker "
            f"(each run writes {args.steps + 2} checkpoints: input, start, {args.steps} steps); "
            f"{os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.1f}; "
            f"Python {platform.python_version()}; state: {load_state(args.sizes[0])[1]}."
        )
        return header, rows
    finally:
        if fleet is not None:
            fleet.close()
        server.stop()


def format_table(header: str, rows: list[dict]) -> str:
    by = {(r["size"], r["serde"]): r for r in rows}
    lines = [
        "| state | serializer | ckpt/s | super-step p50 | p95 | KB/ckpt stored | WAL KB/ckpt | speed-up (ckpt/s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        base = by[(r["size"], "JsonPlusSerializer")]
        speedup = f"{r['ckpt_s'] / base['ckpt_s']:.2f}x" if r["serde"] == "FastSerializer" else "1.00x"
        lines.append(
            f"| {r['size']} ({r['state_kb']:.0f} KB) | {r['serde']} | {r['ckpt_s']:.1f} | "
            f"{r['p50']:.2f} ms | {r['p95']:.2f} ms | {r['kb_ckpt']:.1f} | {r['wal_kb_ckpt']:.1f} | {speedup} |"
        )
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"{header}\nMeasured {when} with `python benches/bench_pg.py`.\n\n" + "\n".join(lines) + "\n"


def write_doc(table: str) -> None:
    block = f"{BEGIN}\n{table}{END_MARK}"
    text = DOC.read_text() if DOC.exists() else "# Scaling out on PostgreSQL\n"
    if BEGIN in text and END_MARK in text:
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END_MARK), lambda _: block, text, count=1, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Benchmark\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=4, help="phases per serializer, alternating A B A B")
    ap.add_argument("--runs", type=int, default=4, help="graph runs per worker per phase")
    ap.add_argument("--steps", type=int, default=10, help="loop super-steps per run (a run writes steps + 2 checkpoints: input and start too)")
    ap.add_argument("--sizes", default="30k,200k")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 2 workers, 1 round, 1 run, 3 steps")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/scaling.md")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    args.sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    if args.quick:
        args.workers, args.rounds, args.runs, args.steps = 2, 1, 1, 3
    header, rows = run(args)
    table = format_table(header, rows)
    print()
    print(table)
    if not args.no_write and not args.quick:
        write_doc(table)
        print(f"written to {DOC.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
