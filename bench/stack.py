"""What the benchmarks share: the databases, the server, agents and sessions, measuring.

Nothing here is a test; see docs/benchmarks.md for what each benchmark measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
LOG_DIR = BASE_DIR / ".data"  # daphne's output, bench-daphne-<target>.log, of the last run

_STARTED = time.monotonic()


def log(text: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f} s] {text}", flush=True)


def raise_open_file_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit: thousands of sockets per side."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def configure_environment(database: str = "lumen_bench") -> None:
    """The environment of this process and of daphne (Django reads it in both)."""
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{database}")
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    os.environ.update(
        {
            "BENCH_RELAY": "1",
            # Groups, cache and rate-limit keys of their own in Redis.
            "CHANNEL_LAYER_PREFIX": "bench",
            "CACHE_PREFIX": "bench",
            # Setup opens every chat session from one IP.
            "CHAT_SESSION_RATE": "1000000/min",
        }
    )


def prepare_database() -> None:
    """Create the database if missing (on the same server), migrate it, and VACUUM ANALYZE
    it: what earlier runs left dead is cleared and the planner has statistics, so a run's
    figures depend neither on the runs before it nor on whether the server's autovacuum
    is on (it is off on the development machine: a soak after three others found 230,000
    dead versions of 12,760 conversation rows, never analyzed)."""
    import psycopg
    from psycopg import sql

    from helpdesk.embedded import database_config

    config = database_config(os.environ["DATABASE_URL"])
    admin = {
        "dbname": "postgres",
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }
    with psycopg.connect(**{k: v for k, v in admin.items() if v}, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if not exists:
            log(f"creating database {config['NAME']}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        check=True,
        timeout=600,
    )
    database = {**admin, "dbname": config["NAME"]}
    with psycopg.connect(**{k: v for k, v in database.items() if v}, autocommit=True) as conn:
        started = time.monotonic()
        conn.execute("VACUUM ANALYZE")
        log(f"{config['NAME']} vacuumed and analyzed in {time.monotonic() - started:.1f} s")


def _die_with_parent() -> None:  # runs in the child, between fork and exec
    """Linux: SIGTERM the server if this process dies, even by SIGKILL."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def server_arguments(port: int) -> list[str]:
    """The server's command line after `python -m helpdesk.server` (daphne, as in
    production), on loopback.

    One daphne process per target, not several: the machine this was written
    for has two cores, and the client, PostgreSQL and Redis need the second
    (see docs/benchmarks.md).
    """
    return [
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "--websocket-max-message-size",
        "65536",
        "helpdesk.asgi:application",
    ]


class Server:
    """One daphne process, started for one target and always stopped."""

    def __init__(self, port: int, target: str):
        self.port = port
        self.log = LOG_DIR / f"bench-daphne-{target}.log"
        self.url = f"http://127.0.0.1:{port}"
        self.command = [sys.executable, "-m", "helpdesk.server", *server_arguments(port)]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        import httpx

        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(f"port {self.port} is in use; choose another with --port")
        LOG_DIR.mkdir(exist_ok=True)
        with open(self.log, "wb") as output:
            # The child keeps its own copy of the log file's descriptor.
            self.process = subprocess.Popen(
                self.command,
                cwd=BASE_DIR,
                env=os.environ.copy(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"daphne did not start; see {self.log}")
            time.sleep(0.2)

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_worker(name: str, stack: contextlib.ExitStack) -> subprocess.Popen:
    """A Celery worker (solo pool, one process) for a benchmark, stopped when `stack`
    closes; its output in .data/bench-worker-<name>.log."""
    LOG_DIR.mkdir(exist_ok=True)
    output = stack.enter_context(open(LOG_DIR / f"bench-worker-{name}.log", "wb"))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "helpdesk",
            "worker",
            "--pool=solo",
            "-n",
            f"bench-{name}@%h",
            "-l",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=BASE_DIR,
        env=os.environ.copy(),
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack.callback(_stop_worker, process)
    return process


def _stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def demo_knowledge() -> None:
    """The demo knowledge base and intents (knowledge/demo/), imported once: what the bot
    answers from."""
    from knowledge.demo import DEMO_DIR
    from knowledge.models import Article
    from knowledge.services import import_intents, import_kb

    if not Article.objects.exists():
        log("importing the demo knowledge base")
        with open(DEMO_DIR / "kb.jsonl", "rb") as kb:
            import_kb(kb)
        import_intents((DEMO_DIR / "intents.json").read_bytes())


def signed(secret: str, header: str, body: bytes) -> bool:
    """A delivery's X-Helpdesk-Signature checked as the contract tells a receiver to (in a
    receiver process: no Django there)."""
    import hashlib
    import hmac

    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    expected = hmac.new(
        secret.encode(), fields.get("t", "").encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


def serve_posts(on_post, port_out):
    """A webhook receiver for a benchmark's receiver process: a threaded HTTP server on
    127.0.0.1 calling `on_post(headers, body)` for every POST and answering 200 "ok";
    its port is sent on `port_out`. Returns the server (shutdown() to stop it)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, Nagle holds the second
        # until the client's delayed ACK (40 ms an answer).
        disable_nagle_algorithm = True

        def do_POST(self):  # noqa: N802 (http.server's name)
            on_post(self.headers, self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port_out.send(server.server_address[1])
    return server


async def open_sessions(base_url: str, count: int) -> list[dict]:
    """`count` chat sessions over HTTP (English, anonymous), eight at a time."""
    import httpx

    limit = asyncio.Semaphore(8)

    async def open_one(client: httpx.AsyncClient) -> dict:
        async with limit:
            response = await client.post("/api/v1/chat/sessions/", json={"language": "en"})
            response.raise_for_status()
            return response.json()

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        async with asyncio.timeout(max(120, count * 0.5)):
            return await asyncio.gather(*(open_one(client) for _ in range(count)))


class Sampler(threading.Thread):
    """Samples the server while a target runs.

    Every 0.2 s its RSS (for the peak); every second its CPU time and the
    machine's, so that a latency spike can be told apart from a moment when
    other tenants of this shared machine took the CPUs.
    """

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self.seconds: list[tuple[float, float, float, float]] = []  # wall, server, busy, total
        self._done = threading.Event()

    def run(self) -> None:
        import psutil

        ticks = 0
        while not self._done.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.process.memory_info().rss)
                if ticks % 5 == 0:
                    server = self.process.cpu_times()
                    machine = psutil.cpu_times()
                    busy = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
                    self.seconds.append(
                        (time.time(), server.user + server.system, busy, sum(machine))
                    )
            ticks += 1
            self._done.wait(0.2)

    def cpu_by_second(self, start_at: float) -> dict[int, tuple[float, float]]:
        """Second of the run → (server CPU in % of a core, machine busy in % of all cores)."""
        shares = {}
        for before, after in itertools.pairwise(self.seconds):
            total = after[3] - before[3]
            if total > 0:
                second = math.floor((before[0] + after[0]) / 2 - start_at)
                shares[second] = (
                    100 * (after[1] - before[1]) / (after[0] - before[0]),
                    100 * (after[2] - before[2]) / total,
                )
        return shares

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=5)


def cpu_snapshot(
    server_pid: int | list[int], client_pids: list[int], worker_pids: list[int] = ()
) -> dict:
    """CPU seconds so far of the server (or servers), the clients, Celery workers (with
    their children), PostgreSQL and Redis, and the machine's."""
    import psutil
    import redis

    def seconds(process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    def of_pid(pid: int) -> float:
        try:
            return seconds(psutil.Process(pid))
        except psutil.Error:
            return 0.0

    postgres = {}
    for process in psutil.process_iter(["name"]):
        if (process.info["name"] or "").startswith("postgres"):
            with contextlib.suppress(psutil.Error):
                postgres[process.pid] = seconds(process)
    try:
        info = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=2).info("cpu")
        redis_seconds = info["used_cpu_user"] + info["used_cpu_sys"]
    except redis.RedisError:
        redis_seconds = math.nan

    def with_children(pid: int) -> float:
        try:
            process = psutil.Process(pid)
            return seconds(process) + sum(
                of_pid(child.pid) for child in process.children(recursive=True)
            )
        except psutil.Error:
            return 0.0

    servers = [server_pid] if isinstance(server_pid, int) else server_pid
    machine = psutil.cpu_times()
    return {
        "server": sum(of_pid(pid) for pid in servers),
        "clients": sum(of_pid(pid) for pid in client_pids),
        "workers": sum(with_children(pid) for pid in worker_pids),
        "postgres": postgres,
        "redis": redis_seconds,
        "machine_busy": sum(machine) - machine.idle - getattr(machine, "iowait", 0.0),
        "machine_total": sum(machine),
    }


def cpu_delta(before: dict, after: dict) -> dict:
    # PostgreSQL backends come and go: a new one counts from zero.
    postgres = sum(s - before["postgres"].get(pid, 0.0) for pid, s in after["postgres"].items())
    delta = {
        "server": after["server"] - before["server"],
        "clients": after["clients"] - before["clients"],
        "workers": after.get("workers", 0.0) - before.get("workers", 0.0),
        "postgres": postgres,
        "redis": after["redis"] - before["redis"],
    }
    # psutil's machine figures add up every CPU: busy / total is the machine's
    # busy share; what is busy beyond the processes above is someone else's
    # work (the machine is shared).
    total = after["machine_total"] - before["machine_total"]
    busy = after["machine_busy"] - before["machine_busy"]
    delta["others"] = busy - sum(delta.values())
    delta["machine_busy"] = busy / total if total else 0.0
    return delta


def spawn_clients(target, shares: list[tuple], name: str) -> tuple[list, list]:
    """One spawned client process per share, running `target(conn, *share)` (clean
    processes: no inherited Django or event loop). Returns (processes, their pipes)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    processes, conns = [], []
    for number, share in enumerate(shares):
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=target, args=(child_end, *share), name=f"{name}-{number}", daemon=True
        )
        process.start()
        child_end.close()
        processes.append(process)
        conns.append(parent_end)
    return processes, conns


def stop_clients(processes: list, *, finished: bool) -> None:
    """Waits for client processes that finished, stops the others (Ctrl-C, an error)."""
    for process in processes:
        if finished:
            process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


def receive_from(conn, kind: str, timeout: float):
    if not conn.poll(timeout):
        raise TimeoutError(f"a client process sent no '{kind}' within {timeout:.0f} s")
    got, payload = conn.recv()
    if got == "result" and "error" in payload:
        raise RuntimeError(f"a client process failed: {payload['error']}")
    if got != kind:
        raise RuntimeError(f"a client process sent '{got}', expected '{kind}'")
    return payload


def sleep_until(wall_time: float) -> None:
    time.sleep(max(0.0, wall_time - time.time()))


_PAUSE = re.compile(rb"garbage collection of generation (\d) paused the process for (\d+) ms")


def collector_pauses(log_file: Path, offset: int) -> list[tuple[int, int]]:
    """(generation, ms) of the server's long collections while sending, as
    helpdesk/collector.py logs them (GC_PAUSE_LOG_MS, default 50 ms)."""
    with open(log_file, "rb") as output:
        output.seek(offset)
        return [(int(g), int(ms)) for g, ms in _PAUSE.findall(output.read())]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a list (sorted here: a caller's list in
    the order it was measured gave one of its values, not the percentile)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def bench_agents(names: list[str], **fields) -> dict:
    """Staff users with agent profiles (created once, `fields` applied every run), by name."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from conversations.models import Agent

    user_model = get_user_model()
    existing = set(user_model.objects.filter(username__in=names).values_list("username", flat=True))
    # An unusable password: hashing a real one a thousand times would take minutes.
    user_model.objects.bulk_create(
        user_model(username=name, is_staff=True, password=make_password(None))
        for name in names
        if name not in existing
    )
    users = {user.username: user for user in user_model.objects.filter(username__in=names)}
    with_profile = set(
        Agent.objects.filter(user__in=users.values()).values_list("user_id", flat=True)
    )
    Agent.objects.bulk_create(
        Agent(user=user, display_name=name)
        for name, user in users.items()
        if user.pk not in with_profile
    )
    agents = Agent.objects.filter(user__in=users.values())
    if fields:
        agents.update(**fields)
    return {agent.user.username: agent for agent in agents.select_related("user")}


def desk_cookie(agent) -> str:
    """A logged-in session for an agent's desk socket: what django.contrib.auth.login
    stores, without a request."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils.module_loading import import_string

    store = import_string(settings.SESSION_ENGINE + ".SessionStore")()
    store[SESSION_KEY] = str(agent.user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = agent.user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


async def open_socket(url: str, *, origin: str, cookie: str | None = None):
    """A websocket as a browser opens one (no pings, no compression), with three tries."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake

    error: Exception | None = None
    for attempt in range(3):
        try:
            return await connect(
                url,
                origin=origin,
                additional_headers={"Cookie": cookie} if cookie else None,
                open_timeout=30,
                ping_interval=None,
                compression=None,
                close_timeout=5,
                proxy=None,
            )
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            error = exc
            await asyncio.sleep(0.5 * (attempt + 1))
    raise error


def write_json(path: Path, args, results: dict) -> None:
    """Every figure of a run, with its arguments, for the analysis in docs/benchmarks.md."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"arguments": vars(args) | {"json": str(path)}, "results": results}, indent=2)
    )
