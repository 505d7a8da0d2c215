"""A real HTTP receiver for webhook tests: a threaded http.server on a free port."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds before answering


class Receiver:
    """Records every request, answers with the queued answers in turn (then 200 "ok")."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.requests: list[Received] = []
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle holds the second
            # until the client's delayed ACK (40 ms an answer).
            disable_nagle_algorithm = True

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    receiver.requests.append(
                        Received(
                            self.command,
                            self.path,
                            {name.lower(): value for name, value in self.headers.items()},
                            body,
                        )
                    )
                    answer = receiver._answers.popleft() if receiver._answers else Answer()
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_POST = do_GET = _handle  # noqa: N815 (http.server's names)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def answer(self, *answers: Answer | int) -> None:
        """Queue the next answers (a status alone is that status with "ok")."""
        with self._lock:
            self._answers.extend(a if isinstance(a, Answer) else Answer(a) for a in answers)

    def gets(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.method == "GET"]

    def posts(self, path: str = "/hook") -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
