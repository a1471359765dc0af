"""A throwaway PostgreSQL server for the tests and the PostgreSQL benchmark.

``start_server()`` creates a cluster in a fresh temporary directory (``initdb``), starts it
listening only on ``127.0.0.1`` on a free port (password authentication, random password, the
Unix socket kept inside the temporary directory) and returns a :class:`PgServer`;
``PgServer.stop()`` stops it (``pg_ctl stop -m fast``) and deletes the directory.
When running as root the cluster belongs to the ``postgres`` system user (Debian's package creates
it) and every server program runs through ``runuser``, since ``initdb``/``postgres`` refuse root.

Where the binaries come from, in order: ``$FAST_SERDE_PG_BIN`` (a directory), ``pg_ctl`` on
``PATH``, ``/usr/lib/postgresql/<highest version>/bin`` (Debian), ``/usr/pgsql-*/bin``.
When none is found, ``ensure_binaries()`` runs ``scripts/pg_setup.sh`` (apt-get install
postgresql) first. Set ``FAST_SERDE_PG_DSN`` to use an already running server instead.

``server_session()`` is the body of the pytest session fixture (see server/test_postgres.py): it
skips with a clear message only when there is neither a usable server nor a way to install one
(no apt-get, or apt-get without root or password-less sudo); a failed install or a server that
does not start is an error, not a skip.

Run ``python python/tests/support/pg_server.py`` to start a server by hand: it prints the DSN and
stops the server on Ctrl-C.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[3]
SETUP_SCRIPT = REPO_ROOT / "scripts" / "pg_setup.sh"

DSN_ENV = "FAST_SERDE_PG_DSN"
BIN_ENV = "FAST_SERDE_PG_BIN"
SUPERUSER = "postgres"

# Settings of the throwaway cluster. `fast` trades durability for speed (tests); the benchmark
# uses `durable` (PostgreSQL's defaults: fsync, synchronous_commit, full_page_writes on).
_COMMON_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
    "logging_collector": "off",
    "ssl": "off",
}
_FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class PgUnavailable(RuntimeError):
    """No PostgreSQL binaries and no way to install them (the tests skip on this)."""


def _run(cmd: list[str], *, check: bool = True, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, timeout=timeout, capture_output=True, text=True, **kw)


def _version_key(path: Path) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in path.name.replace(".", " ").split())


def find_bindir() -> Path | None:
    """The directory holding ``pg_ctl``, ``initdb`` and ``postgres``, or None."""
    candidates: list[Path] = []
    if os.environ.get(BIN_ENV):
        candidates.append(Path(os.environ[BIN_ENV]))
    on_path = shutil.which("pg_ctl")
    if on_path:
        # Debian links /usr/bin/pg_ctl (or /usr/local/bin/pg_ctl) to a wrapper or to the real one.
        candidates.append(Path(os.path.realpath(on_path)).parent)
    for root in ("/usr/lib/postgresql", "/usr/local/lib/postgresql"):
        if os.path.isdir(root):
            versions = sorted((p for p in Path(root).iterdir() if p.is_dir()), key=_version_key)
            candidates.extend(v / "bin" for v in reversed(versions))
    candidates.extend(sorted(Path("/usr").glob("pgsql-*/bin"), key=lambda p: p.parent.name, reverse=True))
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("pg_ctl", "initdb", "postgres")):
            return bindir
    return None


def _can_use_apt() -> tuple[bool, str]:
    if not shutil.which("apt-get"):
        return False, "apt-get is not available"
    if os.geteuid() == 0:
        return True, ""
    if shutil.which("sudo") and _run(["sudo", "-n", "true"], check=False).returncode == 0:
        return True, ""
    return False, "apt-get needs root (or password-less sudo) and this user has neither"


def ensure_binaries() -> Path:
    """Find the PostgreSQL binaries, installing them with scripts/pg_setup.sh when missing.

    Raises PgUnavailable when they are missing and cannot be installed (no usable apt-get);
    RuntimeError when the installation was attempted and failed.
    """
    bindir = find_bindir()
    if bindir is not None:
        return bindir
    usable, why = _can_use_apt()
    if not usable:
        raise PgUnavailable(
            f"PostgreSQL is not installed (no pg_ctl) and cannot be installed here: {why}. "
            f"Install Debian's `postgresql` package, point {BIN_ENV} at its bin directory, "
            f"or set {DSN_ENV} to a running server."
        )
    cmd = ["bash", str(SETUP_SCRIPT)]
    if os.geteuid() != 0:
        cmd = ["sudo", "-n", *cmd]
    proc = _run(cmd, check=False, timeout=900)
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(
            f"{SETUP_SCRIPT} (exit {proc.returncode}) did not install PostgreSQL:\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return bindir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_dsn(*, host: str, port: int, user: str, password: str | None, dbname: str) -> str:
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    return f"postgresql://{auth}@{host}:{port}/{quote(dbname, safe='')}"


def with_dbname(dsn: str, dbname: str) -> str:
    """``dsn`` (a postgresql:// URL) pointing at database ``dbname``."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + quote(dbname, safe="")))


@dataclass
class PgServer:
    """A running server: ``dsn`` reaches its ``postgres`` database as a superuser."""

    dsn: str
    datadir: Path | None = None  # None: not ours (FAST_SERDE_PG_DSN), never stopped
    bindir: Path | None = None
    run_as: str | None = None
    durable: bool = False
    _created: list[str] = field(default_factory=list)
    _stopped: bool = False

    @property
    def port(self) -> int:
        return urlsplit(self.dsn).port or 5432

    def _admin(self):
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)

    def create_database(self, prefix: str = "fast_serde") -> str:
        """Create a fresh, empty database and return its DSN (dropped again by ``stop()``)."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            # FILE_COPY (PostgreSQL 15+) copies the template's files instead of writing every
            # page through the WAL and shared buffers: faster here, and a faster shutdown.
            file_copy = conn.info.server_version >= 150000
            conn.execute(f'CREATE DATABASE "{name}"' + (" STRATEGY FILE_COPY" if file_copy else ""))
        self._created.append(name)
        return with_dbname(self.dsn, name)

    def drop_databases(self) -> None:
        if not self._created:
            return
        with self._admin() as conn:
            for name in self._created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()

    def stop(self) -> None:
        """Stop the server and remove its directory (a server from FAST_SERDE_PG_DSN: only drop
        the databases this process created)."""
        if self._stopped:
            return
        self._stopped = True
        if self.datadir is None:
            with contextlib.suppress(Exception):
                self.drop_databases()
            return
        pgdata = self.datadir / "data"
        if (pgdata / "postmaster.pid").exists():
            cmd = _as_user(self.run_as, [str(self.bindir / "pg_ctl"), "stop", "-D", str(pgdata), "-m", "fast", "-w", "-t", "60"])
            t0 = time.monotonic()
            proc = _run(cmd, check=False, timeout=90)
            if os.environ.get("FAST_SERDE_PG_DEBUG"):
                print(f"pg_ctl stop: {time.monotonic() - t0:.2f}s", file=sys.stderr)
            if proc.returncode != 0:  # last resort: the postmaster's own pid
                with contextlib.suppress(Exception):
                    pid = int((pgdata / "postmaster.pid").read_text().split()[0])
                    os.kill(pid, signal.SIGQUIT)
                    time.sleep(1)
        t1 = time.monotonic()
        shutil.rmtree(self.datadir, ignore_errors=True)
        if os.environ.get("FAST_SERDE_PG_DEBUG"):
            print(f"rmtree: {time.monotonic() - t1:.2f}s", file=sys.stderr)


def _as_user(user: str | None, cmd: list[str]) -> list[str]:
    return cmd if user is None else ["runuser", "-u", user, "--", *cmd]


def _cluster_owner() -> str | None:
    """None: run the server as ourselves; else the system user to run it as (we are root)."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither a `postgres` nor a `nobody` user exists")


def start_server(*, durable: bool = False, bindir: Path | None = None, attempts: int = 3) -> PgServer:
    """initdb a cluster in a new temporary directory and start it on 127.0.0.1:<free port>."""
    bindir = bindir or ensure_binaries()
    owner = _cluster_owner()
    tmp = Path(tempfile.mkdtemp(prefix="fast-serde-pg-"))
    try:
        pgdata, sockdir = tmp / "data", tmp / "socket"
        sockdir.mkdir()
        password = secrets.token_urlsafe(18)
        pwfile = tmp / "pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if owner is not None:
            import pwd

            ent = pwd.getpwnam(owner)
            for path in (tmp, sockdir, pwfile):
                os.chown(path, ent.pw_uid, ent.pw_gid)
        initdb = [
            str(bindir / "initdb"), "-D", str(pgdata), "-U", SUPERUSER, "--pwfile", str(pwfile),
            "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync",
        ]
        proc = _run(_as_user(owner, initdb), check=False, timeout=300, cwd=tmp)
        if proc.returncode != 0:
            raise RuntimeError(f"initdb failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        pwfile.unlink()

        settings = dict(_COMMON_SETTINGS)
        if not durable:
            settings.update(_FAST_SETTINGS)
        settings["unix_socket_directories"] = f"'{sockdir}'"
        log = tmp / "server.log"
        last_error = ""
        for _ in range(attempts):
            port = free_port()
            opts = " ".join(f"-c {k}={v}" for k, v in {**settings, "port": str(port)}.items())
            cmd = [str(bindir / "pg_ctl"), "start", "-D", str(pgdata), "-l", str(log), "-w", "-t", "60", "-o", opts]
            proc = _run(_as_user(owner, cmd), check=False, timeout=90, cwd=tmp)
            if proc.returncode == 0:
                server = PgServer(
                    dsn=make_dsn(host="127.0.0.1", port=port, user=SUPERUSER, password=password, dbname="postgres"),
                    datadir=tmp, bindir=bindir, run_as=owner, durable=durable,
                )
                atexit.register(server.stop)
                _wait_ready(server.dsn)
                return server
            last_error = proc.stdout + proc.stderr + (log.read_text() if log.exists() else "")
        raise RuntimeError(f"PostgreSQL did not start after {attempts} attempts:\n{last_error[-4000:]}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _wait_ready(dsn: str, timeout: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def connect_server(dsn: str) -> PgServer:
    """A PgServer for an already running server (FAST_SERDE_PG_DSN); ``stop()`` leaves it running."""
    _wait_ready(dsn, timeout=10)
    return PgServer(dsn=dsn)


@contextlib.contextmanager
def server_session(*, durable: bool = False) -> Iterator[PgServer]:
    """A server for the duration of the block: FAST_SERDE_PG_DSN's, else a throwaway one.

    Raises PgUnavailable (callers skip on it) only when there are no binaries and no usable
    apt-get to install them.
    """
    dsn = os.environ.get(DSN_ENV)
    server = connect_server(dsn) if dsn else start_server(durable=durable)
    try:
        yield server
    finally:
        server.stop()


def pg_server_fixture():
    """Generator body of a pytest session fixture: yields a PgServer or skips.

    While the server runs, SIGTERM (e.g. from `timeout`) raises SystemExit in the main thread so
    that the server is still stopped and its directory removed.
    """
    import threading

    import pytest

    try:
        cm = server_session()
        server = cm.__enter__()
    except PgUnavailable as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    previous = None
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def _on_term(signum, frame):
            raise SystemExit(128 + signum)

        previous = signal.signal(signal.SIGTERM, _on_term)
    try:
        yield server
    finally:
        try:
            cm.__exit__(None, None, None)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def main() -> int:
    durable = "--fast" not in sys.argv[1:]
    with server_session(durable=durable) as server:
        print(server.dsn, flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
