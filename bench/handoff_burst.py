"""Handoff burst: many customers ask for a person at the same moment (issue: routing).

    .venv/bin/python bench/handoff_burst.py [--conversations 500] [--agents 50]
        [--capacity 10] [--groups 2] [--port 8124]

Over the real stack — one daphne process (python -m helpdesk.server), the Redis
channel layer, PostgreSQL — with no Celery worker: routing runs on the events
themselves. Setup: AGENTS agents of capacity CAPACITY, online, spread over
GROUPS skill groups, each with its desk socket open (/ws/desk/, session cookie);
CONVERSATIONS customers, each with a chat session and its socket open
(/ws/chat/), still with the bot. Then every customer sends
{"type": "handoff", "skill_group": …} at the same wall-clock instant.

Measured, one machine and one clock (time.time_ns()):

- handoff → agent: from just before a customer's handoff frame is sent to the
  arrival of the `assigned` frame on the desk socket of the agent routing gave
  it to (p50 / p90 / p99 / max), and handoff → customer: to the arrival of
  the customer's own `status: assigned` frame;
- double assignments: a conversation announced to two desks, or holding two
  "joined" lines in the database; agents over capacity; conversations left
  waiting although capacity was free;
- the server's CPU time over the burst.

Prints the figures; exits 1 when a target of the issue is missed (p99 of
handoff → agent ≤ 1 s, no double assignment, nobody over capacity). The
customers' sockets are spread over --clients processes, the desks over one
more, so the client is not what is measured. Writes into the database
lumen_bench (DATABASE_URL overrides): agents bench-burst-NNNN, new customers
and conversations every run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import signal
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))  # run as a script: the project is one folder up

from bench.stack import (  # noqa: E402
    Server,
    bench_agents,
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
    sleep_until,
    write_json,
)

MAX_P99_SECONDS = 1.0  # the target


# --------------------------------------------------------------------------
# Client processes (spawned; no Django).
# --------------------------------------------------------------------------


async def _read_json(ws, kind: str, timeout: float) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == kind:
                return frame


async def _desks(conn, desks: list[dict], options: dict) -> dict:
    """Open every agent's desk, then record each `assigned` frame: (conversation, agent, t)."""
    sockets = []
    for desk in desks:
        ws = await open_socket(desk["url"], origin=options["origin"], cookie=desk.get("cookie"))
        if not options["floor"]:  # the relay sends nothing on connect
            await _read_json(ws, "presence", 30)
        sockets.append((desk["agent"], ws))
    conn.send(("ready", {"connected": len(sockets)}))
    assigned: list[tuple[str, int, int]] = []

    async def read(agent: int, ws) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                now = time.time_ns()
                frame = json.loads(raw)
                if frame.get("type") == "assigned":
                    assigned.append((frame["conversation"], agent, now))
                elif frame.get("type") == "message" and options["floor"]:
                    assigned.append((frame["message"]["client_id"], agent, now))

    readers = [asyncio.create_task(read(agent, ws)) for agent, ws in sockets]
    deadline = time.monotonic() + options["timeout"]
    while len(assigned) < options["expected"] and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # a second announcement of a conversation would come now
    for _, ws in sockets:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 5)
    for task in readers:
        task.cancel()
    return {"assigned": assigned}


async def _customers(conn, customers: list[dict], options: dict) -> dict:
    """Open every customer's socket, wait for the start, hand off at once, time the answers."""
    limit = asyncio.Semaphore(10)

    async def open_one(customer: dict):
        async with limit:
            ws = await open_socket(customer["url"], origin=options["origin"])
            if not options["floor"]:
                await _read_json(ws, "status", 30)
            return customer, ws

    opened = await asyncio.gather(*(open_one(c) for c in customers))
    conn.send(("ready", {"connected": len(opened)}))
    if not await asyncio.to_thread(conn.poll, 300):
        raise TimeoutError("no start signal")
    start_at = conn.recv()[1]
    await asyncio.sleep(max(0.0, start_at - time.time()))
    sent: dict[str, int] = {}
    answered: dict[str, int] = {}

    async def hand_off(customer: dict, ws) -> None:
        key = customer["conversation"]
        if options["floor"]:  # the same burst of frames through the bare relay
            frame = {"type": "message.send", "client_id": key, "body": "handoff"}
        else:
            frame = {"type": "handoff", "skill_group": customer["group"]}
        sent[key] = time.time_ns()
        await ws.send(json.dumps(frame))
        with contextlib.suppress(Exception):
            async with asyncio.timeout(options["timeout"]):
                while True:
                    reply = json.loads(await ws.recv())
                    if reply.get("type") in ("status", "message") and (
                        reply.get("status") == "assigned" or options["floor"]
                    ):
                        answered[key] = time.time_ns()
                        return

    await asyncio.gather(*(hand_off(customer, ws) for customer, ws in opened))
    for _, ws in opened:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 5)
    return {"sent": sent, "answered": answered}


def client_process(conn, role: str, items: list[dict], options: dict) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_open_file_limit()
    try:
        run = _desks if role == "desks" else _customers
        result = asyncio.run(run(conn, items, options))
    except BaseException as exc:  # reported to the parent
        result = {"error": f"{type(exc).__name__}: {exc}"}
    with contextlib.suppress(OSError):
        conn.send(("result", result))
    conn.close()


# --------------------------------------------------------------------------
# Parent: setup, the burst, checks, the report.
# --------------------------------------------------------------------------


def prepare(base_url: str, args) -> tuple[list[dict], list[dict], list[int]]:
    import django

    django.setup()
    from django.db import connections
    from django.utils import timezone

    from conversations.models import Agent, Conversation, SkillGroup

    groups = []
    for n in range(args.groups):
        group, _ = SkillGroup.objects.get_or_create(
            code=f"bench-burst-{n}",
            defaults={"name_zh": f"压测组{n}", "name_en": f"Burst group {n}"},
        )
        groups.append(group)
    SkillGroup.objects.filter(pk__in=[g.pk for g in groups]).update(
        strategy=SkillGroup.Strategy.LEAST_LOAD, prefer_returning_agent=False, overflow_group=None
    )
    names = [f"bench-burst-{i:04d}" for i in range(args.agents)]
    # Offline until their desk opens (opening it brings them online, as in the desk).
    agents = bench_agents(names, status=Agent.Status.OFFLINE, capacity=args.capacity)
    # The burst is against these agents only: others of the bench database (chat_load's
    # thousand) were left online by their run, with no presence sweep to mark them away.
    Agent.objects.exclude(pk__in=[a.pk for a in agents.values()]).update(
        status=Agent.Status.OFFLINE
    )
    Conversation.objects.filter(
        assignee__in=agents.values(), status__in=Conversation.OPEN_STATUSES
    ).update(status=Conversation.Status.CLOSED, closed_at=timezone.now())
    for index, name in enumerate(names):
        agents[name].skill_groups.set([groups[index % len(groups)]])
    ws = base_url.replace("http://", "ws://")
    desks = [
        {"agent": agents[name].pk, "url": f"{ws}/ws/desk/", "cookie": desk_cookie(agents[name])}
        for name in names
    ]
    started = time.monotonic()
    sessions = asyncio.run(open_sessions(base_url, args.conversations))
    log(f"opened {len(sessions)} chat sessions in {time.monotonic() - started:.1f} s")
    customers = [
        {
            "conversation": s["conversation"],
            "url": f"{ws}/ws/chat/?token={s['token']}",
            "group": groups[i % len(groups)].code,
        }
        for i, s in enumerate(sessions)
    ]
    connections.close_all()
    return desks, customers, [a.pk for a in agents.values()]


def relay_setup(base_url: str, args) -> tuple[list[dict], list[dict]]:
    """The floor: the same sockets on the bare relay (bench/relay.py). Each customer is a
    room of its own; each "agent" socket joins the rooms of as many customers as it would
    be given, so a frame reaches its customer back and one agent, as an assignment does."""
    ws = base_url.replace("http://", "ws://") + "/ws/bench-relay/"
    run = uuid.uuid4().hex[:8]
    rooms = [f"{run}-{i}" for i in range(args.conversations)]
    share = [rooms[i :: args.agents] for i in range(args.agents)]
    desks = [
        {"agent": i, "url": f"{ws}?room={','.join(mine)}&role=agent"}
        for i, mine in enumerate(share)
        if mine
    ]
    customers = [
        {"conversation": room, "url": f"{ws}?room={room}&role=customer", "group": ""}
        for room in rooms
    ]
    return desks, customers


def database_checks(conversation_ids: list[str], agent_ids: list[int], capacity: int) -> dict:
    from django.db.models import Count

    from conversations.models import Conversation, Message

    rows = Conversation.objects.filter(pk__in=conversation_ids)
    joined = Counter(
        Message.objects.filter(
            conversation__in=rows, sender="system", meta__event="assigned"
        ).values_list("conversation_id", flat=True)
    )
    loads = dict(
        Conversation.objects.filter(assignee_id__in=agent_ids, status="assigned")
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
    )
    return {
        "assigned": rows.filter(status="assigned").count(),
        "queued": rows.filter(status="queued").count(),
        "joined_twice": sum(1 for n in joined.values() if n > 1),
        "max_load": max(loads.values(), default=0),
        "over_capacity": sum(1 for n in loads.values() if n > capacity),
    }


def burst(
    server: Server, desks: list[dict], customers: list[dict], *, floor: bool, expected: int, args
) -> tuple[list, dict]:
    """Run the clients against one server: every customer sends at one instant."""
    options = {
        "origin": server.url,
        "timeout": args.timeout,
        "expected": expected,
        "floor": floor,
    }
    context = multiprocessing.get_context("spawn")
    processes, conns = [], []
    shares = [("desks", desks)] + [
        ("customers", customers[i :: args.clients]) for i in range(args.clients)
    ]
    for role, items in shares:
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=client_process, args=(child_end, role, items, options), daemon=True
        )
        process.start()
        child_end.close()
        processes.append(process)
        conns.append(parent_end)
    try:
        ready = [receive_from(conn, "ready", 300) for conn in conns]
        log(
            f"{ready[0]['connected']} desks and "
            f"{sum(r['connected'] for r in ready[1:])} customers connected"
        )
        start_at = time.time() + 2.0
        for conn in conns[1:]:
            conn.send(("start", start_at))
        sleep_until(start_at)
        before = cpu_snapshot(server.process.pid, [p.pid for p in processes])
        log(f"{len(customers)} {'frames' if floor else 'handoffs'} at once")
        results = [receive_from(conn, "result", args.timeout + 120) for conn in conns]
        cpu = cpu_delta(before, cpu_snapshot(server.process.pid, [p.pid for p in processes]))
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    return results, cpu


def figures_of(results: list, cpu: dict) -> dict:
    assigned = results[0]["assigned"]
    sent: dict[str, int] = {}
    answered: dict[str, int] = {}
    for r in results[1:]:
        sent.update(r["sent"])
        answered.update(r["answered"])
    announcements = Counter(key for key, _, _ in assigned)
    to_agent = sorted(
        (at - sent[key]) / 1e6 for key, _, at in assigned if key in sent and announcements[key] == 1
    )
    to_customer = sorted((answered[k] - sent[k]) / 1e6 for k in answered if k in sent)
    return {
        "sent": len(sent),
        "announced_to_agents": len(announcements),
        "announced_twice": sum(1 for n in announcements.values() if n > 1),
        "agent_p50_ms": percentile(to_agent, 50),
        "agent_p90_ms": percentile(to_agent, 90),
        "agent_p99_ms": percentile(to_agent, 99),
        "agent_max_ms": to_agent[-1] if to_agent else float("nan"),
        "customer_p50_ms": percentile(to_customer, 50),
        "customer_p99_ms": percentile(to_customer, 99),
        "server_cpu_s": cpu["server"],
        "postgres_cpu_s": cpu["postgres"],
        "others_cpu_s": cpu["others"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--capacity", type=int, default=10)
    parser.add_argument("--groups", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2, help="customer client processes")
    parser.add_argument("--port", type=int, default=8124)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--target", choices=["both", "full", "floor"], default="both")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    raise_open_file_limit()
    configure_environment()
    prepare_database()
    expected = min(args.conversations, args.agents * args.capacity)
    results: dict[str, dict] = {}

    if args.target in ("both", "floor"):
        with Server(args.port, "burst-floor") as server:
            log(f"[floor] daphne pid {server.process.pid} on {server.url}")
            desks, customers = relay_setup(server.url, args)
            run, cpu = burst(
                server, desks, customers, floor=True, expected=args.conversations, args=args
            )
            results["floor"] = figures_of(run, cpu)
    if args.target in ("both", "full"):
        with Server(args.port, "burst") as server:
            log(f"[full] daphne pid {server.process.pid} on {server.url}")
            desks, customers, agent_ids = prepare(server.url, args)
            run, cpu = burst(server, desks, customers, floor=False, expected=expected, args=args)
            results["full"] = figures_of(run, cpu) | database_checks(
                [c["conversation"] for c in customers], agent_ids, args.capacity
            )

    print()
    print(
        f"Handoff burst: {args.conversations} at once, {args.agents} agents of capacity "
        f"{args.capacity} in {args.groups} groups ({expected} places)"
    )
    names = list(dict.fromkeys(k for r in results.values() for k in r))
    columns = [k for k in ("full", "floor") if k in results]
    print(
        f"{'':26}"
        + "".join(f"{c:>14}" for c in columns)
        + ("   full/floor" if len(columns) == 2 else "")
    )
    for name in names:
        cells = [results[c].get(name, "") for c in columns]
        line = f"{name:26}" + "".join(
            f"{v:>14.1f}" if isinstance(v, float) else f"{v!s:>14}" for v in cells
        )
        if len(columns) == 2 and name.endswith("_ms") and results["floor"].get(name):
            line += f"   {results['full'][name] / results['floor'][name]:9.1f}x"
        print(line)
    ok = True
    if "full" in results:
        full = results["full"]
        checks = [
            (
                f"p99 handoff → agent ≤ {MAX_P99_SECONDS:g} s",
                full["agent_p99_ms"] <= MAX_P99_SECONDS * 1000,
            ),
            (
                "every place filled",
                full["assigned"] == expected and full["announced_to_agents"] == expected,
            ),
            ("no double assignment", full["announced_twice"] == 0 and full["joined_twice"] == 0),
            ("nobody over capacity", full["over_capacity"] == 0),
        ]
        print(
            "\nTargets: "
            + ", ".join(f"{label}: {'met' if met else 'MISSED'}" for label, met in checks)
        )
        ok = all(met for _, met in checks)
    if args.json:
        write_json(args.json, args, results)
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
