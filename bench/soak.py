"""Soak: thousands of whole conversations at once for minutes, over one or more daphnes.

    .venv/bin/python bench/soak.py [--conversations 2000] [--duration 600]
        [--servers 2] [--clients 4] [--capacity 5] [--interval 10] [--exchanges 6]
        [--port 8130] [--json FILE]
    .venv/bin/python bench/soak.py --scale-out [same options]

SERVERS daphne processes (python -m helpdesk.server, ports PORT, PORT+1, …) on one
database and one Redis (hence one channel layer), and one Celery worker (surveys
are sent by its task). CONVERSATIONS conversation slots are kept busy for
DURATION seconds; each slot lives one conversation after another:

1. the customer opens a session (POST /api/v1/chat/sessions/, English) on the
   slot's server (slots round-robin over the servers) and its /ws/chat/ socket;
2. asks the bot a question of the demo knowledge base (one it answers with an
   article) and waits for the bot's reply;
3. asks for a person (`handoff` with the skill group soak-K of its server K);
4. routing gives it to an agent of soak-K, whose desk socket (/ws/desk/) is on
   the *next* server (K+1 mod SERVERS): every message then crosses processes
   through the channel layer. The agent subscribes and greets;
5. customer and agent exchange EXCHANGES messages each, the customer one every
   INTERVAL seconds, the agent answering each INTERVAL/2 seconds after it
   arrives; one conversation in ATTACH_EVERY sends a small PNG (POST
   /api/v1/chat/attachments/, then message.send with it) instead of a text;
6. the agent closes it (POST /desk/c/<id>/close/, as the desk's button does)
   and unsubscribes from it;
   the survey campaign (its delay set to 0 for the run) sends the survey
   through the Celery worker; the customer answers it (`survey.answer`) and the
   slot starts its next conversation.

Slots start spread over the first RAMP seconds. Agents: enough of capacity
CAPACITY in each group for its slots, with 10 % to spare; their desks are open
for the whole run (a `ping` every 25 s, as the desk page does).

Measured (one machine, one clock: send times travel in the bodies):
messages/s each way; latency p50/p99 customer → agent, agent → customer, bot
reply, handoff → assigned (customer's status), close → survey frame, upload;
errors by kind (error frames, timeouts of a step, refused HTTP calls, sockets
closed by the server); lost and duplicated messages, checked against the
database at the end: every customer message of the exchange and every agent
message stored must have reached the other side exactly once, every message
sent without an error must be stored, and each conversation's `seq` must run
1..n without a gap. RSS of each daphne and of the worker every 10 s (the series
and the growth from minute 1 to the end) and CPU of everything.

--scale-out runs the same load on one daphne, then on two (fresh daphnes, the
same agents reset), and prints both side by side with the ratio.

Exit status 1 on any lost, duplicated or unstored message, a gap in a `seq`, or
any error. Databases: DATABASE_URL and REDIS_URL when set, else PostgreSQL
lumen_bench and Redis db 0 on 127.0.0.1 (created and migrated when missing).
The run writes into that database (agents soak-agent-NNNNN, groups soak-K, new
customers, conversations and surveys every run, the survey campaign's delay set
to 0): never point it at one that matters. See docs/benchmarks.md, "Soak and
scale-out".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import secrets
import signal
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
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
    demo_knowledge,
    desk_cookie,
    log,
    open_socket,
    percentile,
    prepare_database,
    raise_open_file_limit,
    receive_from,
    server_arguments,
    sleep_until,
    spawn_clients,
    start_worker,
    stop_clients,
    write_json,
)

PING_EVERY = 25.0  # the desk page's heartbeat
RSS_EVERY = 10.0
GROWTH_NOTED = 0.05  # RSS growth from minute 1 to the end that the report points out
CONNECT_CONCURRENCY = 10  # new sockets per client process at once, as in chat_load
PNG = (  # a 1×1 PNG, as tests/conversations/upload_helpers.png() builds it
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)

# Latency series (ms) the clients record.
SERIES = ("to_agent", "to_customer", "bot", "handoff", "survey", "upload")


def _sent_at(body: str) -> int | None:
    """The send time (ns) a body carries as its last word, `t=<ns>`."""
    word = body.rsplit(" ", 1)[-1]
    return int(word[2:]) if word.startswith("t=") and word[2:].isdigit() else None


class Stopped(Exception):
    """The run is over: a step left unfinished is not an error."""


class StepFailed(Exception):
    """A step of a conversation failed: counted by kind, the slot starts again."""


# --------------------------------------------------------------------------
# Client processes (spawned; no Django): each has a share of the slots and of
# the agents' desks.
# --------------------------------------------------------------------------


class Conversation:
    """What a customer's side knows of one conversation."""

    def __init__(self, conversation_id: str):
        self.id = conversation_id
        self.events: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.question_ns = 0
        self.question_seq: int | None = None
        self.handoff_ns = 0
        self.closed_ns = 0
        self.survey: str | None = None
        self.abandoned = False


class ClientRun:
    def __init__(self, slots: list[dict], desks: list[dict], options: dict):
        self.slots = slots
        self.desks = desks
        self.options = options
        self.stop = asyncio.Event()
        self.latencies: dict[str, list[tuple[float, float]]] = {name: [] for name in SERIES}
        self.errors: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        # (conversation, seq) → times it reached the other side
        self.got_by_agent: Counter[tuple[str, int]] = Counter()
        self.got_by_customer: Counter[tuple[str, int]] = Counter()
        self.sent_client_ids: list[tuple[str, str]] = []  # (conversation, client_id) stored?
        self.customer_conversations: dict[str, bool] = {}  # id → abandoned
        self.tasks: list[asyncio.Task] = []
        self.open_at_end: list = []  # sockets closed after the grace period
        self.connect = asyncio.Semaphore(CONNECT_CONCURRENCY)
        self.start_ns = 0
        self.http: dict[str, object] = {}

    # --- helpers -------------------------------------------------------------

    def _latency(self, series: str, sent_ns: int, now_ns: int) -> None:
        self.latencies[series].append(((sent_ns - self.start_ns) / 1e9, (now_ns - sent_ns) / 1e6))

    async def _wait(self, event: asyncio.Event, timeout: float, kind: str) -> None:
        """Until `event`, or the end of the run (Stopped), or `timeout` (StepFailed)."""
        if event.is_set():
            return
        stop = asyncio.ensure_future(self.stop.wait())
        done = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({stop, done}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            done.cancel()
        if event.is_set():
            return
        if self.stop.is_set():
            raise Stopped
        raise StepFailed(f"timeout: {kind}")

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), max(0.0, seconds))
        if self.stop.is_set():
            raise Stopped

    async def _send(self, ws, frame: dict, kind: str) -> None:
        try:
            await asyncio.wait_for(ws.send(json.dumps(frame)), 10)
        except Exception as exc:
            raise StepFailed(f"{kind} send failed: {type(exc).__name__}") from None

    # --- customers -----------------------------------------------------------

    async def customer_slot(self, slot: dict) -> None:
        with contextlib.suppress(Stopped):
            await self._sleep(slot["offset"])
        generation = 0
        while not self.stop.is_set():
            failure = None
            try:
                await self.customer_conversation(slot, generation)
                self.counts["conversations completed"] += 1
            except Stopped:
                return
            except StepFailed as exc:
                failure = str(exc)
            except Exception as exc:  # a bug of the client or an unexpected answer
                failure = f"{type(exc).__name__}: {exc}"[:120]
            generation += 1
            if failure is not None:
                self.errors[f"customer {failure}"] += 1
                with contextlib.suppress(Stopped):
                    await self._sleep(1.0)  # a failing server is not hammered by the slot

    async def customer_conversation(self, slot: dict, generation: int) -> None:
        import httpx

        http: httpx.AsyncClient = self.http[slot["server"]]
        async with self.connect:
            try:
                response = await http.post("/api/v1/chat/sessions/", json={"language": "en"})
            except httpx.HTTPError as exc:
                raise StepFailed(f"session {type(exc).__name__}") from None
            if response.status_code != 201:
                raise StepFailed(f"session HTTP {response.status_code}")
            session = response.json()
            ws_url = slot["server"].replace("http://", "ws://")
            try:
                ws = await open_socket(
                    f"{ws_url}/ws/chat/?token={session['token']}", origin=slot["server"]
                )
            except Exception as exc:
                raise StepFailed(f"chat socket {type(exc).__name__}") from None
        self.counts["conversations started"] += 1
        chat = Conversation(session["conversation"])
        self.customer_conversations[chat.id] = False
        reader = asyncio.create_task(self._read_customer(ws, chat))
        try:
            await self._customer_steps(slot, generation, ws, chat, session["token"], http)
        except Exception:  # the slot gives this conversation up (its agent's side may not)
            chat.abandoned = True
            self.customer_conversations[chat.id] = True
            raise
        finally:
            if not self.stop.is_set() or chat.abandoned:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 5)
                reader.cancel()
            else:
                self.tasks.append(reader)  # stays open for the grace period, then closed
                self.open_at_end.append(ws)

    async def _customer_steps(self, slot, generation, ws, chat, token, http) -> None:
        options = self.options
        timeout = options["step_timeout"]
        await self._wait(chat.events["status"], timeout, "first status")
        # 1. The bot.
        question = random.choice(options["questions"])
        chat.question_ns = time.time_ns()
        await self._send(
            ws,
            {
                "type": "message.send",
                "client_id": f"q{slot['slot']}.{generation}",
                "body": question,
            },
            "question",
        )
        await self._wait(chat.events["bot"], timeout, "bot reply")
        # 2. A person.
        chat.handoff_ns = time.time_ns()
        await self._send(ws, {"type": "handoff", "skill_group": slot["group"]}, "handoff")
        await self._wait(chat.events["assigned"], timeout, "assigned")
        await self._wait(chat.events["greeted"], timeout, "agent greeting")
        # 3. The exchange.
        exchanges = options["exchanges"]
        attach_at = (
            random.randrange(exchanges)
            if options["attach_every"] and random.randrange(options["attach_every"]) == 0
            else None
        )
        start = time.monotonic()
        for k in range(exchanges):
            await self._sleep(start + k * options["interval"] - time.monotonic())
            last = ".L" if k == exchanges - 1 else ""
            client_id = f"c{slot['slot']}.{generation}.{k}{last}"
            frame = {"type": "message.send", "client_id": client_id}
            if k == attach_at:
                frame["attachments"] = [await self._upload(http, token)]
                frame["body"] = f"photo {k} t={time.time_ns()}"
            else:
                frame["body"] = f"customer {k} t={time.time_ns()}"
            await self._send(ws, frame, "message")
            self.sent_client_ids.append((chat.id, client_id))
            self.counts["customer messages sent"] += 1
        # 4. The agent closes; the survey comes and is answered.
        await self._wait(
            chat.events["closed"], options["interval"] + timeout, "closed by the agent"
        )
        await self._wait(chat.events["survey"], timeout, "survey")
        await self._send(
            ws,
            {"type": "survey.answer", "survey": chat.survey, "score": random.randint(3, 5)},
            "survey answer",
        )
        await self._wait(chat.events["survey.answered"], timeout, "survey answered")
        self.counts["surveys answered"] += 1

    async def _upload(self, http, token: str) -> str:
        import httpx

        sent = time.time_ns()
        try:
            response = await http.post(
                "/api/v1/chat/attachments/",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": ("soak.png", PNG, "image/png")},
            )
        except httpx.HTTPError as exc:
            raise StepFailed(f"upload {type(exc).__name__}") from None
        if response.status_code != 201:
            raise StepFailed(f"upload HTTP {response.status_code}")
        self._latency("upload", sent, time.time_ns())
        self.counts["attachments sent"] += 1
        return response.json()["id"]

    async def _read_customer(self, ws, chat: Conversation) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in ws:
                now = time.time_ns()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    message = frame["message"]
                    sender = message["sender"]
                    if sender == "customer" and (message.get("client_id") or "").startswith("q"):
                        chat.question_seq = message["seq"]
                    elif sender == "bot" and chat.question_seq is not None:
                        if not chat.events["bot"].is_set() and message["seq"] > chat.question_seq:
                            self._latency("bot", chat.question_ns, now)
                            chat.events["bot"].set()
                    elif sender == "agent":
                        key = (chat.id, message["seq"])
                        self.got_by_customer[key] += 1
                        sent = _sent_at(message["body"])
                        if self.got_by_customer[key] == 1 and sent is not None:
                            self._latency("to_customer", sent, now)
                        chat.events["greeted"].set()
                elif kind == "status":
                    chat.events["status"].set()
                    if frame["status"] == "assigned" and not chat.events["assigned"].is_set():
                        self._latency("handoff", chat.handoff_ns, now)
                        chat.events["assigned"].set()
                    elif frame["status"] == "closed" and not chat.events["closed"].is_set():
                        chat.closed_ns = now
                        chat.events["closed"].set()
                elif kind == "survey":
                    if chat.survey is None and chat.closed_ns:
                        self._latency("survey", chat.closed_ns, now)
                    chat.survey = frame["survey"]
                    chat.events["survey"].set()
                elif kind == "survey.answered":
                    chat.events["survey.answered"].set()
                elif kind == "error":
                    self.errors[f"customer error frame {frame.get('code')}"] += 1
        except ConnectionClosed:
            pass
        if not self.stop.is_set() and not chat.events["survey.answered"].is_set():
            if not chat.abandoned:
                self.errors[f"customer socket closed {ws.close_code}"] += 1

    # --- agents --------------------------------------------------------------

    async def desk(self, desk: dict, ready: asyncio.Future) -> None:
        """One agent's desk for the whole run: takes what routing assigns, greets, answers
        every customer message INTERVAL/2 later, closes after the customer's last one."""
        from websockets.exceptions import ConnectionClosed

        state = {
            "ws": None,
            "conversations": {},  # id → {"subscribed": Event, "last": time}
            "pending": set(),
            "echoes": {},  # client_id → Event: this agent's message is stored and back
        }
        try:
            async with self.connect:
                state["ws"] = ws = await open_socket(
                    desk["url"], origin=desk["server"], cookie=desk["cookie"]
                )
        except Exception as exc:
            self.errors[f"desk socket {type(exc).__name__}"] += 1
            ready.set_exception(exc)
            return
        self.open_at_end.append(ws)  # closed at the end: the server forgets the desk
        pinger = asyncio.create_task(self._ping(ws))
        try:
            async for raw in ws:
                now = time.time_ns()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "presence" and not ready.done():
                    ready.set_result(frame["status"])
                elif kind == "assigned":
                    conversation = frame["conversation"]
                    if conversation in state["conversations"]:
                        self.errors["agent assigned twice"] += 1
                        continue
                    state["conversations"][conversation] = {
                        "subscribed": asyncio.Event(),
                        "last": time.monotonic(),
                    }
                    self._spawn(state, self._take(desk, state, conversation))
                elif kind == "subscribed":
                    mine = state["conversations"].get(frame["conversation"])
                    if mine is not None:
                        mine["subscribed"].set()
                elif kind == "message":
                    message = frame["message"]
                    mine = state["conversations"].get(message["conversation"])
                    client_id = message.get("client_id") or ""
                    if message["sender"] == "agent" and client_id in state["echoes"]:
                        state["echoes"][client_id].set()
                    if mine is None or message["sender"] != "customer":
                        continue
                    if not client_id.startswith("c"):
                        continue  # the question to the bot, before the agent joined
                    key = (message["conversation"], message["seq"])
                    self.got_by_agent[key] += 1
                    if self.got_by_agent[key] > 1:
                        continue
                    sent = _sent_at(message["body"])
                    if sent is not None:
                        self._latency("to_agent", sent, now)
                    mine["last"] = time.monotonic()
                    self._spawn(
                        state,
                        self._answer(
                            desk,
                            state,
                            message["conversation"],
                            client_id,
                            client_id.endswith(".L"),
                        ),
                    )
                elif kind == "error":
                    self.errors[f"agent error frame {frame.get('code')}"] += 1
        except ConnectionClosed:
            if not self.stop.is_set():
                self.errors[f"desk socket closed {ws.close_code}"] += 1
        finally:
            pinger.cancel()
            for task in list(state["pending"]):
                task.cancel()

    def _spawn(self, state: dict, coroutine) -> None:
        task = asyncio.create_task(self._agent_step(coroutine))
        state["pending"].add(task)
        task.add_done_callback(state["pending"].discard)

    async def _agent_step(self, coroutine) -> None:
        try:
            await coroutine
        except Stopped:
            pass
        except StepFailed as failure:
            self.errors[f"agent {failure}"] += 1
        except Exception as exc:
            self.errors[f"agent {type(exc).__name__}: {exc}"[:120]] += 1

    async def _ping(self, ws) -> None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(PING_EVERY)
                await ws.send(json.dumps({"type": "ping"}))

    async def _agent_send(
        self, state: dict, conversation: str, what: str, client_id: str | None = None
    ) -> None:
        if self.stop.is_set():
            raise Stopped
        client_id = client_id or f"a{uuid.uuid4().hex[:12]}"
        await self._send(
            state["ws"],
            {
                "type": "message.send",
                "conversation": conversation,
                "client_id": client_id,
                "body": f"{what} t={time.time_ns()}",
            },
            "agent message",
        )
        self.sent_client_ids.append((conversation, client_id))
        self.counts["agent messages sent"] += 1

    async def _take(self, desk: dict, state: dict, conversation: str) -> None:
        mine = state["conversations"][conversation]
        await self._send(
            state["ws"], {"type": "subscribe", "conversation": conversation}, "subscribe"
        )
        await self._wait(mine["subscribed"], self.options["step_timeout"], "subscribed")
        await self._agent_send(state, conversation, "Hello, I am here to help.")
        # A customer gone quiet (their side failed) would hold this seat for ever.
        while True:
            await self._sleep(self.options["step_timeout"])
            if conversation not in state["conversations"]:
                return
            idle = time.monotonic() - mine["last"]
            if idle > self.options["interval"] + 2 * self.options["step_timeout"]:
                self.errors["agent closed a silent conversation"] += 1
                await self._close(desk, state, conversation)
                return

    async def _answer(
        self, desk: dict, state: dict, conversation: str, client_id: str, last: bool
    ) -> None:
        await self._sleep(self.options["interval"] / 2)
        if not last:
            await self._agent_send(state, conversation, f"answer to {client_id}")
            return
        # The last answer, then the close button, once the answer shows in the desk.
        last_id = f"a{uuid.uuid4().hex[:12]}"
        echo = state["echoes"][last_id] = asyncio.Event()
        try:
            await self._agent_send(state, conversation, f"answer to {client_id}", last_id)
            await self._wait(echo, self.options["step_timeout"], "own last answer")
        finally:
            del state["echoes"][last_id]
        await self._close(desk, state, conversation)

    async def _close(self, desk: dict, state: dict, conversation: str) -> None:
        import httpx

        state["conversations"].pop(conversation, None)
        http: httpx.AsyncClient = self.http[desk["server"]]
        csrf = secrets.token_hex(16)
        try:
            response = await http.post(
                f"/desk/c/{conversation}/close/",
                data={"resolution": "resolved"},
                headers={"Cookie": f"{desk['cookie']}; csrftoken={csrf}", "X-CSRFToken": csrf},
            )
        except httpx.HTTPError as exc:
            raise StepFailed(f"close {type(exc).__name__}") from None
        if response.status_code != 302 or response.headers.get("location") != "/desk/":
            raise StepFailed(
                f"close HTTP {response.status_code} {response.headers.get('location', '')}"[:80]
            )
        self.counts["conversations closed"] += 1
        # Done with it: the desk stops following it, as a desk page that moves on does.
        await self._send(
            state["ws"], {"type": "unsubscribe", "conversation": conversation}, "unsubscribe"
        )

    # --- the run -------------------------------------------------------------

    async def run(self, conn) -> dict:
        import httpx

        options = self.options
        servers = {slot["server"] for slot in self.slots} | {d["server"] for d in self.desks}
        for server in servers:
            self.http[server] = httpx.AsyncClient(
                base_url=server,
                timeout=options["step_timeout"],
                limits=httpx.Limits(max_connections=50),
            )
        # Every desk is open, its agent online, before the first handoff.
        opened = [asyncio.get_running_loop().create_future() for _ in self.desks]
        desks = [
            asyncio.create_task(self.desk(desk, ready))
            for desk, ready in zip(self.desks, opened, strict=True)
        ]
        if opened:
            await asyncio.wait(opened, timeout=options["connect_timeout"])
        online = sum(1 for ready in opened if ready.done() and not ready.exception())
        conn.send(("ready", {"desks": online, "failed": len(opened) - online}))
        if not await asyncio.to_thread(conn.poll, options["connect_timeout"] + 60):
            raise TimeoutError("no start signal from the parent")
        start_at = conn.recv()[1]
        self.start_ns = int(start_at * 1e9)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        slots = [asyncio.create_task(self.customer_slot(slot)) for slot in self.slots]
        await asyncio.sleep(max(0.0, start_at + options["duration"] - time.time()))
        self.stop.set()
        await asyncio.wait(slots, timeout=30)
        # Grace period: what was sent by now may still be on its way.
        await asyncio.sleep(options["grace"])
        for task in [*slots, *desks, *self.tasks]:
            task.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(ws.close() for ws in self.open_at_end), return_exceptions=True),
                30,
            )
        await asyncio.gather(*slots, *desks, *self.tasks, return_exceptions=True)
        for client in self.http.values():
            await client.aclose()
        return {
            "latencies": self.latencies,
            "errors": dict(self.errors),
            "counts": dict(self.counts),
            "got_by_agent": [[c, s, n] for (c, s), n in self.got_by_agent.items()],
            "got_by_customer": [[c, s, n] for (c, s), n in self.got_by_customer.items()],
            "sent_client_ids": self.sent_client_ids,
            "conversations": self.customer_conversations,
        }


def client_process(conn, slots: list[dict], desks: list[dict], options: dict) -> None:
    """Entry point of a client process (spawned)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops us
    raise_open_file_limit()
    try:
        result = asyncio.run(ClientRun(slots, desks, options).run(conn))
    except BaseException as exc:  # reported to the parent, which stops the run
        result = {"error": f"{type(exc).__name__}: {exc}"}
    with contextlib.suppress(OSError):
        conn.send(("result", result))
    conn.close()


# --------------------------------------------------------------------------
# Parent: the stack, setup, sampling, the database check and the report.
# --------------------------------------------------------------------------


def answered_questions() -> list[str]:
    """Questions of the demo knowledge base (English) the bot answers with an article:
    the customer's first message, so that it is the bot and not routing that replies."""
    from conversations.services.bot import answer_without_conversation
    from knowledge.demo import DEMO_DIR

    questions = []
    for line in (DEMO_DIR / "kb.jsonl").read_text(encoding="utf-8").splitlines():
        article = json.loads(line)
        if article["language"] != "en":
            continue
        for text in article.get("questions", [])[:2]:
            if answer_without_conversation(text, "en")[1].get("action") == "answer":
                questions.append(text)
    if not questions:
        raise RuntimeError("the bot answers none of the demo knowledge base's questions")
    return questions


async def warm_up(url: str, question: str) -> float:
    """One question to the bot on a fresh daphne: its first answer loads what the bot
    needs (seconds, during which its database threads are taken), not to be measured."""
    import httpx

    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        response = await http.post("/api/v1/chat/sessions/", json={"language": "en"})
        response.raise_for_status()
        token = response.json()["token"]
    ws = await open_socket(f"{url.replace('http://', 'ws://')}/ws/chat/?token={token}", origin=url)
    try:
        await ws.send(json.dumps({"type": "message.send", "client_id": "warm", "body": question}))
        async with asyncio.timeout(120):
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "message" and frame["message"]["sender"] == "bot":
                    return time.monotonic() - started
    finally:
        await ws.close()


def prepare(urls: list[str], args) -> tuple[list[dict], list[dict], list[str]]:
    """Groups soak-K, agents (offline until their desk opens) with their desks on the
    server after K, the survey sent at once; returns (slots, desks, questions)."""
    import django

    django.setup()
    from django.db import connections
    from django.utils import timezone

    from conversations.models import Agent, Conversation, SkillGroup
    from customers.models import CareCampaign

    demo_knowledge()
    servers = len(urls)
    groups = []
    for k in range(servers):
        group, _ = SkillGroup.objects.get_or_create(
            code=f"soak-{k}", defaults={"name_zh": f"压测{k}", "name_en": f"Soak {k}"}
        )
        groups.append(group)
    SkillGroup.objects.filter(pk__in=[g.pk for g in groups]).update(
        strategy=SkillGroup.Strategy.LEAST_LOAD, prefer_returning_agent=False, overflow_group=None
    )
    # Nothing of an earlier run waits in these queues or holds these agents.
    Conversation.objects.filter(
        skill_group__in=groups, status__in=Conversation.OPEN_STATUSES
    ).update(status=Conversation.Status.CLOSED, closed_at=timezone.now())
    updated = CareCampaign.objects.filter(kind=CareCampaign.Kind.SURVEY).update(
        enabled=True, delay_minutes=0
    )
    if not updated:
        raise RuntimeError("no survey campaign in this database (customers migration 0006)")

    per_group = [len(range(k, args.conversations, servers)) for k in range(servers)]
    counts = [math.ceil(n * 1.1 / args.capacity) for n in per_group]
    names = [f"soak-agent-{i:05d}" for i in range(sum(counts))]
    agents = bench_agents(names, status=Agent.Status.OFFLINE, capacity=args.capacity)
    Agent.objects.exclude(pk__in=[a.pk for a in agents.values()]).update(
        status=Agent.Status.OFFLINE
    )
    Conversation.objects.filter(
        assignee__in=agents.values(), status__in=Conversation.OPEN_STATUSES
    ).update(status=Conversation.Status.CLOSED, closed_at=timezone.now())
    desks = []
    index = 0
    for k, count in enumerate(counts):
        desk_server = urls[(k + 1) % servers]
        for _ in range(count):
            agent = agents[names[index]]
            agent.skill_groups.set([groups[k]])
            desks.append(
                {
                    "agent": agent.pk,
                    "server": desk_server,
                    "url": desk_server.replace("http://", "ws://") + "/ws/desk/",
                    "cookie": desk_cookie(agent),
                }
            )
            index += 1
    ramp = args.ramp
    slots = [
        {
            "slot": i,
            "server": urls[i % servers],
            "group": f"soak-{i % servers}",
            "offset": ramp * i / args.conversations,
        }
        for i in range(args.conversations)
    ]
    questions = answered_questions()
    connections.close_all()
    for url in urls:
        log(f"{url} warmed up: first bot answer in {asyncio.run(warm_up(url, questions[0])):.1f} s")
    log(
        f"{len(desks)} agents of capacity {args.capacity} in {servers} group(s), "
        f"{len(questions)} questions the bot answers"
    )
    return slots, desks, questions


class MemorySeries(threading.Thread):
    """RSS (MiB) and CPU seconds of each named process (with its children) every
    RSS_EVERY seconds."""

    def __init__(self, pids: dict[str, int]):
        super().__init__(daemon=True)
        import psutil

        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.samples: list[dict] = []
        self._done = threading.Event()
        self.started_at = time.time()

    def sample(self) -> None:
        import psutil

        row = {"t": round(time.time() - self.started_at, 1)}
        for name, process in self.processes.items():
            try:
                family = [process, *process.children(recursive=True)]
                row[name] = round(sum(p.memory_info().rss for p in family) / 2**20, 1)
            except psutil.Error:
                row[name] = math.nan
        self.samples.append(row)

    def run(self) -> None:
        ticks = 0
        while not self._done.is_set():
            self.sample()
            ticks += 1  # on the run's own 10 s marks, not drifting by the sampling's time
            self._done.wait(max(0.0, self.started_at + ticks * RSS_EVERY - time.time()))

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=5)
        if not self.samples or time.time() - self.started_at - self.samples[-1]["t"] > 1:
            self.sample()  # the end of the run

    def growth(self) -> dict[str, dict]:
        """Per process: RSS at minute 1 (the first sample from 60 s on, else the first),
        at the end, the difference and the peak."""
        if not self.samples:
            return {}
        first = next((row for row in self.samples[:-1] if row["t"] >= 60), self.samples[0])
        last = self.samples[-1]
        return {
            name: {
                "from_t": first["t"],
                "minute_1_mb": first[name],
                "end_mb": last[name],
                "growth_mb": round(last[name] - first[name], 1),
                "peak_mb": max(row[name] for row in self.samples),
            }
            for name in self.processes
        }


def check_database(results: list[dict]) -> dict:
    """Against what is stored: every exchange message reached the other side once,
    every message sent without an error is stored, no `seq` has a gap."""
    from django.db import connection

    conversations = {}
    for r in results:
        conversations.update(r["conversations"])
    live = {cid for cid, abandoned in conversations.items() if not abandoned}
    got_by_agent, got_by_customer = Counter(), Counter()
    for r in results:
        got_by_agent.update({(c, s): n for c, s, n in r["got_by_agent"]})
        got_by_customer.update({(c, s): n for c, s, n in r["got_by_customer"]})
    sent = {(c, client_id) for r in results for c, client_id in r["sent_client_ids"]}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT conversation_id::text, seq, sender, coalesce(client_id, '')
            FROM conversations_message WHERE conversation_id = ANY(%s::uuid[])
            """,
            [list(conversations)],
        )
        rows = cursor.fetchall()
    seqs = defaultdict(list)
    stored = set()
    lost = duplicates = expected = 0
    lost_examples = []
    for conversation, seq, sender, client_id in rows:
        seqs[conversation].append(seq)
        stored.add((conversation, client_id))
        if conversation not in live:
            continue
        if sender == "customer" and client_id.startswith("c"):
            got = got_by_agent[(conversation, seq)]
        elif sender == "agent":
            got = got_by_customer[(conversation, seq)]
        else:
            continue
        expected += 1
        if got == 0:
            lost += 1
            if len(lost_examples) < 5:
                lost_examples.append(f"{conversation} seq {seq} ({sender})")
        duplicates += max(0, got - 1)
    gaps = sum(1 for values in seqs.values() if sorted(values) != list(range(1, len(values) + 1)))
    not_stored = [key for key in sent if key not in stored]
    return {
        "conversations": len(conversations),
        "checked_messages": expected,
        "lost": lost,
        "lost_examples": lost_examples,
        "duplicates": duplicates,
        "not_stored": len(not_stored),
        "not_stored_examples": [f"{c} {i}" for c, i in not_stored[:5]],
        "seq_gaps": gaps,
    }


def run_once(servers_count: int, args) -> dict:
    """One run: SERVERS fresh daphnes and a worker, the load, the checks."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        servers = [
            stack.enter_context(Server(args.port + k, f"soak-{servers_count}-{k}"))
            for k in range(servers_count)
        ]
        workers = [start_worker(f"soak-{n}", stack) for n in range(args.workers)]
        urls = [server.url for server in servers]
        log(
            f"[{servers_count} daphne] pids {[s.process.pid for s in servers]} on "
            f"{', '.join(urls)}; Celery worker pids {[w.pid for w in workers]}"
        )
        slots, desks, questions = prepare(urls, args)
        options = {
            "duration": args.duration,
            "interval": args.interval,
            "exchanges": args.exchanges,
            "attach_every": args.attach_every,
            "step_timeout": args.step_timeout,
            "grace": args.grace,
            "connect_timeout": args.connect_timeout,
            "questions": questions,
        }
        processes: list = []
        finished = False
        memory = MemorySeries(
            {f"daphne-{k}": s.process.pid for k, s in enumerate(servers)}
            | {f"worker-{n}": w.pid for n, w in enumerate(workers)}
        )
        try:
            started = time.monotonic()
            processes, conns = spawn_clients(
                client_process,
                [
                    (slots[share :: args.clients], desks[share :: args.clients], options)
                    for share in range(args.clients)
                ],
                "soak-client",
            )
            ready = [receive_from(conn, "ready", args.connect_timeout + 60) for conn in conns]
            online = sum(r["desks"] for r in ready)
            log(
                f"[{servers_count} daphne] {online} desks open in "
                f"{time.monotonic() - started:.1f} s"
                + (f", {sum(r['failed'] for r in ready)} FAILED" if online < len(desks) else "")
            )
            start_at = time.time() + 2.0
            for conn in conns:
                conn.send(("start", start_at))
            client_pids = [p.pid for p in processes]
            server_pids = [s.process.pid for s in servers]
            worker_pids = [w.pid for w in workers]
            sleep_until(start_at)
            memory.started_at = start_at
            memory.start()
            before = cpu_snapshot(server_pids, client_pids, worker_pids)
            log(
                f"[{servers_count} daphne] {args.conversations} conversations for "
                f"{args.duration:.0f} s"
            )
            sleep_until(start_at + args.duration)
            cpu = cpu_delta(before, cpu_snapshot(server_pids, client_pids, worker_pids))
            memory.stop()
            results = [receive_from(conn, "result", args.grace + 180) for conn in conns]
            finished = True
        finally:
            if memory.is_alive():
                memory.stop()
            stop_clients(processes, finished=finished)
        checked = check_database(results)
        from django.db import connections

        connections.close_all()
    return summarize(results, checked, cpu, memory, len(desks), args)


def summarize(results, checked, cpu, memory: MemorySeries, desks: int, args) -> dict:
    counts, errors = Counter(), Counter()
    for r in results:
        counts.update(r["counts"])
        errors.update(r["errors"])
    latency = {}
    for series in SERIES:
        values = [ms for r in results for _, ms in r["latencies"][series]]
        latency[series] = {
            "n": len(values),
            "p50": percentile(values, 50),
            "p99": percentile(values, 99),
            "max": max(values, default=math.nan),
        }
    # Messages sent in each RSS_EVERY seconds of the run, each way, and their p99: steady
    # or not, and when a tail came.
    timeline = defaultdict(lambda: ([], []))
    for r in results:
        for index, series in enumerate(("to_agent", "to_customer")):
            for at, ms in r["latencies"][series]:
                timeline[int(at // RSS_EVERY)][index].append(ms)
    return {
        "servers": len([k for k in memory.processes if k.startswith("daphne")]),
        "desks": desks,
        "counts": dict(counts),
        "errors": dict(errors),
        "to_agent_per_s": latency["to_agent"]["n"] / args.duration,
        "to_customer_per_s": latency["to_customer"]["n"] / args.duration,
        "latency": latency,
        "database": checked,
        "cpu": cpu,
        "memory": memory.samples,
        "growth": memory.growth(),
        "timeline": [
            {
                "t": k * RSS_EVERY,
                "to_agent": len(v[0]),
                "to_customer": len(v[1]),
                "to_agent_p99": percentile(v[0], 99),
                "to_customer_p99": percentile(v[1], 99),
            }
            for k, v in sorted(timeline.items())
        ],
    }


def failed(result: dict) -> bool:
    db = result["database"]
    return bool(
        result["errors"] or db["lost"] or db["duplicates"] or db["not_stored"] or db["seq_gaps"]
    )


ROWS = [
    ("conversations started", lambda r: r["counts"].get("conversations started", 0)),
    ("conversations completed (survey answered)", lambda r: r["counts"].get("surveys answered", 0)),
    ("customer → agent msg/s", lambda r: f"{r['to_agent_per_s']:.1f}"),
    ("agent → customer msg/s", lambda r: f"{r['to_customer_per_s']:.1f}"),
    ("customer → agent p50 / p99 (ms)", lambda r: _pair(r, "to_agent")),
    ("agent → customer p50 / p99 (ms)", lambda r: _pair(r, "to_customer")),
    ("bot reply p50 / p99 (ms)", lambda r: _pair(r, "bot")),
    ("handoff → assigned p50 / p99 (ms)", lambda r: _pair(r, "handoff")),
    ("close → survey p50 / p99 (ms)", lambda r: _pair(r, "survey")),
    ("upload p50 / p99 (ms)", lambda r: _pair(r, "upload")),
    ("attachments sent", lambda r: r["counts"].get("attachments sent", 0)),
    ("errors", lambda r: sum(r["errors"].values())),
    ("messages checked in the database", lambda r: r["database"]["checked_messages"]),
    ("lost / duplicated", lambda r: f"{r['database']['lost']} / {r['database']['duplicates']}"),
    (
        "sent but not stored / seq gaps",
        lambda r: f"{r['database']['not_stored']} / {r['database']['seq_gaps']}",
    ),
    ("daphne CPU (s, all)", lambda r: f"{r['cpu']['server']:.0f}"),
    ("worker CPU (s)", lambda r: f"{r['cpu']['workers']:.0f}"),
    (
        "PostgreSQL / Redis CPU (s)",
        lambda r: f"{r['cpu']['postgres']:.0f} / {r['cpu']['redis']:.0f}",
    ),
    ("client CPU (s)", lambda r: f"{r['cpu']['clients']:.0f}"),
    ("other processes CPU (s)", lambda r: f"{r['cpu']['others']:.0f}"),
    ("machine busy (%)", lambda r: f"{100 * r['cpu']['machine_busy']:.0f}"),
]


def _pair(result: dict, series: str) -> str:
    figures = result["latency"][series]
    return f"{figures['p50']:.0f} / {figures['p99']:.0f}"


def report(runs: list[dict], args) -> None:
    print()
    print(
        f"Soak: {args.conversations} conversations at once, {args.duration:g} s, "
        f"{args.exchanges} messages each way every {args.interval:g} s, "
        f"1 in {args.attach_every} with a PNG, agents of capacity {args.capacity}, "
        f"{args.clients} client processes"
    )
    header = f"{'':44}" + "".join(f"{str(r['servers']) + ' daphne':>16}" for r in runs)
    ratio = len(runs) == 2
    if ratio:
        header += f"{'2 / 1':>10}"
    print(header)
    print("-" * len(header))
    for label, cell in ROWS:
        line = f"{label:44}" + "".join(f"{cell(r)!s:>16}" for r in runs)
        print(line)
    if ratio:
        one, two = runs
        for label, a, b in (
            ("throughput (both ways, msg/s)", _rate(one), _rate(two)),
            (
                "customer → agent p99 (ms)",
                one["latency"]["to_agent"]["p99"],
                two["latency"]["to_agent"]["p99"],
            ),
            (
                "agent → customer p99 (ms)",
                one["latency"]["to_customer"]["p99"],
                two["latency"]["to_customer"]["p99"],
            ),
            ("bot reply p99 (ms)", one["latency"]["bot"]["p99"], two["latency"]["bot"]["p99"]),
        ):
            print(f"{label:44}{a:>16.1f}{b:>16.1f}{b / a if a else math.nan:>9.2f}x")
    for r in runs:
        print(
            f"\nOver time, {r['servers']} daphne: RSS (MiB) every {RSS_EVERY:g} s, and the "
            f"messages sent in the {RSS_EVERY:g} s before (customer → agent / agent → customer) "
            "with their p99 in ms"
        )
        names = [k for k in r["memory"][0] if k != "t"] if r["memory"] else []
        sent = {row["t"]: row for row in r["timeline"]}
        print(
            f"{'t (s)':>8}"
            + "".join(f"{name:>12}" for name in names)
            + f"{'messages':>16}{'p99 ms':>18}"
        )
        for row in r["memory"]:
            bucket = sent.get((int(row["t"] / RSS_EVERY + 0.5) - 1) * RSS_EVERY)
            messages = f"{bucket['to_agent']} / {bucket['to_customer']}" if bucket else ""
            tail = (
                f"{bucket.get('to_agent_p99', math.nan):.0f} / "
                f"{bucket.get('to_customer_p99', math.nan):.0f}"
                if bucket
                else ""
            )
            print(
                f"{row['t']:>8.0f}"
                + "".join(f"{row[name]:>12.1f}" for name in names)
                + f"{messages:>16}{tail:>18}"
            )
        for name, g in r["growth"].items():
            # Not a failure of the run: a reading for a person.
            grows = g["growth_mb"] > GROWTH_NOTED * g["minute_1_mb"]
            print(
                f"  {name}: {g['minute_1_mb']:.1f} MiB at {g['from_t']:.0f} s (minute 1, or the "
                f"start of a shorter run) → {g['end_mb']:.1f} at the "
                f"end ({g['growth_mb']:+.1f}), peak {g['peak_mb']:.1f}"
                + (f": GROWS by more than {100 * GROWTH_NOTED:.0f} %" if grows else "")
            )
        share = r["cpu"]["others"] / (args.duration * (os.cpu_count() or 1))
        if share > 0.2:
            print(f"  other processes used {100 * share:.0f}% of the machine: disturbed")
        for kind, n in sorted(r["errors"].items()):
            print(f"  error: {kind} × {n}")
        for example in r["database"]["lost_examples"]:
            print(f"  lost: {example}")
        for example in r["database"]["not_stored_examples"]:
            print(f"  not stored: {example}")
    print()
    print(
        "Result: "
        + ", ".join(
            f"{r['servers']} daphne {'FAILED (errors or lost messages)' if failed(r) else 'clean'}"
            for r in runs
        )
    )


def _rate(result: dict) -> float:
    return result["to_agent_per_s"] + result["to_customer_per_s"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--servers", type=int, default=2, help="daphne processes")
    parser.add_argument("--scale-out", action="store_true", help="run on 1, then on 2 daphnes")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--workers", type=int, default=1, help="Celery workers")
    parser.add_argument("--capacity", type=int, default=5, help="conversations per agent")
    parser.add_argument(
        "--interval", type=float, default=10.0, help="seconds between a customer's messages"
    )
    parser.add_argument("--exchanges", type=int, default=6, help="messages each way")
    parser.add_argument(
        "--attach-every", type=int, default=5, help="one conversation in N sends a PNG (0: none)"
    )
    parser.add_argument("--ramp", type=float, default=60.0, help="seconds over which slots start")
    parser.add_argument("--step-timeout", type=float, default=60.0)
    parser.add_argument("--grace", type=float, default=10.0, help="seconds for stragglers")
    parser.add_argument("--connect-timeout", type=float, default=300.0)
    parser.add_argument("--port", type=int, default=8130)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.conversations < 1 or not 1 <= args.clients <= args.conversations:
        parser.error("need 1 ≤ --clients ≤ --conversations")
    if args.servers < 1 or args.exchanges < 1 or args.capacity < 1:
        parser.error("--servers, --exchanges and --capacity are at least 1")

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    raise_open_file_limit()  # inherited by daphne
    configure_environment()
    os.environ.update(
        {
            "CHAT_ATTACHMENT_RATE": "1000000/min",  # every upload comes from 127.0.0.1
            "CHAT_INVITATION_RATE": "1000000/min",
        }
    )
    os.chdir(BASE_DIR)
    prepare_database()
    import django

    django.setup()
    runs = [run_once(n, args) for n in ((1, 2) if args.scale_out else (args.servers,))]
    report(runs, args)
    print("\nServer: python -m helpdesk.server " + " ".join(server_arguments(args.port)))
    if args.json:
        write_json(args.json, args, {"runs": runs})
    return 1 if any(failed(r) for r in runs) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the `finally`s have stopped daphne, the worker, the clients
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
