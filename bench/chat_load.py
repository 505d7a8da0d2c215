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
import json
import math
import os
import signal
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))  # run as a script: the project is one folder up

from bench.stack import (  # noqa: E402
    Sampler,
    Server,
    bench_agents,
    collector_pauses,
    configure_environment,
    cpu_delta,
    cpu_snapshot,
    desk_cookie,
    log,
    open_sessions,
    open_socket,
    percentile,
    prepare_database,
    raise_open_file_limit,
    receive_from,
    server_arguments,
    sleep_until,
    spawn_clients,
    stop_clients,
    write_json,
)

# Targets of the issue.
MAX_P50_RATIO = 2.0
MAX_P99_RATIO = 1.5

# Connections each client process opens at once during setup: well under
# daphne's listen backlog (Twisted's default is 50) once multiplied by --clients.
CONNECT_CONCURRENCY = 10

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
        # Browsers send no pings and rarely compress chat: neither does the client.
        return await open_socket(url, origin=self.options["origin"], cookie=cookie)

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


def prepare_full_stack(base_url: str, count: int) -> list[dict]:
    """N conversations, each opened over HTTP and taken by its own agent."""
    import django

    django.setup()
    from django.db import connections
    from django.utils import timezone

    from conversations.models import Agent, Conversation
    from conversations.services import take_conversation

    started = time.monotonic()
    names = [f"bench-agent-{i:05d}" for i in range(count)]
    agents = bench_agents(names, status=Agent.Status.ONLINE)
    # Earlier runs left their conversations with these agents: free their capacity.
    Conversation.objects.filter(
        assignee__in=agents.values(), status=Conversation.Status.ASSIGNED
    ).update(status=Conversation.Status.CLOSED, closed_at=timezone.now())

    sessions = asyncio.run(open_sessions(base_url, count))
    log(f"opened {count} chat sessions over HTTP in {time.monotonic() - started:.1f} s")

    ws_url = base_url.replace("http://", "ws://")
    pairs = []
    for index, (name, session) in enumerate(zip(names, sessions, strict=True)):
        agent = agents[name]
        take_conversation(conversation_id=uuid.UUID(session["conversation"]), agent=agent)
        pairs.append(
            {
                "index": index,
                "conversation": session["conversation"],
                "customer": f"{ws_url}/ws/chat/?token={session['token']}",
                "agent": f"{ws_url}/ws/desk/",
                "cookie": desk_cookie(agent),
            }
        )
    connections.close_all()
    log(f"full-stack setup done in {time.monotonic() - started:.1f} s")
    return pairs


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
    processes: list = []
    finished = False
    sampler = Sampler(server.process.pid)
    sampler.start()
    try:
        started = time.monotonic()
        processes, conns = spawn_clients(
            client_process,
            [(pairs[share :: args.clients], options) for share in range(args.clients)],
            "chat-load-client",
        )
        ready = [receive_from(conn, "ready", args.connect_timeout + 60) for conn in conns]
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
        results = [receive_from(conn, "result", args.grace + 120) for conn in conns]
        finished = True
    finally:
        sampler.stop()
        stop_clients(processes, finished=finished)
    return summarize(results, cpu, sampler, start_at, args) | {"gc_pauses_ms": pauses}


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
        write_json(args.json, args, results)
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the `finally`s have stopped daphne and the clients
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
