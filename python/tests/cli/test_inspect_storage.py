"""``fast-serde inspect`` on compressed, encrypted and WAL stores, and ``--sizes``.

The stores are written by stock savers running cli_helpers.py's graph with
``FastSerializer(compression="zstd")``, and with ``EncryptedSerializer.from_pycryptodome_aes``
around it. Expected values come from the stock savers' API (with JsonPlusSerializer where it can
read) and raw SQL, never from inspect_cli.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from fast_serde import _native
from fast_serde.langgraph import FastSerializer

from cli_helpers import PREFIX, run_inproc, run_threads, table_rows, write_sqlite
from pg_server import PgServer, pg_server_fixture  # noqa: E402

pg_server = pytest.fixture(scope="module", name="pg_server")(pg_server_fixture)

KEY = "0123456789abcdef0123456789abcdef"  # LANGGRAPH_AES_KEY: 32 bytes, AES-256
COMPRESS = {"compression": "zstd", "compression_min_bytes": 64}


def _encrypted(inner: Any) -> EncryptedSerializer:
    pytest.importorskip("Crypto.Cipher.AES")
    return EncryptedSerializer.from_pycryptodome_aes(serde=inner, key=KEY.encode())


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("storage")
    out = {
        "jsonplus": write_sqlite(root / "jsonplus.sqlite", JsonPlusSerializer()),
        "zstd": write_sqlite(root / "zstd.sqlite", FastSerializer(**COMPRESS)),
    }
    try:
        out["aes"] = write_sqlite(root / "aes.sqlite", _encrypted(FastSerializer(**COMPRESS)))
    except pytest.skip.Exception:
        pass
    return out


def _doc(capsys, db: Path, *argv: str) -> dict[str, Any]:
    code, out, err = run_inproc(capsys, str(db), "--thread", "alpha", *argv)
    assert code == 0, err
    doc = json.loads(out)
    for key in ("checkpoint_id", "parent_checkpoint_id", "ts"):
        doc.pop(key)
    return doc


def _tags(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {t for (t,) in conn.execute("SELECT type FROM checkpoints UNION SELECT type FROM writes")}


def test_a_compressed_store_reads_as_the_plain_one(stores, capsys):
    assert "msgpack-zstd" in _tags(stores["zstd"])
    assert _doc(capsys, stores["zstd"]) == _doc(capsys, stores["jsonplus"])
    code, out, err = run_inproc(capsys, str(stores["zstd"]), "--thread", "alpha", "--history")
    assert code == 0, err
    assert len(table_rows(out)[1]) == len(table_rows(
        run_inproc(capsys, str(stores["jsonplus"]), "--thread", "alpha", "--history")[1])[1])


def test_an_encrypted_store_reads_with_the_key_from_the_environment(stores, capsys, monkeypatch):
    if "aes" not in stores:
        pytest.skip("pycryptodome is not installed")
    assert "msgpack-zstd+aes" in _tags(stores["aes"])
    monkeypatch.delenv("LANGGRAPH_AES_KEY", raising=False)
    code, out, err = run_inproc(capsys, str(stores["aes"]), "--thread", "alpha")
    assert code == 1 and out == ""
    assert err.startswith(PREFIX) and len(err.splitlines()) == 1
    assert "LANGGRAPH_AES_KEY" in err
    monkeypatch.setenv("LANGGRAPH_AES_KEY", KEY)
    assert _doc(capsys, stores["aes"]) == _doc(capsys, stores["jsonplus"])
    monkeypatch.setenv("LANGGRAPH_AES_KEY", "fedcba9876543210fedcba9876543210")  # the wrong key
    code, _, err = run_inproc(capsys, str(stores["aes"]), "--thread", "alpha")
    assert code == 1 and err.startswith(PREFIX) and "MAC check failed" in err


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_wal_database_is_left_without_shm_or_wal_files(stores, tmp_path, capsys):
    db = tmp_path / "wal.sqlite"
    db.write_bytes(stores["zstd"].read_bytes())
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    conn.close()
    side = [Path(str(db) + "-wal"), Path(str(db) + "-shm")]
    assert not any(p.exists() for p in side)  # closed cleanly: SQLite removed them
    before = _sha256(db)
    for argv in ([], ["--thread", "alpha"], ["--thread", "alpha", "--history"], ["--sizes"]):
        assert run_inproc(capsys, str(db), *argv)[0] == 0
        assert not any(p.exists() for p in side), argv
    assert _sha256(db) == before
    # What a plain read-only connection does to the same file (why it is opened immutable).
    ro = sqlite3.connect(db.as_uri() + "?mode=ro", uri=True)
    ro.execute("SELECT COUNT(*) FROM checkpoints").fetchone()
    ro.close()
    assert all(p.exists() for p in side)


def test_a_wal_database_with_a_wal_file_is_read_with_it(stores, tmp_path, capsys):
    # A writer that has not checkpointed its WAL: the rows live in -wal only.
    db = tmp_path / "live.sqlite"
    db.write_bytes(stores["jsonplus"].read_bytes())
    writer = sqlite3.connect(db)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE checkpoints SET thread_id = 'gamma' WHERE thread_id = 'beta'")
    writer.commit()
    try:
        assert Path(str(db) + "-wal").stat().st_size > 0
        code, out, err = run_inproc(capsys, str(db), "--json")
        assert code == 0, err
        assert {r["thread_id"] for r in json.loads(out)} == {"alpha", "gamma"}
    finally:
        writer.close()


# --- --sizes -------------------------------------------------------------------------------


def _sql_sizes(db: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """(thread, ns) -> (values, stored bytes), from raw SQL."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT thread_id, checkpoint_ns, COUNT(*), SUM(LENGTH(b)) FROM ("
            " SELECT thread_id, checkpoint_ns, checkpoint AS b FROM checkpoints"
            " UNION ALL SELECT thread_id, checkpoint_ns, value AS b FROM writes)"
            " GROUP BY thread_id, checkpoint_ns"
        ).fetchall()
    return {(t, ns): (n, size) for t, ns, n, size in rows}


def _inner_sizes(db: Path, cipher: Any = None) -> dict[tuple[str, str], int]:
    """(thread, ns) -> bytes of MessagePack inside the stored values: a zstd frame counts the
    content size its header declares, an encrypted value is decrypted with ``cipher`` first."""
    out: dict[tuple[str, str], int] = {}
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT thread_id, checkpoint_ns, type, checkpoint FROM checkpoints UNION ALL "
            "SELECT thread_id, checkpoint_ns, type, value FROM writes").fetchall()
    for thread, ns, tag, data in rows:
        if "+" in tag:
            tag, name = tag.split("+")
            data = cipher.decrypt(name, data)
        size = _native.zstd_content_size(data) if tag == "msgpack-zstd" else len(data)
        out[(thread, ns)] = out.get((thread, ns), 0) + size
    return out


def _sizes(capsys, db: Path, *argv: str) -> dict[str, Any]:
    code, out, err = run_inproc(capsys, str(db), "--sizes", "--json", *argv)
    assert code == 0, err
    return json.loads(out)


def test_sizes_count_every_stored_byte(stores, capsys):
    for name in ("jsonplus", "zstd"):
        sizes = _sizes(capsys, stores[name])
        got = {(r["thread_id"], r["checkpoint_ns"]): (r["values"], r["stored"]) for r in sizes["threads"]}
        assert got == _sql_sizes(stores[name]), name


def test_sizes_of_a_plain_store_show_what_zstd_would_save(stores, capsys):
    for r in _sizes(capsys, stores["jsonplus"])["threads"]:
        assert r["compressed"] == 0 and r["msgpack"] == r["stored"] and r["unread"] == 0
        assert r["with_zstd"] < r["stored"]
    inner = _inner_sizes(stores["zstd"])
    for r in _sizes(capsys, stores["zstd"])["threads"]:
        assert r["msgpack"] == inner[(r["thread_id"], r["checkpoint_ns"])] > r["stored"]
        assert r["compressed"] > 0 and r["with_zstd"] == r["stored"] and r["unread"] == 0


def test_channel_sizes_are_the_channel_values_jsonplus_writes(stores, capsys):
    db = stores["jsonplus"]
    conn = sqlite3.connect(db, check_same_thread=False)
    try:
        saver = SqliteSaver(conn, serde=JsonPlusSerializer())
        stock = list(saver.list({"configurable": {"thread_id": "alpha", "checkpoint_ns": ""}}))
        writes = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0) FROM writes "
            "WHERE thread_id = 'alpha' AND checkpoint_ns = '' AND channel = 'messages'"
        ).fetchone()
    finally:
        conn.close()
    serde = JsonPlusSerializer()
    inline = [serde.dumps_typed(t.checkpoint["channel_values"]["messages"])[1]
              for t in stock if "messages" in t.checkpoint["channel_values"]]
    channels = {
        (r["thread_id"], r["checkpoint_ns"], r["channel"]): r
        for r in _sizes(capsys, db, "--thread", "alpha")["channels"]
    }
    messages = channels[("alpha", "", "messages")]
    assert messages["values"] == len(inline) + writes[0]
    assert messages["msgpack"] == sum(map(len, inline)) + writes[1]
    assert {t for t, _, _ in channels} == {"alpha"}  # --thread limits it


def test_sizes_table_and_unknown_thread(stores, capsys):
    code, out, err = run_inproc(capsys, str(stores["zstd"]), "--sizes")
    assert code == 0, err
    threads, channels = out.split("\n\n")
    header, rows = table_rows(threads)
    assert header == ["thread", "namespace", "values", "stored", "zstd frames", "msgpack",
                      "with zstd", "saving", "unread"]
    assert {r[0] for r in rows} == {"alpha", "beta"}
    assert table_rows(channels)[0][:3] == ["thread", "namespace", "channel"]
    code, out, err = run_inproc(capsys, str(stores["zstd"]), "--sizes", "--thread", "nobody")
    assert code == 1 and "unknown thread 'nobody'" in err


def test_sizes_of_an_encrypted_store(stores, capsys, monkeypatch):
    if "aes" not in stores:
        pytest.skip("pycryptodome is not installed")
    monkeypatch.delenv("LANGGRAPH_AES_KEY", raising=False)
    blind = {(r["thread_id"], r["checkpoint_ns"]): r for r in _sizes(capsys, stores["aes"])["threads"]}
    assert all(r["unread"] > 0 and r["compressed"] > 0 for r in blind.values())
    monkeypatch.setenv("LANGGRAPH_AES_KEY", KEY)
    inner = _inner_sizes(stores["aes"], _encrypted(FastSerializer()).cipher)
    for r in _sizes(capsys, stores["aes"])["threads"]:
        assert r["unread"] == 0 and r["msgpack"] == inner[(r["thread_id"], r["checkpoint_ns"])]


def test_history_json(stores, capsys):
    code, out, err = run_inproc(capsys, str(stores["zstd"]), "--thread", "alpha", "--history", "--json")
    assert code == 0, err
    rows = json.loads(out)
    with sqlite3.connect(stores["zstd"]) as conn:
        sizes = dict(conn.execute(
            "SELECT checkpoint_id, LENGTH(checkpoint) FROM checkpoints "
            "WHERE thread_id = 'alpha' AND checkpoint_ns = ''"))
    assert {r["checkpoint_id"]: r["nbytes"] for r in rows} == sizes


# --- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_zstd(pg_server: PgServer) -> str:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    dsn = pg_server.create_database("inspect_zstd")
    with psycopg.connect(dsn, autocommit=True, prepare_threshold=0, row_factory=dict_row) as conn:
        saver = PostgresSaver(conn, serde=FastSerializer(**COMPRESS))
        saver.setup()
        run_threads(saver)
    return dsn


def test_postgres_compressed_store_and_sizes(pg_zstd, stores, capsys):
    import psycopg

    code, out, err = run_inproc(capsys, pg_zstd, "--thread", "alpha")
    assert code == 0, err
    sqlite_doc = json.loads(run_inproc(capsys, str(stores["jsonplus"]), "--thread", "alpha")[1])
    assert json.loads(out)["channel_values"] == sqlite_doc["channel_values"]

    sizes = _sizes(capsys, pg_zstd)
    with psycopg.connect(pg_zstd) as conn:
        expected = dict(conn.execute(
            "SELECT thread_id || '/' || checkpoint_ns, SUM(n) FROM ("
            " SELECT thread_id, checkpoint_ns, octet_length(checkpoint::text) AS n FROM checkpoints"
            " UNION ALL SELECT thread_id, checkpoint_ns, octet_length(blob) FROM checkpoint_blobs"
            " UNION ALL SELECT thread_id, checkpoint_ns, octet_length(blob) FROM checkpoint_writes"
            ") AS t GROUP BY 1").fetchall())
        zstd_blobs = conn.execute(
            "SELECT COUNT(*) FROM checkpoint_blobs WHERE type = 'msgpack-zstd'").fetchone()[0]
    assert zstd_blobs > 0
    assert {f"{r['thread_id']}/{r['checkpoint_ns']}": r["stored"] for r in sizes["threads"]} == {
        k: int(v) for k, v in expected.items()}
    assert sum(r["compressed"] for r in sizes["threads"]) > 0
    assert ("alpha", "", "messages") in {
        (r["thread_id"], r["checkpoint_ns"], r["channel"]) for r in sizes["channels"]}


def test_a_row_without_a_type_tag_reads_as_the_stock_saver_reads_it(stores, tmp_path, capsys):
    # A hostile or damaged store: checkpoints.type is NULL. The stock saver's JsonPlusSerializer
    # raises "Unknown serialization type: None"; inspect said "TypeError: argument of type
    # 'NoneType' is not iterable" (its test for an encrypted tag ran first).
    db = tmp_path / "null-tag.sqlite"
    db.write_bytes(stores["jsonplus"].read_bytes())
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE checkpoints SET type = NULL")
    conn.close()
    conn = sqlite3.connect(db)
    try:
        with pytest.raises(Exception) as info:
            saver = SqliteSaver(conn, serde=JsonPlusSerializer())
            saver.get_tuple({"configurable": {"thread_id": "alpha"}})
    finally:
        conn.close()
    expected = f"{type(info.value).__name__}: {info.value}"
    assert expected == "NotImplementedError: Unknown serialization type: None"
    code, _, err = run_inproc(capsys, str(db), "--thread", "alpha")
    assert code == 1 and expected in err, err
    assert run_inproc(capsys, str(db), "--sizes")[0] == 0
