"""Chat load benchmark: many concurrent conversations, customer → agent latency.

    .venv/bin/python bench/chat_load.py [--conversations 1000] [--interval 10]
        [--duration 60] [--clients 4] [--port 8123]

One run measures two targets with the same client and the same parameters, each
on a fresh daphne process (127.0.0.1:PORT, BENCH_RELAY=1):

- full stack: N conversations opened with POST /api/v1/chat/sessions/, each
  taken by its own agent (N agents logged in by session cookie). Customers are
  on /ws/chat/?token=…, agents on /ws/desk/ subscribed to their conversation.
  A message goes through the rate limit, PostgreSQL and the channel layer.
- floor: bench/relay.py on /ws/bench-relay/: same server, same channel layer,
  no database, no auth. What the full stack cannot beat.

Every customer sends one message.send every INTERVAL seconds, the N senders'
start times spread evenly over the interval (N / INTERVAL messages/s in all).
Latency runs from just before the send to the arrival of the message on the
agent's socket: time.time_ns() on both sides, the send time carried in the
client_id (client and server share one machine, hence one clock).

Prints a table of both targets and the full/floor ratios. Exit status 1 when a
target of the issue is missed: no message lost, none duplicated, full-stack p50
at most 2x and p99 at most 1.5x the floor's.

Databases: DATABASE_URL and REDIS_URL when set, else the PostgreSQL and Redis
on 127.0.0.1 (database lumen_bench, created and migrated when missing). The run
writes into that database (agents bench-agent-NNNNN, and new customers,
conversations and messages every run): never point it at one that matters.
Redis keys use their own prefix ("bench"), apart from a running helpdesk's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))  # run as a script: the project is one folder up

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lumen_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
LOG_DIR = BASE_DIR / ".data"  # daphne's output, bench-daphne-<target>.log, of the last run

# Targets of the issue.
MAX_P50_RATIO = 2.0
MAX_P99_RATIO = 1.5

# Connections each client process opens at once during setup: well under
# daphne's listen backlog (Twisted's default is 50) once multiplied by --clients.
CONNECT_CONCURRENCY = 10


_STARTED = time.monotonic()


def log(text: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f} s] {text}", flush=True)


def raise_open_file_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit: thousands of sockets per side."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --------------------------------------------------------------------------
# Client: --clients processes, each with its own event loop and an even share
# of the conversations, so that the client is not what is measured. Nothing
# here imports Django.
# --------------------------------------------------------------------------


class Chat:
    """One conversation as the client sees it: a customer socket and an agent socket."""

    def __init__(self, pair: dict):
        self.index: int = pair["index"]
        self.pair = pair
        self.customer: ClientConnection | None = None
        self.agent: ClientConnection | None = None
        self.sent: set[str] = set()
        self.received: Counter[str] = Counter()  # client_id → times it reached the agent


class ClientRun:
    """The client side of one target in one process."""

    def __init__(self, pairs: list[dict], options: dict):
        self.options = options
        self.chats = [Chat(pair) for pair in pairs]
        self.full = options["full"]
        self.sent = 0
        self.delivered = 0
        self.misrouted = 0
        self.send_failures = 0
        self.latencies: list[tuple[int, int]] = []  # (sent at, latency), in ns
        self.send_lags: list[float] = []
        self.errors: Counter[str] = Counter()
        self.closes: Counter[str] = Counter()
        self.connect_failures: Counter[str] = Counter()
        self.closing = False
        self.readers: list[asyncio.Task] = []
        self.start_ns = 0

    # --- setup -------------------------------------------------------------

    async def _open(self, url: str, cookie: str | None) -> ClientConnection:
        error: Exception | None = None
        for attempt in range(3):
            try:
                return await connect(
                    url,
                    origin=self.options["origin"],
                    additional_headers={"Cookie": cookie} if cookie else None,
                    open_timeout=30,
                    # Browsers send no pings and rarely compress chat: neither
                    # should the client add work the server would not see.
                    ping_interval=None,
                    compression=None,
                    close_timeout=5,
                    proxy=None,
                )
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                error = exc
                await asyncio.sleep(0.5 * (attempt + 1))
        raise error

    @staticmethod
    async def _expect(ws: ClientConnection, kind: str, timeout: float = 30) -> dict:
        """The next frame of this type, skipping others; an error frame fails."""
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == kind:
                    return frame
                if frame.get("type") == "error":
                    raise RuntimeError(f"error frame during setup: {frame}")

    async def _connect(self, chat: Chat, limit: asyncio.Semaphore) -> None:
        async with limit:
            try:
                chat.customer = await self._open(chat.pair["customer"], None)
                chat.agent = await self._open(chat.pair["agent"], chat.pair.get("cookie"))
                if self.full:
                    await self._expect(chat.customer, "status")
                    await chat.agent.send(
                        json.dumps({"type": "subscribe", "conversation": chat.pair["conversation"]})
                    )
                    await self._expect(chat.agent, "subscribed")
            except Exception as exc:
                self.connect_failures[f"{type(exc).__name__}: {exc}"[:120]] += 1
                for ws in (chat.customer, chat.agent):
                    if ws is not None:
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(ws.close(), 5)
                chat.customer = chat.agent = None
                return
        self.readers.append(asyncio.create_task(self._read_agent(chat)))
        self.readers.append(asyncio.create_task(self._read_customer(chat)))

    # --- readers -----------------------------------------------------------

    def _closed(self, ws: ClientConnection) -> None:
        if not self.closing:
            self.closes[str(ws.close_code or 1006)] += 1

    async def _read_agent(self, chat: Chat) -> None:
        prefix = f"b{chat.index}."
        try:
            async for raw in chat.agent:
                now = time.time_ns()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    client_id = frame["message"].get("client_id") or ""
                    if not client_id.startswith("b"):
                        continue  # not one of ours (a system line of the conversation)
                    if not client_id.startswith(prefix):
                        self.misrouted += 1
                        continue
                    chat.received[client_id] += 1
                    if chat.received[client_id] == 1:
                        self.delivered += 1
                        sent_at = int(client_id.rsplit(".", 1)[1])
                        self.latencies.append((sent_at, now - sent_at))
                elif kind == "error":
                    self.errors[f"agent {frame.get('code')}"] += 1
        except ConnectionClosed:
            pass
        self._closed(chat.agent)

    async def _read_customer(self, chat: Chat) -> None:
        """Drains the customer socket (its own messages come back) and counts errors."""
        try:
            async for raw in chat.customer:
                frame = json.loads(raw)
                if frame.get("type") == "error":
                    self.errors[f"customer {frame.get('code')}"] += 1
        except ConnectionClosed:
            pass
        self._closed(chat.customer)

    # --- the run -------------------------------------------------------------

    async def _send(self, chat: Chat, start: float, offset: float) -> None:
        loop = asyncio.get_running_loop()
        interval, end = self.options["interval"], start + self.options["duration"]
        k = 0
        while (due := start + offset + k * interval) < end:
            await asyncio.sleep(max(0.0, due - loop.time()))
            self.send_lags.append(loop.time() - due)
            client_id = f"b{chat.index}.{k}.{time.time_ns()}"
            frame = {"type": "message.send", "client_id": client_id, "body": f"load {k}"}
            try:
                await asyncio.wait_for(chat.customer.send(json.dumps(frame)), 10)
            except (ConnectionClosed, TimeoutError):
                self.send_failures += 1
                return
            chat.sent.add(client_id)
            self.sent += 1
            k += 1

    async def run(self, conn) -> dict:
        options = self.options
        loop = asyncio.get_running_loop()
        limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
        try:
            async with asyncio.timeout(options["connect_timeout"]):
                await asyncio.gather(*(self._connect(chat, limit) for chat in self.chats))
        except TimeoutError:
            self.connect_failures["connect phase timed out"] += 1
        live = [chat for chat in self.chats if chat.agent is not None]
        conn.send(
            ("ready", {"connected": len(live), "failed": sum(self.connect_failures.values())})
        )

        # The parent gives one wall-clock start time to every client process.
        if not await asyncio.to_thread(conn.poll, options["connect_timeout"] + 60):
            raise TimeoutError("no start signal from the parent")
        start_at = conn.recv()[1]
        start = loop.time() + (start_at - time.time())
        self.start_ns = int(start_at * 1e9)
        total = options["conversations"]
        senders = [
            asyncio.create_task(self._send(chat, start, chat.index * options["interval"] / total))
            for chat in live
        ]
        if senders:
            _, pending = await asyncio.wait(
                senders, timeout=start - loop.time() + options["duration"] + 30
            )
            for task in pending:
                task.cancel()
        # Grace period: what has not reached its agent by then is lost.
        deadline = loop.time() + options["grace"]
        while self.delivered < self.sent and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return await self._finish()

    async def _finish(self) -> dict:
        self.closing = True
        sockets = [
            ws for chat in self.chats for ws in (chat.customer, chat.agent) if ws is not None
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True), 30
            )
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        lost = sum(len(chat.sent.difference(chat.received)) for chat in self.chats)
        duplicates = sum(n - 1 for chat in self.chats for n in chat.received.values() if n > 1)
        return {
            "connected": sum(1 for chat in self.chats if chat.agent is not None),
            "connect_failures": dict(self.connect_failures),
            "sent": self.sent,
            "delivered": self.delivered,
            "lost": lost,
            "duplicates": duplicates,
            "misrouted": self.misrouted,
            "send_failures": self.send_failures,
            "errors": dict(self.errors),
            "closes": dict(self.closes),
            # (seconds since the start, latency in ms) of each delivered message
            "latencies": [
                ((sent_at - self.start_ns) / 1e9, latency / 1e6)
                for sent_at, latency in self.latencies
            ],
            "send_lags_ms": [s * 1e3 for s in self.send_lags],
        }


def client_process(conn, pairs: list[dict], options: dict) -> None:
    """Entry point of a client process (spawned)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops us
    raise_open_file_limit()
    try:
        result = asyncio.run(ClientRun(pairs, options).run(conn))
    except BaseException as exc:  # reported to the parent, which stops the run
        result = {"error": f"{type(exc).__name__}: {exc}"}
    with contextlib.suppress(OSError):
        conn.send(("result", result))
    conn.close()


# --------------------------------------------------------------------------
# Parent: databases, the server, setup, measurement and the report.
# --------------------------------------------------------------------------


def configure_environment() -> None:
    """The environment of this process and of daphne (Django reads it in both)."""
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
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
    """Create the database if missing (on the same server), then migrate it."""
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


def prepare_full_stack(base_url: str, count: int) -> list[dict]:
    """N conversations, each opened over HTTP and taken by its own agent."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.db import connections
    from django.utils import timezone
    from django.utils.module_loading import import_string

    from conversations.models import Agent, Conversation
    from conversations.services import take_conversation

    started = time.monotonic()
    User = get_user_model()  # noqa: N806
    names = [f"bench-agent-{i:05d}" for i in range(count)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    # An unusable password: hashing a real one a thousand times would take minutes.
    User.objects.bulk_create(
        User(username=name, is_staff=True, password=make_password(None))
        for name in names
        if name not in existing
    )
    users = {user.username: user for user in User.objects.filter(username__in=names)}
    with_profile = set(
        Agent.objects.filter(user__in=users.values()).values_list("user_id", flat=True)
    )
    Agent.objects.bulk_create(
        Agent(user=user, display_name=name, status=Agent.Status.ONLINE)
        for name, user in users.items()
        if user.pk not in with_profile
    )
    agents = {
        agent.user.username: agent
        for agent in Agent.objects.filter(user__in=users.values()).select_related("user")
    }
    # Earlier runs left their conversations with these agents: free their capacity.
    Conversation.objects.filter(
        assignee__in=agents.values(), status=Conversation.Status.ASSIGNED
    ).update(status=Conversation.Status.CLOSED, closed_at=timezone.now())

    sessions = asyncio.run(_open_sessions(base_url, count))
    log(f"opened {count} chat sessions over HTTP in {time.monotonic() - started:.1f} s")

    store_class = import_string(settings.SESSION_ENGINE + ".SessionStore")
    backend = settings.AUTHENTICATION_BACKENDS[0]
    ws_url = base_url.replace("http://", "ws://")
    pairs = []
    for index, (name, session) in enumerate(zip(names, sessions, strict=True)):
        agent = agents[name]
        take_conversation(conversation_id=uuid.UUID(session["conversation"]), agent=agent)
        # What django.contrib.auth.login stores, without a request.
        store = store_class()
        store[SESSION_KEY] = str(agent.user.pk)
        store[BACKEND_SESSION_KEY] = backend
        store[HASH_SESSION_KEY] = agent.user.get_session_auth_hash()
        store.create()
        pairs.append(
            {
                "index": index,
                "conversation": session["conversation"],
                "customer": f"{ws_url}/ws/chat/?token={session['token']}",
                "agent": f"{ws_url}/ws/desk/",
                "cookie": f"{settings.SESSION_COOKIE_NAME}={store.session_key}",
            }
        )
    connections.close_all()
    log(f"full-stack setup done in {time.monotonic() - started:.1f} s")
    return pairs


async def _open_sessions(base_url: str, count: int) -> list[dict]:
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


def relay_pairs(base_url: str, count: int) -> list[dict]:
    ws_url = base_url.replace("http://", "ws://")
    run = uuid.uuid4().hex[:8]  # rooms of this run only
    return [
        {
            "index": index,
            "customer": f"{ws_url}/ws/bench-relay/?room={run}-{index}&role=customer",
            "agent": f"{ws_url}/ws/bench-relay/?room={run}-{index}&role=agent",
        }
        for index in range(count)
    ]


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


def cpu_snapshot(server_pid: int, client_pids: list[int]) -> dict:
    """CPU seconds so far of the server, the clients, PostgreSQL and Redis, and the machine's."""
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
    machine = psutil.cpu_times()
    return {
        "server": of_pid(server_pid),
        "clients": sum(of_pid(pid) for pid in client_pids),
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


def _receive(conn, kind: str, timeout: float):
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


def run_target(name: str, server: Server, pairs: list[dict], args) -> dict:
    """Run the client against one target and measure the server meanwhile."""
    options = {
        "full": name == "full",
        "origin": server.url,
        "conversations": args.conversations,
        "interval": args.interval,
        "duration": args.duration,
        "grace": args.grace,
        "connect_timeout": args.connect_timeout,
    }
    context = multiprocessing.get_context("spawn")  # clean processes: no inherited Django or loop
    processes, conns = [], []
    finished = False
    sampler = Sampler(server.process.pid)
    sampler.start()
    try:
        started = time.monotonic()
        for share in range(args.clients):
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=client_process,
                args=(child_end, pairs[share :: args.clients], options),
                name=f"chat-load-client-{share}",
                daemon=True,
            )
            process.start()
            child_end.close()
            processes.append(process)
            conns.append(parent_end)
        ready = [_receive(conn, "ready", args.connect_timeout + 60) for conn in conns]
        connected = sum(r["connected"] for r in ready)
        log(
            f"[{name}] {2 * connected} sockets open in {time.monotonic() - started:.1f} s"
            + (
                f", {sum(r['failed'] for r in ready)} conversations FAILED"
                if connected < len(pairs)
                else ""
            )
        )
        start_at = time.time() + 2.0
        for conn in conns:
            conn.send(("start", start_at))
        client_pids = [process.pid for process in processes]
        sleep_until(start_at)
        before = cpu_snapshot(server.process.pid, client_pids)
        log_offset = server.log.stat().st_size
        log(f"[{name}] sending for {args.duration:.0f} s")
        sleep_until(start_at + args.duration)
        cpu = cpu_delta(before, cpu_snapshot(server.process.pid, client_pids))
        pauses = collector_pauses(server.log, log_offset)
        results = [_receive(conn, "result", args.grace + 120) for conn in conns]
        finished = True
    finally:
        sampler.stop()
        for process in processes:
            if finished:  # else (Ctrl-C, an error) no need to wait for them
                process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
    return summarize(results, cpu, sampler, start_at, args) | {"gc_pauses_ms": pauses}


_PAUSE = re.compile(rb"garbage collection of generation (\d) paused the process for (\d+) ms")


def collector_pauses(log_file: Path, offset: int) -> list[tuple[int, int]]:
    """(generation, ms) of the server's long collections while sending, as
    helpdesk/collector.py logs them (GC_PAUSE_LOG_MS, default 50 ms)."""
    with open(log_file, "rb") as output:
        output.seek(offset)
        return [(int(g), int(ms)) for g, ms in _PAUSE.findall(output.read())]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a sorted list."""
    if not values:
        return math.nan
    return values[max(0, math.ceil(q / 100 * len(values)) - 1)]


def summarize(results: list[dict], cpu: dict, sampler: Sampler, start_at: float, args) -> dict:
    timed = sorted(item for r in results for item in r["latencies"])
    latencies = sorted(latency for _, latency in timed)
    # Per second of the run: messages sent then, their median and worst latency
    # (ms), the server's CPU (% of a core) and the machine's (% of all cores).
    cpu_by_second = sampler.cpu_by_second(start_at)
    timeline = []
    for second in range(math.ceil(args.duration)):
        values = sorted(lat for at, lat in timed if second <= at < second + 1)
        server, machine = cpu_by_second.get(second, (math.nan, math.nan))
        timeline.append(
            {
                "second": second,
                "messages": len(values),
                "p50_ms": round(percentile(values, 50), 2),
                "max_ms": round(values[-1], 2) if values else math.nan,
                "server_cpu": round(server, 1),
                "machine_busy": round(machine, 1),
            }
        )
    lags = sorted(v for r in results for v in r["send_lags_ms"])
    total = Counter()
    for r in results:
        for key in ("errors", "closes", "connect_failures"):
            total.update({f"{key}: {k}": v for k, v in r[key].items()})
    return {
        "connected": sum(r["connected"] for r in results),
        "sent": sum(r["sent"] for r in results),
        "delivered": sum(r["delivered"] for r in results),
        "lost": sum(r["lost"] for r in results),
        "duplicates": sum(r["duplicates"] for r in results),
        "misrouted": sum(r["misrouted"] for r in results),
        "send_failures": sum(r["send_failures"] for r in results),
        "problems": dict(total),
        "rate": sum(r["delivered"] for r in results) / args.duration,
        "p50": percentile(latencies, 50),
        "p90": percentile(latencies, 90),
        "p99": percentile(latencies, 99),
        "max": latencies[-1] if latencies else math.nan,
        "send_lag_p99": percentile(lags, 99),
        "send_lag_max": lags[-1] if lags else math.nan,
        "cpu": cpu,
        "peak_rss_mb": sampler.peak / 2**20,
        "started_at": start_at,  # wall clock, to line up with the server's logs
        "timeline": timeline,
    }


def report(results: dict[str, dict], args) -> bool:
    """Print the table; True when every target of the issue is met."""
    full, floor = results.get("full"), results.get("floor")
    columns = [
        (label, results[key])
        for key, label in (("full", "full stack"), ("floor", "floor (relay)"))
        if key in results
    ]
    rows = [
        ("conversations connected", lambda r: f"{r['connected']}", None),
        ("messages sent", lambda r: f"{r['sent']}", None),
        ("messages delivered to agents", lambda r: f"{r['delivered']}", None),
        ("delivered msg/s", lambda r: f"{r['rate']:.1f}", None),
        ("latency p50 (ms)", lambda r: f"{r['p50']:.2f}", "p50"),
        ("latency p90 (ms)", lambda r: f"{r['p90']:.2f}", "p90"),
        ("latency p99 (ms)", lambda r: f"{r['p99']:.2f}", "p99"),
        ("latency max (ms)", lambda r: f"{r['max']:.2f}", "max"),
        ("lost", lambda r: f"{r['lost']}", None),
        ("duplicated", lambda r: f"{r['duplicates']}", None),
        ("misrouted / send failures", lambda r: f"{r['misrouted']} / {r['send_failures']}", None),
        ("server CPU (s)", lambda r: f"{r['cpu']['server']:.1f}", None),
        (
            "server CPU (% of a core)",
            lambda r: f"{100 * r['cpu']['server'] / args.duration:.0f}",
            None,
        ),
        ("server peak RSS (MiB)", lambda r: f"{r['peak_rss_mb']:.0f}", None),
        (
            "GC pauses logged: n / max (ms)",
            lambda r: (
                f"{len(r['gc_pauses_ms'])} / {max((ms for _, ms in r['gc_pauses_ms']), default=0)}"
            ),
            None,
        ),
        ("PostgreSQL CPU (s)", lambda r: f"{r['cpu']['postgres']:.1f}", None),
        ("Redis CPU (s)", lambda r: f"{r['cpu']['redis']:.1f}", None),
        ("client CPU (s)", lambda r: f"{r['cpu']['clients']:.1f}", None),
        ("other processes CPU (s)", lambda r: f"{r['cpu']['others']:.1f}", None),
        ("machine busy (%)", lambda r: f"{100 * r['cpu']['machine_busy']:.0f}", None),
        (
            "client send lag p99 / max (ms)",
            lambda r: f"{r['send_lag_p99']:.1f} / {r['send_lag_max']:.1f}",
            None,
        ),
    ]
    offered = args.conversations / args.interval
    print()
    print(
        f"Chat load: {args.conversations} conversations, one message every {args.interval:g} s each "
        f"({offered:.0f} msg/s offered), {args.duration:g} s, {args.clients} client processes"
    )
    header = f"{'':32}" + "".join(f"{label:>16}" for label, _ in columns)
    if full and floor:
        header += f"{'full/floor':>12}"
    print(header)
    print("-" * len(header))
    for label, cell, ratio_key in rows:
        line = f"{label:32}" + "".join(f"{cell(r):>16}" for _, r in columns)
        if full and floor and ratio_key:
            line += f"{full[ratio_key] / floor[ratio_key]:>11.2f}x"
        print(line)
    for label, r in columns:
        for problem, n in sorted(r["problems"].items()):
            print(f"  {label}: {problem} × {n}")
    for label, r in columns:
        # The machine may be shared: say so when someone else took a good part of it.
        share = r["cpu"]["others"] / (args.duration * (os.cpu_count() or 1))
        if share > 0.2:
            print(f"  {label}: other processes used {100 * share:.0f}% of the machine: disturbed")
    if not (full and floor):
        return all(r["lost"] == 0 and r["duplicates"] == 0 for _, r in columns)
    checks = [
        ("no message lost", full["lost"] == 0 and full["connected"] == args.conversations),
        ("no message duplicated", full["duplicates"] == 0),
        (f"p50 ≤ {MAX_P50_RATIO:g}× floor", full["p50"] <= MAX_P50_RATIO * floor["p50"]),
        (f"p99 ≤ {MAX_P99_RATIO:g}× floor", full["p99"] <= MAX_P99_RATIO * floor["p99"]),
    ]
    print()
    print("Targets: " + ", ".join(f"{label}: {'met' if ok else 'MISSED'}" for label, ok in checks))
    return all(ok for _, ok in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument(
        "--interval", type=float, default=10.0, help="seconds between two messages of a customer"
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of sending")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to wait for stragglers")
    parser.add_argument("--connect-timeout", type=float, default=300.0)
    parser.add_argument("--target", choices=["both", "full", "floor"], default="both")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.conversations < 1 or not 1 <= args.clients <= args.conversations:
        parser.error("need 1 ≤ --clients ≤ --conversations")

    # SIGTERM unwinds like Ctrl-C, through every `finally` that stops a process.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    raise_open_file_limit()  # inherited by daphne
    configure_environment()
    os.chdir(BASE_DIR)
    prepare_database()

    results: dict[str, dict] = {}
    if args.target in ("both", "floor"):
        with Server(args.port, "floor") as server:
            log(f"[floor] daphne pid {server.process.pid} on {server.url}")
            results["floor"] = run_target(
                "floor", server, relay_pairs(server.url, args.conversations), args
            )
    if args.target in ("both", "full"):
        with Server(args.port, "full") as server:
            log(f"[full] daphne pid {server.process.pid} on {server.url}")
            pairs = prepare_full_stack(server.url, args.conversations)
            results["full"] = run_target("full", server, pairs, args)

    ok = report(results, args)
    print("\nServer: python -m helpdesk.server " + " ".join(server_arguments(args.port)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {"arguments": vars(args) | {"json": str(args.json)}, "results": results}, indent=2
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the `finally`s have stopped daphne and the clients
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
