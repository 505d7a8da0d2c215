"""Team rooms: a message's fan-out to N desk sockets, and catch-up of missed messages.

    .venv/bin/python bench/rooms.py [--agents 200] [--rate 20] [--senders 20]
        [--duration 20] [--catch-up 5000] [--port 8125] [--servers 1] [--warmup 20]

SERVERS daphne processes (127.0.0.1:PORT, PORT+1, …, BENCH_RELAY=1) on one database
and one Redis, the sockets dealt round-robin over them (with two, a message crosses
processes through the channel layer to half the desks); one client process:

- fan-out, full stack (after WARMUP messages at the same rate, not measured): N
  agents in one skill group, each with a desk socket
  (/ws/desk/, session cookie); SENDERS of them take turns sending `room.send`,
  RATE messages a second in all, for DURATION seconds (one agent alone may send
  CHAT_RATE_LIMIT * 3 in 10 s: a faster one is told `rate_limited`). Each
  message is stored (seq, rev, mentions, tags) and published once to the room's
  group; latency runs from just before the send to its arrival on each of the
  other N-1 sockets (time.time_ns() on both sides of one machine, the send time
  carried in the client_id).
- fan-out, floor: the same N sockets' worth on bench/relay.py's
  /ws/bench-relay/ (same server, same channel layer; no database, no auth),
  the same rate: what the full stack cannot beat. The ratio full/floor is
  printed.
- catch-up: CATCH_UP messages are stored while a socket is away; it reconnects
  and sends `room.resume` from its last rev: the time until `room.resumed`, and
  that every message came exactly once.

Targets (issue 8): p99 ≤ 200 ms at 20 messages/s to 200 sockets, nothing lost
or twice; catch-up of 5,000 ≤ 1 s. Exit status 1 when one is missed.

Databases: DATABASE_URL and REDIS_URL when set, else PostgreSQL and Redis on
127.0.0.1 (database lumen_bench, made and migrated when missing); the run adds
agents bench-room-NNNN and a skill group `bench-room` with its messages.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import sys
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))  # run as a script: the project is one folder up

from bench.stack import (  # noqa: E402
    Server,
    bench_agents,
    configure_environment,
    desk_cookie,
    log,
    open_socket,
    percentile,
    prepare_database,
    raise_open_file_limit,
)


def setup(agents: int):
    import django

    django.setup()
    from conversations.models import SkillGroup
    from conversations.rooms.models import RoomMessage
    from conversations.rooms.services import ensure_group_room

    group, _ = SkillGroup.objects.get_or_create(
        code="bench-room", defaults={"name_zh": "压测组", "name_en": "Bench room", "in_menu": False}
    )
    room = ensure_group_room(group)
    RoomMessage.objects.filter(room=room).delete()
    people = bench_agents([f"bench-room-{n:04d}" for n in range(agents)], status="offline")
    ordered = [people[name] for name in sorted(people)]
    group.agents.add(*ordered)
    return room, ordered, [desk_cookie(agent) for agent in ordered]


async def _drain(socket, arrivals: dict, stop: asyncio.Event) -> None:
    """Record (client_id → arrival ns) of every message frame until `stop`."""
    with contextlib.suppress(Exception):
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(socket.recv(), 0.5)
            except TimeoutError:
                continue
            now = time.time_ns()
            frame = json.loads(raw)
            if frame.get("type") in ("room.message", "message"):
                message = frame["message"]
                client_id = message.get("client_id")
                if client_id:
                    arrivals.setdefault(client_id, []).append(now)


async def fan_out(
    urls: list[tuple[str, str | None]],
    send_frame,
    *,
    rate: float,
    duration: float,
    origin: str,
    senders: int,
    warmup: int,
):
    """Open the sockets; the first `senders` take turns sending, `warmup` messages at `rate`
    first (not measured), then `rate` messages a second in all for `duration`; every other
    socket must get each message once. Latencies in ms and how many arrivals were missing or
    twice."""
    sockets = []
    for url, cookie in urls:
        sockets.append(await open_socket(url, origin=origin, cookie=cookie))
    await asyncio.sleep(1.0)  # every socket in its groups
    arrivals = [{} for _ in sockets]
    stop = asyncio.Event()
    drains = [
        asyncio.create_task(_drain(s, a, stop)) for s, a in zip(sockets, arrivals, strict=True)
    ]
    # The server's first messages are its slowest (its pools, caches and code paths
    # warming up: the eight slowest of a run were its first eight); a running helpdesk is
    # warm, so they are sent first and not counted.
    for n in range(warmup):
        await asyncio.sleep(1 / rate)
        await sockets[n % senders].send(json.dumps(send_frame(f"warm-{n}-{uuid.uuid4().hex}", n)))
    await asyncio.sleep(2.0 if warmup else 0)
    sent: dict[str, tuple[int, int]] = {}  # client_id → (send time ns, the sender's index)
    count = int(rate * duration)
    start = time.monotonic()
    for n in range(count):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        stamp = time.time_ns()
        client_id = f"{stamp}-{uuid.uuid4().hex[:8]}"
        sender = n % senders
        sent[client_id] = (stamp, sender)
        await sockets[sender].send(json.dumps(send_frame(client_id, n)))
    await asyncio.sleep(3.0)
    stop.set()
    await asyncio.gather(*drains)
    latencies, missing, twice = [], 0, 0
    slowest: dict[str, float] = {}  # client_id → its slowest delivery, ms
    for index, got in enumerate(arrivals):
        for client_id, (stamp, sender) in sent.items():
            if sender == index:
                continue  # the sender's own echo is not a delivery
            times = got.get(client_id, [])
            missing += not times
            twice += len(times) > 1
            latencies += [(t - stamp) / 1e6 for t in times[:1]]
            if times:
                slowest[client_id] = max(slowest.get(client_id, 0.0), (times[0] - stamp) / 1e6)
    order = {client_id: n for n, client_id in enumerate(sent)}
    # Which messages make the tail, by their place in the run (0 = the first sent).
    worst = sorted(slowest.items(), key=lambda item: -item[1])[:8]
    for socket in sockets:
        await socket.close()
    latencies.sort()
    return {
        "messages": count,
        "deliveries": len(latencies),
        "missing": missing,
        "twice": twice,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": latencies[-1] if latencies else float("nan"),
        "slowest_messages": [(order[client_id], round(ms, 1)) for client_id, ms in worst],
    }


def store_missed(room, author, count: int) -> int:
    """`count` messages while a device is away (the service, one at a time); the rev before."""
    from conversations.rooms.services import post_message

    room.refresh_from_db()
    before = room.last_rev
    for n in range(count):
        post_message(room=room, author=author, body=f"missed {n} 订单 @bench-room-0001")
    return before


async def catch_up(url: str, cookie: str, origin: str, room_id: int, after_rev: int):
    socket = await open_socket(url, origin=origin, cookie=cookie)
    await asyncio.sleep(0.5)
    start = time.perf_counter()
    await socket.send(json.dumps({"type": "room.resume", "room": room_id, "after_rev": after_rev}))
    ids = []
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 30))
        if frame["type"] == "room.message":
            ids.append(frame["message"]["id"])
        elif frame["type"] == "room.resumed":
            break
    elapsed = time.perf_counter() - start
    await socket.close()
    return {"seconds": elapsed, "messages": len(ids), "distinct": len(set(ids))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    # Agents taking turns: one agent may send CHAT_RATE_LIMIT * 3 room messages in 10 s.
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--catch-up", type=int, default=5000)
    parser.add_argument("--port", type=int, default=8125)
    parser.add_argument("--servers", type=int, default=1)
    # Messages sent before the measured ones (not counted): one second at the default rate.
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    raise_open_file_limit()
    configure_environment()
    prepare_database()
    room, agents, cookies = setup(args.agents)
    log(f"{args.agents} agents in room {room.pk}")
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(Server(args.port + n, f"rooms-{n}")) for n in range(args.servers)
        ]
        urls = [server.url.replace("http://", "ws://") for server in servers]
        # Origins are checked against ALLOWED_HOSTS (127.0.0.1, any port).
        origin = servers[0].url
        ws = urls[0]
        dealt = itertools.cycle(urls)
        desk = [(f"{next(dealt)}/ws/desk/", cookie) for cookie in cookies]
        full = asyncio.run(
            fan_out(
                desk,
                lambda client_id, n: {
                    "type": "room.send",
                    "room": room.pk,
                    "client_id": client_id,
                    "body": f"bench {n} 订单发货 @bench-room-0001",
                },
                rate=args.rate,
                duration=args.duration,
                origin=origin,
                senders=args.senders,
                warmup=args.warmup,
            )
        )
        log(f"full stack: {full}")
        dealt = itertools.cycle(urls)
        relay = [
            (f"{next(dealt)}/ws/bench-relay/?room=rooms-bench&role=agent", None)
            for _ in range(args.agents)
        ]
        floor = asyncio.run(
            fan_out(
                relay,
                lambda client_id, n: {
                    "type": "message.send",
                    "client_id": client_id,
                    "body": f"bench {n}",
                },
                rate=args.rate,
                duration=args.duration,
                origin=origin,
                senders=args.senders,
                warmup=args.warmup,
            )
        )
        log(f"floor: {floor}")
        after_rev = store_missed(room, agents[0], args.catch_up)
        caught = asyncio.run(catch_up(f"{ws}/ws/desk/", cookies[1], origin, room.pk, after_rev))
        log(f"catch-up: {caught}")
    print()
    print(
        f"fan-out to {args.agents - 1} sockets at {args.rate:g} messages/s for "
        f"{args.duration:g} s, {args.servers} daphne process(es)"
    )
    print(
        f"{'target':<12}{'messages':>9}{'deliveries':>11}{'missing':>8}{'twice':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    for name, r in (("full stack", full), ("floor", floor)):
        print(
            f"{name:<12}{r['messages']:>9}{r['deliveries']:>11}{r['missing']:>8}{r['twice']:>6}"
            f"{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}{r['max']:>9.1f}"
        )
    print(
        f"full/floor: p50 {full['p50'] / floor['p50']:.2f}x, p99 {full['p99'] / floor['p99']:.2f}x"
    )
    print(
        f"catch-up of {args.catch_up}: {caught['seconds'] * 1000:.0f} ms, "
        f"{caught['messages']} frames, {caught['distinct']} distinct"
    )
    missed = (
        full["missing"]
        or full["twice"]
        or full["p99"] > 200
        or caught["seconds"] > 1.0
        or caught["distinct"] != args.catch_up
        or caught["messages"] != args.catch_up
    )
    print("targets:", "MISSED" if missed else "met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
